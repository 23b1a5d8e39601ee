//! Query parameters as plain data: the values Python hands over, the SQL
//! types a `Parameter(value, sql_type)` can force, and the coercion of a value
//! to a forced type. No pyo3, no tiberius.

use crate::decimal::{digit_count, MAX_DIGITS};
use crate::error::DriverError;
use crate::temporal::{days_from_civil, MICROS_PER_DAY};

/// Length of a character or binary type; `Max` is `(max)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Fixed(u16),
    Max,
}

/// A SQL Server type a parameter can be forced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal { precision: u8, scale: u8 },
    Money,
    SmallMoney,
    Char(Length),
    VarChar(Length),
    NChar(Length),
    NVarChar(Length),
    Binary(Length),
    VarBinary(Length),
    Date,
    Time(u8),
    DateTime,
    SmallDateTime,
    DateTime2(u8),
    DateTimeOffset(u8),
    UniqueIdentifier,
    Xml,
}

fn bad_type(text: &str, why: &str) -> DriverError {
    DriverError::programming(format!("invalid sql_type '{text}': {why}"))
}

fn parse_args(text: &str, args: &str) -> Result<Vec<String>, DriverError> {
    args.split(',')
        .map(|a| a.trim().to_ascii_lowercase())
        .map(|a| if a.is_empty() { Err(bad_type(text, "empty type argument")) } else { Ok(a) })
        .collect()
}

fn parse_number(text: &str, arg: &str, max: u16) -> Result<u16, DriverError> {
    match arg.parse::<u16>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(bad_type(text, &format!("'{arg}' is not a number between 0 and {max}"))),
    }
}

impl SqlType {
    /// Parses a T-SQL type name such as `decimal(18,4)` or `nvarchar(max)`.
    pub fn parse(text: &str) -> Result<Self, DriverError> {
        let trimmed = text.trim();
        let (name, args) = match trimmed.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.trim_end().strip_suffix(')').ok_or_else(|| bad_type(text, "missing ')'"))?;
                (name.trim().to_ascii_lowercase(), Some(parse_args(text, inner)?))
            }
            None => (trimmed.to_ascii_lowercase(), None),
        };
        let args = args.unwrap_or_default();
        let no_args = |ty: SqlType| {
            if args.is_empty() {
                Ok(ty)
            } else {
                Err(bad_type(text, "takes no arguments"))
            }
        };
        let length = |max: u16| -> Result<Length, DriverError> {
            match args.as_slice() {
                [] => Ok(Length::Fixed(1)),
                [a] if a == "max" => Ok(Length::Max),
                [a] => match parse_number(text, a, max)? {
                    0 => Err(bad_type(text, "length must be at least 1")),
                    n => Ok(Length::Fixed(n)),
                },
                _ => Err(bad_type(text, "takes one length")),
            }
        };
        let fraction = || -> Result<u8, DriverError> {
            match args.as_slice() {
                [] => Ok(7),
                [a] => Ok(parse_number(text, a, 7)? as u8),
                _ => Err(bad_type(text, "takes one fractional-second precision")),
            }
        };
        match name.as_str() {
            "bit" => no_args(Self::Bit),
            "tinyint" => no_args(Self::TinyInt),
            "smallint" => no_args(Self::SmallInt),
            "int" | "integer" => no_args(Self::Int),
            "bigint" => no_args(Self::BigInt),
            "real" => no_args(Self::Real),
            "float" => match args.as_slice() {
                [] => Ok(Self::Float),
                [a] => match parse_number(text, a, 53)? {
                    1..=24 => Ok(Self::Real),
                    25..=53 => Ok(Self::Float),
                    _ => Err(bad_type(text, "float precision must be 1..53")),
                },
                _ => Err(bad_type(text, "takes one precision")),
            },
            "decimal" | "numeric" | "dec" => {
                let (precision, scale) = match args.as_slice() {
                    [] => (18, 0),
                    [p] => (parse_number(text, p, 38)? as u8, 0),
                    [p, s] => (parse_number(text, p, 38)? as u8, parse_number(text, s, 38)? as u8),
                    _ => return Err(bad_type(text, "takes (precision, scale)")),
                };
                if precision == 0 || scale > precision {
                    return Err(bad_type(text, "needs 1 <= precision <= 38 and scale <= precision"));
                }
                Ok(Self::Decimal { precision, scale })
            }
            "money" => no_args(Self::Money),
            "smallmoney" => no_args(Self::SmallMoney),
            "char" => Ok(Self::Char(length(8000)?)),
            "varchar" => Ok(Self::VarChar(length(8000)?)),
            "nchar" => Ok(Self::NChar(length(4000)?)),
            "nvarchar" => Ok(Self::NVarChar(length(4000)?)),
            "binary" => Ok(Self::Binary(length(8000)?)),
            "varbinary" => Ok(Self::VarBinary(length(8000)?)),
            "date" => no_args(Self::Date),
            "time" => Ok(Self::Time(fraction()?)),
            "datetime" => no_args(Self::DateTime),
            "smalldatetime" => no_args(Self::SmallDateTime),
            "datetime2" => Ok(Self::DateTime2(fraction()?)),
            "datetimeoffset" => Ok(Self::DateTimeOffset(fraction()?)),
            "uniqueidentifier" => no_args(Self::UniqueIdentifier),
            "xml" => no_args(Self::Xml),
            _ => Err(bad_type(text, "unknown or unsupported type")),
        }
    }

    /// The declaration in T-SQL syntax.
    pub fn declaration(&self) -> String {
        fn len(name: &str, length: Length) -> String {
            match length {
                Length::Fixed(n) => format!("{name}({n})"),
                Length::Max => format!("{name}(max)"),
            }
        }
        match *self {
            Self::Bit => "bit".into(),
            Self::TinyInt => "tinyint".into(),
            Self::SmallInt => "smallint".into(),
            Self::Int => "int".into(),
            Self::BigInt => "bigint".into(),
            Self::Real => "real".into(),
            Self::Float => "float".into(),
            Self::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            Self::Money => "money".into(),
            Self::SmallMoney => "smallmoney".into(),
            Self::Char(l) => len("char", l),
            Self::VarChar(l) => len("varchar", l),
            Self::NChar(l) => len("nchar", l),
            Self::NVarChar(l) => len("nvarchar", l),
            Self::Binary(l) => len("binary", l),
            Self::VarBinary(l) => len("varbinary", l),
            Self::Date => "date".into(),
            Self::Time(n) => format!("time({n})"),
            Self::DateTime => "datetime".into(),
            Self::SmallDateTime => "smalldatetime".into(),
            Self::DateTime2(n) => format!("datetime2({n})"),
            Self::DateTimeOffset(n) => format!("datetimeoffset({n})"),
            Self::UniqueIdentifier => "uniqueidentifier".into(),
            Self::Xml => "xml".into(),
        }
    }
}

