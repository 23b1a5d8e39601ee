use super::sink::{ColumnDescription, ColumnSink, SinkError, ValueKind};
use super::{SQL_TYPE_METADATA_KEY, UUID_EXTENSION_NAME};
use crate::decimal::decimal_text;
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, Time64NanosecondBuilder,
    TimestampMicrosecondBuilder, UInt8Builder,
};
use arrow_array::ArrayRef;
use arrow_schema::Field;
use std::collections::HashMap;
use std::sync::Arc;

/// Decimal values at the column's scale, checked against its precision.
#[derive(Debug)]
struct DecimalValues {
    precision: u8,
    scale: u8,
    /// 10^precision: magnitudes below it fit (one comparison per value
    /// instead of counting digits with 128-bit divisions).
    limit: u128,
    builder: Decimal128Builder,
}

impl DecimalValues {
    fn new(precision: u8, scale: u8, builder: Decimal128Builder) -> Self {
        Self { precision, scale, limit: 10u128.pow(u32::from(precision)), builder }
    }

    fn push(&mut self, unscaled: i128, scale: u8) -> Result<(), SinkError> {
        if scale > self.scale {
            return Err(SinkError(format!(
                "a decimal value with scale {scale} does not fit the column's scale {} without rounding",
                self.scale
            )));
        }
        let rescaled = if scale == self.scale {
            Some(unscaled)
        } else {
            10i128.checked_pow(u32::from(self.scale - scale)).and_then(|factor| unscaled.checked_mul(factor))
        };
        let value = rescaled.filter(|v| v.unsigned_abs() < self.limit).ok_or_else(|| {
            SinkError(format!(
                "decimal value {} does not fit decimal({},{})",
                decimal_text(unscaled, scale as i8),
                self.precision,
                self.scale
            ))
        })?;
        self.builder.append_value(value);
        Ok(())
    }
}

