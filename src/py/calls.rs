//! The calls a pooled `Connection` and a pinned `Session` share: each turns
//! Python arguments into a request (bad ones refused before anything is
//! sent), runs it where its owner runs calls, and turns the outcome into
//! Python objects, delivering the server's messages on the way.

use super::awaitable::{run_blocking, run_detached, Executor};
use super::connection::PoolHandle;
use super::errors::{driver_error, panic_safe, Warning};
use super::message::Message;
use super::params::{convert_arguments, convert_params};
use super::query_result::QueryResult;
use super::result_stream::ResultStream;
use crate::arrow::ResultSet;
use crate::driver::{PinnedSession, QueryOutcome, Target};
use crate::error::DriverError;
use crate::request::{Request, Statement, Timeout};
use crate::tds::ServerMessage;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use pyo3_arrow::PyRecordBatchReader;
use std::ffi::CString;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What every call of a connection shares.
pub(crate) struct CallOptions {
    /// The timeout of calls that give none.
    pub(crate) command_timeout: Timeout,
    /// Receives the server's messages instead of `warnings.warn`.
    pub(crate) message_handler: Option<Py<PyAny>>,
}

impl CallOptions {
    /// A call's own `timeout=` (seconds), else the connection's.
    fn timeout(&self, seconds: Option<f64>) -> PyResult<Timeout> {
        match seconds {
            None => Ok(self.command_timeout),
            Some(seconds) => seconds_to_timeout(seconds, "timeout").map(Some),
        }
    }

    /// Issues each message as a `fastmssql.Warning`, or hands it to the handler.
    fn deliver(&self, py: Python<'_>, messages: &[ServerMessage]) -> PyResult<()> {
        for message in messages {
            match &self.message_handler {
                Some(handler) => drop(handler.call1(py, (Message::new(message),))?),
                None => {
                    let text = format!("[SQL Server message {}] {}", message.number, message.message);
                    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
                    PyErr::warn(py, &py.get_type::<Warning>(), &text, 1)?;
                }
            }
        }
        Ok(())
    }
}

/// A positive, finite number of seconds.
pub(crate) fn seconds_to_timeout(seconds: f64, what: &str) -> PyResult<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(PyValueError::new_err(format!("{what} must be a positive number of seconds, got {seconds}")));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// Where a caller's calls run.
#[derive(Clone)]
pub(crate) enum Source {
    /// On the connection's pool (opened on first use).
    Pool(Arc<PoolHandle>),
    Pinned(PinnedSession),
}

impl Source {
    async fn target(self) -> Result<Target, DriverError> {
        match self {
            Self::Pool(handle) => Ok(Target::Pool(handle.pool().await?)),
            Self::Pinned(session) => Ok(Target::Pinned(session)),
        }
    }
}

/// How a call's result is handed back.
#[derive(Clone)]
pub(crate) enum Mode {
    /// As an awaitable (the asyncio API).
    Awaitable,
    /// As the value itself, the calling thread waiting with the GIL released
    /// (DB-API), on the runtime that drives the connection.
    Blocking(Executor),
}

/// Runs the calls of a connection or session.
pub(crate) struct Caller {
    pub(crate) source: Source,
    pub(crate) options: Arc<CallOptions>,
    pub(crate) mode: Mode,
}

