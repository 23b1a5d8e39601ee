use super::awaitable::{run_detached, Executor};
use super::query_result::QueryResult;
use crate::arrow::ResultSet;
use crate::driver::BatchStream;
use arrow_array::{ArrayRef, StructArray};
use arrow_schema::{ArrowError, Field, SchemaRef};
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3_arrow::ffi::{to_schema_pycapsule, to_stream_pycapsule, ArrayIterator};
use std::sync::Arc;

/// The first result set of a batch, arriving in record batches of at most
/// `batch_size` rows while the server is still sending: memory stays bounded
/// by a few batches whatever the result's size.
///
/// The stream holds one pooled connection until it is exhausted; dropped
/// before its end, that connection is discarded rather than reused.
#[pyclass(module = "fastmssql", frozen)]
pub struct ResultStream {
    schema: SchemaRef,
    /// `None` once exported through `__arrow_c_stream__`.
    batches: Arc<tokio::sync::Mutex<Option<BatchStream>>>,
    /// The runtime whose task reads the batches.
    executor: Executor,
}

impl ResultStream {
    pub(crate) fn new(stream: BatchStream, executor: Executor) -> Self {
        Self { schema: stream.schema(), batches: Arc::new(tokio::sync::Mutex::new(Some(stream))), executor }
    }
}

fn consumed() -> PyErr {
    PyRuntimeError::new_err("this ResultStream was already exported with __arrow_c_stream__; a stream is read once")
}

/// Blocks for each next batch with the GIL released, so Arrow consumers can
/// pull the stream from any thread.
struct BlockingBatches(BatchStream, Executor);

impl Iterator for BlockingBatches {
    type Item = Result<ArrayRef, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = Python::attach(|py| {
            py.detach(|| match &self.1 {
                // The reading task runs on that runtime only while a thread waits on it.
                Executor::Own(runtime) => runtime.block_on(self.0.next()),
                Executor::Shared => self.0.blocking_next(),
            })
        })?;
        Some(match next {
            Ok(batch) => Ok(Arc::new(StructArray::from(batch)) as ArrayRef),
            Err(error) => Err(ArrowError::ExternalError(Box::new(error))),
        })
    }
}

#[pymethods]
impl ResultStream {
    /// Names of the result's columns.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next batch as a `QueryResult` of one result set.
    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Executor::Own(_) = self.executor {
            return Err(PyRuntimeError::new_err(
                "a stream of the synchronous API is read with __arrow_c_stream__ (e.g. pyarrow.RecordBatchReader.from_stream), not async for",
            ));
        }
        let batches = self.batches.clone();
        let schema = self.schema.clone();
        run_detached(
            py,
            async move {
                let mut guard = batches.lock().await;
                match guard.as_mut() {
                    None => Ok(Err(())),
                    Some(stream) => match stream.next().await {
                        Some(Ok(batch)) => Ok(Ok(Some(batch))),
                        Some(Err(error)) => Err(error),
                        None => Ok(Ok(None)),
                    },
                }
            },
            move |py, next| match next {
                Err(()) => Err(consumed()),
                Ok(None) => Err(PyStopAsyncIteration::new_err(())),
                Ok(Some(batch)) => {
                    let set = ResultSet { schema, batches: vec![batch] };
                    Py::new(py, QueryResult::single(set)).map(|result| result.into_any())
                }
            },
        )
    }

    /// Exports the batches not yet read as an Arrow C stream (read once).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let stream = self
            .batches
            .try_lock()
            .map_err(|_| PyRuntimeError::new_err("this ResultStream is being read by __anext__"))?
            .take()
            .ok_or_else(consumed)?;
        let field =
            Field::new_struct("", self.schema.fields().clone(), false).with_metadata(self.schema.metadata().clone());
        let reader = Box::new(ArrayIterator::new(BlockingBatches(stream, self.executor.clone()), field.into()));
        Ok(to_stream_pycapsule(py, reader, requested_schema)?)
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        Ok(to_schema_pycapsule(py, self.schema.as_ref())?)
    }

    fn __repr__(&self) -> String {
        format!("ResultStream(columns={:?})", self.columns())
    }
}
