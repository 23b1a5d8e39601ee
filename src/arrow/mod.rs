//! Arrow column building fed through a decoder-independent sink.
//!
//! The wire decoder (driver layer) only talks to [`ColumnSink`]; how values
//! are laid out in Arrow buffers lives here, so either side can change
//! without touching the other. No tiberius, no pyo3.

mod cell_reader;
mod column_builder;
mod result_set;
mod sink;

pub use cell_reader::CellReader;
pub use column_builder::ColumnBuilder;
pub use result_set::{ResultSet, ResultSetBuilder};
pub use sink::{ColumnDescription, ColumnSink, SinkError, ValueKind};

/// Field metadata key holding the declared SQL Server type.
pub const SQL_TYPE_METADATA_KEY: &str = "mssql.type";
/// Arrow canonical extension name used for uniqueidentifier columns.
pub const UUID_EXTENSION_NAME: &str = "arrow.uuid";