/// A parameter value as received from Python.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    /// `unscaled / 10^scale`, at most 38 digits.
    Decimal {
        unscaled: i128,
        scale: u8,
    },
    /// Days since 1970-01-01.
    Date(i32),
    /// Nanoseconds since midnight.
    Time(i64),
    /// Naive microseconds since 1970-01-01.
    DateTime(i64),
    /// UTC microseconds since 1970-01-01 and the original offset.
    DateTimeOffset {
        utc_micros: i64,
        offset_minutes: i16,
    },
    /// RFC 4122 byte order.
    Uuid([u8; 16]),
}

/// A value ready to send, optionally forced to a declared type.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundParam {
    pub value: ParamValue,
    pub forced: Option<SqlType>,
}

impl BoundParam {
    pub fn new(value: ParamValue) -> Self {
        Self { value, forced: None }
    }

    /// Converts `value` to what `sql_type` can hold, before anything is sent.
    pub fn forced(value: ParamValue, sql_type: SqlType) -> Result<Self, DriverError> {
        let value = coerce(value, sql_type)?;
        Ok(Self { value, forced: Some(sql_type) })
    }
}

/// Rescales a decimal to exactly `scale` digits; dropping non-zero digits is an error.
fn rescale(unscaled: i128, from: u8, to: u8) -> Option<i128> {
    if to >= from {
        10i128.checked_pow(u32::from(to - from)).and_then(|f| unscaled.checked_mul(f))
    } else {
        let factor = 10i128.checked_pow(u32::from(from - to))?;
        (unscaled % factor == 0).then(|| unscaled / factor)
    }
}

