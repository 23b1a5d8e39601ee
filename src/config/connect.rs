use super::connection_string::{parse_connection_string, ConnectionStringKey};
use super::{ConfigError, Encryption, SslSettings};
use std::fmt;
use std::time::Duration;

/// A password that never shows up in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Settings given as keyword arguments next to (or instead of) a connection string.
#[derive(Debug, Clone, Default)]
pub struct KeywordSettings {
    pub server: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub username: Option<String>,
    pub password: Option<Password>,
    pub application_name: Option<String>,
    /// `ReadOnly` or `ReadWrite` (fastmssql 0.7.7's `application_intent=`).
    pub application_intent: Option<String>,
    /// A named instance, found through the SQL Server Browser.
    pub instance_name: Option<String>,
}

/// How often a failed connection attempt is repeated (ODBC's and SqlClient's
/// `ConnectRetryCount` / `ConnectRetryInterval`): only failures that may pass
/// (network errors, the server's transient login errors), never a refused login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRetry {
    /// Attempts after the first; none unless configured.
    pub count: u8,
    pub interval: Duration,
}

impl Default for ConnectRetry {
    fn default() -> Self {
        Self { count: 0, interval: Duration::from_secs(10) }
    }
}

/// Everything needed to open one connection.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub host: String,
    pub port: Option<u16>,
    pub instance: Option<String>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<Password>,
    pub application_name: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub connect_retry: ConnectRetry,
    /// ApplicationIntent=ReadOnly: routed to a readable secondary replica.
    pub read_only: bool,
    /// TDS packet size asked for at login (512 to 32767 bytes).
    pub packet_size: Option<u32>,
    pub ssl: SslSettings,
}

/// `ApplicationIntent=` values: whether the session only reads.
fn parse_application_intent(value: &str) -> Result<bool, ConfigError> {
    let folded: String = value.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_lowercase();
    match folded.as_str() {
        "readonly" => Ok(true),
        "readwrite" => Ok(false),
        _ => Err(ConfigError("ApplicationIntent must be ReadOnly or ReadWrite".into())),
    }
}

fn parse_packet_size(value: &str) -> Result<u32, ConfigError> {
    match value.trim().parse::<u32>() {
        Ok(size) if (512..=32767).contains(&size) => Ok(size),
        _ => Err(ConfigError("Packet Size must be a whole number of bytes from 512 to 32767".into())),
    }
}

fn conflict(keyword: &str, key: ConnectionStringKey) -> ConfigError {
    ConfigError(format!(
        "{keyword}= was given as a keyword argument but the connection string already sets {}; give it only once",
        key.display_name()
    ))
}

/// Fills `slot` from the keyword unless the connection string already set it.
fn merge<T>(slot: &mut Option<T>, keyword: Option<T>, name: &str, key: ConnectionStringKey) -> Result<(), ConfigError> {
    if let Some(value) = keyword {
        if slot.is_some() {
            return Err(conflict(name, key));
        }
        *slot = Some(value);
    }
    Ok(())
}

fn parse_bool(key: ConnectionStringKey, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(ConfigError(format!("{} must be yes/no/true/false", key.display_name()))),
    }
}

/// `Encrypt=` values. `no`/`optional` offer no encryption and accept it when
/// the server insists (the driver retries encrypted): tiberius cannot offer
/// ODBC's opportunistic login-only encryption, as it answers a server without
/// TLS by attempting TLS anyway.
fn parse_encrypt(value: &str) -> Result<Encryption, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "mandatory" => Ok(Encryption::Required),
        "strict" => Ok(Encryption::Strict),
        "no" | "false" | "0" | "optional" => Ok(Encryption::Off),
        _ => Err(ConfigError("Encrypt must be one of yes/no/true/false/mandatory/optional/strict".into())),
    }
}

