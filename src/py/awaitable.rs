//! Rust futures as Python awaitables, run without holding the GIL.
//!
//! Futures run on our fork-aware runtime (crate::runtime) through
//! pyo3-async-runtimes' generic bridge; the GIL is only taken to hand the
//! result back. Panics become `InternalError` instead of a `PanicException`.

use super::errors::{driver_error, panic_error, panic_safe};
use crate::error::DriverError;
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{self, ContextExt, JoinError, Runtime};
use pyo3_async_runtimes::TaskLocals;
use std::cell::OnceCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

pub(crate) struct ForkAwareRuntime;

pub(crate) struct TaskJoinError(tokio::task::JoinError);

impl JoinError for TaskJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }

    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

/// Resolves the spawned task's join handle into the bridge's error type.
pub(crate) struct JoinHandle(tokio::task::JoinHandle<()>);

impl Future for JoinHandle {
    type Output = Result<(), TaskJoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| r.map_err(TaskJoinError))
    }
}

fn runtime_handle() -> tokio::runtime::Handle {
    // `run_detached` creates the runtime before anything is spawned; building
    // it can only fail when the OS refuses threads, which is not recoverable.
    crate::runtime::handle().expect("the tokio runtime could not be started")
}

impl Runtime for ForkAwareRuntime {
    type JoinError = TaskJoinError;
    type JoinHandle = JoinHandle;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        JoinHandle(runtime_handle().spawn(fut))
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        JoinHandle(runtime_handle().spawn_blocking(f))
    }
}

impl ContextExt for ForkAwareRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}

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
/// GIL released. `convert` builds the Python value once the GIL is back.
pub(crate) fn run_detached<'py, F, T, C, R>(py: Python<'py>, future: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, DriverError>> + Send + 'static,
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<R> + Send + 'static,
    R: for<'a> IntoPyObject<'a> + Send + 'static,
{
    crate::runtime::handle()
        .map_err(|e| driver_error(&DriverError::internal(format!("cannot start the runtime: {e}"))))?;
    let guarded = async move {
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(Ok(value)) => Python::attach(|py| panic_safe(|| convert(py, value))),
            Ok(Err(error)) => Err(driver_error(&error)),
            Err(payload) => Err(panic_error(payload.as_ref())),
        }
    };
    generic::future_into_py::<ForkAwareRuntime, _, R>(py, guarded)
}