#[derive(Debug)]
enum Values {
    Bool(BooleanBuilder),
    UInt8(UInt8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(DecimalValues),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Date(Date32Builder),
    Time(Time64NanosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    TimestampUtc(TimestampMicrosecondBuilder),
}

impl Values {
    fn new(kind: ValueKind, capacity: usize) -> Result<Self, SinkError> {
        Ok(match kind {
            ValueKind::Bool => Self::Bool(BooleanBuilder::with_capacity(capacity)),
            ValueKind::UInt8 => Self::UInt8(UInt8Builder::with_capacity(capacity)),
            ValueKind::Int16 => Self::Int16(Int16Builder::with_capacity(capacity)),
            ValueKind::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            ValueKind::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            ValueKind::Float32 => Self::Float32(Float32Builder::with_capacity(capacity)),
            ValueKind::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            ValueKind::Decimal { precision, scale } => Self::Decimal(DecimalValues::new(
                precision,
                scale,
                // Validates precision (1..=38) before DecimalValues::new computes 10^precision.
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(precision, scale as i8)
                    .map_err(|e| SinkError(e.to_string()))?,
            )),
            ValueKind::Utf8 => Self::Utf8(StringBuilder::new()),
            ValueKind::Binary => Self::Binary(BinaryBuilder::new()),
            ValueKind::Uuid => Self::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            ValueKind::Date => Self::Date(Date32Builder::with_capacity(capacity)),
            ValueKind::Time => Self::Time(Time64NanosecondBuilder::with_capacity(capacity)),
            ValueKind::Timestamp => Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity)),
            ValueKind::TimestampUtc => {
                Self::TimestampUtc(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
        })
    }

    fn append_null(&mut self) {
        match self {
            Self::Bool(b) => b.append_null(),
            Self::UInt8(b) => b.append_null(),
            Self::Int16(b) => b.append_null(),
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::Float32(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Decimal(d) => d.builder.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Uuid(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
            Self::Timestamp(b) | Self::TimestampUtc(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::UInt8(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Decimal(d) => Arc::new(d.builder.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Uuid(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
            Self::Timestamp(b) | Self::TimestampUtc(b) => Arc::new(b.finish()),
        }
    }
}

/// One result column: Arrow builder plus the column's name and SQL type.
#[derive(Debug)]
pub struct ColumnBuilder {
    name: String,
    description: ColumnDescription,
    values: Values,
}

impl ColumnBuilder {
    /// Fails only for a description Arrow cannot hold (a decimal precision
    /// outside 1..=38).
    pub fn new(name: impl Into<String>, description: ColumnDescription) -> Result<Self, SinkError> {
        let name = name.into();
        let values = Values::new(description.kind, 1024).map_err(|e| SinkError(format!("column '{name}': {e}")))?;
        Ok(Self { name, description, values })
    }

    fn mismatch(&self, got: &str) -> SinkError {
        SinkError(format!(
            "column '{}': a {got} value arrived for a {} column",
            self.name,
            self.description.kind.name()
        ))
    }

    /// The Arrow field (with `mssql.type` metadata) and the finished array.
    pub fn finish(&mut self) -> (Field, ArrayRef) {
        let array = self.values.finish();
        let mut metadata = HashMap::from([(SQL_TYPE_METADATA_KEY.to_string(), self.description.sql_type.clone())]);
        if self.description.kind == ValueKind::Uuid {
            metadata.insert("ARROW:extension:name".into(), UUID_EXTENSION_NAME.into());
            metadata.insert("ARROW:extension:metadata".into(), String::new());
        }
        let field = Field::new(self.name.clone(), array.data_type().clone(), true).with_metadata(metadata);
        (field, array)
    }
}

/// Appends to the builder variant matching the method, or reports a mismatch.
macro_rules! append_as {
    ($self:ident, $variant:ident, $what:literal, |$b:ident| $body:expr) => {
        match &mut $self.values {
            Values::$variant($b) => {
                $body;
                Ok(())
            }
            _ => Err($self.mismatch($what)),
        }
    };
}

impl ColumnSink for ColumnBuilder {
    fn append_null(&mut self) {
        self.values.append_null();
    }

    fn append_bool(&mut self, value: bool) -> Result<(), SinkError> {
        append_as!(self, Bool, "bool", |b| b.append_value(value))
    }

    fn append_u8(&mut self, value: u8) -> Result<(), SinkError> {
        append_as!(self, UInt8, "uint8", |b| b.append_value(value))
    }

    fn append_i16(&mut self, value: i16) -> Result<(), SinkError> {
        append_as!(self, Int16, "int16", |b| b.append_value(value))
    }

    fn append_i32(&mut self, value: i32) -> Result<(), SinkError> {
        append_as!(self, Int32, "int32", |b| b.append_value(value))
    }

    fn append_i64(&mut self, value: i64) -> Result<(), SinkError> {
        append_as!(self, Int64, "int64", |b| b.append_value(value))
    }

    fn append_f32(&mut self, value: f32) -> Result<(), SinkError> {
        append_as!(self, Float32, "float32", |b| b.append_value(value))
    }

    fn append_f64(&mut self, value: f64) -> Result<(), SinkError> {
        append_as!(self, Float64, "float64", |b| b.append_value(value))
    }

    fn append_str(&mut self, value: &str) -> Result<(), SinkError> {
        append_as!(self, Utf8, "string", |b| b.append_value(value))
    }

    fn append_bytes(&mut self, value: &[u8]) -> Result<(), SinkError> {
        append_as!(self, Binary, "binary", |b| b.append_value(value))
    }

    fn append_decimal(&mut self, unscaled: i128, scale: u8) -> Result<(), SinkError> {
        match &mut self.values {
            Values::Decimal(d) => {
                d.push(unscaled, scale).map_err(|e| SinkError(format!("column '{}': {e}", self.name)))
            }
            _ => Err(self.mismatch("decimal")),
        }
    }

    fn append_date(&mut self, days_since_epoch: i32) -> Result<(), SinkError> {
        append_as!(self, Date, "date", |b| b.append_value(days_since_epoch))
    }

    fn append_time(&mut self, nanos_since_midnight: i64) -> Result<(), SinkError> {
        append_as!(self, Time, "time", |b| b.append_value(nanos_since_midnight))
    }

    fn append_timestamp(&mut self, micros_since_epoch: i64) -> Result<(), SinkError> {
        append_as!(self, Timestamp, "timestamp", |b| b.append_value(micros_since_epoch))
    }

    fn append_timestamp_utc(&mut self, micros_since_epoch: i64) -> Result<(), SinkError> {
        append_as!(self, TimestampUtc, "timestamp with time zone", |b| b.append_value(micros_since_epoch))
    }

    fn append_uuid(&mut self, bytes: [u8; 16]) -> Result<(), SinkError> {
        match &mut self.values {
            Values::Uuid(b) => b.append_value(bytes).map_err(|e| SinkError(e.to_string())),
            _ => Err(self.mismatch("uuid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int32Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::{DataType, TimeUnit};

    fn column(name: &str, kind: ValueKind, sql_type: &str) -> ColumnBuilder {
        ColumnBuilder::new(name, ColumnDescription::new(kind, sql_type)).unwrap()
    }

    #[test]
    fn described_kind_builds_typed_array_with_metadata() {
        let mut col = column("n", ValueKind::Int32, "int");
        col.append_i32(7).unwrap();
        col.append_null();
        let (field, array) = col.finish();
        assert_eq!(field.data_type(), &DataType::Int32);
        assert_eq!(field.metadata()[SQL_TYPE_METADATA_KEY], "int");
        let ints = array.as_primitive::<Int32Type>();
        assert_eq!((ints.value(0), ints.is_null(1)), (7, true));
    }

    #[test]
    fn an_empty_column_keeps_its_described_type() {
        let mut col = column("r", ValueKind::Float32, "real");
        let (field, array) = col.finish();
        assert_eq!((field.data_type(), array.len()), (&DataType::Float32, 0));
    }

    #[test]
    fn mismatched_append_is_an_error_naming_the_column() {
        let mut col = column("price", ValueKind::Int32, "int");
        let err = col.append_str("x").unwrap_err();
        assert!(err.0.contains("price") && err.0.contains("int32"), "{err}");
    }

    #[test]
    fn decimals_take_the_declared_precision_and_scale() {
        let mut col = column("d", ValueKind::Decimal { precision: 18, scale: 4 }, "decimal(18,4)");
        col.append_decimal(12345, 4).unwrap(); // 1.2345
        col.append_decimal(-5, 2).unwrap(); // -0.05, widened exactly
        col.append_null();
        let (field, array) = col.finish();
        assert_eq!(field.data_type(), &DataType::Decimal128(18, 4));
        assert_eq!(field.metadata()[SQL_TYPE_METADATA_KEY], "decimal(18,4)");
        let decimals = array.as_primitive::<Decimal128Type>();
        assert_eq!((decimals.value(0), decimals.value(1)), (12345, -500));
        assert!(decimals.is_null(2));
    }

    #[test]
    fn decimals_are_never_rounded_or_overflowed() {
        let mut col = column("d", ValueKind::Decimal { precision: 5, scale: 2 }, "decimal(5,2)");
        assert!(col.append_decimal(1, 3).is_err(), "a finer scale would need rounding");
        assert!(col.append_decimal(100_000, 2).is_err(), "6 digits exceed precision 5");
        col.append_decimal(99_999, 2).unwrap();
        let max = 10i128.pow(38) - 1;
        let mut wide = column("w", ValueKind::Decimal { precision: 38, scale: 10 }, "decimal(38,10)");
        wide.append_decimal(max, 10).unwrap();
        wide.append_decimal(-max, 10).unwrap();
        assert!(wide.append_decimal(max, 9).is_err(), "widening would exceed 38 digits");
        let (_, array) = wide.finish();
        assert_eq!(array.as_primitive::<Decimal128Type>().value(0), max);
    }

    #[test]
    fn a_decimal_precision_arrow_cannot_hold_is_refused() {
        let err = ColumnBuilder::new("z", ColumnDescription::new(ValueKind::Decimal { precision: 0, scale: 0 }, "x"))
            .unwrap_err();
        assert!(err.0.contains("'z'"), "{err}");
    }

    #[test]
    fn utc_timestamps_carry_the_zone_and_uuid_the_extension() {
        let mut ts = column("t", ValueKind::TimestampUtc, "datetimeoffset(7)");
        ts.append_timestamp_utc(1).unwrap();
        let (field, array) = ts.finish();
        assert_eq!(field.data_type(), &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), 1);

        let mut id = column("u", ValueKind::Uuid, "uniqueidentifier");
        id.append_uuid([1; 16]).unwrap();
        let (field, _) = id.finish();
        assert_eq!(field.data_type(), &DataType::FixedSizeBinary(16));
        assert_eq!(field.metadata()["ARROW:extension:name"], UUID_EXTENSION_NAME);
    }
}
