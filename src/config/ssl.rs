use super::ConfigError;
use std::path::PathBuf;

/// How much of the session is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// Everything, with the server certificate validated unless trusted.
    Required,
    /// TDS 8.0: TLS before any TDS byte (ALPN `tds/8.0`), everything encrypted.
    Strict,
    /// Only the login packet (the server may refuse).
    LoginOnly,
    /// Nothing; credentials travel in clear text.
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslSettings {
    pub encryption: Encryption,
    pub trust_server_certificate: bool,
    pub ca_certificate_path: Option<PathBuf>,
}

impl Default for SslSettings {
    fn default() -> Self {
        Self { encryption: Encryption::Required, trust_server_certificate: false, ca_certificate_path: None }
    }
}

impl SslSettings {
    /// Checks the combination and that the CA file can be read.
    pub fn new(
        encryption: Encryption,
        trust_server_certificate: bool,
        ca_certificate_path: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        if let Some(path) = &ca_certificate_path {
            if trust_server_certificate {
                return Err(ConfigError(
                    "trust_server_certificate=True and ca_certificate_path are mutually exclusive: \
                     either trust any certificate or validate against the given CA"
                        .into(),
                ));
            }
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_file() => {
                    std::fs::File::open(path)
                        .map_err(|e| ConfigError(format!("CA certificate {} is not readable: {e}", path.display())))?;
                }
                Ok(_) => return Err(ConfigError(format!("CA certificate {} is not a file", path.display()))),
                Err(e) => return Err(ConfigError(format!("CA certificate {} does not exist: {e}", path.display()))),
            }
        }
        Ok(Self { encryption, trust_server_certificate, ca_certificate_path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_requires_encryption_with_validation() {
        let ssl = SslSettings::default();
        assert_eq!(ssl.encryption, Encryption::Required);
        assert!(!ssl.trust_server_certificate);
    }

    #[test]
    fn missing_ca_file_and_trust_with_ca_are_rejected() {
        assert!(SslSettings::new(Encryption::Required, false, Some("/nonexistent/ca.pem".into())).is_err());
        let file = std::env::temp_dir().join("fastmssql-test-ca.pem");
        std::fs::write(&file, "x").unwrap();
        assert!(SslSettings::new(Encryption::Required, true, Some(file.clone())).is_err());
        assert!(SslSettings::new(Encryption::Required, false, Some(file)).is_ok());
    }
}
