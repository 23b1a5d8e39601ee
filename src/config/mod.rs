//! Connection settings: ADO.NET connection strings, keyword overrides, TLS and
//! pool settings. Pure data and validation; no I/O, no pyo3, no tiberius.

mod connect;
mod connection_string;
mod pool;
mod ssl;

pub use connect::{ConnectSettings, KeywordSettings, Password};
pub use connection_string::{parse_connection_string, ConnectionStringKey};
pub use pool::PoolSettings;
pub use ssl::{Encryption, SslSettings};

/// A setting that cannot be used; reported to Python as `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