/// Splits `tcp:host,port` / `host\instance` / `host`.
fn parse_server(text: &str) -> Result<(String, Option<u16>, Option<String>), ConfigError> {
    let text = text.trim();
    let text = text.strip_prefix("tcp:").unwrap_or(text);
    let (rest, port) = match text.rsplit_once(',') {
        Some((host, port)) => {
            let port = port
                .trim()
                .parse::<u16>()
                .map_err(|_| ConfigError(format!("invalid port '{}' in Server", port.trim())))?;
            (host.trim(), Some(port))
        }
        None => (text, None),
    };
    let (host, instance) = match rest.split_once('\\') {
        Some((host, instance)) if !instance.is_empty() => (host, Some(instance.to_string())),
        Some((host, _)) => (host, None),
        None => (rest, None),
    };
    let host = match host {
        "." | "(local)" | "(localdb)" => "localhost",
        other => other,
    };
    if host.is_empty() {
        return Err(ConfigError("Server has no host name".into()));
    }
    Ok((host.to_string(), port, instance))
}

impl ConnectSettings {
    /// Combines a connection string, keyword arguments and an explicit TLS
    /// configuration. Anything given twice is an error, never silently dropped.
    pub fn resolve(
        connection_string: Option<&str>,
        keywords: KeywordSettings,
        ssl: Option<SslSettings>,
    ) -> Result<Self, ConfigError> {
        let mut server_text = None;
        let mut database = None;
        let mut user = None;
        let mut password = None;
        let mut application_name = None;
        let mut connect_timeout = None;
        let mut encrypt = None;
        let mut trust = None;
        let mut read_only = None;
        let mut packet_size = None;
        let mut connect_retry = ConnectRetry::default();
        if let Some(text) = connection_string {
            for (key, value) in parse_connection_string(text)? {
                match key {
                    ConnectionStringKey::Server => server_text = Some(value),
                    ConnectionStringKey::Database => database = Some(value),
                    ConnectionStringKey::User => user = Some(value),
                    ConnectionStringKey::Password => password = Some(Password::new(value)),
                    ConnectionStringKey::ApplicationName => application_name = Some(value),
                    ConnectionStringKey::ConnectTimeout => {
                        let secs = value
                            .parse::<u64>()
                            .map_err(|_| ConfigError("Connect Timeout must be a whole number of seconds".into()))?;
                        connect_timeout = (secs > 0).then(|| Duration::from_secs(secs));
                    }
                    ConnectionStringKey::Encrypt => encrypt = Some(parse_encrypt(&value)?),
                    ConnectionStringKey::TrustServerCertificate => trust = Some(parse_bool(key, &value)?),
                    ConnectionStringKey::ApplicationIntent => read_only = Some(parse_application_intent(&value)?),
                    ConnectionStringKey::PacketSize => packet_size = Some(parse_packet_size(&value)?),
                    ConnectionStringKey::ConnectRetryCount => {
                        connect_retry.count = value.parse::<u8>().map_err(|_| {
                            ConfigError("ConnectRetryCount must be a whole number from 0 to 255".into())
                        })?;
                    }
                    ConnectionStringKey::ConnectRetryInterval => {
                        let secs = value.parse::<u64>().ok().filter(|s| (1..=60).contains(s)).ok_or_else(|| {
                            ConfigError("ConnectRetryInterval must be a whole number of seconds from 1 to 60".into())
                        })?;
                        connect_retry.interval = Duration::from_secs(secs);
                    }
                }
            }
        }

        if let Some(intent) = keywords.application_intent.as_deref() {
            if read_only.is_some() {
                return Err(conflict("application_intent", ConnectionStringKey::ApplicationIntent));
            }
            read_only = Some(parse_application_intent(intent)?);
        }
        let (mut host, mut port, mut instance) = match server_text {
            Some(text) => {
                if keywords.server.is_some() {
                    return Err(conflict("server", ConnectionStringKey::Server));
                }
                let (host, port, instance) = parse_server(&text)?;
                (Some(host), port, instance)
            }
            None => (None, None, None),
        };
        if let Some(server) = keywords.server {
            let (kw_host, kw_port, kw_instance) = parse_server(&server)?;
            if kw_instance.is_some() {
                return Err(ConfigError("give a named instance in the connection string's Server".into()));
            }
            host = Some(kw_host);
            port = kw_port;
        }
        if let Some(name) = keywords.instance_name {
            if instance.is_some() {
                return Err(conflict("instance_name", ConnectionStringKey::Server));
            }
            instance = Some(name);
        }
        if keywords.port.is_some() && port.is_some() {
            return Err(conflict("port", ConnectionStringKey::Server));
        }
        port = port.or(keywords.port);
        merge(&mut database, keywords.database, "database", ConnectionStringKey::Database)?;
        merge(&mut user, keywords.username, "username", ConnectionStringKey::User)?;
        merge(&mut password, keywords.password, "password", ConnectionStringKey::Password)?;
        merge(
            &mut application_name,
            keywords.application_name,
            "application_name",
            ConnectionStringKey::ApplicationName,
        )?;

        let ssl = match ssl {
            Some(explicit) => {
                if encrypt.is_some() {
                    return Err(conflict("ssl_config", ConnectionStringKey::Encrypt));
                }
                if trust.is_some() {
                    return Err(conflict("ssl_config", ConnectionStringKey::TrustServerCertificate));
                }
                explicit
            }
            None => {
                let encryption = encrypt.unwrap_or(Encryption::Required);
                // As in ODBC Driver 18, a server that forces encryption on an
                // Encrypt=no client is not validated unless asked to.
                let trust = trust.unwrap_or(encryption == Encryption::Off);
                SslSettings { encryption, trust_server_certificate: trust, ca_certificate_path: None }
            }
        };

        let host = host
            .ok_or_else(|| ConfigError("no server given: pass a connection string with Server= or server=".into()))?;
        Ok(Self {
            host,
            port,
            instance,
            database,
            user,
            password,
            application_name,
            connect_timeout,
            connect_retry,
            read_only: read_only.unwrap_or(false),
            packet_size,
            ssl,
        })
    }

