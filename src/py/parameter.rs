use super::errors::driver_error;
use crate::params::SqlType;
use pyo3::prelude::*;

/// A parameter value with a forced SQL Server type (`sql_type="decimal(18,4)"`).
#[pyclass(module = "fastmssql", frozen)]
pub struct Parameter {
    pub(crate) value: Py<PyAny>,
    pub(crate) sql_type: Option<SqlType>,
    sql_type_text: Option<String>,
}

#[pymethods]
impl Parameter {
    #[new]
    #[pyo3(signature = (value, sql_type=None))]
    fn new(value: Py<PyAny>, sql_type: Option<String>) -> PyResult<Self> {
        let parsed = sql_type.as_deref().map(SqlType::parse).transpose().map_err(|e| driver_error(&e))?;
        Ok(Self { value, sql_type: parsed, sql_type_text: sql_type })
    }

    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    #[getter]
    fn sql_type(&self) -> Option<String> {
        self.sql_type_text.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let value = self.value.bind(py).repr()?;
        Ok(match &self.sql_type_text {
            Some(ty) => format!("Parameter({value}, sql_type={ty:?})"),
            None => format!("Parameter({value})"),
        })
    }
}
