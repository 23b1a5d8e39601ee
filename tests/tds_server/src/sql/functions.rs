//! Scalar functions, typed as SQL Server types them: GETDATE/SYSDATETIME and their UTC forms,
//! NEWID, ISNULL, COALESCE, LEN, UPPER, LOWER, LTRIM, RTRIM, ABS and ROUND.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use super::arithmetic::common_type;
use super::convert::convert;
use super::eval::Typed;
use super::parser::SqlError;
use super::temporal::{to_value, LocalDateTime};
use crate::calendar::{days_from_civil, TICKS_PER_DAY};
use crate::types::SqlType;
use crate::value::Value;

fn argument_count(name: &str, args: &[Typed], wanted: usize) -> Result<(), SqlError> {
    if args.len() == wanted {
        return Ok(());
    }
    Err(SqlError::new(174, format!("The {} function requires {wanted} argument(s).", name.to_lowercase())))
}

/// The value of `name(args)`; `Ok(None)` when `name` is no function this server knows.
pub fn call(name: &str, args: Vec<Typed>) -> Result<Option<Typed>, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Some(Typed { ty, nullable, value }));
    match name {
        // the server's clock is UTC, so the local and UTC forms agree
        "GETDATE" | "GETUTCDATE" | "SYSDATETIME" | "SYSUTCDATETIME" => {
            argument_count(name, &args, 0)?;
            let ty = if name.starts_with("SYS") { SqlType::DateTime2(7) } else { SqlType::DateTime };
            let value = to_value(&now(), &ty).map_err(|_| SqlError::not_supported("A clock outside SQL Server's range"));
            typed(ty, false, value)
        }
        "NEWID" => {
            argument_count(name, &args, 0)?;
            typed(SqlType::UniqueIdentifier, false, Ok(Value::Guid(random_guid())))
        }
        "ISNULL" => {
            argument_count(name, &args, 2)?;
            let mut args = args.into_iter();
            let (first, second) = (args.next().expect("two"), args.next().expect("two"));
            let ty = first.ty.clone();
            let value = first.value.and_then(|v| {
                if v.is_null() {
                    convert(&second.value?, &second.ty, &ty)
                } else {
                    Ok(v)
                }
            });
            typed(ty, first.nullable && second.nullable, value)
        }
        "COALESCE" => {
            if args.len() < 2 {
                return Err(SqlError::new(189, "The coalesce function requires 2 to n arguments."));
            }
            let mut ty = args[0].ty.clone();
            for a in &args[1..] {
                ty = common_type(&ty, &a.ty)?;
            }
            let nullable = args.iter().all(|a| a.nullable);
            let mut value = Ok(Value::Null);
            for a in args {
                match a.value {
                    Ok(v) if v.is_null() => {}
                    Ok(v) => {
                        value = convert(&v, &a.ty, &ty);
                        break;
                    }
                    Err(e) => {
                        value = Err(e);
                        break;
                    }
                }
            }
            typed(ty, nullable, value)
        }
        "LEN" => {
            argument_count(name, &args, 1)?;
            let a = args.into_iter().next().expect("one");
            let ty = if matches!(a.ty, SqlType::VarChar(None) | SqlType::NVarChar(None) | SqlType::VarBinary(None)) {
                SqlType::BigInt
            } else {
                SqlType::Int
            };
            let from = a.ty.clone();
            let value = a.value.and_then(|v| {
                if v.is_null() {
                    return Ok(Value::Null);
                }
                match convert(&v, &from, &SqlType::NVarChar(None))? {
                    Value::Str(s) => Ok(Value::Int(s.trim_end_matches(' ').chars().count() as i64)),
                    _ => Ok(Value::Null),
                }
            });
            typed(ty, a.nullable, value)
        }
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" => {
            argument_count(name, &args, 1)?;
            let a = args.into_iter().next().expect("one");
            if !a.ty.is_string() {
                return Err(SqlError::new(
                    8116,
                    format!("Argument data type {} is invalid for argument 1 of {} function.", a.ty.name(), name.to_lowercase()),
                ));
            }
            // char arguments come back as varchar of their length
            let ty = match a.ty {
                SqlType::Char(n) => SqlType::VarChar(Some(n)),
                SqlType::NChar(n) => SqlType::NVarChar(Some(n)),
                ref other => other.clone(),
            };
            let value = a.value.map(|v| match v {
                Value::Str(s) => Value::Str(match name {
                    "UPPER" => s.to_uppercase(),
                    "LOWER" => s.to_lowercase(),
                    "LTRIM" => s.trim_start_matches(' ').to_string(),
                    _ => s.trim_end_matches(' ').to_string(),
                }),
                other => other,
            });
            typed(ty, a.nullable, value)
        }
        "ABS" => {
            argument_count(name, &args, 1)?;
            let a = args.into_iter().next().expect("one");
            if !a.ty.is_number() || a.ty == SqlType::Bit {
                return Err(SqlError::new(
                    8117,
                    format!("Operand data type {} is invalid for abs operator.", a.ty.name()),
                ));
            }
            let ty = a.ty.clone();
            let overflow = || {
                SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {}.", ty.name()))
            };
            let (lo, _) = int_range(&ty);
            let value = a.value.and_then(|v| match v {
                Value::Int(i) if i == lo && lo != 0 => Err(overflow()),
                Value::Int(i) => Ok(Value::Int(i.abs())),
                Value::Float(f) => Ok(Value::Float(f.abs())),
                Value::Decimal(u, s) => Ok(Value::Decimal(u.abs(), s)),
                Value::Money(m) if m == i64::MIN || (ty == SqlType::SmallMoney && m == i32::MIN as i64) => Err(overflow()),
                Value::Money(m) => Ok(Value::Money(m.abs())),
                other => Ok(other),
            });
            typed(ty.clone(), a.nullable, value)
        }
        "ROUND" => {
            if !(2..=3).contains(&args.len()) {
                return Err(SqlError::new(174, "The round function requires 2 to 3 arguments."));
            }
            let mut args = args.into_iter();
            let (a, length) = (args.next().expect("two"), args.next().expect("two"));
            let truncate = match args.next() {
                Some(f) => integer(f)?.is_some_and(|f| f != 0),
                None => false,
            };
            let length = integer(length)?;
            if !a.ty.is_number() || a.ty == SqlType::Bit {
                return Err(SqlError::new(
                    8116,
                    format!("Argument data type {} is invalid for argument 1 of round function.", a.ty.name()),
                ));
            }
            let ty = a.ty.clone();
            let value = a.value.and_then(|v| match length {
                None => Ok(Value::Null),
                Some(length) => round(&v, &ty, length, truncate),
            });
            typed(ty.clone(), a.nullable, value)
        }
        _ => Ok(None),
    }
}

