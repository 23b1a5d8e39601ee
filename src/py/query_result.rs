use super::fast_row::FastRow;
use super::message::Message;
use super::ready::Ready;
use super::result_view::ResultView;
use crate::arrow::{uuids_as_text, ResultSet, SQL_TYPE_METADATA_KEY};
use crate::driver::QueryOutcome;
use crate::tds::ServerMessage;
use arrow_array::{ArrayRef, StructArray};
use arrow_schema::{ArrowError, Field};
use pyo3::exceptions::{PyImportError, PyStopAsyncIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyList, PyTuple};
use pyo3_arrow::ffi::{to_schema_pycapsule, to_stream_pycapsule, ArrayIterator};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One result set of a batch (the first one when returned by `query()`),
/// held as Arrow record batches.
#[pyclass(module = "fastmssql", frozen)]
pub struct QueryResult {
    view: Arc<ResultView>,
    /// Every result set of the call; empty when it returned none.
    all: Arc<Vec<Arc<ResultView>>>,
    rows_affected: u64,
    details: Arc<CallDetails>,
    /// Position of the cursor-style fetch methods.
    cursor: AtomicUsize,
}

/// What a call returned besides its result sets.
#[derive(Default)]
pub(crate) struct CallDetails {
    pub(crate) messages: Vec<ServerMessage>,
    pub(crate) return_status: Option<i32>,
    /// OUTPUT parameters: one row, a column each.
    pub(crate) output: Option<ResultView>,
}

impl QueryResult {
    pub(crate) fn new(sets: Vec<ResultSet>, rows_affected: u64, details: CallDetails) -> Self {
        let all: Vec<Arc<ResultView>> = sets.into_iter().map(|s| Arc::new(ResultView::new(s))).collect();
        let view = all.first().cloned().unwrap_or_else(|| Arc::new(ResultView::new(ResultSet::empty())));
        Self { view, all: Arc::new(all), rows_affected, details: Arc::new(details), cursor: AtomicUsize::new(0) }
    }

    /// One result set alone (a stream's batch, a converted copy).
    pub(crate) fn single(set: ResultSet) -> Self {
        Self::new(vec![set], 0, CallDetails::default())
    }

    /// The whole outcome of a call: every result set, its messages, OUTPUT
    /// values and return status.
    pub(crate) fn from_outcome(outcome: QueryOutcome) -> Self {
        let details = CallDetails {
            messages: outcome.messages,
            return_status: outcome.return_status,
            output: outcome.output.map(ResultView::new),
        };
        Self::new(outcome.result_sets, outcome.rows_affected, details)
    }

    fn row(&self, index: usize) -> FastRow {
        FastRow::new(self.view.clone(), index)
    }

    /// Claims up to `n` rows from the cursor.
    fn advance(&self, n: usize) -> std::ops::Range<usize> {
        let total = self.view.num_rows();
        let start = self
            .cursor
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| Some(c.saturating_add(n).min(total)))
            .unwrap_or(total);
        start.min(total)..start.saturating_add(n).min(total)
    }

    fn import_library<'py>(py: Python<'py>, module: &str, method: &str) -> PyResult<Bound<'py, PyModule>> {
        py.import(module).map_err(|_| {
            PyImportError::new_err(format!(
                "QueryResult.{method}() needs the optional dependency '{module}': pip install {module}"
            ))
        })
    }
}

