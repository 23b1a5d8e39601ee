use super::result_view::ResultView;
use pyo3::exceptions::{PyIndexError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::sync::Arc;

/// One row: a view into the result's Arrow columns. A cell becomes a Python
/// object only when it is read.
#[pyclass(module = "fastmssql", frozen)]
pub struct FastRow {
    view: Arc<ResultView>,
    row: usize,
}

impl FastRow {
    pub(crate) fn new(view: Arc<ResultView>, row: usize) -> Self {
        Self { view, row }
    }

    fn width(&self) -> usize {
        self.view.names.len()
    }

    fn value<'py>(&self, py: Python<'py>, column: usize) -> PyResult<Bound<'py, PyAny>> {
        self.view.cell(py, self.row, column)
    }

    fn position(&self, key: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        if let Ok(name) = key.cast::<PyString>() {
            return Ok(self.view.position(name.to_str()?));
        }
        let Ok(index) = key.extract::<isize>() else {
            return Err(PyTypeError::new_err(format!(
                "row indices must be str or int, not {}",
                key.get_type().name()?
            )));
        };
        let width = self.width() as isize;
        let resolved = if index < 0 { index + width } else { index };
        Ok((0..width).contains(&resolved).then_some(resolved as usize))
    }

    fn dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (i, name) in self.view.names.iter().enumerate() {
            if !dict.contains(name)? {
                dict.set_item(name, self.value(py, i)?)?;
            }
        }
        Ok(dict)
    }
}

#[pymethods]
impl FastRow {
    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.position(key)? {
            Some(column) => self.value(py, column),
            None if key.is_instance_of::<PyString>() => Err(PyKeyError::new_err(key.clone().unbind())),
            None => Err(PyIndexError::new_err(format!("row index {key} out of range for {} columns", self.width()))),
        }
    }

    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.position(key)? {
            Some(column) => self.value(py, column),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(match key.cast::<PyString>() {
            Ok(name) => self.view.position(name.to_str()?).is_some(),
            Err(_) => false,
        })
    }

    fn __len__(&self) -> usize {
        self.width()
    }

    fn keys(&self) -> Vec<String> {
        self.view.names.clone()
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.view.row_values(py, self.row)?)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pairs = (0..self.width())
            .map(|i| PyTuple::new(py, [self.view.names[i].clone().into_pyobject(py)?.into_any(), self.value(py, i)?]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.to_tuple(py)?.into_any().try_iter()?.into_any())
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.dict(py)
    }

    fn to_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.view.row_values(py, self.row)?)
    }

    fn __eq__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let mine = self.dict(py)?;
        if let Ok(row) = other.cast::<FastRow>() {
            return Ok(mine.eq(row.get().dict(py)?)?.into_pyobject(py)?.to_owned().into_any().unbind());
        }
        if other.is_instance_of::<PyDict>() {
            return Ok(mine.eq(other)?.into_pyobject(py)?.to_owned().into_any().unbind());
        }
        Ok(py.NotImplemented())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("FastRow({})", self.dict(py)?.repr()?))
    }
}
