use super::sink::{ColumnSink, KindHint, SinkError, ValueKind};
use super::{SQL_TYPE_METADATA_KEY, UUID_EXTENSION_NAME};
use crate::decimal::{digit_count, MAX_DIGITS};
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, StringBuilder, Time64NanosecondBuilder,
    TimestampMicrosecondBuilder, UInt8Builder,
};
use arrow_array::{ArrayRef, Decimal128Array};
use arrow_schema::Field;
use std::collections::HashMap;
use std::sync::Arc;

/// Decimal values are kept unscaled until the column's scale is final.
#[derive(Debug, Default)]
struct DecimalValues {
    precision: u8,
    scale: Option<u8>,
    values: Vec<Option<i128>>,
}

impl DecimalValues {
    fn push(&mut self, unscaled: i128, scale: u8) -> Result<(), SinkError> {
        let current = *self.scale.get_or_insert(scale);
        let value = if scale < current {
            rescale(unscaled, current - scale)?
        } else {
            if scale > current {
                // A finer value than seen so far: widen everything before it.
                for value in self.values.iter_mut().flatten() {
                    *value = rescale(*value, scale - current)?;
                }
                self.scale = Some(scale);
            }
            unscaled
        };
        if digit_count(value) > self.precision {
            return Err(SinkError(format!(
                "decimal value with {} digits exceeds precision {}",
                digit_count(value),
                self.precision
            )));
        }
        self.values.push(Some(value));
        Ok(())
    }
}

