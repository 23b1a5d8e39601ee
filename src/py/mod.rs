//! The Python binding layer: the only code that uses pyo3.

mod awaitable;
mod calls;
mod cancel_on_done;
mod cells;
mod completion_queue;
mod connection;
mod encryption_level;
mod errors;
mod fast_row;
mod message;
mod parameter;
mod params;
mod pool_config;
mod query_result;
mod ready;
mod result_stream;
mod result_view;
mod session;
mod ssl_config;

use pyo3::prelude::*;

/// Stops the tokio runtime; registered with `atexit`. The GIL is released
/// so that tasks being dropped can still release their Python references.
#[pyfunction]
fn _shutdown_runtime(py: Python<'_>) {
    py.detach(crate::runtime::shutdown);
}

/// DB-API's qmark placeholders (`?`) as `@P1..@Pn`, outside literals and
/// comments; and how many there were.
#[pyfunction]
fn _qmarks_to_positional(sql: &str) -> (String, usize) {
    crate::statement::qmarks_to_positional(sql)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<connection::Connection>()?;
    m.add_class::<query_result::QueryResult>()?;
    m.add_class::<result_stream::ResultStream>()?;
    m.add_class::<fast_row::FastRow>()?;
    m.add_class::<pool_config::PoolConfig>()?;
    m.add_class::<ssl_config::SslConfig>()?;
    m.add_class::<encryption_level::EncryptionLevel>()?;
    m.add_class::<parameter::Parameter>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<message::Message>()?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(_qmarks_to_positional, m)?)?;
    let shutdown = wrap_pyfunction!(_shutdown_runtime, m)?;
    m.add_function(shutdown.clone())?;
    m.py().import("atexit")?.call_method1("register", (shutdown,))?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
