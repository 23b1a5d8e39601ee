use super::awaitable::{run_blocking, run_detached, Executor};
use super::calls::{bulk_options, seconds_to_timeout, CallOptions, Caller, Mode, Source};
use super::errors::config_error;
use super::pool_config::PoolConfig;
use super::session::Session;
use super::ssl_config::SslConfig;
use crate::config::{ConnectSettings, KeywordSettings, Password, PoolSettings};
use crate::driver::DriverPool;
use crate::error::DriverError;
use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// The pool of this process; a pool inherited across fork() is abandoned.
struct OpenPool {
    pool: Arc<DriverPool>,
    pid: u32,
    /// The runtime its sockets belong to.
    executor: Executor,
}

/// Opens the connection's pool on first use and hands it out.
pub(crate) struct PoolHandle {
    settings: ConnectSettings,
    pool_settings: PoolSettings,
    open: Mutex<Option<OpenPool>>,
    /// Serialises pool creation so concurrent first queries open one pool.
    opening: tokio::sync::Mutex<()>,
}

impl PoolHandle {
    fn current_pool(&self) -> Option<Arc<DriverPool>> {
        self.current().map(|(pool, _)| pool)
    }

    fn current(&self) -> Option<(Arc<DriverPool>, Executor)> {
        let mut open = self.open.lock();
        match open.as_ref() {
            Some(state) if state.pid == crate::runtime::current_pid() => {
                Some((state.pool.clone(), state.executor.clone()))
            }
            Some(_) => {
                // Its sockets and tasks belong to the parent process: never
                // touch them here.
                std::mem::forget(open.take());
                None
            }
            None => None,
        }
    }

    /// The pool, opened on the shared runtime if it is not open yet.
    pub(crate) async fn pool(&self) -> Result<Arc<DriverPool>, DriverError> {
        let (pool, executor) = self.open_on(Executor::Shared).await?;
        match executor {
            Executor::Shared => Ok(pool),
            Executor::Own(_) => Err(DriverError::interface(
                "this connection was opened by the synchronous API (fastmssql.connect); its calls cannot be awaited",
            )),
        }
    }

    /// The open pool and the runtime it belongs to; opened with `executor`
    /// (within that runtime) if it is not open yet.
    async fn open_on(&self, executor: Executor) -> Result<(Arc<DriverPool>, Executor), DriverError> {
        if let Some(open) = self.current() {
            return Ok(open);
        }
        let _guard = self.opening.lock().await;
        if let Some(open) = self.current() {
            return Ok(open);
        }
        let pool = Arc::new(DriverPool::open(self.settings.clone(), self.pool_settings).await?);
        let pid = crate::runtime::current_pid();
        *self.open.lock() = Some(OpenPool { pool: pool.clone(), pid, executor: executor.clone() });
        Ok((pool, executor))
    }
}

/// A pooled asyncio connection to SQL Server.
#[pyclass(module = "fastmssql", frozen, subclass)]
pub struct Connection {
    shared: Arc<PoolHandle>,
    caller: Caller,
}

