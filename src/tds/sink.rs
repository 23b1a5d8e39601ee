//! What the response reader writes into. Implemented outside this module
//! (Arrow writers, the driver's bookkeeping), so the protocol code never
//! names Arrow, tiberius or Python.

use super::tokens::{Done, EnvChange, ServerMessage};
use crate::types::TypeInfo;

/// Receives one column's values in row order.
///
/// The reader calls only the method matching the column's kind in the type
/// table ([`crate::types::column_type`]), chosen once per COLMETADATA, so
/// implementations need not check kinds per value.
pub trait ColumnWriter {
    fn push_null(&mut self);
    fn push_bool(&mut self, value: bool);
    fn push_u8(&mut self, value: u8);
    fn push_i16(&mut self, value: i16);
    fn push_i32(&mut self, value: i32);
    fn push_i64(&mut self, value: i64);
    fn push_f32(&mut self, value: f32);
    fn push_f64(&mut self, value: f64);
    /// A decimal's unscaled value at the column's scale.
    fn push_i128(&mut self, value: i128);
    /// A uniqueidentifier in RFC 4122 byte order.
    fn push_uuid(&mut self, value: [u8; 16]);
    /// The buffer a variable-width value is appended to, in one or more
    /// pieces (UTF-8 for text columns), before [`end_value`](Self::end_value).
    fn value_bytes(&mut self) -> &mut Vec<u8>;
    /// Ends the value appended through `value_bytes`; fails when the value
    /// cannot be held (the column's data would pass Arrow's 2 GiB offsets).
    fn end_value(&mut self) -> Result<(), String>;
    /// Drops what was appended through `value_bytes` since the last value
    /// ended, after a problem in the middle of a value.
    fn abandon_value(&mut self);
    /// A sql_variant value: its base type's declared name and canonical text.
    fn push_variant(&mut self, base_type: &str, text: &str);
}

/// One column of a COLMETADATA token (or an output parameter of a
/// RETURNVALUE token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMetadata {
    pub name: String,
    pub type_info: TypeInfo,
    pub nullable: bool,
}

/// Everything a response carries besides row values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Done(Done),
    /// An ERROR (`message.is_error()`) or INFO token.
    Message(ServerMessage),
    EnvChange(EnvChange),
    /// A stored procedure's RETURN value.
    ReturnStatus(i32),
}

/// Where a response goes while it is read.
pub trait ResponseSink {
    type Writer: ColumnWriter;

    /// A result set begins (COLMETADATA); the writers of its columns are
    /// ready afterwards. An error ends the whole response's reading.
    fn start_result(&mut self, columns: &[ColumnMetadata]) -> Result<(), String>;

    /// The current result set's writers, in column order.
    fn writers(&mut self) -> &mut [Self::Writer];

    /// Every writer received the value of one more row.
    fn end_row(&mut self);

    /// An output parameter's value (RETURNVALUE) follows.
    fn start_return_value(&mut self, parameter: &ColumnMetadata) -> Result<(), String>;

    /// The writer of the output parameter being read (`None` only before
    /// the first).
    fn return_value_writer(&mut self) -> Option<&mut Self::Writer>;

    /// The value in `column` of the row just ended (`None`: of the output
    /// parameter) could not be held; a NULL stands in its place and reading
    /// goes on, so the connection stays in step with the server.
    fn value_error(&mut self, column: Option<usize>, message: String);

    fn event(&mut self, event: Event);
}
