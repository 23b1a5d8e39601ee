//! A local TDS 7.4 server that speaks SQL Server's wire protocol and type system,
//! so independent clients (ODBC Driver 18, FreeTDS, python-tds, tiberius) can be
//! tested without a SQL Server. Its codecs are written here from the MS-TDS
//! specification and share nothing with the client under test.

pub mod calendar;
pub mod catalog_procedures;
pub mod connection;
pub mod control;
pub mod definitions;
pub mod engine;
pub mod fault;
pub mod login7;
pub mod packet;
pub mod prelogin;
pub mod procedures;
pub mod replay;
pub mod request;
pub mod response;
pub mod server;
pub mod session;
pub mod sql;
pub mod tables;
pub mod tls;
pub mod tokens;
pub mod types;
pub mod value;
pub mod wire;

pub use prelogin::EncryptMode;
pub use server::{TestServer, TestServerConfig};