#[pymethods]
impl Connection {
    #[new]
    #[pyo3(signature = (connection_string=None, *, server=None, port=None, database=None, username=None,
                        password=None, pool_config=None, ssl_config=None, application_name=None,
                        application_intent=None, instance_name=None, command_timeout=None, message_handler=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        connection_string: Option<String>,
        server: Option<String>,
        port: Option<u16>,
        database: Option<String>,
        username: Option<String>,
        password: Option<String>,
        pool_config: Option<PyRef<'_, PoolConfig>>,
        ssl_config: Option<PyRef<'_, SslConfig>>,
        application_name: Option<String>,
        application_intent: Option<String>,
        instance_name: Option<String>,
        command_timeout: Option<f64>,
        message_handler: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let keywords = KeywordSettings {
            server,
            port,
            database,
            username,
            password: password.map(Password::new),
            application_name,
            application_intent,
            instance_name,
        };
        let ssl = ssl_config.map(|c| c.settings.clone());
        let settings = ConnectSettings::resolve(connection_string.as_deref(), keywords, ssl).map_err(config_error)?;
        let pool_settings = pool_config.map(|c| c.settings).unwrap_or_default();
        let command_timeout = command_timeout.map(|s| seconds_to_timeout(s, "command_timeout")).transpose()?;
        if let Some(handler) = &message_handler {
            if !Python::attach(|py| handler.bind(py).is_callable()) {
                return Err(PyTypeError::new_err("message_handler must be callable"));
            }
        }
        let shared = Arc::new(PoolHandle {
            settings,
            pool_settings,
            open: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
        });
        let options = Arc::new(CallOptions { command_timeout, message_handler });
        Ok(Self { caller: Caller { source: Source::Pool(shared.clone()), options, mode: Mode::Awaitable }, shared })
    }

    /// Opens the pool (the first connection is made directly so a failure
    /// reports its real cause at once).
    fn connect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        run_detached(py, async move { shared.pool().await.map(|_| ()) }, |_, ()| Ok(()))
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let closed = self.shared.open.lock().take();
        // Dropping the pool closes its idle connections; on the runtime so
        // the sockets deregister from the reactor that owns them.
        run_detached(
            py,
            async move {
                drop(closed);
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }

    /// `close()` for the synchronous API: done when it returns.
    fn close_blocking(&self, py: Python<'_>) -> PyResult<()> {
        let Some(closed) = self.shared.open.lock().take() else {
            return Ok(());
        };
        let executor = closed.executor.clone();
        run_blocking(py, &executor, async move {
            drop(closed.pool);
            Ok(())
        })
    }

    fn is_connected(&self) -> bool {
        self.shared.current_pool().is_some()
    }

    fn pool_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = PyDict::new(py);
        let settings = self.shared.pool_settings;
        match self.shared.current_pool() {
            Some(pool) => {
                let s = pool.stats();
                stats.set_item("connected", true)?;
                stats.set_item("connections", s.connections)?;
                stats.set_item("idle_connections", s.idle_connections)?;
                stats.set_item("active_connections", s.connections - s.idle_connections)?;
                stats.set_item("connections_created", s.connections_created)?;
                stats.set_item("connections_closed_broken", s.connections_closed_broken)?;
            }
            None => {
                stats.set_item("connected", false)?;
                stats.set_item("connections", 0)?;
                stats.set_item("idle_connections", 0)?;
                stats.set_item("active_connections", 0)?;
            }
        }
        stats.set_item("max_size", settings.max_size)?;
        stats.set_item("min_idle", settings.min_idle)?;
        Ok(stats)
    }

    /// A connection of the pool kept for this caller alone (temp tables,
    /// SET options and transactions last between its calls), reset on
    /// checkout. Release it with `release()` (or `async with`).
    fn session<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        let options = self.caller.options.clone();
        run_detached(py, async move { shared.pool().await?.session(true).await }, move |py, session| {
            Py::new(py, Session::new(session, options, Mode::Awaitable))
        })
    }

    /// `session()` for the synchronous API: checked out in this thread (the
    /// GIL released while waiting), its calls returning their values directly.
    /// A pool this opens gets a runtime of its own that the waiting thread
    /// drives, so requests cost no thread hand-off; the connection is then
    /// the synchronous API's alone.
    fn blocking_session(&self, py: Python<'_>) -> PyResult<Session> {
        let executor = match self.shared.current() {
            Some((_, executor)) => executor,
            None => Executor::own()?,
        };
        let shared = self.shared.clone();
        let opening = executor.clone();
        let (session, executor) = run_blocking(py, &executor, async move {
            let (pool, executor) = shared.open_on(opening).await?;
            Ok((pool.session(true).await?, executor))
        })?;
        Ok(Session::new(session, self.caller.options.clone(), Mode::Blocking(executor)))
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

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let shared = slf.get().shared.clone();
        let this = slf.clone().unbind();
        run_detached(slf.py(), async move { shared.pool().await.map(|_| ()) }, move |_, ()| Ok(this))
    }

    #[pyo3(signature = (_exc_type=None, _exc_value=None, _traceback=None))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<&Bound<'py, PyAny>>,
        _exc_value: Option<&Bound<'py, PyAny>>,
        _traceback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        let s = &self.shared.settings;
        format!(
            "Connection(server={:?}, database={:?}, user={:?}, connected={})",
            s.address(),
            s.database.as_deref().unwrap_or(""),
            s.user.as_deref().unwrap_or(""),
            if self.is_connected() { "True" } else { "False" }
        )
    }
}
