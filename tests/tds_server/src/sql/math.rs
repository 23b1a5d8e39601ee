//! Mathematical functions, typed as SQL Server types them: ABS, ROUND, CEILING, FLOOR, SIGN,
//! POWER, SQRT, SQUARE, EXP, LOG, LOG10, PI and RAND.

use std::hash::{BuildHasher, Hasher};

use super::convert::{convert, int_range};
use super::eval::Typed;
use super::functions::{arguments, integer};
use super::parser::SqlError;
use crate::types::SqlType;
use crate::value::Value;

/// The functions of this module.
pub const NAMES: &[&str] =
    &["ABS", "ROUND", "CEILING", "FLOOR", "SIGN", "POWER", "SQRT", "SQUARE", "EXP", "LOG", "LOG10", "PI", "RAND"];

fn overflow(ty: &SqlType) -> SqlError {
    let name = if ty.is_decimal() { "numeric" } else { ty.name() };
    SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {name}."))
}

/// SQL Server's error for a floating point result that is not a number (SQRT(-1), LOG(0) ...).
fn invalid_float_operation() -> SqlError {
    SqlError::new(3623, "An invalid floating point operation occurred.")
}

/// A numeric argument of function `name`; a string one converted to float, as SQL Server converts it.
fn numeric(name: &str, a: Typed) -> Result<Typed, SqlError> {
    if a.ty.is_string() {
        let value = a.value.and_then(|v| convert(&v, &a.ty, &SqlType::Float));
        return Ok(Typed { ty: SqlType::Float, nullable: a.nullable, value });
    }
    if a.ty.is_number() && a.ty != SqlType::Bit {
        return Ok(a);
    }
    Err(SqlError::new(
        8117,
        format!("Operand data type {} is invalid for {} function.", a.ty.name(), name.to_lowercase()),
    ))
}

fn float_of(v: &Value, ty: &SqlType) -> Result<Option<f64>, SqlError> {
    match convert(v, ty, &SqlType::Float)? {
        Value::Float(f) => Ok(Some(f)),
        _ => Ok(None),
    }
}

/// A float result: SQL Server's 3623 for NaN and infinity.
fn finite(f: f64) -> Result<Value, SqlError> {
    if f.is_finite() {
        Ok(Value::Float(f))
    } else {
        Err(invalid_float_operation())
    }
}