/// A float as decimal(precision, scale), from its shortest exact decimal
/// text, rounded half away from zero as SQL Server converts.
fn float_to_decimal(value: f64, precision: u8, scale: u8, ty: SqlType) -> Result<ParamValue, DriverError> {
    if !value.is_finite() {
        return Err(DriverError::data(format!("{value} cannot be sent as {}", ty.declaration())));
    }
    let text = format!("{}", value.abs());
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let digits_text = format!("{int_part}{frac_part}");
    let too_big = || DriverError::data(format!("{value} does not fit {}", ty.declaration()));
    let mut unscaled: i128 = 0;
    for c in digits_text.chars().filter_map(|c| c.to_digit(10)) {
        unscaled = unscaled.checked_mul(10).and_then(|v| v.checked_add(i128::from(c))).ok_or_else(too_big)?;
    }
    // A tiny float has hundreds of fractional digits (5e-324 has 324).
    let from = frac_part.len();
    let rounded = if from > usize::from(scale) {
        match u32::try_from(from - usize::from(scale)).ok().and_then(|cut| 10i128.checked_pow(cut)) {
            Some(factor) => {
                let (quotient, remainder) = (unscaled / factor, unscaled % factor);
                if remainder >= factor - remainder {
                    quotient + 1
                } else {
                    quotient
                }
            }
            // Cutting more than 38 digits off at most 39: less than half a unit of the scale.
            None => 0,
        }
    } else {
        rescale(unscaled, from as u8, scale).ok_or_else(too_big)?
    };
    if digit_count(rounded) > precision {
        return Err(too_big());
    }
    Ok(ParamValue::Decimal { unscaled: if value < 0.0 { -rounded } else { rounded }, scale })
}

/// Makes `value` fit `ty` exactly where the client can check it (integer
/// ranges, decimal digits); other combinations are left to the server's CAST.
fn coerce(value: ParamValue, ty: SqlType) -> Result<ParamValue, DriverError> {
    let int_range = |v: i64, min: i64, max: i64| {
        if (min..=max).contains(&v) {
            Ok(ParamValue::Int(v))
        } else {
            Err(DriverError::data(format!("{v} is out of range for {}", ty.declaration())))
        }
    };
    match (ty, value) {
        (SqlType::Bit, ParamValue::Int(v)) => Ok(ParamValue::Bool(v != 0)),
        (SqlType::TinyInt, ParamValue::Int(v)) => int_range(v, 0, 255),
        (SqlType::SmallInt, ParamValue::Int(v)) => int_range(v, i16::MIN.into(), i16::MAX.into()),
        (SqlType::Int, ParamValue::Int(v)) => int_range(v, i32::MIN.into(), i32::MAX.into()),
        (SqlType::BigInt, ParamValue::Int(v)) => Ok(ParamValue::Int(v)),
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt, ParamValue::Bool(b)) => {
            Ok(ParamValue::Int(i64::from(b)))
        }
        (SqlType::Real | SqlType::Float, ParamValue::Int(v)) => Ok(ParamValue::Float(v as f64)),
        (SqlType::Decimal { .. } | SqlType::Money | SqlType::SmallMoney, value) => {
            let (precision, scale) = match ty {
                SqlType::Decimal { precision, scale } => (precision, scale),
                SqlType::Money => (19, 4),
                _ => (10, 4),
            };
            let (unscaled, from) = match value {
                ParamValue::Decimal { unscaled, scale } => (unscaled, scale),
                ParamValue::Int(v) => (i128::from(v), 0),
                ParamValue::Float(f) => return float_to_decimal(f, precision, scale, ty),
                // Anything else is converted by the server's CAST.
                other => return Ok(other),
            };
            let exact = rescale(unscaled, from, scale).filter(|v| digit_count(*v) <= precision).ok_or_else(|| {
                DriverError::data(format!("value does not fit {} without losing digits", ty.declaration()))
            })?;
            Ok(ParamValue::Decimal { unscaled: exact, scale })
        }
        (SqlType::Real, ParamValue::Float(v)) if v.is_finite() && (v as f32).is_infinite() => {
            Err(DriverError::data(format!("{v} is out of range for real")))
        }
        (SqlType::DateTime | SqlType::SmallDateTime | SqlType::DateTime2(_), ParamValue::Date(d)) => {
            // Arrow's date32 reaches days whose microseconds overflow i64: outside the range either way.
            checked_instant(i64::from(d).saturating_mul(MICROS_PER_DAY), ty)
        }
        (SqlType::DateTime | SqlType::SmallDateTime, ParamValue::DateTime(micros)) => checked_instant(micros, ty),
        (_, other) => Ok(other),
    }
}

/// Microseconds since 1970-01-01 of a civil date and time of day.
fn instant(year: i32, month: u32, day: u32, micros_of_day: i64) -> i64 {
    days_from_civil(year, month, day) * MICROS_PER_DAY + micros_of_day
}

