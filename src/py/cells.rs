//! One Arrow cell as a Python object, created only when a row reads it.

use crate::decimal::decimal_text;
use crate::temporal::{civil_from_days, parse_temporal_text, split_micros};
use crate::types::uuid_text;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64NanosecondType,
    TimestampMicrosecondType, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_schema::{DataType, TimeUnit};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString, PyType};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn time_object<'py>(py: Python<'py>, micros_of_day: i64) -> PyResult<Bound<'py, PyAny>> {
    let seconds = micros_of_day / 1_000_000;
    TIME.import(py, "datetime", "time")?.call1((
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        micros_of_day % 1_000_000,
    ))
}

fn datetime_object<'py>(py: Python<'py>, micros: i64, utc: bool) -> PyResult<Bound<'py, PyAny>> {
    let (days, micros_of_day) = split_micros(micros);
    let (y, m, d) = civil_from_days(days);
    let seconds = micros_of_day / 1_000_000;
    let args = (y, m, d, seconds / 3600, seconds / 60 % 60, seconds % 60, micros_of_day % 1_000_000);
    let class = DATETIME.import(py, "datetime", "datetime")?;
    if utc {
        let tz =
            UTC.get_or_try_init(py, || py.import("datetime")?.getattr("timezone")?.getattr("utc").map(Bound::unbind))?;
        let (y, m, d, h, mi, s, us) = args;
        class.call1((y, m, d, h, mi, s, us, tz.bind(py)))
    } else {
        class.call1(args)
    }
}

/// A sql_variant's value in its base type, from its base type's name and
/// canonical text (see `crate::tds`'s variant reader).
fn variant_to_py<'py>(py: Python<'py>, base_type: &str, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let name = base_type.split('(').next().unwrap_or(base_type);
    let bad = || PyValueError::new_err(format!("a sql_variant {base_type} value '{text}' that cannot be read"));
    let temporal = || parse_temporal_text(text).ok_or_else(bad);
    Ok(match name {
        "tinyint" | "smallint" | "int" | "bigint" => {
            text.parse::<i64>().map_err(|_| bad())?.into_pyobject(py)?.into_any()
        }
        "bit" => (text == "1").into_pyobject(py)?.to_owned().into_any(),
        "real" | "float" => text.parse::<f64>().map_err(|_| bad())?.into_pyobject(py)?.into_any(),
        "decimal" | "numeric" | "money" | "smallmoney" => DECIMAL.import(py, "decimal", "Decimal")?.call1((text,))?,
        "binary" | "varbinary" => {
            let hex = text.strip_prefix("0x").ok_or_else(bad)?;
            let bytes: Option<Vec<u8>> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
            PyBytes::new(py, &bytes.ok_or_else(bad)?).into_any()
        }
        "date" => {
            let (y, m, d) = temporal()?.date.ok_or_else(bad)?;
            DATE.import(py, "datetime", "date")?.call1((y, m, d))?
        }
        "time" => {
            let (h, mi, sec, nanos) = temporal()?.time.ok_or_else(bad)?;
            TIME.import(py, "datetime", "time")?.call1((h, mi, sec, nanos / 1000))?
        }
        "datetime" | "smalldatetime" | "datetime2" | "datetimeoffset" => {
            let parts = temporal()?;
            let ((y, m, d), (h, mi, sec, nanos)) = (parts.date.ok_or_else(bad)?, parts.time.ok_or_else(bad)?);
            let args = (y, m, d, h, mi, sec, nanos / 1000);
            let class = DATETIME.import(py, "datetime", "datetime")?;
            match parts.offset_minutes {
                None => class.call1(args)?,
                Some(minutes) => {
                    let datetime = py.import("datetime")?;
                    let delta = datetime.getattr("timedelta")?.call1((0, i64::from(minutes) * 60))?;
                    let zone = datetime.getattr("timezone")?.call1((delta,))?;
                    let (y, m, d, h, mi, sec, us) = args;
                    class.call1((y, m, d, h, mi, sec, us, zone))?
                }
            }
        }
        // uniqueidentifier (as its columns give it), and the character types.
        _ => text.into_pyobject(py)?.into_any(),
    })
}

/// One Arrow column, downcast once, whose cells become Python values.
pub(crate) enum CellColumn {
    Bool(BooleanArray),
    UInt8(PrimitiveArray<UInt8Type>),
    Int16(PrimitiveArray<Int16Type>),
    Int32(PrimitiveArray<Int32Type>),
    Int64(PrimitiveArray<Int64Type>),
    Float32(PrimitiveArray<Float32Type>),
    Float64(PrimitiveArray<Float64Type>),
    Decimal(PrimitiveArray<Decimal128Type>, i8),
    Utf8(StringArray),
    Binary(BinaryArray),
    Uuid(FixedSizeBinaryArray),
    Date(PrimitiveArray<Date32Type>),
    Time(PrimitiveArray<Time64NanosecondType>),
    Timestamp(PrimitiveArray<TimestampMicrosecondType>, bool),
    /// sql_variant: the struct, its base-type names and its values as text
    /// (boxed: much bigger than the other columns).
    Variant(Box<(StructArray, StringArray, StringArray)>),
    Unsupported(DataType),
}

