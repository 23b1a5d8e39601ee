use super::connection::DriverConnection;
use super::errors::from_tiberius;
use super::tds_config;
use crate::config::ConnectSettings;
use crate::error::DriverError;
use std::time::Duration;
use tiberius::{Client, Config, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncWriteCompatExt;

/// Opens and logs in one connection, failing with the real cause (refused,
/// unknown host, login failed, TLS) or a timeout after `timeout`.
pub(crate) async fn open(settings: &ConnectSettings, timeout: Duration) -> Result<DriverConnection, DriverError> {
    let address = settings.address();
    let config = tds_config::build(settings)?;
    let attempt = async {
        match login(config.clone(), settings.instance.is_some() && settings.port.is_none()).await {
            // Azure SQL gateways redirect to the node that serves the database.
            Err(tiberius::error::Error::Routing { host, port }) => {
                let mut routed = config;
                routed.host(&host);
                routed.port(port);
                login(routed, false).await
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
