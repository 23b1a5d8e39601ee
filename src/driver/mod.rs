//! The only layer that names tiberius types: connection setup, the bb8
//! connection manager, requests (sent by tiberius) whose responses our own
//! reader decodes into Arrow columns, and parameter binding.

mod bind;
mod bulk;
mod connect;
mod connection;
mod errors;
mod manager;
mod pool;
mod response;
mod session;
mod stream;
mod tds_config;

pub use bulk::{BatchSource, BulkInput, BulkOptions, ProgressSink};
pub use connect::open_over;
pub use connection::{DriverConnection, IsolationLevel, QueryOutcome, QUERY_BATCH_LIMITS};
pub use pool::{DriverPool, PoolStats};
pub use response::{decode_response, DecodedResponse};
pub use session::{PinnedSession, Session, Target};
pub use stream::BatchStream;
