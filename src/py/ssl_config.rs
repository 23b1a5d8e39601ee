use super::encryption_level::EncryptionLevel;
use super::errors::config_error;
use crate::config::SslSettings;
use pyo3::prelude::*;
use std::path::PathBuf;

/// TLS settings, validated at construction.
#[pyclass(module = "fastmssql", frozen)]
pub struct SslConfig {
    pub(crate) settings: SslSettings,
}

#[pymethods]
impl SslConfig {
    #[new]
    #[pyo3(signature = (encryption_level=EncryptionLevel::Required, trust_server_certificate=false, ca_certificate_path=None))]
    fn new(
        encryption_level: EncryptionLevel,
        trust_server_certificate: bool,
        ca_certificate_path: Option<PathBuf>,
    ) -> PyResult<Self> {
        SslSettings::new(encryption_level.into(), trust_server_certificate, ca_certificate_path)
            .map(|settings| Self { settings })
            .map_err(config_error)
    }

    #[getter]
    fn encryption_level(&self) -> EncryptionLevel {
        self.settings.encryption.into()
    }

    #[getter]
    fn trust_server_certificate(&self) -> bool {
        self.settings.trust_server_certificate
    }

    #[getter]
    fn ca_certificate_path(&self) -> Option<String> {
        self.settings.ca_certificate_path.as_ref().map(|p| p.display().to_string())
    }

    fn __repr__(&self) -> String {
        format!(
            "SslConfig(encryption_level=EncryptionLevel.{:?}, trust_server_certificate={}, ca_certificate_path={:?})",
            EncryptionLevel::from(self.settings.encryption),
            if self.settings.trust_server_certificate { "True" } else { "False" },
            self.ca_certificate_path()
        )
    }
}
