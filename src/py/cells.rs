//! One Arrow cell as a Python object, created only when a row reads it.

use crate::decimal::decimal_text;
use crate::temporal::{civil_from_days, parse_temporal_text, split_micros};
use crate::types::uuid_text;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64NanosecondType,
    TimestampMicrosecondType, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyType};

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

/// The Python value of `array[index]`.
pub(crate) fn cell_to_py<'py>(py: Python<'py>, array: &ArrayRef, index: usize) -> PyResult<Bound<'py, PyAny>> {
    if array.is_null(index) {
        return Ok(py.None().into_bound(py));
    }
    Ok(match array.data_type() {
        DataType::Boolean => array.as_boolean().value(index).into_pyobject(py)?.to_owned().into_any(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(index).into_pyobject(py)?.into_any(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(index).into_pyobject(py)?.into_any(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(index).into_pyobject(py)?.into_any(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(index).into_pyobject(py)?.into_any(),
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(index)).into_pyobject(py)?.into_any(),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(index).into_pyobject(py)?.into_any(),
        DataType::Utf8 => array.as_string::<i32>().value(index).into_pyobject(py)?.into_any(),
        DataType::Binary => PyBytes::new(py, array.as_binary::<i32>().value(index)).into_any(),
        DataType::FixedSizeBinary(16) => {
            let bytes: &[u8; 16] = array
                .as_fixed_size_binary()
                .value(index)
                .try_into()
                .map_err(|_| PyValueError::new_err("a uuid is not 16 bytes"))?;
            uuid_text(bytes).into_pyobject(py)?.into_any()
        }
        DataType::Struct(_) => {
            let variant = array.as_struct();
            let text = |child: usize| variant.column(child).as_string::<i32>().value(index);
            variant_to_py(py, text(0), text(1))?
        }
        DataType::Decimal128(_, scale) => {
            let text = decimal_text(array.as_primitive::<Decimal128Type>().value(index), *scale);
            DECIMAL.import(py, "decimal", "Decimal")?.call1((text,))?
        }
        DataType::Date32 => {
            let (y, m, d) = civil_from_days(i64::from(array.as_primitive::<Date32Type>().value(index)));
            DATE.import(py, "datetime", "date")?.call1((y, m, d))?
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            time_object(py, array.as_primitive::<Time64NanosecondType>().value(index) / 1000)?
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            datetime_object(py, array.as_primitive::<TimestampMicrosecondType>().value(index), zone.is_some())?
        }
        other => return Err(PyTypeError::new_err(format!("no Python conversion for Arrow type {other}"))),
    })
}
