//! Arrow columns built from result rows, and Arrow data read back for bulk
//! loads. The response reader writes through the decoder-independent
//! [`crate::tds::ColumnWriter`]; how values are laid out in Arrow buffers
//! lives here. No tiberius, no pyo3.

mod cell_reader;
mod column_values;
mod result_builder;
mod uuid_text;
mod validity;

pub use cell_reader::{CellReader, ConversionError};
pub use column_values::{arrow_type, ColumnValues};
pub use result_builder::{BatchLimits, ResultBuilder, ResultSet};
pub use uuid_text::uuids_as_text;

/// Field metadata key holding the declared SQL Server type.
pub const SQL_TYPE_METADATA_KEY: &str = "mssql.type";
/// Arrow canonical extension name used for uniqueidentifier columns.
pub const UUID_EXTENSION_NAME: &str = "arrow.uuid";
