use super::connection::DriverConnection;
use super::errors::from_tiberius;
use super::tds_config;
use crate::config::{ConnectSettings, Encryption};
use crate::error::DriverError;
use std::time::Duration;
use tiberius::{Client, Config, EncryptionLevel, SqlBrowser};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncWriteCompatExt;

/// Opens and logs in one connection, failing with the real cause (refused,
/// unknown host, login failed, TLS) or a timeout after `timeout` (per
/// attempt); transient failures are retried as `ConnectRetryCount` says.
pub(crate) async fn open(settings: &ConnectSettings, timeout: Duration) -> Result<DriverConnection, DriverError> {
    let retry = settings.connect_retry;
    let mut retries_left = retry.count;
    loop {
        match open_once(settings, timeout).await {
            Ok(connection) => return Ok(connection),
            Err(failure) if failure.transient && retries_left > 0 => {
                retries_left -= 1;
                tokio::time::sleep(retry.interval).await;
            }
            Err(failure) => return Err(failure.error),
        }
    }
}

/// Login errors SQL Server documents as transient (a database or server
/// busy, moving or starting): worth another attempt when retries are on.
const TRANSIENT_LOGIN_ERRORS: [u32; 10] = [4060, 4221, 40197, 40501, 40613, 42108, 42109, 49918, 49919, 49920];

/// A failed attempt, and whether another one may succeed.
struct FailedAttempt {
    error: DriverError,
    transient: bool,
}

async fn open_once(settings: &ConnectSettings, timeout: Duration) -> Result<DriverConnection, FailedAttempt> {
    let address = settings.address();
    let config = tds_config::build(settings).map_err(|error| FailedAttempt { error, transient: false })?;
    let via_browser = settings.instance.is_some() && settings.port.is_none();
    let attempt = async {
        match login_routed(config.clone(), via_browser).await {
            // Encrypt=no offers no TLS at all (see tds_config); a server that
            // insists on encryption hangs up, and then, as ODBC's Encrypt=no
            // would, the session is encrypted after all.
            Err(error) if settings.ssl.encryption == Encryption::Off && hung_up_during_handshake(&error) => {
                let mut encrypted = config;
                encrypted.encryption(EncryptionLevel::Off);
                login_routed(encrypted, via_browser).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(client)) => Ok(DriverConnection::new(client)),
        Ok(Err(error)) => {
            let transient = match &error {
                tiberius::error::Error::Io { .. } => true,
                tiberius::error::Error::Server(token) => TRANSIENT_LOGIN_ERRORS.contains(&token.code()),
                _ => false,
            };
            Err(FailedAttempt {
                error: from_tiberius(error).context(&format!("cannot connect to {address}")),
                transient,
            })
        }
        Err(_) => Err(FailedAttempt {
            error: DriverError::operational(format!(
                "cannot connect to {address}: no answer within {} s",
                timeout.as_secs_f32()
            )),
            transient: true,
        }),
    }
}

/// Logs in over a transport the caller already opened (no timeout, routing
/// or encryption retry), e.g. one replaying recorded server bytes in a benchmark.
pub async fn open_over<S>(settings: &ConnectSettings, transport: S) -> Result<DriverConnection<S>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let config = tds_config::build(settings)?;
    match Client::connect(config, transport.compat_write()).await {
        Ok(client) => Ok(DriverConnection::new(client)),
        Err(error) => Err(from_tiberius(error).context("cannot log in")),
    }
}

/// Whether the server closed the connection during PRELOGIN/TLS, as a
/// server requiring encryption does to a client that offers none.
fn hung_up_during_handshake(error: &tiberius::error::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        tiberius::error::Error::Io { kind, .. } => {
            matches!(kind, ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
        }
        tiberius::error::Error::Tls(_) | tiberius::error::Error::Protocol(_) => true,
        _ => false,
    }
}

/// Logs in, following one redirection (Azure SQL gateways redirect to the
/// node that serves the database).
async fn login_routed(
    config: Config,
    via_browser: bool,
) -> Result<Client<tokio_util::compat::Compat<TcpStream>>, tiberius::error::Error> {
    match login(config.clone(), via_browser).await {
        Err(tiberius::error::Error::Routing { host, port }) => {
            let mut routed = config;
            routed.host(&host);
            routed.port(port);
            login(routed, false).await
        }
        other => other,
    }
}

async fn login(
    config: Config,
    via_browser: bool,
) -> Result<Client<tokio_util::compat::Compat<TcpStream>>, tiberius::error::Error> {
    let tcp = if via_browser {
        TcpStream::connect_named(&config).await?
    } else {
        TcpStream::connect(config.get_addr()).await?
    };
    tcp.set_nodelay(true)?;
    Client::connect(config, tcp.compat_write()).await
}
