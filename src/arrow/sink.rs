use std::fmt;

/// The Arrow representation chosen for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    UInt8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// decimal128(precision, scale).
    Decimal {
        precision: u8,
        scale: u8,
    },
    Utf8,
    Binary,
    /// 16 bytes in RFC 4122 (big-endian) order.
    Uuid,
    /// Days since 1970-01-01.
    Date,
    /// Nanoseconds since midnight.
    Time,
    /// Naive microseconds since 1970-01-01.
    Timestamp,
    /// Microseconds since 1970-01-01 UTC.
    TimestampUtc,
}

impl ValueKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::UInt8 => "uint8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::Decimal { .. } => "decimal128",
            Self::Utf8 => "utf8",
            Self::Binary => "binary",
            Self::Uuid => "uuid",
            Self::Date => "date32",
            Self::Time => "time64[ns]",
            Self::Timestamp => "timestamp[us]",
            Self::TimestampUtc => "timestamp[us, UTC]",
        }
    }
}

/// What the result metadata says about a column, in Arrow terms and
/// without naming the wire decoder's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDescription {
    pub kind: ValueKind,
    /// The declared SQL Server type, e.g. "decimal(18,4)" or "nvarchar(max)".
    pub sql_type: String,
}

impl ColumnDescription {
    pub fn new(kind: ValueKind, sql_type: impl Into<String>) -> Self {
        Self { kind, sql_type: sql_type.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError(pub String);

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SinkError {}

/// Receives one column's values in row order; a value of another kind than
/// the column's description is an error.
pub trait ColumnSink {
    fn append_null(&mut self);
    fn append_bool(&mut self, value: bool) -> Result<(), SinkError>;
    fn append_u8(&mut self, value: u8) -> Result<(), SinkError>;
    fn append_i16(&mut self, value: i16) -> Result<(), SinkError>;
    fn append_i32(&mut self, value: i32) -> Result<(), SinkError>;
    fn append_i64(&mut self, value: i64) -> Result<(), SinkError>;
    fn append_f32(&mut self, value: f32) -> Result<(), SinkError>;
    fn append_f64(&mut self, value: f64) -> Result<(), SinkError>;
    fn append_str(&mut self, value: &str) -> Result<(), SinkError>;
    fn append_bytes(&mut self, value: &[u8]) -> Result<(), SinkError>;
    /// `unscaled / 10^scale`; a scale finer than the column's is an error
    /// (never rounded).
    fn append_decimal(&mut self, unscaled: i128, scale: u8) -> Result<(), SinkError>;
    fn append_date(&mut self, days_since_epoch: i32) -> Result<(), SinkError>;
    fn append_time(&mut self, nanos_since_midnight: i64) -> Result<(), SinkError>;
    fn append_timestamp(&mut self, micros_since_epoch: i64) -> Result<(), SinkError>;
    fn append_timestamp_utc(&mut self, micros_since_epoch: i64) -> Result<(), SinkError>;
    fn append_uuid(&mut self, bytes: [u8; 16]) -> Result<(), SinkError>;
}
