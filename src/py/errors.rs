//! The DB-API 2.0 exception hierarchy and the single place where Rust
//! errors become Python exceptions.

use crate::config::ConfigError;
use crate::error::{DriverError, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError, PyWarning};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

// A subclass of Python's Warning (itself an Exception, as DB-API 2.0 asks),
// so server messages can go through the `warnings` machinery.
create_exception!(
    fastmssql,
    Warning,
    PyWarning,
    "Important warnings (DB-API 2.0); server messages are issued as these."
);
create_exception!(fastmssql, Error, PyException, "Base class of all fastmssql errors (DB-API 2.0).");
create_exception!(fastmssql, InterfaceError, Error, "Errors of the client interface rather than the database.");
create_exception!(fastmssql, DatabaseError, Error, "Errors related to the database.");
create_exception!(fastmssql, DataError, DatabaseError, "Problems with the processed data.");
create_exception!(fastmssql, OperationalError, DatabaseError, "Connection, login, I/O and timeout failures.");
create_exception!(fastmssql, IntegrityError, DatabaseError, "Constraint violations.");
create_exception!(fastmssql, InternalError, DatabaseError, "Internal errors, including Rust panics.");
create_exception!(fastmssql, ProgrammingError, DatabaseError, "Errors in the SQL or its parameters.");
create_exception!(fastmssql, NotSupportedError, DatabaseError, "Unsupported features or types.");

/// `QueryTimeoutError(OperationalError, TimeoutError)`: built at import,
/// as pyo3's exception macro takes one base.
static QUERY_TIMEOUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn query_timeout_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    QUERY_TIMEOUT_ERROR.import(py, "fastmssql._core", "QueryTimeoutError")
}

/// Attributes every `Error` carries; `None` unless the server reported it.
const SERVER_ATTRIBUTES: [&str; 8] = ["number", "code", "state", "severity", "server", "procedure", "line", "message"];

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let error = py.get_type::<Error>();
    for attribute in SERVER_ATTRIBUTES {
        error.setattr(attribute, py.None())?;
    }
    m.add("Warning", py.get_type::<Warning>())?;
    m.add("Error", error)?;
    m.add("InterfaceError", py.get_type::<InterfaceError>())?;
    m.add("DatabaseError", py.get_type::<DatabaseError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("OperationalError", py.get_type::<OperationalError>())?;
    m.add("IntegrityError", py.get_type::<IntegrityError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("ProgrammingError", py.get_type::<ProgrammingError>())?;
    m.add("NotSupportedError", py.get_type::<NotSupportedError>())?;
    let namespace = PyDict::new(py);
    namespace.set_item("__doc__", "A request cancelled at its timeout; also a builtin TimeoutError.")?;
    namespace.set_item("__module__", "fastmssql")?;
    let bases = PyTuple::new(
        py,
        [py.get_type::<OperationalError>().into_any(), py.get_type::<pyo3::exceptions::PyTimeoutError>().into_any()],
    )?;
    let timeout = py.get_type::<PyType>().call1(("QueryTimeoutError", bases, namespace))?;
    m.add("QueryTimeoutError", timeout)?;
    Ok(())
}

fn new_error(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::Timeout => Python::attach(|py| match query_timeout_error(py) {
            Ok(class) => PyErr::from_type(class.clone(), message),
            Err(error) => error,
        }),
        ErrorKind::Interface => InterfaceError::new_err(message),
        ErrorKind::Database => DatabaseError::new_err(message),
        ErrorKind::Data => DataError::new_err(message),
        ErrorKind::Operational => OperationalError::new_err(message),
        ErrorKind::Integrity => IntegrityError::new_err(message),
        ErrorKind::Internal => InternalError::new_err(message),
        ErrorKind::Programming => ProgrammingError::new_err(message),
        ErrorKind::NotSupported => NotSupportedError::new_err(message),
    }
}

/// The matching exception, with the server's details as attributes.
pub(crate) fn driver_error(error: &DriverError) -> PyErr {
    let err = new_error(error.kind, error.message.clone());
    if let Some(server) = &error.server {
        let attached = Python::attach(|py| {
            let value = err.value(py);
            let details: [(&str, Py<PyAny>); 8] = [
                ("number", server.number.into_pyobject(py)?.into_any().unbind()),
                // fastmssql 0.7.7's SqlError.code
                ("code", server.number.into_pyobject(py)?.into_any().unbind()),
                ("state", server.state.into_pyobject(py)?.into_any().unbind()),
                ("severity", server.severity.into_pyobject(py)?.into_any().unbind()),
                ("server", server.server.clone().into_pyobject(py)?.into_any().unbind()),
                ("procedure", server.procedure.clone().into_pyobject(py)?.into_any().unbind()),
                ("line", server.line.into_pyobject(py)?.into_any().unbind()),
                ("message", server.message.clone().into_pyobject(py)?.into_any().unbind()),
            ];
            for (name, detail) in details {
                value.setattr(name, detail)?;
            }
            Ok::<(), PyErr>(())
        });
        if let Err(failed) = attached {
            return failed;
        }
    }
    err
}

pub(crate) fn config_error(error: ConfigError) -> PyErr {
    PyValueError::new_err(error.0)
}

/// Runs synchronous binding code, turning a Rust panic into `InternalError`
/// (pyo3 would raise a `PanicException`, a BaseException).
pub(crate) fn panic_safe<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))
}

/// A caught Rust panic as `InternalError`.
pub(crate) fn panic_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    InternalError::new_err(format!("internal error in fastmssql (Rust panic): {what}"))
}
