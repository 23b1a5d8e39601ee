use crate::config::{ConnectSettings, Encryption};
use crate::error::DriverError;
use tiberius::{AuthMethod, Config, EncryptionLevel};

/// Our settings as a tiberius `Config`.
pub(crate) fn build(settings: &ConnectSettings) -> Result<Config, DriverError> {
    let mut config = Config::new();
    config.host(&settings.host);
    if let Some(port) = settings.port {
        config.port(port);
    }
    if let Some(instance) = &settings.instance {
        config.instance_name(instance);
    }
    if let Some(database) = &settings.database {
        config.database(database);
    }
    config.application_name(settings.application_name.as_deref().unwrap_or("fastmssql"));
    match (&settings.user, &settings.password) {
        (Some(user), Some(password)) => config.authentication(AuthMethod::sql_server(user, password.expose())),
        (Some(user), None) => config.authentication(AuthMethod::sql_server(user, "")),
        (None, _) => {
            return Err(DriverError::interface(
                "no user name given: SQL Server authentication needs User Id= (or username=)",
            ))
        }
    }
    config.encryption(match settings.ssl.encryption {
        Encryption::Required => EncryptionLevel::Required,
        Encryption::Strict => EncryptionLevel::Strict,
        Encryption::LoginOnly => EncryptionLevel::Off,
        Encryption::Off => EncryptionLevel::NotSupported,
    });
    config.readonly(settings.read_only);
    if let Some(size) = settings.packet_size {
        config.packet_size(size);
    }
    if settings.ssl.trust_server_certificate {
        config.trust_cert();
    }
    if let Some(ca) = &settings.ssl.ca_certificate_path {
        config.trust_cert_ca(ca.display());
    }
    Ok(config)
}
