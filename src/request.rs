//! What a call asks of the server, independent of how it is sent.

use crate::params::BoundParam;
use std::time::Duration;

/// One statement (or batch of statements) with its parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<BoundParam>,
}

/// An argument of a stored procedure call, passed by name.
#[derive(Debug, Clone)]
pub struct ProcedureArgument {
    /// Without the leading `@`.
    pub name: String,
    pub value: BoundParam,
    /// Passed by reference: its value after the call comes back.
    pub output: bool,
}

#[derive(Debug, Clone)]
pub enum Request {
    /// A batch: sent as SQL text when it has no parameters, through
    /// `sp_executesql` when it has.
    Statement(Statement),
    /// Several statements in one request message (one RPC each), each with
    /// its own count of affected rows.
    Statements(Vec<Statement>),
    /// A stored procedure called by name (RPC): its result sets, OUTPUT
    /// values and return status come back.
    Procedure { name: String, arguments: Vec<ProcedureArgument> },
}

impl Request {
    pub fn sql(sql: impl Into<String>, params: Vec<BoundParam>) -> Self {
        Self::Statement(Statement { sql: sql.into(), params })
    }
}

/// How long a request may take before it is cancelled; `None` waits as long
/// as the server works.
pub type Timeout = Option<Duration>;
