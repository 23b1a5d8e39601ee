use crate::config::Encryption;
use pyo3::prelude::*;

/// How much of the session is encrypted.
#[pyclass(module = "fastmssql", eq, eq_int, frozen, from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionLevel {
    Required = 0,
    LoginOnly = 1,
    Off = 2,
    /// TDS 8.0 (`Encrypt=strict`): TLS first, then the TDS session inside it.
    Strict = 3,
}

#[pymethods]
impl EncryptionLevel {
    /// fastmssql 0.7.7's name for `Off`.
    #[classattr]
    #[allow(non_snake_case)]
    fn Disabled() -> Self {
        Self::Off
    }
}

impl From<EncryptionLevel> for Encryption {
    fn from(level: EncryptionLevel) -> Self {
        match level {
            EncryptionLevel::Required => Encryption::Required,
            EncryptionLevel::LoginOnly => Encryption::LoginOnly,
            EncryptionLevel::Off => Encryption::Off,
            EncryptionLevel::Strict => Encryption::Strict,
        }
    }
}

impl From<Encryption> for EncryptionLevel {
    fn from(level: Encryption) -> Self {
        match level {
            Encryption::Required => EncryptionLevel::Required,
            Encryption::LoginOnly => EncryptionLevel::LoginOnly,
            Encryption::Off => EncryptionLevel::Off,
            Encryption::Strict => EncryptionLevel::Strict,
        }
    }
}