/// Evaluates one of `NAMES` on evaluated arguments.
pub fn call(name: &str, args: Vec<Typed>) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Typed { ty, nullable, value });
    match name {
        "ABS" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            if !a.ty.is_number() || a.ty == SqlType::Bit {
                return Err(SqlError::new(
                    8117,
                    format!("Operand data type {} is invalid for abs operator.", a.ty.name()),
                ));
            }
            let ty = a.ty.clone();
            let (lo, _) = int_range(&ty);
            let value = a.value.and_then(|v| match v {
                Value::Int(i) if i == lo && lo != 0 => Err(overflow(&ty)),
                Value::Int(i) => Ok(Value::Int(i.abs())),
                Value::Float(f) => Ok(Value::Float(f.abs())),
                Value::Decimal(u, s) => Ok(Value::Decimal(u.abs(), s)),
                Value::Money(m) if m == i64::MIN || (ty == SqlType::SmallMoney && m == i32::MIN as i64) => {
                    Err(overflow(&ty))
                }
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
        "CEILING" | "FLOOR" => {
            arguments(name, &args, 1, 1)?;
            let a = numeric(name, one(args))?;
            // decimal(p, s) comes back as decimal(p, 0); integers, money and float keep their type
            let ty = match a.ty {
                SqlType::Decimal { precision, .. } => SqlType::Decimal { precision, scale: 0 },
                SqlType::Numeric { precision, .. } => SqlType::Numeric { precision, scale: 0 },
                SqlType::Real => SqlType::Float,
                ref other => other.clone(),
            };
            let up = name == "CEILING";
            let value = a.value.and_then(|v| {
                Ok(match v {
                    Value::Float(f) => Value::Float(if up { f.ceil() } else { f.floor() }),
                    Value::Decimal(u, s) => {
                        let unit = 10i128.pow(s as u32);
                        let q = u.div_euclid(unit);
                        let q = if up && u.rem_euclid(unit) != 0 { q + 1 } else { q };
                        if !crate::types::fits_precision(q, ty_precision(&ty)) {
                            return Err(overflow(&ty));
                        }
                        Value::Decimal(q, 0)
                    }
                    Value::Money(m) => {
                        let q = m.div_euclid(10_000);
                        let q = if up && m.rem_euclid(10_000) != 0 { q + 1 } else { q };
                        Value::Money(q.checked_mul(10_000).ok_or_else(|| overflow(&ty))?)
                    }
                    other => other,
                })
            });
            typed(ty.clone(), a.nullable, value)
        }
        "SIGN" => {
            arguments(name, &args, 1, 1)?;
            let a = numeric(name, one(args))?;
            let ty = match a.ty {
                SqlType::TinyInt | SqlType::SmallInt | SqlType::Int => SqlType::Int,
                SqlType::SmallMoney => SqlType::Money,
                SqlType::Real => SqlType::Float,
                ref other => other.clone(),
            };
            let value = a.value.map(|v| match v {
                Value::Int(i) => Value::Int(i.signum()),
                Value::Float(f) => Value::Float(if f == 0.0 { 0.0 } else { f.signum() }),
                Value::Decimal(u, s) => Value::Decimal(u.signum() * 10i128.pow(s as u32), s),
                Value::Money(m) => Value::Money(m.signum() * 10_000),
                other => other,
            });
            typed(ty, a.nullable, value)
        }
        "POWER" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (x, y) = (args.next().expect("two"), args.next().expect("two"));
            let nullable = x.nullable || y.nullable;
            let ty = match &x.ty {
                SqlType::TinyInt | SqlType::SmallInt | SqlType::Int => SqlType::Int,
                SqlType::BigInt => SqlType::BigInt,
                SqlType::Decimal { scale, .. } => SqlType::Decimal { precision: 38, scale: *scale },
                SqlType::Numeric { scale, .. } => SqlType::Numeric { precision: 38, scale: *scale },
                SqlType::Money | SqlType::SmallMoney => SqlType::Money,
                _ => SqlType::Float,
            };
            let value = (|| {
                let (xv, yv) = (x.value?, y.value?);
                let (Some(base), Some(exponent)) = (float_of(&xv, &x.ty)?, float_of(&yv, &y.ty)?) else {
                    return Ok(Value::Null);
                };
                let result = base.powf(exponent);
                if !result.is_finite() {
                    return Err(if result.is_nan() { invalid_float_operation() } else { overflow(&ty) });
                }
                // an exact base to a whole exponent is computed exactly
                let whole = exponent.fract() == 0.0 && exponent >= 0.0 && exponent <= u32::MAX as f64;
                match (&ty, &xv) {
                    (SqlType::Float, _) => Ok(Value::Float(result)),
                    (SqlType::Int | SqlType::BigInt, Value::Int(i)) if whole => {
                        let r = (*i as i128).checked_pow(exponent as u32).ok_or_else(|| overflow(&ty))?;
                        let (lo, hi) = int_range(&ty);
                        if r < lo as i128 || r > hi as i128 {
                            return Err(overflow(&ty));
                        }
                        Ok(Value::Int(r as i64))
                    }
                    (SqlType::Int | SqlType::BigInt, _) => {
                        let (lo, hi) = int_range(&ty);
                        let r = result.trunc();
                        if r < lo as f64 || r > hi as f64 {
                            return Err(overflow(&ty));
                        }
                        Ok(Value::Int(r as i64))
                    }
                    (SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. }, _) => {
                        convert(&Value::Float(result), &SqlType::Float, &ty).map_err(|_| overflow(&ty)).map(|v| match v
                        {
                            Value::Decimal(u, _) => Value::Decimal(u, *scale),
                            other => other,
                        })
                    }
                    _ => convert(&Value::Float(result), &SqlType::Float, &ty).map_err(|_| overflow(&ty)),
                }
            })();
            typed(ty.clone(), nullable, value)
        }
        "SQRT" | "SQUARE" | "EXP" | "LOG10" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            let value = a.value.and_then(|v| match float_of(&v, &a.ty)? {
                None => Ok(Value::Null),
                Some(f) => finite(match name {
                    "SQRT" => f.sqrt(),
                    "SQUARE" => f * f,
                    "EXP" => f.exp(),
                    _ if f <= 0.0 => f64::NAN,
                    _ => f.log10(),
                }),
            });
            typed(SqlType::Float, a.nullable, value)
        }
        "LOG" => {
            arguments(name, &args, 1, 2)?;
            let nullable = args.iter().any(|a| a.nullable);
            let mut args = args.into_iter();
            let x = args.next().expect("one");
            let base = args.next();
            let value = (|| {
                let xv = x.value?;
                let Some(f) = float_of(&xv, &x.ty)? else {
                    return Ok(Value::Null);
                };
                let base = match base {
                    None => None,
                    Some(b) => match float_of(&b.value?, &b.ty)? {
                        Some(b) => Some(b),
                        None => return Ok(Value::Null),
                    },
                };
                if f <= 0.0 || base.is_some_and(|b| b <= 0.0 || b == 1.0) {
                    return Err(invalid_float_operation());
                }
                finite(match base {
                    None => f.ln(),
                    Some(b) => f.ln() / b.ln(),
                })
            })();
            typed(SqlType::Float, nullable, value)
        }
        "PI" => {
            arguments(name, &args, 0, 0)?;
            typed(SqlType::Float, false, Ok(Value::Float(std::f64::consts::PI)))
        }
        "RAND" => {
            arguments(name, &args, 0, 1)?;
            // a seed gives a repeatable value; without one, each call draws anew
            let seed = match args.into_iter().next() {
                Some(s) => integer(s)?,
                None => None,
            };
            typed(SqlType::Float, false, Ok(Value::Float(random_fraction(seed))))
        }
        _ => unreachable!("not a mathematical function: {name}"),
    }
}

