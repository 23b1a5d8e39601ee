use super::connect::open;
use super::connection::DriverConnection;
use crate::config::ConnectSettings;
use crate::error::DriverError;
use std::sync::Arc;
use std::time::Duration;

/// bb8 manager that tells the pool the truth about broken sessions (the
/// bb8-tiberius manager always claims they are fine).
pub(crate) struct Manager {
    pub(crate) settings: Arc<ConnectSettings>,
    pub(crate) connect_timeout: Duration,
}

impl bb8::ManageConnection for Manager {
    type Connection = DriverConnection;
    type Error = DriverError;

    async fn connect(&self) -> Result<DriverConnection, DriverError> {
        open(&self.settings, self.connect_timeout).await
    }

    /// Run at every checkout: no round trip, only a look at the socket, so a
    /// session the server closed while it was idle (a restart) is replaced
    /// before a request is sent on it.
    async fn is_valid(&self, connection: &mut DriverConnection) -> Result<(), DriverError> {
        if connection.is_closed_by_server() {
            return Err(DriverError::operational("the server closed an idle pooled connection"));
        }
        Ok(())
    }

    /// Out of step, or inside a transaction no one will finish.
    fn has_broken(&self, connection: &mut DriverConnection) -> bool {
        connection.is_broken() || connection.in_transaction()
    }
}
