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
/// unknown host, login failed, TLS) or a timeout after `timeout`.
pub(crate) async fn open(settings: &ConnectSettings, timeout: Duration) -> Result<DriverConnection, DriverError> {
    let address = settings.address();
    let config = tds_config::build(settings)?;
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
        Ok(Err(error)) => Err(from_tiberius(error).context(&format!("cannot connect to {address}"))),
        Err(_) => Err(DriverError::operational(format!(
            "cannot connect to {address}: no answer within {} s",
            timeout.as_secs_f32()
        ))),
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