fn rescale(value: i128, by: u8) -> Result<i128, SinkError> {
    10i128
        .checked_pow(u32::from(by))
        .and_then(|factor| value.checked_mul(factor))
        .filter(|v| digit_count(*v) <= MAX_DIGITS)
        .ok_or_else(|| SinkError("decimal value does not fit 38 digits at the column's scale".into()))
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
    fn new(kind: ValueKind, capacity: usize) -> Self {
        match kind {
            ValueKind::Bool => Self::Bool(BooleanBuilder::with_capacity(capacity)),
            ValueKind::UInt8 => Self::UInt8(UInt8Builder::with_capacity(capacity)),
            ValueKind::Int16 => Self::Int16(Int16Builder::with_capacity(capacity)),
            ValueKind::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            ValueKind::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            ValueKind::Float32 => Self::Float32(Float32Builder::with_capacity(capacity)),
            ValueKind::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            ValueKind::Decimal { precision, scale } => {
                Self::Decimal(DecimalValues { precision, scale, values: Vec::with_capacity(capacity) })
            }
            ValueKind::Utf8 => Self::Utf8(StringBuilder::new()),
            ValueKind::Binary => Self::Binary(BinaryBuilder::new()),
            ValueKind::Uuid => Self::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            ValueKind::Date => Self::Date(Date32Builder::with_capacity(capacity)),
            ValueKind::Time => Self::Time(Time64NanosecondBuilder::with_capacity(capacity)),
            ValueKind::Timestamp => Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity)),
            ValueKind::TimestampUtc => Self::TimestampUtc(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
        }
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
            Self::Decimal(d) => d.values.push(None),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Uuid(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
            Self::Timestamp(b) | Self::TimestampUtc(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, SinkError> {
        Ok(match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::UInt8(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Decimal(d) => {
                let values = std::mem::take(&mut d.values);
                Arc::new(
                    Decimal128Array::from(values)
                        .with_precision_and_scale(d.precision, d.scale.unwrap_or(0) as i8)
                        .map_err(|e| SinkError(e.to_string()))?,
                )
            }
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Uuid(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
            Self::Timestamp(b) | Self::TimestampUtc(b) => Arc::new(b.finish()),
        })
    }
}

/// One result column: Arrow builder plus the column's name and SQL type.
#[derive(Debug)]
pub struct ColumnBuilder {
    name: String,
    hint: KindHint,
    declared: Option<(ValueKind, &'static str)>,
    values: Option<Values>,
    /// Nulls seen before the kind was known.
    pending_nulls: usize,
}

impl ColumnBuilder {
    pub fn new(name: impl Into<String>, hint: KindHint) -> Self {
        let mut builder = Self { name: name.into(), hint, declared: None, values: None, pending_nulls: 0 };
        if let KindHint::Known(kind, sql_type) = hint {
            builder.set_kind(kind, sql_type);
        }
        builder
    }

    fn set_kind(&mut self, kind: ValueKind, sql_type: &'static str) {
        let mut values = Values::new(kind, 1024);
        for _ in 0..self.pending_nulls {
            values.append_null();
        }
        self.pending_nulls = 0;
        self.declared = Some((kind, sql_type));
        self.values = Some(values);
    }

    fn mismatch(&self, got: &str) -> SinkError {
        let expected = self.declared.map_or("an undeclared kind", |(k, _)| k.name());
        SinkError(format!("column '{}': a {got} value arrived for a {expected} column", self.name))
    }

    /// The Arrow field (with `mssql.type` metadata) and the finished array.
    pub fn finish(&mut self) -> Result<(Field, ArrayRef), SinkError> {
        let (kind, sql_type) = match self.declared {
            Some(declared) => declared,
            None => {
                let fallback = match self.hint {
                    KindHint::Known(kind, sql_type) => (kind, sql_type),
                    KindHint::FromValues { fallback, fallback_sql_type } => (fallback, fallback_sql_type),
                };
                self.set_kind(fallback.0, fallback.1);
                fallback
            }
        };
        let array = match self.values.as_mut() {
            Some(values) => values.finish()?,
            None => return Err(self.mismatch("final")),
        };
        let mut metadata = HashMap::from([(SQL_TYPE_METADATA_KEY.to_string(), sql_type.to_string())]);
        if kind == ValueKind::Uuid {
            metadata.insert("ARROW:extension:name".into(), UUID_EXTENSION_NAME.into());
            metadata.insert("ARROW:extension:metadata".into(), String::new());
        }
        let field = Field::new(self.name.clone(), array.data_type().clone(), true).with_metadata(metadata);
        Ok((field, array))
    }
}

/// Appends to the builder variant matching the method, or reports a mismatch.
macro_rules! append_as {
    ($self:ident, $variant:ident, $what:literal, |$b:ident| $body:expr) => {
        match $self.values.as_mut() {
            Some(Values::$variant($b)) => {
                $body;
                Ok(())
            }
            _ => Err($self.mismatch($what)),
        }
    };
}

impl ColumnSink for ColumnBuilder {
    fn declare(&mut self, kind: ValueKind, sql_type: &'static str) -> Result<(), SinkError> {
        match self.declared {
            None => {
                self.set_kind(kind, sql_type);
                Ok(())
            }
            Some((existing, _)) if existing == kind => Ok(()),
            Some((ValueKind::Decimal { .. }, _)) if matches!(kind, ValueKind::Decimal { .. }) => Ok(()),
            Some(_) => Err(self.mismatch(kind.name())),
        }
    }

    fn is_declared(&self) -> bool {
        self.declared.is_some()
    }

    fn append_null(&mut self) {
        match self.values.as_mut() {
            Some(values) => values.append_null(),
            None => self.pending_nulls += 1,
        }
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
        match self.values.as_mut() {
            Some(Values::Decimal(d)) => d.push(unscaled, scale).map_err(|e| SinkError(format!("column '{}': {e}", self.name))),
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
        match self.values.as_mut() {
            Some(Values::Uuid(b)) => b.append_value(bytes).map_err(|e| SinkError(e.to_string())),
            _ => Err(self.mismatch("uuid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::{DataType, TimeUnit};

    #[test]
    fn known_kind_builds_typed_array_with_metadata() {
        let mut col = ColumnBuilder::new("n", KindHint::Known(ValueKind::Int32, "int"));
        col.append_i32(7).unwrap();
        col.append_null();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Int32);
        assert_eq!(field.metadata()[SQL_TYPE_METADATA_KEY], "int");
        let ints = array.as_primitive::<Int32Type>();
        assert_eq!((ints.value(0), ints.is_null(1)), (7, true));
    }

    #[test]
    fn width_from_values_keeps_leading_nulls() {
        let mut col = ColumnBuilder::new(
            "x",
            KindHint::FromValues { fallback: ValueKind::Int64, fallback_sql_type: "bigint" },
        );
        col.append_null();
        assert!(!col.is_declared());
        col.declare(ValueKind::Int16, "smallint").unwrap();
        col.append_i16(-3).unwrap();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Int16);
        assert_eq!(field.metadata()[SQL_TYPE_METADATA_KEY], "smallint");
        assert_eq!(array.len(), 2);
        assert!(array.is_null(0));
    }

    #[test]
    fn empty_ambiguous_column_uses_fallback() {
        let mut col = ColumnBuilder::new(
            "x",
            KindHint::FromValues { fallback: ValueKind::Float64, fallback_sql_type: "float" },
        );
        let (field, array) = col.finish().unwrap();
        assert_eq!((field.data_type(), array.len()), (&DataType::Float64, 0));
    }

    #[test]
    fn mismatched_append_is_an_error_naming_the_column() {
        let mut col = ColumnBuilder::new("price", KindHint::Known(ValueKind::Int32, "int"));
        let err = col.append_str("x").unwrap_err();
        assert!(err.0.contains("price"));
        assert!(col.declare(ValueKind::Utf8, "nvarchar").is_err());
    }

    #[test]
    fn decimal_scale_comes_from_values_and_widens_without_losing_digits() {
        let mut col = ColumnBuilder::new(
            "d",
            KindHint::Known(ValueKind::Decimal { precision: 38, scale: None }, "decimal"),
        );
        col.append_decimal(12345, 2).unwrap(); // 123.45
        col.append_decimal(-5, 4).unwrap(); // -0.0005
        col.append_null();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Decimal128(38, 4));
        let decimals = array.as_primitive::<arrow_array::types::Decimal128Type>();
        assert_eq!(decimals.value(0), 1_234_500);
        assert_eq!(decimals.value(1), -5);
        assert!(decimals.is_null(2));
    }

    #[test]
    fn max_38_digit_decimal_survives() {
        let max = 10i128.pow(38) - 1;
        let mut col = ColumnBuilder::new(
            "d",
            KindHint::Known(ValueKind::Decimal { precision: 38, scale: None }, "decimal"),
        );
        col.append_decimal(max, 10).unwrap();
        col.append_decimal(-max, 10).unwrap();
        assert!(col.append_decimal(1, 11).is_err(), "widening would exceed 38 digits");
        let (_, array) = col.finish().unwrap();
        assert_eq!(array.as_primitive::<arrow_array::types::Decimal128Type>().value(0), max);
    }

    #[test]
    fn utc_timestamps_carry_the_zone_and_uuid_the_extension() {
        let mut ts = ColumnBuilder::new("t", KindHint::Known(ValueKind::TimestampUtc, "datetimeoffset"));
        ts.append_timestamp_utc(1).unwrap();
        let (field, array) = ts.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), 1);

        let mut id = ColumnBuilder::new("u", KindHint::Known(ValueKind::Uuid, "uniqueidentifier"));
        id.append_uuid([1; 16]).unwrap();
        let (field, _) = id.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::FixedSizeBinary(16));
        assert_eq!(field.metadata()["ARROW:extension:name"], UUID_EXTENSION_NAME);
    }
}
