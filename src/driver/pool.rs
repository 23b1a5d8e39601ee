use super::connect::open;
use super::manager::Manager;
use super::session::Session;
use crate::config::{ConnectSettings, PoolSettings};
use crate::error::DriverError;
use parking_lot::Mutex;
use std::sync::Arc;

/// Remembers the latest failed background connection attempt so that a
/// timed-out checkout can report the real cause.
#[derive(Debug, Clone, Default)]
struct LastConnectError(Arc<Mutex<Option<DriverError>>>);

impl bb8::ErrorSink<DriverError> for LastConnectError {
    fn sink(&self, error: DriverError) {
        *self.0.lock() = Some(error);
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<DriverError>> {
        Box::new(self.clone())
    }
}

/// Pool occupancy for `pool_stats()`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_size: u32,
    pub min_idle: u32,
    pub connections_created: u64,
    pub connections_closed_broken: u64,
}

pub struct DriverPool {
    pool: bb8::Pool<Manager>,
    settings: PoolSettings,
    last_error: LastConnectError,
}

impl DriverPool {
    /// Opens the first connection directly, so a wrong address or password
    /// fails at once with its real cause, then hands it to a new pool that
    /// keeps `min_idle` connections warm in the background.
    pub async fn open(connect: ConnectSettings, settings: PoolSettings) -> Result<Self, DriverError> {
        let connect_timeout = connect.connect_timeout.unwrap_or(settings.connection_timeout());
        let connect = Arc::new(connect);
        let first = open(&connect, connect_timeout).await?;
        let last_error = LastConnectError::default();
        let pool = bb8::Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(settings.min_idle))
            .max_lifetime(settings.max_lifetime())
            .idle_timeout(settings.idle_timeout())
            .connection_timeout(settings.connection_timeout())
            // Broken sessions are reported by has_broken; is_valid only looks
            // at the socket (no ping, which would double the round trips).
            .test_on_check_out(true)
            .retry_connection(false)
            .error_sink(Box::new(last_error.clone()))
            .build_unchecked(Manager { settings: connect, connect_timeout });
        // The direct connection proved address and credentials. When the
        // pool's own min_idle replenishment already fills it (max_size ==
        // min_idle), it is refused and simply closed.
        drop(pool.add(first));
        Ok(Self { pool, settings, last_error })
    }

    /// Checks out a connection, waiting up to `connection_timeout`; a
    /// `pinned` one is kept for several calls (a transaction, `acquire()`).
    pub async fn session(&self, pinned: bool) -> Result<Session, DriverError> {
        let connection = self.pool.get_owned().await.map_err(|error| self.checkout_error(error))?;
        Ok(Session::new(connection, pinned))
    }

    fn checkout_error(&self, error: bb8::RunError<DriverError>) -> DriverError {
        match error {
            bb8::RunError::User(error) => error,
            bb8::RunError::TimedOut => {
                let waited = self.settings.connection_timeout_secs;
                // With every connection open and in use, an old connect
                // failure is not why this checkout waited.
                let busy = self.pool.state().connections >= self.settings.max_size;
                match self.last_error.0.lock().clone() {
                    Some(cause) if !busy => cause.context(&format!("no pooled connection within {waited} s")),
                    _ => DriverError::operational(format!(
                        "no pooled connection became free within {waited} s (all {} in use)",
                        self.settings.max_size
                    )),
                }
            }
        }
    }

    pub fn stats(&self) -> PoolStats {
        let state = self.pool.state();
        PoolStats {
            connections: state.connections,
            idle_connections: state.idle_connections,
            max_size: self.settings.max_size,
            min_idle: self.settings.min_idle,
            connections_created: state.statistics.connections_created,
            connections_closed_broken: state.statistics.connections_closed_broken,
        }
    }
}
