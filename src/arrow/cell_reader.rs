//! Arrow arrays read back as plain values, for sending them to the server
//! (bulk load): the reverse of the column builders. No tiberius, no pyo3.

use super::UUID_EXTENSION_NAME;
use crate::params::ParamValue;
use crate::temporal::MICROS_PER_DAY;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, TimeUnit};
use std::fmt;

/// An Arrow value that cannot be sent as a SQL Server value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionError(pub String);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConversionError {}

/// One Arrow column, typed once so that reading a cell is a cheap match.
pub enum CellReader<'a> {
    Null,
    Bool(&'a arrow_array::BooleanArray),
    Int8(&'a arrow_array::Int8Array),
    Int16(&'a arrow_array::Int16Array),
    Int32(&'a arrow_array::Int32Array),
    Int64(&'a arrow_array::Int64Array),
    UInt8(&'a arrow_array::UInt8Array),
    UInt16(&'a arrow_array::UInt16Array),
    UInt32(&'a arrow_array::UInt32Array),
    UInt64(&'a arrow_array::UInt64Array),
    Float32(&'a arrow_array::Float32Array),
    Float64(&'a arrow_array::Float64Array),
    Decimal(&'a arrow_array::Decimal128Array, u8),
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
    Binary(&'a arrow_array::BinaryArray),
    LargeBinary(&'a arrow_array::LargeBinaryArray),
    BinaryView(&'a arrow_array::BinaryViewArray),
    FixedBinary(&'a arrow_array::FixedSizeBinaryArray),
    /// 16-byte `arrow.uuid` values.
    Uuid(&'a arrow_array::FixedSizeBinaryArray),
    Date32(&'a arrow_array::Date32Array),
    Date64(&'a arrow_array::Date64Array),
    /// Time of day in nanoseconds per unit.
    Time32(&'a arrow_array::Time32SecondArray),
    Time32Ms(&'a arrow_array::Time32MillisecondArray),
    Time64Us(&'a arrow_array::Time64MicrosecondArray),
    Time64Ns(&'a arrow_array::Time64NanosecondArray),
    /// Timestamps as i64 with their unit (sharing the array's buffers);
    /// `utc` when the field has a time zone.
    Timestamp {
        values: arrow_array::PrimitiveArray<Int64Type>,
        unit: TimeUnit,
        utc: bool,
    },
    /// Dictionary-encoded values (pandas categoricals, polars enums): a row's key picks one of
    /// `values`, read by their own reader.
    Dictionary {
        array: &'a dyn arrow_array::AnyDictionaryArray,
        keys: Vec<usize>,
        values: Box<CellReader<'a>>,
    },
}

fn is_uuid(field: &Field) -> bool {
    field.metadata().get("ARROW:extension:name").is_some_and(|name| name == UUID_EXTENSION_NAME)
}

impl<'a> CellReader<'a> {
    /// A reader for `array`, or why its Arrow type cannot be sent.
    pub fn new(field: &Field, array: &'a ArrayRef) -> Result<Self, ConversionError> {
        let unsupported = || {
            ConversionError(format!(
                "column '{}': Arrow type {} cannot be sent to SQL Server",
                field.name(),
                field.data_type()
            ))
        };
        Ok(match array.data_type() {
            DataType::Null => Self::Null,
            DataType::Boolean => Self::Bool(array.as_boolean()),
            DataType::Int8 => Self::Int8(array.as_primitive()),
            DataType::Int16 => Self::Int16(array.as_primitive()),
            DataType::Int32 => Self::Int32(array.as_primitive()),
            DataType::Int64 => Self::Int64(array.as_primitive()),
            DataType::UInt8 => Self::UInt8(array.as_primitive()),
            DataType::UInt16 => Self::UInt16(array.as_primitive()),
            DataType::UInt32 => Self::UInt32(array.as_primitive()),
            DataType::UInt64 => Self::UInt64(array.as_primitive()),
            DataType::Float32 => Self::Float32(array.as_primitive()),
            DataType::Float64 => Self::Float64(array.as_primitive()),
            DataType::Decimal128(_, scale) => {
                let scale = u8::try_from(*scale).map_err(|_| unsupported())?;
                Self::Decimal(array.as_primitive(), scale)
            }
            DataType::Utf8 => Self::Utf8(array.as_string()),
            DataType::LargeUtf8 => Self::LargeUtf8(array.as_string()),
            DataType::Utf8View => Self::Utf8View(array.as_string_view()),
            DataType::Binary => Self::Binary(array.as_binary()),
            DataType::LargeBinary => Self::LargeBinary(array.as_binary()),
            DataType::BinaryView => Self::BinaryView(array.as_binary_view()),
            DataType::FixedSizeBinary(16) if is_uuid(field) => Self::Uuid(array.as_fixed_size_binary()),
            DataType::FixedSizeBinary(_) => Self::FixedBinary(array.as_fixed_size_binary()),
            DataType::Date32 => Self::Date32(array.as_primitive()),
            DataType::Date64 => Self::Date64(array.as_primitive()),
            DataType::Time32(TimeUnit::Second) => Self::Time32(array.as_primitive()),
            DataType::Time32(TimeUnit::Millisecond) => Self::Time32Ms(array.as_primitive()),
            DataType::Time64(TimeUnit::Microsecond) => Self::Time64Us(array.as_primitive()),
            DataType::Time64(TimeUnit::Nanosecond) => Self::Time64Ns(array.as_primitive()),
            DataType::Timestamp(unit, tz) => {
                let values = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().reinterpret_cast::<Int64Type>(),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().reinterpret_cast::<Int64Type>()
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().reinterpret_cast::<Int64Type>()
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().reinterpret_cast::<Int64Type>()
                    }
                };
                Self::Timestamp { values, unit: *unit, utc: tz.is_some() }
            }
            DataType::Dictionary(_, value_type) => {
                let array = array.as_any_dictionary();
                let value_field =
                    Field::new(field.name(), value_type.as_ref().clone(), true).with_metadata(field.metadata().clone());
                let values = Box::new(CellReader::new(&value_field, array.values())?);
                // (`normalized_keys` panics on an empty dictionary, whose keys can only be nulls)
                let keys = if array.values().is_empty() { Vec::new() } else { array.normalized_keys() };
                Self::Dictionary { array, keys, values }
            }
            _ => return Err(unsupported()),
        })
    }
}

/// Whole microseconds of `value` counted in `unit`, or an error when digits
/// below the microsecond (or the range of i64 microseconds) would be lost.
fn micros(value: i64, unit: TimeUnit) -> Result<i64, ConversionError> {
    let exact = match unit {
        TimeUnit::Second => value.checked_mul(1_000_000),
        TimeUnit::Millisecond => value.checked_mul(1_000),
        TimeUnit::Microsecond => Some(value),
        TimeUnit::Nanosecond => (value % 1_000 == 0).then_some(value / 1_000),
    };
    exact.ok_or_else(|| {
        ConversionError(format!("timestamp {value} ({unit:?}) has digits below the microsecond or is out of range"))
    })
}

impl CellReader<'_> {
    /// The value of row `row` (`ParamValue::Null` for a null).
    pub fn value(&self, row: usize) -> Result<ParamValue, ConversionError> {
        macro_rules! read {
            ($array:expr, |$v:ident| $convert:expr) => {{
                let array = $array;
                if array.is_null(row) {
                    return Ok(ParamValue::Null);
                }
                let $v = array.value(row);
                $convert
            }};
        }
        Ok(match self {
            Self::Null => ParamValue::Null,
            Self::Bool(a) => read!(a, |v| ParamValue::Bool(v)),
            Self::Int8(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::Int16(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::Int32(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::Int64(a) => read!(a, |v| ParamValue::Int(v)),
            Self::UInt8(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::UInt16(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::UInt32(a) => read!(a, |v| ParamValue::Int(v.into())),
            Self::UInt64(a) => {
                read!(a, |v| ParamValue::Int(
                    i64::try_from(v).map_err(|_| { ConversionError(format!("{v} is beyond bigint's range")) })?
                ))
            }
            Self::Float32(a) => read!(a, |v| ParamValue::Float(v.into())),
            Self::Float64(a) => read!(a, |v| ParamValue::Float(v)),
            Self::Decimal(a, scale) => read!(a, |v| ParamValue::Decimal { unscaled: v, scale: *scale }),
            Self::Utf8(a) => read!(a, |v| ParamValue::String(v.to_owned())),
            Self::LargeUtf8(a) => read!(a, |v| ParamValue::String(v.to_owned())),
            Self::Utf8View(a) => read!(a, |v| ParamValue::String(v.to_owned())),
            Self::Binary(a) => read!(a, |v| ParamValue::Bytes(v.to_vec())),
            Self::LargeBinary(a) => read!(a, |v| ParamValue::Bytes(v.to_vec())),
            Self::BinaryView(a) => read!(a, |v| ParamValue::Bytes(v.to_vec())),
            Self::FixedBinary(a) => read!(a, |v| ParamValue::Bytes(v.to_vec())),
            Self::Uuid(a) => read!(a, |v| {
                let bytes: [u8; 16] = v.try_into().map_err(|_| ConversionError("a uuid is not 16 bytes".into()))?;
                ParamValue::Uuid(bytes)
            }),
            Self::Date32(a) => read!(a, |v| ParamValue::Date(v)),
            Self::Date64(a) => {
                read!(a, |v| {
                    let millis_per_day = MICROS_PER_DAY / 1_000;
                    if v % millis_per_day != 0 {
                        return Err(ConversionError(format!("date64 value {v} is not a whole day")));
                    }
                    ParamValue::Date(
                        i32::try_from(v / millis_per_day)
                            .map_err(|_| ConversionError(format!("date64 value {v} is out of range")))?,
                    )
                })
            }
            Self::Time32(a) => read!(a, |v| ParamValue::Time(i64::from(v) * 1_000_000_000)),
            Self::Time32Ms(a) => read!(a, |v| ParamValue::Time(i64::from(v) * 1_000_000)),
            Self::Time64Us(a) => read!(a, |v| ParamValue::Time(v * 1_000)),
            Self::Time64Ns(a) => read!(a, |v| ParamValue::Time(v)),
            Self::Timestamp { values, unit, utc } => read!(values, |v| {
                let micros = micros(v, *unit)?;
                if *utc {
                    ParamValue::DateTimeOffset { utc_micros: micros, offset_minutes: 0 }
                } else {
                    ParamValue::DateTime(micros)
                }
            }),
            Self::Dictionary { array, keys, values } => {
                if array.is_null(row) {
                    return Ok(ParamValue::Null);
                }
                let key = keys.get(row).ok_or_else(|| ConversionError("a dictionary key has no value".into()))?;
                values.value(*key)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Decimal128Array, StringArray, TimestampNanosecondArray, UInt64Array};
    use std::sync::Arc;

    fn read(field: Field, array: ArrayRef, row: usize) -> Result<ParamValue, ConversionError> {
        CellReader::new(&field, &array)?.value(row)
    }

    #[test]
    fn values_nulls_and_lossless_checks() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("é"), None]));
        let field = Field::new("s", DataType::Utf8, true);
        assert_eq!(read(field.clone(), strings.clone(), 0).unwrap(), ParamValue::String("é".into()));
        assert_eq!(read(field, strings, 1).unwrap(), ParamValue::Null);

        let decimals: ArrayRef = Arc::new(Decimal128Array::from(vec![-12345]).with_precision_and_scale(9, 2).unwrap());
        let field = Field::new("d", DataType::Decimal128(9, 2), true);
        assert_eq!(read(field, decimals, 0).unwrap(), ParamValue::Decimal { unscaled: -12345, scale: 2 });

        let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![1_000_000_001, 2_000_000_000]));
        let field = Field::new("t", nanos.data_type().clone(), true);
        assert!(read(field.clone(), nanos.clone(), 0).is_err(), "a nanosecond would be lost");
        assert_eq!(read(field, nanos, 1).unwrap(), ParamValue::DateTime(2_000_000));

        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        assert!(read(Field::new("u", DataType::UInt64, true), big, 0).is_err());
    }

    #[test]
    fn dictionary_values_are_read_through_their_keys() {
        let strings: ArrayRef = Arc::new(
            [Some("b"), None, Some("a"), Some("b")].into_iter().collect::<arrow_array::DictionaryArray<Int8Type>>(),
        );
        let field = Field::new("d", strings.data_type().clone(), true);
        let reader = CellReader::new(&field, &strings).unwrap();
        let read: Vec<_> = (0..4).map(|row| reader.value(row).unwrap()).collect();
        let b = ParamValue::String("b".into());
        assert_eq!(read, [b.clone(), ParamValue::Null, ParamValue::String("a".into()), b]);

        let no_values: ArrayRef =
            Arc::new([None::<&str>, None].into_iter().collect::<arrow_array::DictionaryArray<Int8Type>>());
        let field = Field::new("d", no_values.data_type().clone(), true);
        assert_eq!(CellReader::new(&field, &no_values).unwrap().value(1).unwrap(), ParamValue::Null);
    }

    #[test]
    fn unsupported_types_are_named() {
        let list: ArrayRef =
            Arc::new(arrow_array::ListArray::new_null(Arc::new(Field::new("item", DataType::Int32, true)), 1));
        let field = Field::new("l", list.data_type().clone(), true);
        let error = CellReader::new(&field, &list).err().unwrap();
        assert!(error.0.contains("column 'l'"), "{}", error.0);
    }
}
