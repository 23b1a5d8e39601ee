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
use crate::arrow::{BatchLimits, ResultSet};
use crate::driver::{BulkInput, BulkOptions, PinnedSession, ProgressSink, QueryOutcome, Target};
use crate::error::DriverError;
use crate::request::{Request, Statement, Timeout};
use crate::tds::ServerMessage;
use arrow_schema::ArrowError;
use pyo3::exceptions::{PyImportError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString, PyTuple};
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

    /// Streams the first result set in batches of at most `batch_size` rows
    /// and, with `batch_bytes`, ending once their variable-width data reaches it.
    pub(crate) fn stream<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        batch_size: usize,
        batch_bytes: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        if batch_bytes == Some(0) {
            return Err(PyValueError::new_err("batch_bytes must be at least 1"));
        }
        let limits = BatchLimits::new(batch_size, batch_bytes.unwrap_or(BatchLimits::MAX_BYTES));
        let (sql, params) = panic_safe(|| convert_params(sql, params))?;
        let timeout = self.options.timeout(timeout)?;
        let source = self.source.clone();
        let executor = match &self.mode {
            Mode::Blocking(executor) => executor.clone(),
            Mode::Awaitable => Executor::Shared,
        };
        self.finish(
            py,
            async move { source.target().await?.stream(Request::sql(sql, params), limits, timeout).await },
            |py, batches| Py::new(py, ResultStream::new(batches, executor)),
        )
    }

    /// Bulk-loads Arrow data (anything with `__arrow_c_stream__`, or a
    /// pandas DataFrame) into `table`, pulling it one batch at a time.
    pub(crate) fn bulk_insert<'py>(
        &self,
        py: Python<'py>,
        table: &str,
        data: &Bound<'py, PyAny>,
        options: BulkOptions,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = arrow_input(data)?;
        let total = data.len().ok();
        let (progress, bar) = progress_sink(py, progress, table, total)?;
        let reader = data.extract::<PyRecordBatchReader>()?.into_reader()?;
        let input = BulkInput {
            schema: reader.schema(),
            batches: Box::new(reader.map(|batch| batch.map_err(arrow_input_error))),
            progress,
        };
        let table = table.to_string();
        let source = self.source.clone();
        let timeout = self.options.command_timeout;
        self.finish(
            py,
            async move { source.target().await?.bulk_insert(&table, input, &options, timeout).await },
            move |py, stored| {
                if let Some(bar) = bar {
                    bar.call_method0(py, "close")?;
                }
                Ok(stored)
            },
        )
    }
}

/// The INSERT BULK options of `bulk_insert`'s keywords; `order` is a list
/// of column names, each alone (ascending) or as `(name, "ASC" | "DESC")`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bulk_options(
    batch_rows: Option<usize>,
    tablock: bool,
    keep_identity: bool,
    keep_nulls: bool,
    check_constraints: bool,
    fire_triggers: bool,
    order: Option<&Bound<'_, PyAny>>,
    atomic: bool,
) -> PyResult<BulkOptions> {
    if batch_rows == Some(0) {
        return Err(PyValueError::new_err("batch_rows must be at least 1"));
    }
    let mut hints = Vec::new();
    if let Some(order) = order {
        if order.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("order is a list of column names or (name, 'ASC'|'DESC') pairs"));
        }
        for item in order.try_iter()? {
            let item = item?;
            let (name, direction) = match item.extract::<String>() {
                Ok(name) => (name, "ASC".to_string()),
                Err(_) => item.extract::<(String, String)>().map_err(|_| {
                    PyTypeError::new_err("order is a list of column names or (name, 'ASC'|'DESC') pairs")
                })?,
            };
            let descending = match direction.to_ascii_uppercase().as_str() {
                "ASC" => false,
                "DESC" => true,
                other => {
                    return Err(PyValueError::new_err(format!("order direction must be ASC or DESC, got {other:?}")))
                }
            };
            hints.push((name, descending));
        }
    }
    Ok(BulkOptions {
        batch_rows,
        table_lock: tablock,
        keep_identity,
        keep_nulls,
        check_constraints,
        fire_triggers,
        order: hints,
        atomic,
    })
}

/// The progress report of a load: `True` draws a tqdm bar (returned too, to
/// close it at the end), a callable is called with the rows sent so far.
fn progress_sink(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    table: &str,
    total: Option<usize>,
) -> PyResult<(Option<ProgressSink>, Option<Py<PyAny>>)> {
    let Some(progress) = progress.filter(|p| !p.is_none()) else {
        return Ok((None, None));
    };
    if let Ok(draw) = progress.cast::<PyBool>() {
        if !draw.is_true() {
            return Ok((None, None));
        }
        let tqdm = py.import("tqdm").map_err(|_| {
            PyImportError::new_err("progress=True draws a tqdm progress bar: pip install tqdm, or pass a callable")
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("total", total)?;
        kwargs.set_item("unit", "rows")?;
        kwargs.set_item("unit_scale", true)?;
        kwargs.set_item("desc", table)?;
        let bar = tqdm.getattr("tqdm")?.call((), Some(&kwargs))?.unbind();
        let update = bar.getattr(py, "update")?;
        let mut shown = 0;
        let sink: ProgressSink = Box::new(move |rows| {
            let step = rows - shown;
            shown = rows;
            Python::attach(|py| update.call1(py, (step,)).map(drop).map_err(|e| progress_error(py, e)))
        });
        return Ok((Some(sink), Some(bar)));
    }
    if !progress.is_callable() {
        return Err(PyTypeError::new_err("progress must be True, False or a callable taking the rows sent so far"));
    }
    let report = progress.clone().unbind();
    let sink: ProgressSink = Box::new(move |rows| {
        Python::attach(|py| report.call1(py, (rows,)).map(drop).map_err(|e| progress_error(py, e)))
    });
    Ok((Some(sink), None))
}

fn progress_error(py: Python<'_>, error: PyErr) -> DriverError {
    DriverError::interface(format!("bulk_insert: the progress callback raised {}", error.value(py)))
}

/// An error of the Arrow input: the driver's own when the input is another
/// query's stream, else the producer's.
fn arrow_input_error(error: ArrowError) -> DriverError {
    match error {
        ArrowError::ExternalError(cause) => match cause.downcast::<DriverError>() {
            Ok(driver) => *driver,
            Err(other) => DriverError::interface(format!("bulk_insert: reading the Arrow data failed: {other}")),
        },
        other => DriverError::interface(format!("bulk_insert: reading the Arrow data failed: {other}")),
    }
}

/// The object to read a load from: Arrow data as given, a pandas DataFrame
/// through pyarrow (without its index).
fn arrow_input<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let kind = data.get_type();
    if kind.module()?.to_str()?.starts_with("pandas") && kind.name()?.to_str()? == "DataFrame" {
        let pyarrow = data.py().import("pyarrow").map_err(|_| {
            PyImportError::new_err("bulk_insert reads a pandas DataFrame through pyarrow: pip install pyarrow")
        })?;
        let kwargs = PyDict::new(data.py());
        kwargs.set_item("preserve_index", false)?;
        return pyarrow.getattr("Table")?.call_method("from_pandas", (data,), Some(&kwargs));
    }
    if !data.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "bulk_insert needs Arrow data exporting __arrow_c_stream__ (pyarrow.Table, polars.DataFrame, ...), \
             a pandas DataFrame, or columns and rows, got {}",
            kind.name()?
        )));
    }
    Ok(data.clone())
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