fn one(args: Vec<Typed>) -> Typed {
    args.into_iter().next().expect("one argument, checked")
}

fn ty_precision(ty: &SqlType) -> u8 {
    match ty {
        SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. } => *precision,
        _ => 38,
    }
}

/// A fraction in [0, 1): from `seed` repeatably, else from the standard library's randomly seeded hasher.
fn random_fraction(seed: Option<i64>) -> f64 {
    let bits = match seed {
        Some(seed) => {
            // splitmix64: a fixed mapping of the seed
            let mut z = (seed as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        None => {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
            );
            h.finish()
        }
    };
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// ROUND(value, length[, truncate]) in the value's own type: half away from zero (or toward
/// zero when truncating) at `length` decimal places, negative lengths left of the point; a
/// result that no longer fits the type is SQL Server's 8115.
fn round(v: &Value, ty: &SqlType, length: i64, truncate: bool) -> Result<Value, SqlError> {
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
                _ => Err(overflow(ty)),
            }
        }
        Value::Decimal(u, scale) => {
            let r = if length <= -38 { Some(0) } else { exact(*u, *scale as i64) };
            match r {
                Some(r) if crate::types::fits_precision(r, ty_precision(ty)) => Ok(Value::Decimal(r, *scale)),
                _ => Err(overflow(ty)),
            }
        }
        Value::Money(m) => {
            let r = exact(*m as i128, 4).ok_or_else(|| overflow(ty))?;
            i64::try_from(r).map(Value::Money).map_err(|_| overflow(ty))
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
