//! Scalar function calls: the dispatch to the function families (strings, math, dates, system and
//! catalog functions) and the functions of NULLs and identities: ISNULL, COALESCE, NULLIF,
//! CHOOSE and NEWID.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use super::arithmetic::common_type;
use super::convert::convert;
use super::eval::{eval, Scope, Typed};
use super::parser::{Expr, SqlError, DATE_PART_FUNCTIONS};
use super::{dates, format, math, strings, system};
use crate::types::SqlType;
use crate::value::Value;

/// SQL Server's 174/189 unless `args` has `min` to `max` arguments.
pub fn arguments(name: &str, args: &[Typed], min: usize, max: usize) -> Result<(), SqlError> {
    if (min..=max).contains(&args.len()) {
        return Ok(());
    }
    let lower = name.to_lowercase();
    Err(if min == max {
        SqlError::new(174, format!("The {lower} function requires {min} argument(s)."))
    } else {
        SqlError::new(189, format!("The {lower} function requires {min} to {max} arguments."))
    })
}

/// An integer argument's value (`None` for NULL).
pub fn integer(t: Typed) -> Result<Option<i64>, SqlError> {
    match convert(&t.value?, &t.ty, &SqlType::BigInt)? {
        Value::Int(i) => Ok(Some(i)),
        _ => Ok(None),
    }
}

/// A value as text (`None` for NULL).
pub fn text(v: &Value, ty: &SqlType) -> Result<Option<String>, SqlError> {
    match convert(v, ty, &SqlType::NVarChar(None))? {
        Value::Str(s) => Ok(Some(s)),
        _ => Ok(None),
    }
}

/// The value of `name(args)`, SQL Server's typing included.
pub fn call(name: &str, args: &[Expr], scope: &Scope) -> Result<Typed, SqlError> {
    if DATE_PART_FUNCTIONS.contains(&name) {
        let (part, rest) = match args.split_first() {
            Some((Expr::DatePart(part), rest)) => (part.as_str(), rest),
            Some((Expr::Column(part), rest)) => (part.as_str(), rest),
            _ => return Err(SqlError::new(174, format!("The {} function requires arguments.", name.to_lowercase()))),
        };
        let rest = evaluate(rest, scope)?;
        return dates::call_with_part(name, part, rest);
    }
    if system::NAMES.contains(&name) {
        return system::call(name, evaluate(args, scope)?, scope);
    }
    if crate::tables::catalog::FUNCTIONS.contains(&name) {
        let session = scope.session.ok_or_else(|| SqlError::not_supported(format!("The function '{name}' here")))?;
        return crate::tables::catalog::call(name, evaluate(args, scope)?, session);
    }
    let evaluated = evaluate(args, scope)?;
    if strings::NAMES.contains(&name) {
        return strings::call(name, evaluated);
    }
    if math::NAMES.contains(&name) {
        return math::call(name, evaluated);
    }
    if dates::NAMES.contains(&name) {
        return dates::call(name, evaluated);
    }
    if name == "FORMAT" {
        return format::call(evaluated);
    }
    // an untyped NULL argument does not decide the type of ISNULL or COALESCE
    let untyped: Vec<bool> = args.iter().map(|a| *a == Expr::Null).collect();
    null_function(name, evaluated, &untyped)
}

fn evaluate(args: &[Expr], scope: &Scope) -> Result<Vec<Typed>, SqlError> {
    args.iter().map(|a| eval(a, scope)).collect()
}

/// ISNULL, COALESCE, NULLIF, CHOOSE and NEWID; `untyped` marks the arguments that are a NULL literal.
fn null_function(name: &str, args: Vec<Typed>, untyped: &[bool]) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Typed { ty, nullable, value });
    match name {
        "NEWID" => {
            arguments(name, &args, 0, 0)?;
            typed(SqlType::UniqueIdentifier, false, Ok(Value::Guid(random_guid())))
        }
        "ISNULL" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (first, second) = (args.next().expect("two"), args.next().expect("two"));
            let ty = if untyped[0] { second.ty.clone() } else { first.ty.clone() };
            let value =
                first.value.and_then(|v| if v.is_null() { convert(&second.value?, &second.ty, &ty) } else { Ok(v) });
            typed(ty, first.nullable && second.nullable, value)
        }
        "COALESCE" => {
            if args.len() < 2 {
                return Err(SqlError::new(189, "The coalesce function requires 2 to n arguments."));
            }
            let mut ty: Option<SqlType> = None;
            for (a, _) in args.iter().zip(untyped).filter(|(_, untyped)| !**untyped) {
                ty = Some(match ty {
                    None => a.ty.clone(),
                    Some(t) => common_type(&t, &a.ty)?,
                });
            }
            let ty = ty.unwrap_or(SqlType::Int);
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
        "NULLIF" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (first, second) = (args.next().expect("two"), args.next().expect("two"));
            let ty = first.ty.clone();
            let value = (|| {
                let (a, b) = (first.value?, second.value?);
                let equal = super::eval::compare(&first.ty, &a, &second.ty, &b)? == Some(std::cmp::Ordering::Equal);
                Ok(if equal { Value::Null } else { a })
            })();
            typed(ty, true, value)
        }
        "CHOOSE" => {
            if args.len() < 2 {
                return Err(SqlError::new(189, "The choose function requires 2 to 254 arguments."));
            }
            let mut args = args.into_iter();
            let index = args.next().expect("two");
            let choices: Vec<Typed> = args.collect();
            let mut ty = choices[0].ty.clone();
            for c in &choices[1..] {
                ty = common_type(&ty, &c.ty)?;
            }
            let value = (|| {
                let Some(i) = integer(index)? else {
                    return Ok(Value::Null);
                };
                match usize::try_from(i).ok().and_then(|i| i.checked_sub(1)).and_then(|i| choices.into_iter().nth(i)) {
                    None => Ok(Value::Null),
                    Some(c) => convert(&c.value?, &c.ty, &ty),
                }
            })();
            typed(ty.clone(), true, value)
        }
        _ => Err(SqlError::not_supported(format!("The function '{name}'"))),
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
