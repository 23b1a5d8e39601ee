//! One Arrow cell as a Python object, created only when a row reads it.

use crate::decimal::decimal_text;
use crate::temporal::{civil_from_days, split_micros};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64NanosecondType,
    TimestampMicrosecondType, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyType};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Canonical lowercase 8-4-4-4-12 form, as `str(uuid.UUID)`.
pub(crate) fn uuid_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn time_object<'py>(py: Python<'py>, micros_of_day: i64) -> PyResult<Bound<'py, PyAny>> {
    let seconds = micros_of_day / 1_000_000;
    TIME.import(py, "datetime", "time")?.call1((seconds / 3600, seconds / 60 % 60, seconds % 60, micros_of_day % 1_000_000))
}

fn datetime_object<'py>(py: Python<'py>, micros: i64, utc: bool) -> PyResult<Bound<'py, PyAny>> {
    let (days, micros_of_day) = split_micros(micros);
    let (y, m, d) = civil_from_days(days);
    let seconds = micros_of_day / 1_000_000;
    let args = (y, m, d, seconds / 3600, seconds / 60 % 60, seconds % 60, micros_of_day % 1_000_000);
    let class = DATETIME.import(py, "datetime", "datetime")?;
    if utc {
        let tz = UTC.get_or_try_init(py, || {
            py.import("datetime")?.getattr("timezone")?.getattr("utc").map(Bound::unbind)
        })?;
        let (y, m, d, h, mi, s, us) = args;
        class.call1((y, m, d, h, mi, s, us, tz.bind(py)))
    } else {
        class.call1(args)
    }
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
            uuid_text(array.as_fixed_size_binary().value(index)).into_pyobject(py)?.into_any()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_is_canonical() {
        let bytes: Vec<u8> = (0u8..16).collect();
        assert_eq!(uuid_text(&bytes), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }
}
