//! Rust futures as Python awaitables, and run in the calling thread.
//!
//! An awaitable is an asyncio future of the running loop whose value is
//! computed by a task on the shared tokio runtime; the task never takes the
//! GIL: the loop converts the outcome (crate::py::completion_queue). Panics
//! become `InternalError` instead of a `PanicException`.

use super::cancel_on_done::CancelOnDone;
use super::completion_queue::Completions;
use super::errors::{driver_error, panic_error, panic_safe};
use crate::error::DriverError;
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Which runtime drives a connection's sockets, for calls that wait in the
/// calling thread.
#[derive(Clone)]
pub(crate) enum Executor {
    /// The shared runtime's workers (a connection of the asyncio API).
    Shared,
    /// A current-thread runtime of one connection of the synchronous API:
    /// the waiting thread does the I/O itself.
    Own(Arc<tokio::runtime::Runtime>),
}

impl Executor {
    /// A runtime of its own, for a connection opened by the synchronous API.
    pub(crate) fn own() -> PyResult<Self> {
        crate::runtime::thread_driven()
            .map(|runtime| Self::Own(Arc::new(runtime)))
            .map_err(|e| driver_error(&DriverError::internal(format!("cannot start a runtime: {e}"))))
    }
}

/// Runs `future` to completion in the calling thread, with the GIL
/// released while it waits: the synchronous API. The calling thread is never
/// a runtime thread (it runs Python code), so blocking on the runtime cannot
/// deadlock, not even inside a thread that runs an asyncio event loop.
pub(crate) fn run_blocking<F, T>(py: Python<'_>, executor: &Executor, future: F) -> PyResult<T>
where
    F: Future<Output = Result<T, DriverError>> + Send,
    T: Send,
{
    let future = AssertUnwindSafe(future).catch_unwind();
    let outcome = match executor {
        Executor::Own(runtime) => py.detach(|| runtime.block_on(future)),
        Executor::Shared => {
            let runtime = crate::runtime::handle()
                .map_err(|e| driver_error(&DriverError::internal(format!("cannot start the runtime: {e}"))))?;
            py.detach(|| runtime.block_on(future))
        }
    };
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(driver_error(&error)),
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

/// Returns a Python awaitable for `future`, run on the tokio runtime with the
/// GIL released. `convert` builds the Python value on the event loop's thread.
pub(crate) fn run_detached<'py, F, T, C, R>(py: Python<'py>, future: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, DriverError>> + Send + 'static,
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<R> + Send + 'static,
    R: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let runtime = crate::runtime::handle()
        .map_err(|e| driver_error(&DriverError::internal(format!("cannot start the runtime: {e}"))))?;
    let (event_loop, completions) = Completions::current(py)?;
    let awaitable = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let resolve = awaitable.clone().unbind();
    // Boxed once here: the request's future is large, and the task would
    // otherwise move it by value on each wrapping.
    let future = Box::pin(future);
    let task = runtime.spawn(async move {
        let outcome = AssertUnwindSafe(future).catch_unwind().await;
        completions.push(Box::new(move |py| {
            let future = resolve.bind(py);
            // Cancelled meanwhile: nobody waits for the value.
            if future.call_method0(pyo3::intern!(py, "done")).and_then(|done| done.is_truthy()).unwrap_or(true) {
                return;
            }
            let value = match outcome {
                Ok(Ok(value)) => panic_safe(|| convert(py, value)?.into_bound_py_any(py)),
                Ok(Err(error)) => Err(driver_error(&error)),
                Err(payload) => Err(panic_error(payload.as_ref())),
            };
            // Cannot fail: the future is pending and this is its loop's thread.
            let _ = match value {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,)),
                Err(error) => future.call_method1(pyo3::intern!(py, "set_exception"), (error.into_value(py),)),
            };
        }));
    });
    awaitable.call_method1(pyo3::intern!(py, "add_done_callback"), (CancelOnDone(task.abort_handle()),))?;
    Ok(awaitable)
}
