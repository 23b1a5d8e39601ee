//! The link from an asyncio future back to the task computing it.

use pyo3::prelude::*;

/// A done callback: when the future was cancelled (its awaiting task was),
/// aborts the tokio task, whose dropped work cancels the request with an
/// Attention.
#[pyclass(module = "fastmssql", frozen)]
pub(crate) struct CancelOnDone(pub(crate) tokio::task::AbortHandle);

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(pyo3::intern!(future.py(), "cancelled"))?.is_truthy()? {
            self.0.abort();
        }
        Ok(())
    }
}
