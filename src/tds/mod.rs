//! The TDS protocol core for responses, without I/O (sans-IO): payload
//! bytes go in, column values and events come out through a
//! [`ResponseSink`]. No tokio, no tiberius, no pyo3, no Arrow: the same
//! reader serves every way of moving the bytes.

mod bytes;
mod metadata;
pub mod packet;
mod reader;
mod sink;
mod text;
pub mod tokens;
mod values;
mod variant;

pub use bytes::ProtocolError;
pub use packet::Deframer;
pub use reader::ResponseReader;
pub use sink::{ColumnMetadata, ColumnWriter, Event, ResponseSink};
pub use tokens::{Done, DoneKind, EnvChange, ServerMessage};
pub use values::CodePageResolver;
