//! The only layer that names tiberius types: connection setup, the bb8
//! connection manager, query execution decoding rows into Arrow column
//! sinks, and parameter binding.

mod bind;
mod bulk;
mod connect;
mod connection;
mod decode;
mod describe;
mod errors;
mod manager;
mod pool;
mod stream;
mod tds_config;

pub use connect::open_over;
pub use connection::{DriverConnection, QueryOutcome};
pub use pool::{DriverPool, PoolStats};
pub use stream::BatchStream;