/// A naive date and time within what `ty` holds: datetime2 0001-01-01 to
/// 9999-12-31, datetime from 1753-01-01, smalldatetime 1900-01-01 to
/// 2079-06-06 23:59:29.998 (the last value it rounds to a minute of its own).
fn checked_instant(micros: i64, ty: SqlType) -> Result<ParamValue, DriverError> {
    let end_of_9999 = instant(10_000, 1, 1, 0) - 1;
    let (first, last, range) = match ty {
        SqlType::DateTime => (instant(1753, 1, 1, 0), end_of_9999, "1753-01-01 to 9999-12-31"),
        SqlType::SmallDateTime => {
            (instant(1900, 1, 1, 0), instant(2079, 6, 6, 86_369_998_000), "1900-01-01 to 2079-06-06 23:59")
        }
        _ => (instant(1, 1, 1, 0), end_of_9999, "0001-01-01 to 9999-12-31"),
    };
    if (first..=last).contains(&micros) {
        Ok(ParamValue::DateTime(micros))
    } else {
        Err(DriverError::data(format!("the value is outside {}'s range ({range})", ty.declaration())))
    }
}

/// Validates an aware datetime from Python: its UTC instant must lie within
/// datetimeoffset's 0001-01-01 to 9999-12-31 (a local time near either end
/// can fall outside once its offset is applied).
pub fn checked_datetimeoffset(utc_micros: i64, offset_minutes: i16) -> Result<ParamValue, DriverError> {
    if instant(1, 1, 1, 0) <= utc_micros && utc_micros < instant(10_000, 1, 1, 0) {
        return Ok(ParamValue::DateTimeOffset { utc_micros, offset_minutes });
    }
    Err(DriverError::data(
        "the aware datetime is outside datetimeoffset's range once converted to UTC (0001-01-01 to 9999-12-31)",
    ))
}

/// Validates a float from Python: SQL Server's float has no NaN or infinity.
pub fn checked_float(value: f64) -> Result<ParamValue, DriverError> {
    if value.is_finite() {
        Ok(ParamValue::Float(value))
    } else {
        Err(DriverError::data(format!("float {value} cannot be sent: SQL Server's float has no NaN or infinity")))
    }
}

