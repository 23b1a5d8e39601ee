//! A pooled connection kept by one caller for several calls: session state
//! (temp tables, SET options) and a transaction last between them.

use super::awaitable::run_detached;
use super::calls::{bulk_options, CallOptions, Caller, Mode, Source};
use super::errors::driver_error;
use crate::driver::{IsolationLevel, PinnedSession};
use pyo3::prelude::*;
use std::sync::Arc;

/// A pinned pooled connection (`Connection.session()`, and what
/// `Connection.transaction()` / `acquire()` run on).
#[pyclass(module = "fastmssql", frozen)]
pub struct Session {
    session: PinnedSession,
    caller: Caller,
}

impl Session {
    pub(crate) fn new(session: crate::driver::Session, options: Arc<CallOptions>, mode: Mode) -> Self {
        let session = Arc::new(tokio::sync::Mutex::new(session));
        Self { caller: Caller { source: Source::Pinned(session.clone()), options, mode }, session }
    }
}

#[pymethods]
impl Session {
    /// Begins a transaction, at `isolation_level` (e.g. "SERIALIZABLE") if given.
    #[pyo3(signature = (isolation_level=None))]
    fn begin<'py>(&self, py: Python<'py>, isolation_level: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let level = isolation_level.map(IsolationLevel::parse).transpose().map_err(|e| driver_error(&e))?;
        let session = self.session.clone();
        self.caller.finish(py, async move { session.lock().await.begin(level).await }, |_, ()| Ok(()))
    }

    fn commit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        self.caller.finish(py, async move { session.lock().await.commit().await }, |_, ()| Ok(()))
    }

    /// Rolls back the open transaction (nothing when none is open).
    fn rollback<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        self.caller.finish(py, async move { session.lock().await.rollback().await }, |_, ()| Ok(()))
    }

    /// Rolls back an open transaction and returns the connection to the pool.
    fn release<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        self.caller.finish(py, async move { session.lock().await.release().await }, |_, ()| Ok(()))
    }

    /// Whether the server reports a transaction open on this session.
    #[getter]
    fn in_transaction(&self) -> bool {
        self.session.try_lock().is_ok_and(|s| s.in_transaction())
    }

    /// Whether the connection went back to the pool.
    #[getter]
    fn released(&self) -> bool {
        self.session.try_lock().is_ok_and(|s| s.is_released())
    }

    #[pyo3(signature = (sql, params=None, *, timeout=None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.query(py, sql, params, timeout)
    }

    #[pyo3(signature = (sql, params=None, *, timeout=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.execute(py, sql, params, timeout)
    }

    #[pyo3(signature = (sql, seq_of_params, *, atomic=false, timeout=None))]
    fn executemany<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        seq_of_params: &Bound<'py, PyAny>,
        atomic: bool,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.executemany(py, sql, seq_of_params, atomic, timeout)
    }

    #[pyo3(signature = (commands, *, atomic=false, timeout=None))]
    fn execute_batch<'py>(
        &self,
        py: Python<'py>,
        commands: &Bound<'py, PyAny>,
        atomic: bool,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.execute_batch(py, commands, atomic, timeout)
    }

    #[pyo3(signature = (queries, *, timeout=None))]
    fn query_batch<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.query_batch(py, queries, timeout)
    }

    #[pyo3(signature = (name, params=None, *, output=None, timeout=None))]
    fn call_proc<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        params: Option<&Bound<'py, PyAny>>,
        output: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.call_proc(py, name, params, output, timeout)
    }

    #[pyo3(signature = (sql, params=None, *, batch_size=65536, batch_bytes=None, timeout=None))]
    fn stream<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        batch_size: usize,
        batch_bytes: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.caller.stream(py, sql, params, batch_size, batch_bytes, timeout)
    }

    #[pyo3(signature = (table, data, *, batch_rows=None, tablock=false, keep_identity=true, keep_nulls=false,
                        check_constraints=false, fire_triggers=false, order=None, atomic=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn bulk_insert<'py>(
        &self,
        py: Python<'py>,
        table: &str,
        data: &Bound<'py, PyAny>,
        batch_rows: Option<usize>,
        tablock: bool,
        keep_identity: bool,
        keep_nulls: bool,
        check_constraints: bool,
        fire_triggers: bool,
        order: Option<&Bound<'py, PyAny>>,
        atomic: bool,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = bulk_options(
            batch_rows,
            tablock,
            keep_identity,
            keep_nulls,
            check_constraints,
            fire_triggers,
            order,
            atomic,
        )?;
        self.caller.bulk_insert(py, table, data, options, progress)
    }

    fn __aenter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        run_detached(py, async { Ok(()) }, move |_, ()| Ok(slf))
    }

    #[pyo3(signature = (_exc_type=None, _exc_value=None, _traceback=None))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<&Bound<'py, PyAny>>,
        _exc_value: Option<&Bound<'py, PyAny>>,
        _traceback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.release(py)
    }

    fn __repr__(&self) -> String {
        format!("Session(released={}, in_transaction={})", self.released(), self.in_transaction())
    }
}