/// An integer argument's value (`None` for NULL).
fn integer(t: Typed) -> Result<Option<i64>, SqlError> {
    match convert(&t.value?, &t.ty, &SqlType::BigInt)? {
        Value::Int(i) => Ok(Some(i)),
        _ => Ok(None),
    }
}

/// ROUND(value, length[, truncate]) in the value's own type: half away from zero (or toward
/// zero when truncating) at `length` decimal places, negative lengths left of the point; a
/// result that no longer fits the type is SQL Server's 8115.
fn round(v: &Value, ty: &SqlType, length: i64, truncate: bool) -> Result<Value, SqlError> {
    let overflow = || {
        let name = if ty.is_decimal() { "numeric" } else { ty.name() };
        SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {name}."))
    };
    // an exact value as (unscaled, scale) rounded at `length` places, kept at its scale
    let exact = |u: i128, scale: i64| -> Option<i128> {
        let drop = scale - length;
        if drop <= 0 {
            return Some(u);
        }
        let unit = 10i128.checked_pow(drop as u32)?;
        let kept = u / unit;
        let rest = u % unit;
        let away = !truncate && 2 * rest.abs() >= unit;
        let kept = if away { kept + rest.signum() } else { kept };
        kept.checked_mul(unit)
    };
    match v {
        Value::Null => Ok(Value::Null),
        Value::Int(i) => {
            // too many places to the left rounds to 0
            let r = if length <= -19 { Some(0) } else { exact(*i as i128, 0) };
            let (lo, hi) = int_range(ty);
            match r {
                Some(r) if (lo as i128..=hi as i128).contains(&r) => Ok(Value::Int(r as i64)),
                _ => Err(overflow()),
            }
        }
        Value::Decimal(u, scale) => {
            let precision = match ty {
                SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. } => *precision,
                _ => 38,
            };
            let r = if length <= -38 { Some(0) } else { exact(*u, *scale as i64) };
            match r {
                Some(r) if crate::types::fits_precision(r, precision) => Ok(Value::Decimal(r, *scale)),
                _ => Err(overflow()),
            }
        }
        Value::Money(m) => {
            let r = exact(*m as i128, 4).ok_or_else(overflow)?;
            i64::try_from(r).map(Value::Money).map_err(|_| overflow())
        }
        Value::Float(f) => {
            let unit = 10f64.powi(length.clamp(-308, 308) as i32);
            let scaled = f * unit;
            let r = if truncate { scaled.trunc() } else { scaled.round() } / unit;
            Ok(Value::Float(if *ty == SqlType::Real { r as f32 as f64 } else { r }))
        }
        other => Err(SqlError::not_supported(format!("ROUND of {other:?}"))),
    }
}

/// The range of an integer type (for others, i64's).
pub fn int_range(ty: &SqlType) -> (i64, i64) {
    match ty {
        SqlType::TinyInt => (0, u8::MAX as i64),
        SqlType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Int => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The current time (UTC) in 100 ns ticks.
fn now() -> LocalDateTime {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ticks = since_epoch.as_nanos() as u64 / 100;
    LocalDateTime {
        days: days_from_civil(1970, 1, 1) + (ticks / TICKS_PER_DAY) as i64,
        ticks: ticks % TICKS_PER_DAY,
        offset: None,
    }
}

/// A random (version 4) GUID, from the standard library's randomly seeded hasher.
fn random_guid() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    for (i, half) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos());
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    bytes
}