impl CellColumn {
    pub(crate) fn new(array: &ArrayRef) -> Self {
        match array.data_type() {
            DataType::Boolean => Self::Bool(array.as_boolean().clone()),
            DataType::UInt8 => Self::UInt8(array.as_primitive().clone()),
            DataType::Int16 => Self::Int16(array.as_primitive().clone()),
            DataType::Int32 => Self::Int32(array.as_primitive().clone()),
            DataType::Int64 => Self::Int64(array.as_primitive().clone()),
            DataType::Float32 => Self::Float32(array.as_primitive().clone()),
            DataType::Float64 => Self::Float64(array.as_primitive().clone()),
            DataType::Decimal128(_, scale) => Self::Decimal(array.as_primitive().clone(), *scale),
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>().clone()),
            DataType::Binary => Self::Binary(array.as_binary::<i32>().clone()),
            DataType::FixedSizeBinary(16) => Self::Uuid(array.as_fixed_size_binary().clone()),
            DataType::Date32 => Self::Date(array.as_primitive().clone()),
            DataType::Time64(TimeUnit::Nanosecond) => Self::Time(array.as_primitive().clone()),
            DataType::Timestamp(TimeUnit::Microsecond, zone) => {
                Self::Timestamp(array.as_primitive().clone(), zone.is_some())
            }
            DataType::Struct(fields) if fields.len() == 2 => {
                let variant = array.as_struct();
                match (variant.column(0).as_string_opt::<i32>(), variant.column(1).as_string_opt::<i32>()) {
                    (Some(types), Some(texts)) => {
                        Self::Variant(Box::new((variant.clone(), types.clone(), texts.clone())))
                    }
                    _ => Self::Unsupported(array.data_type().clone()),
                }
            }
            other => Self::Unsupported(other.clone()),
        }
    }

    fn is_null(&self, index: usize) -> bool {
        match self {
            Self::Bool(a) => a.is_null(index),
            Self::UInt8(a) => a.is_null(index),
            Self::Int16(a) => a.is_null(index),
            Self::Int32(a) => a.is_null(index),
            Self::Int64(a) => a.is_null(index),
            Self::Float32(a) => a.is_null(index),
            Self::Float64(a) => a.is_null(index),
            Self::Decimal(a, _) => a.is_null(index),
            Self::Utf8(a) => a.is_null(index),
            Self::Binary(a) => a.is_null(index),
            Self::Uuid(a) => a.is_null(index),
            Self::Date(a) => a.is_null(index),
            Self::Time(a) => a.is_null(index),
            Self::Timestamp(a, _) => a.is_null(index),
            Self::Variant(columns) => columns.0.is_null(index),
            Self::Unsupported(_) => false,
        }
    }

    /// The Python value of the cell at `index` (which must be in range).
    pub(crate) fn value<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        if self.is_null(index) {
            return Ok(py.None().into_bound(py));
        }
        Ok(match self {
            Self::Bool(a) => a.value(index).into_pyobject(py)?.to_owned().into_any(),
            Self::UInt8(a) => a.value(index).into_pyobject(py)?.into_any(),
            Self::Int16(a) => a.value(index).into_pyobject(py)?.into_any(),
            Self::Int32(a) => a.value(index).into_pyobject(py)?.into_any(),
            Self::Int64(a) => a.value(index).into_pyobject(py)?.into_any(),
            Self::Float32(a) => f64::from(a.value(index)).into_pyobject(py)?.into_any(),
            Self::Float64(a) => a.value(index).into_pyobject(py)?.into_any(),
            Self::Utf8(a) => PyString::new(py, a.value(index)).into_any(),
            Self::Binary(a) => PyBytes::new(py, a.value(index)).into_any(),
            Self::Uuid(a) => {
                let bytes: &[u8; 16] =
                    a.value(index).try_into().map_err(|_| PyValueError::new_err("a uuid is not 16 bytes"))?;
                PyString::new(py, &uuid_text(bytes)).into_any()
            }
            Self::Decimal(a, scale) => {
                DECIMAL.import(py, "decimal", "Decimal")?.call1((decimal_text(a.value(index), *scale),))?
            }
            Self::Date(a) => {
                let (y, m, d) = civil_from_days(i64::from(a.value(index)));
                DATE.import(py, "datetime", "date")?.call1((y, m, d))?
            }
            Self::Time(a) => time_object(py, a.value(index) / 1000)?,
            Self::Timestamp(a, utc) => datetime_object(py, a.value(index), *utc)?,
            Self::Variant(columns) => variant_to_py(py, columns.1.value(index), columns.2.value(index))?,
            Self::Unsupported(data_type) => {
                return Err(PyTypeError::new_err(format!("no Python conversion for Arrow type {data_type}")))
            }
        })
    }
}