    /// `host,port` or `host\instance`, for messages and repr (no credentials).
    pub fn address(&self) -> String {
        match (&self.instance, self.port) {
            (_, Some(port)) => format!("{},{}", self.host, port),
            (Some(instance), None) => format!("{}\\{}", self.host, instance),
            (None, None) => format!("{},1433", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw() -> KeywordSettings {
        KeywordSettings::default()
    }

    #[test]
    fn connection_string_fills_every_setting() {
        let s = ConnectSettings::resolve(
            Some("Server=tcp:db.local,14330;Database=master;User Id=sa;Password={p;w};Encrypt=no;Connect Timeout=5"),
            kw(),
            None,
        )
        .unwrap();
        assert_eq!((s.host.as_str(), s.port, s.instance.as_deref()), ("db.local", Some(14330), None));
        assert_eq!(s.database.as_deref(), Some("master"));
        assert_eq!(s.user.as_deref(), Some("sa"));
        assert_eq!(s.password.as_ref().unwrap().expose(), "p;w");
        assert_eq!(s.ssl.encryption, Encryption::Off);
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(5)));
        assert!(!format!("{s:?}").contains("p;w"));
    }

    #[test]
    fn named_instance_and_default_tls() {
        let s = ConnectSettings::resolve(Some("Server=host\\SQLEXPRESS"), kw(), None).unwrap();
        assert_eq!(s.instance.as_deref(), Some("SQLEXPRESS"));
        assert_eq!(s.port, None);
        assert_eq!(s.ssl, SslSettings::default());
        assert_eq!(s.address(), "host\\SQLEXPRESS");
    }

    #[test]
    fn keywords_apply_where_the_string_is_silent_and_conflict_where_it_is_not() {
        let mut keywords = kw();
        keywords.username = Some("app".into());
        keywords.port = Some(1500);
        let s = ConnectSettings::resolve(Some("Server=db;Password=x"), keywords, None).unwrap();
        assert_eq!((s.user.as_deref(), s.port), (Some("app"), Some(1500)));

        let mut keywords = kw();
        keywords.password = Some(Password::new("other"));
        let err = ConnectSettings::resolve(Some("Server=db;Password=x"), keywords, None).unwrap_err();
        assert!(err.0.contains("password") && !err.0.contains("other"));

        let mut keywords = kw();
        keywords.port = Some(1);
        assert!(ConnectSettings::resolve(Some("Server=db,2"), keywords, None).is_err());
    }

    #[test]
    fn ssl_config_conflicts_with_encrypt_in_the_string() {
        let err = ConnectSettings::resolve(Some("Server=db;Encrypt=yes"), kw(), Some(SslSettings::default()));
        assert!(err.is_err());
        let ok = ConnectSettings::resolve(Some("Server=db"), kw(), Some(SslSettings::default()));
        assert!(ok.is_ok());
    }

    #[test]
    fn keywords_alone_suffice_and_a_server_is_required() {
        let mut keywords = kw();
        keywords.server = Some("localhost".into());
        keywords.port = Some(1433);
        let s = ConnectSettings::resolve(None, keywords, None).unwrap();
        assert_eq!(s.address(), "localhost,1433");
        assert!(ConnectSettings::resolve(None, kw(), None).is_err());
    }

    #[test]
    fn application_intent_and_packet_size_parse() {
        let s = ConnectSettings::resolve(Some("Server=db;ApplicationIntent=ReadOnly;Packet Size=8192"), kw(), None)
            .unwrap();
        assert!(s.read_only);
        assert_eq!(s.packet_size, Some(8192));
        assert!(ConnectSettings::resolve(Some("Server=db;ApplicationIntent=maybe"), kw(), None).is_err());
        assert!(ConnectSettings::resolve(Some("Server=db;Packet Size=100"), kw(), None).is_err());
        let mut keywords = kw();
        keywords.application_intent = Some("READ_ONLY".into());
        assert!(ConnectSettings::resolve(Some("Server=db"), keywords, None).unwrap().read_only);
        let mut keywords = kw();
        keywords.instance_name = Some("SQLEXPRESS".into());
        assert_eq!(ConnectSettings::resolve(Some("Server=db"), keywords, None).unwrap().address(), "db\\SQLEXPRESS");
    }

    #[test]
    fn encrypt_strict_and_trust_parse() {
        let s =
            ConnectSettings::resolve(Some("Server=db;Encrypt=strict;TrustServerCertificate=yes"), kw(), None).unwrap();
        assert_eq!(s.ssl.encryption, Encryption::Strict);
        assert!(s.ssl.trust_server_certificate);
        assert!(ConnectSettings::resolve(Some("Server=db;Encrypt=maybe"), kw(), None).is_err());
    }

    #[test]
    fn connect_retries_are_off_unless_configured_and_validated() {
        let s = ConnectSettings::resolve(Some("Server=db"), kw(), None).unwrap();
        assert_eq!(s.connect_retry, ConnectRetry { count: 0, interval: Duration::from_secs(10) });
        let s =
            ConnectSettings::resolve(Some("Server=db;ConnectRetryCount=3;ConnectRetryInterval=2"), kw(), None).unwrap();
        assert_eq!(s.connect_retry, ConnectRetry { count: 3, interval: Duration::from_secs(2) });
        for bad in
            ["ConnectRetryCount=256", "ConnectRetryCount=-1", "ConnectRetryInterval=0", "ConnectRetryInterval=61"]
        {
            assert!(ConnectSettings::resolve(Some(&format!("Server=db;{bad}")), kw(), None).is_err(), "{bad}");
        }
    }
}