/// Validates a decimal coming from Python: at most 38 digits.
pub fn checked_decimal(unscaled: i128, scale: u8) -> Result<ParamValue, DriverError> {
    if scale > MAX_DIGITS || digit_count(unscaled) > MAX_DIGITS {
        return Err(DriverError::data("Decimal has more than 38 digits; SQL Server decimals hold at most 38"));
    }
    Ok(ParamValue::Decimal { unscaled, scale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// Found by the `parameters` fuzz target: a date32 of i32::MAX days forced to datetime
    /// overflowed the multiplication to microseconds (a panic, or a wrapped date in release).
    #[test]
    fn far_dates_forced_to_date_times_are_out_of_range() {
        for days in [i32::MAX, i32::MIN, 106_751_992, -106_751_992] {
            for ty in [SqlType::DateTime, SqlType::SmallDateTime, SqlType::DateTime2(7)] {
                let error = BoundParam::forced(ParamValue::Date(days), ty).unwrap_err();
                assert_eq!(error.kind, ErrorKind::Data, "{days} as {ty:?}");
            }
        }
    }

    #[test]
    fn type_names_parse_and_render() {
        for (text, rendered) in [
            ("decimal(18,4)", "decimal(18,4)"),
            ("NUMERIC ( 38 , 0 )", "decimal(38,0)"),
            ("nvarchar(max)", "nvarchar(max)"),
            ("varchar(10)", "varchar(10)"),
            ("int", "int"),
            ("datetime2", "datetime2(7)"),
            ("time(3)", "time(3)"),
            ("float(24)", "real"),
            ("uniqueidentifier", "uniqueidentifier"),
        ] {
            assert_eq!(SqlType::parse(text).unwrap().declaration(), rendered, "{text}");
        }
    }

    #[test]
    fn bad_type_names_are_programming_errors() {
        for text in ["decimal(39,0)", "decimal(4,5)", "nvarchar(5000)", "int(3)", "blob", "varchar(", "time(8)"] {
            assert_eq!(SqlType::parse(text).unwrap_err().kind, ErrorKind::Programming, "{text}");
        }
    }

    #[test]
    fn forced_decimal_rescales_exactly_or_refuses() {
        let ty = SqlType::parse("decimal(18,4)").unwrap();
        let bound = BoundParam::forced(ParamValue::Decimal { unscaled: 15, scale: 1 }, ty).unwrap();
        assert_eq!(bound.value, ParamValue::Decimal { unscaled: 15_000, scale: 4 });
        let lossy = BoundParam::forced(ParamValue::Decimal { unscaled: 123_456, scale: 5 }, ty);
        assert_eq!(lossy.unwrap_err().kind, ErrorKind::Data);
        let too_big = BoundParam::forced(ParamValue::Int(10i64.pow(15)), ty);
        assert_eq!(too_big.unwrap_err().kind, ErrorKind::Data);
    }

    #[test]
    fn floats_round_to_the_forced_scale() {
        let ty = SqlType::parse("decimal(18,4)").unwrap();
        assert_eq!(
            BoundParam::forced(ParamValue::Float(1.5), ty).unwrap().value,
            ParamValue::Decimal { unscaled: 15_000, scale: 4 }
        );
        assert_eq!(
            BoundParam::forced(ParamValue::Float(-0.00005), ty).unwrap().value,
            ParamValue::Decimal { unscaled: -1, scale: 4 }
        );
        assert_eq!(BoundParam::forced(ParamValue::Float(f64::NAN), ty).unwrap_err().kind, ErrorKind::Data);
        // Found by the randomized encoder test: hundreds of fractional digits panicked.
        for tiny in [5e-324, -1e-300, 4.9e-39] {
            let zero = BoundParam::forced(ParamValue::Float(tiny), ty).unwrap().value;
            assert_eq!(zero, ParamValue::Decimal { unscaled: 0, scale: 4 }, "{tiny}");
        }
        assert_eq!(
            BoundParam::forced(ParamValue::Float(6e-39), SqlType::parse("decimal(38,38)").unwrap()).unwrap().value,
            ParamValue::Decimal { unscaled: 1, scale: 38 }
        );
        assert_eq!(BoundParam::forced(ParamValue::Float(1e20), ty).unwrap_err().kind, ErrorKind::Data);
    }

    #[test]
    fn typed_null_and_range_checks() {
        let null = BoundParam::forced(ParamValue::Null, SqlType::Int).unwrap();
        assert_eq!((null.value, null.forced), (ParamValue::Null, Some(SqlType::Int)));
        assert_eq!(BoundParam::forced(ParamValue::Int(256), SqlType::TinyInt).unwrap_err().kind, ErrorKind::Data);
        // The server's CAST converts what the client cannot check.
        let text = BoundParam::forced(ParamValue::String("12".into()), SqlType::Int).unwrap();
        assert_eq!(text.value, ParamValue::String("12".into()));
    }

    #[test]
    fn values_outside_a_type_s_range_are_data_errors() {
        assert_eq!(checked_float(f64::NAN).unwrap_err().kind, ErrorKind::Data);
        assert_eq!(checked_float(f64::NEG_INFINITY).unwrap_err().kind, ErrorKind::Data);
        assert_eq!(checked_float(f64::MAX).unwrap(), ParamValue::Float(f64::MAX));
        assert_eq!(BoundParam::forced(ParamValue::Float(1e39), SqlType::Real).unwrap_err().kind, ErrorKind::Data);
        let first_datetime = instant(1753, 1, 1, 0);
        assert!(BoundParam::forced(ParamValue::DateTime(first_datetime), SqlType::DateTime).is_ok());
        assert!(BoundParam::forced(ParamValue::DateTime(first_datetime - 1), SqlType::DateTime).is_err());
        let last_small = instant(2079, 6, 6, 86_369_998_000);
        assert!(BoundParam::forced(ParamValue::DateTime(last_small), SqlType::SmallDateTime).is_ok());
        assert!(BoundParam::forced(ParamValue::DateTime(last_small + 1), SqlType::SmallDateTime).is_err());
        let day_before_1900 = ParamValue::Date(days_from_civil(1899, 12, 31) as i32);
        assert_eq!(BoundParam::forced(day_before_1900, SqlType::SmallDateTime).unwrap_err().kind, ErrorKind::Data);
        assert!(checked_datetimeoffset(instant(1, 1, 1, 0), 60).is_ok());
        assert!(checked_datetimeoffset(instant(1, 1, 1, 0) - 1, 60).is_err());
        assert!(checked_datetimeoffset(instant(10_000, 1, 1, 0), -300).is_err());
    }

    #[test]
    fn decimals_beyond_38_digits_are_data_errors() {
        assert!(checked_decimal(10i128.pow(38) - 1, 0).is_ok());
        assert_eq!(checked_decimal(10i128.pow(38), 0).unwrap_err().kind, ErrorKind::Data);
    }
}
