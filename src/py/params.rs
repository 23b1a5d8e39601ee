//! Python parameter values into driver parameters, refused before sending.

use super::errors::driver_error;
use super::parameter::Parameter;
use crate::error::DriverError;
use crate::params::{checked_datetimeoffset, checked_decimal, checked_float, BoundParam, ParamValue, SqlType};
use crate::request::ProcedureArgument;
use crate::statement::{positional_name, rename_variables};
use crate::temporal::{days_from_civil, MICROS_PER_DAY};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyMapping, PyString, PyTuple, PyType};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MEMORYVIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The statement (with `@name` bound to positions) and its parameters.
pub(crate) fn convert_params(sql: &str, params: Option<&Bound<'_, PyAny>>) -> PyResult<(String, Vec<BoundParam>)> {
    let Some(params) = params.filter(|p| !p.is_none()) else {
        return Ok((sql.to_string(), Vec::new()));
    };
    if params.is_instance_of::<PyDict>() || params.cast::<PyMapping>().is_ok() {
        let mapping = params.cast::<PyMapping>()?;
        let mut renames = Vec::new();
        let mut bound = Vec::new();
        for item in mapping.items()?.iter() {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            let name: String = key
                .extract()
                .map_err(|_| driver_error(&DriverError::programming("parameter names in a mapping must be str")))?;
            let name = name.strip_prefix('@').unwrap_or(&name).to_string();
            let param = to_bound_param(&value).map_err(|e| named(&name, e))?;
            renames.push((name, format!("@{}", positional_name(bound.len()))));
            bound.push(param);
        }
        return Ok((rename_variables(sql, &renames), bound));
    }
    if params.is_instance_of::<PyString>() || params.is_instance_of::<PyBytes>() {
        return Err(driver_error(&DriverError::programming(
            "params must be a sequence or a mapping of values, not a single str/bytes",
        )));
    }
    let mut bound = Vec::new();
    for (index, value) in params
        .try_iter()
        .map_err(|_| driver_error(&DriverError::programming("params must be a sequence or a mapping")))?
        .enumerate()
    {
        bound.push(to_bound_param(&value?).map_err(|e| named(&positional_name(index), e))?);
    }
    Ok((sql.to_string(), bound))
}

