//! An informational message of the server (PRINT, RAISERROR with a low
//! severity, warnings) kept on the result of the call that produced it.

use crate::tds::ServerMessage;
use pyo3::prelude::*;

#[pyclass(module = "fastmssql", frozen, get_all)]
pub struct Message {
    /// The message number (0 for PRINT).
    pub number: u32,
    pub state: u8,
    /// Up to 10 for informational messages.
    pub severity: u8,
    pub message: String,
    /// The procedure it came from, if any.
    pub procedure: String,
    /// The line of the batch or procedure.
    pub line: u32,
    pub server: String,
}

impl Message {
    pub(crate) fn new(message: &ServerMessage) -> Self {
        Self {
            number: message.number,
            state: message.state,
            severity: message.severity,
            message: message.message.clone(),
            procedure: message.procedure.clone(),
            line: message.line,
            server: message.server.clone(),
        }
    }
}

#[pymethods]
impl Message {
    fn __str__(&self) -> String {
        self.message.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Message(number={}, state={}, severity={}, line={}, message={:?})",
            self.number, self.state, self.severity, self.line, self.message
        )
    }
}
