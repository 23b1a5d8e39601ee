use super::awaitable::run_detached;
use super::errors::{config_error, panic_safe};
use super::params::convert_params;
use super::pool_config::PoolConfig;
use super::query_result::QueryResult;
use super::result_stream::ResultStream;
use super::ssl_config::SslConfig;
use crate::config::{ConnectSettings, KeywordSettings, Password, PoolSettings};
use crate::driver::DriverPool;
use crate::error::DriverError;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::PyRecordBatchReader;
use std::sync::Arc;

/// The batches of an Arrow stream (pyarrow/polars/... objects exporting
/// `__arrow_c_stream__`), read with the GIL held: importing shares the
/// producer's buffers.
fn arrow_input(data: &Bound<'_, PyAny>) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
    if !data.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "bulk_insert needs Arrow data exporting __arrow_c_stream__ (pyarrow.Table, polars.DataFrame, ...), got {}",
            data.get_type().name()?
        )));
    }
    let reader = data.extract::<PyRecordBatchReader>()?.into_reader()?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("bulk_insert: reading the Arrow data failed: {e}")))?;
    Ok((schema, batches))
}

/// The pool of this process; a pool inherited across fork() is abandoned.
struct OpenPool {
    pool: Arc<DriverPool>,
    pid: u32,
}

struct Shared {
    settings: ConnectSettings,
    pool_settings: PoolSettings,
    open: Mutex<Option<OpenPool>>,
    /// Serialises pool creation so concurrent first queries open one pool.
    opening: tokio::sync::Mutex<()>,
}

impl Shared {
    fn current_pool(&self) -> Option<Arc<DriverPool>> {
        let mut open = self.open.lock();
        match open.as_ref() {
            Some(state) if state.pid == crate::runtime::current_pid() => Some(state.pool.clone()),
            Some(_) => {
                // Its sockets and tasks belong to the parent process: never
                // touch them here.
                std::mem::forget(open.take());
                None
            }
            None => None,
        }
    }

    async fn pool(self: Arc<Self>) -> Result<Arc<DriverPool>, DriverError> {
        if let Some(pool) = self.current_pool() {
            return Ok(pool);
        }
        let _guard = self.opening.lock().await;
        if let Some(pool) = self.current_pool() {
            return Ok(pool);
        }
        let pool = Arc::new(DriverPool::open(self.settings.clone(), self.pool_settings).await?);
        *self.open.lock() = Some(OpenPool { pool: pool.clone(), pid: crate::runtime::current_pid() });
        Ok(pool)
    }
}

/// A pooled asyncio connection to SQL Server.
#[pyclass(module = "fastmssql", frozen)]
pub struct Connection {
    shared: Arc<Shared>,
}

#[pymethods]
impl Connection {
    #[new]
    #[pyo3(signature = (connection_string=None, *, server=None, port=None, database=None, username=None,
                        password=None, pool_config=None, ssl_config=None, application_name=None))]
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
    ) -> PyResult<Self> {
        let keywords = KeywordSettings {
            server,
            port,
            database,
            username,
            password: password.map(Password::new),
            application_name,
        };
        let ssl = ssl_config.map(|c| c.settings.clone());
        let settings = ConnectSettings::resolve(connection_string.as_deref(), keywords, ssl).map_err(config_error)?;
        let pool_settings = pool_config.map(|c| c.settings).unwrap_or_default();
        Ok(Self {
            shared: Arc::new(Shared {
                settings,
                pool_settings,
                open: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
            }),
        })
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
                stats.set_item("connections_created", s.connections_created)?;
                stats.set_item("connections_closed_broken", s.connections_closed_broken)?;
            }
            None => {
                stats.set_item("connected", false)?;
                stats.set_item("connections", 0)?;
                stats.set_item("idle_connections", 0)?;
            }
        }
        stats.set_item("max_size", settings.max_size)?;
        stats.set_item("min_idle", settings.min_idle)?;
        Ok(stats)
    }

    #[pyo3(signature = (sql, params=None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (statement, bound) = panic_safe(|| convert_params(sql, params))?;
        let shared = self.shared.clone();
        run_detached(py, async move { shared.pool().await?.query(&statement, &bound).await }, |py, outcome| {
            Py::new(py, QueryResult::from_outcome(outcome))
        })
    }

    /// Bulk-loads Arrow data (anything with `__arrow_c_stream__`) into `table`.
    fn bulk_insert<'py>(&self, py: Python<'py>, table: &str, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (schema, batches) = arrow_input(data)?;
        let table = table.to_string();
        let shared = self.shared.clone();
        run_detached(
            py,
            async move { shared.pool().await?.bulk_insert(&table, &schema, &batches).await },
            |_, stored| Ok(stored),
        )
    }

    /// Streams the first result set in batches of at most `batch_size` rows.
    #[pyo3(signature = (sql, params=None, *, batch_size=65536))]
    fn stream<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let (statement, bound) = panic_safe(|| convert_params(sql, params))?;
        let shared = self.shared.clone();
        run_detached(
            py,
            async move { shared.pool().await?.stream(statement, bound, batch_size).await },
            |py, batches| Py::new(py, ResultStream::new(batches)),
        )
    }

    #[pyo3(signature = (sql, params=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (statement, bound) = panic_safe(|| convert_params(sql, params))?;
        let shared = self.shared.clone();
        run_detached(py, async move { shared.pool().await?.execute(&statement, &bound).await }, |_, affected| {
            Ok(affected)
        })
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