impl Caller {
    /// Runs `future` and converts its value with the GIL held, as an
    /// awaitable or in this thread per the caller's mode.
    pub(crate) fn finish<'py, F, T, C, R>(&self, py: Python<'py>, future: F, convert: C) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Result<T, DriverError>> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<R> + Send + 'static,
        R: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        match &self.mode {
            Mode::Awaitable => run_detached(py, future, convert),
            Mode::Blocking(executor) => {
                let value = run_blocking(py, executor, future)?;
                panic_safe(|| convert(py, value)?.into_bound_py_any(py))
            }
        }
    }

    /// Runs `request` and returns its whole outcome as a `QueryResult`.
    fn run<'py>(&self, py: Python<'py>, request: Request, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        self.run_with(py, request, timeout, |py, outcome| {
            Py::new(py, QueryResult::from_outcome(outcome)).map(Py::into_any)
        })
    }

    fn run_with<'py, C>(
        &self,
        py: Python<'py>,
        request: Request,
        timeout: Option<f64>,
        convert: C,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        C: FnOnce(Python<'_>, QueryOutcome) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        let timeout = self.options.timeout(timeout)?;
        let source = self.source.clone();
        let options = self.options.clone();
        self.finish(py, async move { source.target().await?.query(&request, timeout).await }, move |py, outcome| {
            options.deliver(py, &outcome.messages)?;
            convert(py, outcome)
        })
    }

    pub(crate) fn query<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (sql, params) = panic_safe(|| convert_params(sql, params))?;
        self.run(py, Request::sql(sql, params), timeout)
    }

    pub(crate) fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (sql, params) = panic_safe(|| convert_params(sql, params))?;
        self.run_with(py, Request::sql(sql, params), timeout, |py, outcome| {
            Ok(outcome.rows_affected.into_pyobject(py)?.into_any().unbind())
        })
    }

    /// Runs the statements in as few requests as possible; `convert` builds
    /// the Python result. A failed statement is named by its position.
    fn run_statements<'py, C>(
        &self,
        py: Python<'py>,
        statements: Vec<Statement>,
        atomic: bool,
        timeout: Option<f64>,
        convert: C,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        C: FnOnce(Python<'_>, QueryOutcome) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        let timeout = self.options.timeout(timeout)?;
        let source = self.source.clone();
        let options = self.options.clone();
        let total = statements.len();
        let work = async move {
            let target = source.target().await?;
            target.run_statements(statements, atomic, timeout).await.map_err(|error| match error.statement {
                Some(index) => {
                    let others =
                        if atomic { "none of the batch was kept" } else { "the other statements of its request ran" };
                    error.context(&format!("statement {} of {total} failed ({others})", index + 1))
                }
                None => error,
            })
        };
        self.finish(py, work, move |py, outcome| {
            options.deliver(py, &outcome.messages)?;
            convert(py, outcome)
        })
    }

    /// `executemany`: one statement, many parameter sets; the total rows affected.
    pub(crate) fn executemany<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        seq_of_params: &Bound<'py, PyAny>,
        atomic: bool,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let statements = panic_safe(|| {
            seq_of_params
                .try_iter()
                .map_err(|_| PyTypeError::new_err("executemany needs a sequence of parameter sets"))?
                .map(|params| {
                    let (sql, params) = convert_params(sql, Some(&params?))?;
                    Ok(Statement { sql, params })
                })
                .collect::<PyResult<Vec<_>>>()
        })?;
        self.run_statements(py, statements, atomic, timeout, |py, outcome| {
            Ok(outcome.rows_affected.into_pyobject(py)?.into_any().unbind())
        })
    }

    /// `execute_batch`: the rows affected by each statement.
    pub(crate) fn execute_batch<'py>(
        &self,
        py: Python<'py>,
        commands: &Bound<'py, PyAny>,
        atomic: bool,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let statements = panic_safe(|| statement_list(commands))?;
        self.run_statements(py, statements, atomic, timeout, |py, outcome| {
            Ok(PyList::new(py, outcome.statement_counts)?.into_any().unbind())
        })
    }

    /// `query_batch`: a `QueryResult` per statement, in order.
    pub(crate) fn query_batch<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let statements = panic_safe(|| statement_list(queries))?;
        let total = statements.len();
        self.run_statements(py, statements, false, timeout, move |py, outcome| {
            let mut sets: Vec<Vec<ResultSet>> = (0..total).map(|_| Vec::new()).collect();
            for (set, statement) in outcome.result_sets.into_iter().zip(outcome.result_statements) {
                if let Some(list) = sets.get_mut(statement) {
                    list.push(set);
                }
            }
            let results = sets
                .into_iter()
                .enumerate()
                .map(|(i, sets)| {
                    let count = outcome.statement_counts.get(i).copied().unwrap_or(0);
                    Py::new(py, QueryResult::new(sets, count, Default::default()))
                })
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, results)?.into_any().unbind())
        })
    }

    /// `call_proc`: the procedure's result sets, OUTPUT values and return status.
    pub(crate) fn call_proc<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        params: Option<&Bound<'py, PyAny>>,
        output: Option<&Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if name.trim().is_empty() {
            return Err(driver_error(&DriverError::programming("call_proc needs a procedure name")));
        }
        let arguments = panic_safe(|| convert_arguments(params, output))?;
        self.run(py, Request::Procedure { name: name.to_string(), arguments }, timeout)
    }

    /// Streams the first result set in batches of at most `batch_size` rows.
    pub(crate) fn stream<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        batch_size: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let (sql, params) = panic_safe(|| convert_params(sql, params))?;
        let timeout = self.options.timeout(timeout)?;
        let source = self.source.clone();
        let executor = match &self.mode {
            Mode::Blocking(executor) => executor.clone(),
            Mode::Awaitable => Executor::Shared,
        };
        self.finish(
            py,
            async move { source.target().await?.stream(Request::sql(sql, params), batch_size, timeout).await },
            |py, batches| Py::new(py, ResultStream::new(batches, executor)),
        )
    }

    /// Bulk-loads Arrow data (anything with `__arrow_c_stream__`) into `table`.
    pub(crate) fn bulk_insert<'py>(
        &self,
        py: Python<'py>,
        table: &str,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (schema, batches) = arrow_input(data)?;
        let table = table.to_string();
        let source = self.source.clone();
        self.finish(
            py,
            async move { source.target().await?.bulk_insert(&table, &schema, &batches).await },
            |_, stored| Ok(stored),
        )
    }
}

/// `[(sql, params), ...]` or `[sql, ...]` as statements.
fn statement_list(commands: &Bound<'_, PyAny>) -> PyResult<Vec<Statement>> {
    if commands.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("expected a list of statements, got a single str"));
    }
    let mut statements = Vec::new();
    for command in commands.try_iter().map_err(|_| PyTypeError::new_err("expected a list of statements"))? {
        let command = command?;
        let (sql, params): (String, Option<Bound<'_, PyAny>>) = if let Ok(sql) = command.extract::<String>() {
            (sql, None)
        } else if let Ok(pair) = command.cast::<PyTuple>() {
            match pair.len() {
                1 => (pair.get_item(0)?.extract()?, None),
                2 => (pair.get_item(0)?.extract()?, Some(pair.get_item(1)?)),
                n => return Err(PyTypeError::new_err(format!("a statement is (sql, params), got a tuple of {n}"))),
            }
        } else if let Ok(pair) = command.extract::<(String, Bound<'_, PyAny>)>() {
            (pair.0, Some(pair.1))
        } else {
            return Err(PyTypeError::new_err("each statement is a str or a (sql, params) pair"));
        };
        let (sql, params) = convert_params(&sql, params.as_ref())?;
        statements.push(Statement { sql, params });
    }
    Ok(statements)
}

/// The batches of an Arrow stream (pyarrow/polars/... objects exporting
/// `__arrow_c_stream__`), read with the GIL held: importing shares the
/// producer's buffers.
fn arrow_input(data: &Bound<'_, PyAny>) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
    if !data.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "bulk_insert needs Arrow data exporting __arrow_c_stream__ (pyarrow.Table, polars.DataFrame, ...) \
             or columns and rows, got {}",
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