/// A stored procedure's arguments: by name from a mapping (`@` optional),
/// by position from a sequence; each name in `output` (mapping to its SQL
/// type) is passed by reference, its value from `params` or NULL.
pub(crate) fn convert_arguments(
    params: Option<&Bound<'_, PyAny>>,
    output: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<ProcedureArgument>> {
    let mut arguments = Vec::new();
    if let Some(params) = params.filter(|p| !p.is_none()) {
        if let Ok(mapping) = params.cast::<PyMapping>() {
            for item in mapping.items()?.iter() {
                let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let name = argument_name(&key)?;
                let value = to_bound_param(&value).map_err(|e| named(&name, e))?;
                arguments.push(ProcedureArgument { name, value, output: false });
            }
        } else if params.is_instance_of::<PyString>() || params.is_instance_of::<PyBytes>() {
            return Err(driver_error(&DriverError::programming(
                "params must be a sequence or a mapping of values, not a single str/bytes",
            )));
        } else {
            let values = params
                .try_iter()
                .map_err(|_| driver_error(&DriverError::programming("params must be a sequence or a mapping")))?;
            for (index, value) in values.enumerate() {
                let value = to_bound_param(&value?).map_err(|e| named(&format!("argument {}", index + 1), e))?;
                arguments.push(ProcedureArgument { name: String::new(), value, output: false });
            }
        }
    }
    let Some(output) = output.filter(|o| !o.is_none()) else {
        return Ok(arguments);
    };
    let output = output.cast::<PyMapping>().map_err(|_| {
        driver_error(&DriverError::programming("output must map OUTPUT parameter names to their SQL types"))
    })?;
    for item in output.items()?.iter() {
        let (key, sql_type): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let name = argument_name(&key)?;
        let sql_type: String = sql_type.extract().map_err(|_| {
            driver_error(&DriverError::programming(format!("output type of @{name} must be a str such as 'int'")))
        })?;
        let sql_type = SqlType::parse(&sql_type).map_err(|e| named(&name, e))?;
        match arguments.iter_mut().find(|a| a.name.eq_ignore_ascii_case(&name)) {
            Some(argument) => {
                argument.value =
                    BoundParam::forced(argument.value.value.clone(), sql_type).map_err(|e| named(&name, e))?;
                argument.output = true;
            }
            None => {
                let value = BoundParam::forced(ParamValue::Null, sql_type).map_err(|e| named(&name, e))?;
                arguments.push(ProcedureArgument { name, value, output: true });
            }
        }
    }
    Ok(arguments)
}

fn argument_name(key: &Bound<'_, PyAny>) -> PyResult<String> {
    let name: String = key
        .extract()
        .map_err(|_| driver_error(&DriverError::programming("parameter names in a mapping must be str")))?;
    let name = name.strip_prefix('@').unwrap_or(&name).to_string();
    if name.is_empty() {
        return Err(driver_error(&DriverError::programming("a parameter name is empty")));
    }
    Ok(name)
}

/// Prefixes the parameter's name to a conversion error.
fn named(name: &str, error: DriverError) -> PyErr {
    driver_error(&error.context(&format!("parameter @{name}")))
}

fn to_bound_param(value: &Bound<'_, PyAny>) -> Result<BoundParam, DriverError> {
    if let Ok(parameter) = value.cast::<Parameter>() {
        let parameter = parameter.get();
        let inner = to_value(parameter.value.bind(value.py()))?;
        return match parameter.sql_type {
            Some(sql_type) => BoundParam::forced(inner, sql_type),
            None => Ok(BoundParam::new(inner)),
        };
    }
    to_value(value).map(BoundParam::new)
}

fn python_error(error: PyErr) -> DriverError {
    DriverError::interface(format!("could not read a parameter value: {error}"))
}

fn is_a(
    value: &Bound<'_, PyAny>,
    cell: &'static PyOnceLock<Py<PyType>>,
    module: &str,
    name: &str,
) -> Result<bool, DriverError> {
    let class = cell.import(value.py(), module, name).map_err(python_error)?;
    value.is_instance(class).map_err(python_error)
}

fn attr<'py, T: for<'a> FromPyObject<'a, 'py>>(value: &Bound<'py, PyAny>, name: &str) -> Result<T, DriverError> {
    value.getattr(name).map_err(python_error)?.extract::<T>().map_err(|e| python_error(e.into()))
}

fn to_value(value: &Bound<'_, PyAny>) -> Result<ParamValue, DriverError> {
    if value.is_none() {
        return Ok(ParamValue::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(ParamValue::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        return value.extract::<i64>().map(ParamValue::Int).map_err(|_| {
            DriverError::data("int does not fit in 64 bits; SQL Server's largest integer type is bigint")
        });
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return checked_float(f.value());
    }
    if let Ok(s) = value.cast::<PyString>() {
        // Only a str holding a lone surrogate (e.g. from surrogateescape) has no UTF-8 form.
        let text = s.to_str().map_err(|_| {
            DriverError::data("str holds a lone surrogate (U+D800..U+DFFF), which is not valid Unicode text")
        })?;
        return Ok(ParamValue::String(text.to_string()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(ParamValue::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(ParamValue::Bytes(b.to_vec()));
    }
    if is_a(value, &MEMORYVIEW, "builtins", "memoryview")? {
        let bytes = value.call_method0("tobytes").map_err(python_error)?;
        return Ok(ParamValue::Bytes(bytes.extract::<Vec<u8>>().map_err(python_error)?));
    }
    if is_a(value, &DECIMAL, "decimal", "Decimal")? {
        return decimal_value(value);
    }
    // datetime is a subclass of date: test it first.
    if is_a(value, &DATETIME, "datetime", "datetime")? {
        return datetime_value(value);
    }
    if is_a(value, &DATE, "datetime", "date")? {
        let (y, m, d): (i32, u32, u32) = (attr(value, "year")?, attr(value, "month")?, attr(value, "day")?);
        return Ok(ParamValue::Date(days_from_civil(y, m, d) as i32));
    }
    if is_a(value, &TIME, "datetime", "time")? {
        return Ok(ParamValue::Time(micros_of_day(value)? * 1000));
    }
    if is_a(value, &UUID, "uuid", "UUID")? {
        let bytes: Vec<u8> = attr(value, "bytes")?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| DriverError::data("UUID.bytes is not 16 bytes long"))?;
        return Ok(ParamValue::Uuid(bytes));
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Err(DriverError::programming(format!(
        "parameters of type {type_name} are not supported (use None, bool, int, float, str, bytes, Decimal, \
         datetime, date, time, UUID or Parameter)"
    )))
}

fn micros_of_day(value: &Bound<'_, PyAny>) -> Result<i64, DriverError> {
    let (h, m, s, us): (i64, i64, i64, i64) =
        (attr(value, "hour")?, attr(value, "minute")?, attr(value, "second")?, attr(value, "microsecond")?);
    Ok(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

fn datetime_value(value: &Bound<'_, PyAny>) -> Result<ParamValue, DriverError> {
    let (y, mo, d): (i32, u32, u32) = (attr(value, "year")?, attr(value, "month")?, attr(value, "day")?);
    let local = days_from_civil(y, mo, d) * MICROS_PER_DAY + micros_of_day(value)?;
    let offset = value.call_method0("utcoffset").map_err(python_error)?;
    if offset.is_none() {
        return Ok(ParamValue::DateTime(local));
    }
    let offset_micros: i64 = (attr::<i64>(&offset, "days")? * 86_400 + attr::<i64>(&offset, "seconds")?) * 1_000_000
        + attr::<i64>(&offset, "microseconds")?;
    if offset_micros % 60_000_000 != 0 {
        return Err(DriverError::data("datetimeoffset offsets must be whole minutes"));
    }
    checked_datetimeoffset(local - offset_micros, (offset_micros / 60_000_000) as i16)
}

fn item<'py, T: for<'a> FromPyObject<'a, 'py>>(tuple: &Bound<'py, PyTuple>, index: usize) -> Result<T, DriverError> {
    tuple.get_item(index).map_err(python_error)?.extract::<T>().map_err(|e| python_error(e.into()))
}

/// `Decimal` through `as_tuple()`: sign, digits, exponent.
fn decimal_value(value: &Bound<'_, PyAny>) -> Result<ParamValue, DriverError> {
    let parts = value.call_method0("as_tuple").map_err(python_error)?;
    let parts = parts.cast::<PyTuple>().map_err(|e| python_error(e.into()))?;
    let sign: u8 = item(parts, 0)?;
    let digits: Vec<u8> = item(parts, 1)?;
    let exponent = parts.get_item(2).map_err(python_error)?;
    let Ok(exponent) = exponent.extract::<i64>() else {
        return Err(DriverError::data("Decimal NaN and Infinity cannot be sent to SQL Server"));
    };
    let too_long = || DriverError::data("Decimal has more than 38 digits; SQL Server decimals hold at most 38");
    let significant: Vec<u8> = digits.iter().copied().skip_while(|d| *d == 0).collect();
    let total_digits = significant.len() as i64 + exponent.max(0);
    let scale = (-exponent).max(0);
    if total_digits > 38 || scale > 38 {
        return Err(too_long());
    }
    let mut unscaled: i128 = 0;
    for digit in significant {
        unscaled = unscaled * 10 + i128::from(digit);
    }
    for _ in 0..exponent.max(0) {
        unscaled *= 10;
    }
    if sign == 1 {
        unscaled = -unscaled;
    }
    checked_decimal(unscaled, scale as u8)
}
