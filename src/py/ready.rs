//! An awaitable whose value is already there.

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

/// Awaiting it returns its value at once, without suspending: `async for`
/// over rows held in memory costs no trip through the event loop.
#[pyclass(module = "fastmssql")]
pub(crate) struct Ready(pub(crate) Option<Py<PyAny>>);

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // The value as a 1-tuple argument, so a tuple value is not unpacked.
        Err(PyStopIteration::new_err((self.0.take().unwrap_or_else(|| py.None()),)))
    }
}
