//! Driver-level errors, independent of both tiberius and pyo3.
//!
//! Every failure is classified into a DB-API category here, so the binding
//! layer only has to pick the matching Python exception class.

use std::fmt;

/// DB-API 2.0 category of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Interface,
    Database,
    Data,
    Operational,
    Integrity,
    Internal,
    Programming,
    NotSupported,
    /// A request cancelled at its timeout (an operational error).
    Timeout,
}

/// What SQL Server reported in an ERROR token.
pub use crate::tds::ServerMessage as ServerError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverError {
    pub kind: ErrorKind,
    pub message: String,
    /// Boxed: errors travel in every `Result`, most without server details.
    pub server: Option<Box<ServerError>>,
    /// Which statement of a statement batch failed (counted from 0).
    pub statement: Option<usize>,
}

impl DriverError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), server: None, statement: None }
    }

    pub fn interface(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Interface, message)
    }

    pub fn operational(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Operational, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }

    pub fn programming(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Programming, message)
    }

    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotSupported, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An error reported by the server, classified by its number and severity.
    pub fn from_server(server: ServerError) -> Self {
        let kind = classify_server_error(server.number, server.severity);
        let message = format!("[SQL Server error {}] {}", server.number, server.message);
        Self { kind, message, server: Some(Box::new(server)), statement: None }
    }

    /// Counts the failed statement from the start of the whole batch rather
    /// than of the request that carried it.
    pub fn offset_statement(mut self, first: usize) -> Self {
        self.statement = self.statement.map(|s| s + first);
        self
    }

    /// Prefixes the message with what was being attempted.
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DriverError {}

/// Maps a SQL Server error number (and severity) to its DB-API category.
pub fn classify_server_error(number: u32, severity: u8) -> ErrorKind {
    match number {
        // Login failures and connection-level refusals.
        18456 | 18452 | 18486 | 18487 | 18488 | 4060 | 4064 | 17142 | 17809 | 18401 => ErrorKind::Operational,
        2627 | 2601 | 515 | 547 => ErrorKind::Integrity,
        245 | 8114 | 8115 | 220 | 8152 | 2628 | 8134 | 241 | 242 | 517 => ErrorKind::Data,
        102 | 156 | 207 | 208 | 137 | 2812 | 50000 => ErrorKind::Programming,
        // Chosen as a deadlock victim, or a lock not granted within LOCK_TIMEOUT: the
        // transaction could not be processed, and running it again may succeed.
        1205 | 1222 => ErrorKind::Operational,
        // Severity 20 and above terminates the connection.
        _ if severity >= 20 => ErrorKind::Operational,
        _ => ErrorKind::Database,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(number: u32, severity: u8) -> ServerError {
        ServerError {
            is_error: true,
            number,
            state: 1,
            severity,
            server: "srv".into(),
            procedure: String::new(),
            line: 1,
            message: "boom".into(),
        }
    }

    #[test]
    fn numbers_map_to_the_contracted_categories() {
        assert_eq!(classify_server_error(18456, 14), ErrorKind::Operational);
        assert_eq!(classify_server_error(2627, 14), ErrorKind::Integrity);
        assert_eq!(classify_server_error(547, 16), ErrorKind::Integrity);
        assert_eq!(classify_server_error(8134, 16), ErrorKind::Data);
        assert_eq!(classify_server_error(208, 16), ErrorKind::Programming);
        assert_eq!(classify_server_error(50000, 16), ErrorKind::Programming);
        assert_eq!(classify_server_error(1205, 13), ErrorKind::Operational);
        assert_eq!(classify_server_error(1222, 16), ErrorKind::Operational);
        assert_eq!(classify_server_error(1204, 19), ErrorKind::Database);
        assert_eq!(classify_server_error(9999, 20), ErrorKind::Operational);
    }

    #[test]
    fn server_errors_keep_their_details_and_number_in_the_message() {
        let err = DriverError::from_server(server_error(8134, 16));
        assert_eq!(err.kind, ErrorKind::Data);
        assert_eq!(err.server.as_ref().unwrap().number, 8134);
        assert!(err.message.contains("8134") && err.message.contains("boom"));
    }
}
