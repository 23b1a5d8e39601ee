use crate::config::Encryption;
use pyo3::prelude::*;

/// How much of the session is encrypted.
#[pyclass(module = "fastmssql", eq, eq_int, frozen, from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionLevel {
    Required = 0,
    LoginOnly = 1,
    Off = 2,
}

impl From<EncryptionLevel> for Encryption {
    fn from(level: EncryptionLevel) -> Self {
        match level {
            EncryptionLevel::Required => Encryption::Required,
            EncryptionLevel::LoginOnly => Encryption::LoginOnly,
            EncryptionLevel::Off => Encryption::Off,
        }
    }
}

impl From<Encryption> for EncryptionLevel {
    fn from(level: Encryption) -> Self {
        match level {
            Encryption::Required => EncryptionLevel::Required,
            Encryption::LoginOnly => EncryptionLevel::LoginOnly,
            Encryption::Off => EncryptionLevel::Off,
        }
    }
}