#[pymethods]
impl QueryResult {
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.view.names.clone()
    }

    /// Each column's name, declared SQL Server type (`mssql.type`, e.g.
    /// ``"decimal(18,4)"``; ``None`` where unknown) and nullability.
    #[getter]
    fn column_types(&self) -> Vec<(String, Option<String>, bool)> {
        let schema = &self.view.set.schema;
        schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.metadata().get(SQL_TYPE_METADATA_KEY).cloned(), f.is_nullable()))
            .collect()
    }

    #[getter]
    fn rows_affected(&self) -> u64 {
        self.rows_affected
    }

    #[getter]
    fn result_sets(slf: &Bound<'_, Self>) -> PyResult<Vec<Py<QueryResult>>> {
        let this = slf.get();
        this.all
            .iter()
            .enumerate()
            .map(|(i, view)| {
                if i == 0 {
                    Ok(slf.clone().unbind())
                } else {
                    Py::new(
                        slf.py(),
                        QueryResult {
                            view: view.clone(),
                            all: this.all.clone(),
                            rows_affected: this.rows_affected,
                            details: this.details.clone(),
                            cursor: AtomicUsize::new(0),
                        },
                    )
                }
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        self.view.num_rows()
    }

    /// The server's informational messages of the call (PRINT, warnings), in order.
    #[getter]
    fn messages(&self) -> Vec<Message> {
        self.details.messages.iter().map(Message::new).collect()
    }

    /// A stored procedure's RETURN value (`call_proc`); `None` otherwise.
    #[getter]
    fn return_status(&self) -> Option<i32> {
        self.details.return_status
    }

    /// A stored procedure's OUTPUT parameters by name (without `@`).
    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let values = PyDict::new(py);
        if let Some(view) = self.details.output.as_ref().filter(|view| view.num_rows() > 0) {
            for (name, value) in view.names.iter().zip(view.row_values(py, 0)?) {
                values.set_item(name.strip_prefix('@').unwrap_or(name), value)?;
            }
        }
        Ok(values)
    }

    /// Whether this result set has at least one row.
    fn has_rows(&self) -> bool {
        self.view.num_rows() > 0
    }

    /// Whether this result set has no rows.
    fn is_empty(&self) -> bool {
        self.view.num_rows() == 0
    }

    /// Every row (fastmssql 0.7.7's `QueryStream.all()`).
    fn all(&self) -> Vec<FastRow> {
        self.rows()
    }

    /// The next `n` rows (0.7.7's `QueryStream.fetch()`).
    fn fetch(&self, n: usize) -> Vec<FastRow> {
        self.fetchmany(n)
    }

    /// Rewinds the fetch position to the first row.
    fn reset(&self) {
        self.cursor.store(0, Ordering::SeqCst);
    }

    /// The fetch position: rows fetched so far.
    fn position(&self) -> usize {
        self.cursor.load(Ordering::SeqCst).min(self.view.num_rows())
    }

    /// The number of rows (0.7.7's `QueryStream.len()`).
    fn len(&self) -> usize {
        self.view.num_rows()
    }

    fn rows(&self) -> Vec<FastRow> {
        (0..self.view.num_rows()).map(|i| self.row(i)).collect()
    }

    fn fetchone(&self) -> Option<FastRow> {
        self.advance(1).next().map(|i| self.row(i))
    }

    #[pyo3(signature = (n=1))]
    fn fetchmany(&self, n: usize) -> Vec<FastRow> {
        self.advance(n).map(|i| self.row(i)).collect()
    }

    fn fetchall(&self) -> Vec<FastRow> {
        self.advance(usize::MAX).map(|i| self.row(i)).collect()
    }

    /// The next `n` rows (all when `None`) as plain tuples, the DB-API
    /// cursor's rows: no `FastRow` in between.
    #[pyo3(signature = (n=None))]
    fn fetch_tuples<'py>(&self, py: Python<'py>, n: Option<usize>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.advance(n.unwrap_or(usize::MAX)).map(|i| PyTuple::new(py, self.view.row_values(py, i)?)).collect()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyList::new(py, self.rows())?.into_any().try_iter()?.into_any())
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next row, already in memory: an awaitable that does not suspend.
    fn __anext__(&self, py: Python<'_>) -> PyResult<Ready> {
        let row = self.fetchone().ok_or_else(|| PyStopAsyncIteration::new_err(()))?;
        Ok(Ready(Some(Py::new(py, row)?.into_any())))
    }

    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = self.view.set.schema.clone();
        // Each batch travels as a struct array sharing the batch's buffers.
        let arrays = self
            .view
            .set
            .batches
            .clone()
            .into_iter()
            .map(|batch| Ok::<ArrayRef, ArrowError>(Arc::new(StructArray::from(batch))));
        let field = Field::new_struct("", schema.fields().clone(), false).with_metadata(schema.metadata().clone());
        let reader = Box::new(ArrayIterator::new(arrays, field.into()));
        Ok(to_stream_pycapsule(py, reader, requested_schema)?)
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        Ok(to_schema_pycapsule(py, self.view.set.schema.as_ref())?)
    }

    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::import_library(slf.py(), "pyarrow", "to_arrow")?.getattr("table")?.call1((slf,))
    }

    /// polars has no uuid type: uniqueidentifier columns become canonical
    /// strings unless `uuid_as_bytes` keeps their 16 bytes.
    #[pyo3(signature = (*, uuid_as_bytes=false))]
    fn to_polars<'py>(slf: &Bound<'py, Self>, uuid_as_bytes: bool) -> PyResult<Bound<'py, PyAny>> {
        let polars = Self::import_library(slf.py(), "polars", "to_polars")?;
        if uuid_as_bytes {
            return polars.getattr("DataFrame")?.call1((slf,));
        }
        let text = uuids_as_text(&slf.get().view.set).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let converted = Self::single(text);
        polars.getattr("DataFrame")?.call1((Py::new(slf.py(), converted)?,))
    }

    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::import_library(slf.py(), "pandas", "to_pandas")?;
        Self::import_library(slf.py(), "pyarrow", "to_pandas")?;
        Self::to_arrow(slf)?.call_method0("to_pandas")
    }

    fn __repr__(&self) -> String {
        format!("QueryResult(columns={:?}, rows={})", self.view.names, self.view.num_rows())
    }
}
