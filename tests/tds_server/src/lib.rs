//! A local TDS 7.4 server that speaks SQL Server's wire protocol and type system,
//! so independent clients (ODBC Driver 18, FreeTDS, python-tds, tiberius) can be
//! tested without a SQL Server. Its codecs are written here from the MS-TDS
//! specification and share nothing with the client under test.

pub mod calendar;
pub mod engine;
pub mod sql;
pub mod types;
pub mod value;
