//! Types and evaluates expressions as SQL Server does: literal typing by form and
//! magnitude, CAST/CONVERT, unary minus, variables and system functions.

use std::collections::HashMap;

use super::convert::{convert, parse_decimal_text};
use super::parser::{Comparison, Expr, Filter, SqlError};
use super::temporal;
use crate::types::{encode_cp1252, SqlType};
use crate::value::Value;

/// The `@@VERSION` text (contract: reads like SQL Server 2022, names this server).
pub const VERSION_TEXT: &str = "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) \n\tOct  8 2022 05:58:25 \n\tCopyright (C) 2022 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (local TDS test server) <X64>";

/// An evaluated expression: its type, nullability and value. A failure while computing
/// the value (a run-time error) is kept apart from typing errors, because SQL Server
/// sends the result's metadata before a run-time error.
pub struct Typed {
    pub ty: SqlType,
    pub nullable: bool,
    pub value: Result<Value, SqlError>,
}

/// Parameters by lower-cased name (with '@'): declared type and value.
pub type Variables = HashMap<String, (SqlType, Value)>;

/// What expressions can see: parameters and session values.
pub struct Scope<'a> {
    pub variables: &'a Variables,
    pub spid: u16,
    pub trancount: i32,
    pub server_name: &'a str,
    pub options: &'a HashMap<String, String>,
}

pub fn eval(expr: &Expr, scope: &Scope) -> Result<Typed, SqlError> {
    let exact = |ty: SqlType, value: Value| Ok(Typed { ty, nullable: false, value: Ok(value) });
    match expr {
        Expr::Null => Ok(Typed { ty: SqlType::Int, nullable: true, value: Ok(Value::Null) }),
        Expr::Integer(t) => {
            let digits = t.trim_start_matches('0');
            if digits.len() <= 10 {
                let v: i64 = if digits.is_empty() { 0 } else { digits.parse().expect("digits") };
                if v <= i32::MAX as i64 {
                    return exact(SqlType::Int, Value::Int(v));
                }
            }
            // beyond int: numeric(p, 0), not bigint
            let precision = digits.len();
            if precision > 38 {
                return Err(out_of_numeric_range(t));
            }
            exact(
                SqlType::Numeric { precision: precision as u8, scale: 0 },
                Value::Decimal(digits.parse().expect("digits"), 0),
            )
        }
        Expr::Decimal(t) => {
            let d = parse_decimal_text(t).ok_or_else(|| SqlError::syntax_near(t))?;
            let (int_digits, scale) = d.precision_scale();
            let precision = (int_digits + scale).max(1);
            if precision > 38 {
                return Err(out_of_numeric_range(t));
            }
            let u = d.round_to(scale as u8).ok_or_else(|| out_of_numeric_range(t))?;
            exact(SqlType::Numeric { precision: precision as u8, scale: scale as u8 }, Value::Decimal(u, scale as u8))
        }
        Expr::Float(t) => {
            let text = if t.ends_with(['e', 'E']) { format!("{t}0") } else { t.clone() };
            let f: f64 = text.parse().map_err(|_| SqlError::syntax_near(t))?;
            if f.is_infinite() {
                return Err(SqlError::new(
                    168,
                    format!("The floating point value '{t}' is out of the range of computer representation (8 bytes)."),
                ));
            }
            exact(SqlType::Float, Value::Float(f))
        }
        Expr::Money(t) => {
            let d = parse_decimal_text(t).ok_or_else(|| SqlError::syntax_near(t))?;
            let u = d.round_to(4).filter(|u| *u <= i64::MAX as i128).ok_or_else(|| {
                SqlError::new(8115, "Arithmetic overflow error converting expression to data type money.")
            })?;
            exact(SqlType::Money, Value::Money(u as i64))
        }
        Expr::Str(s) => {
            encode_cp1252(s).map_err(|e| {
                SqlError::not_supported(format!(
                    "A varchar literal with {e} (SQL Server would store '?'); such a literal"
                ))
            })?;
            let n = s.chars().count();
            exact(SqlType::VarChar(sized(n, 8000)), Value::Str(s.clone()))
        }
        Expr::NStr(s) => {
            let n = s.encode_utf16().count();
            exact(SqlType::NVarChar(sized(n, 4000)), Value::Str(s.clone()))
        }
        Expr::Binary(b) => exact(SqlType::VarBinary(sized(b.len(), 8000)), Value::Bytes(b.clone())),
        Expr::Variable(name) => {
            let (ty, value) = scope
                .variables
                .get(&name.to_lowercase())
                .ok_or_else(|| SqlError::new(137, format!("Must declare the scalar variable \"{name}\".")))?;
            Ok(Typed { ty: ty.clone(), nullable: true, value: Ok(value.clone()) })
        }
        Expr::SystemVariable(name) => system_variable(name, scope),
        Expr::Plus(inner) => {
            let t = eval(inner, scope)?;
            check_arithmetic_operand(&t.ty, "add")?;
            Ok(t)
        }
        Expr::Negate(inner) => negate(eval(inner, scope)?),
        Expr::Cast(inner, ty) => cast(eval(inner, scope)?, ty),
        Expr::Convert { ty, expr, style } => {
            let t = eval(expr, scope)?;
            match style {
                None | Some(0) => cast(t, ty),
                // the ISO styles read exactly the forms this server parses
                Some(20 | 120 | 21 | 121 | 126 | 127) if t.ty.is_string() && ty.is_temporal() => cast(t, ty),
                Some(s) if t.ty.is_temporal() && ty.is_string() && temporal::supports_style(&t.ty, *s) => {
                    // the styled text then converts like any string (a shorter target cuts it)
                    let value = t.value.and_then(|v| match temporal::format_style(&v, &t.ty, *s) {
                        None => Ok(Value::Null), // only NULL has no text
                        Some(text) => convert(&Value::Str(text), &SqlType::NVarChar(None), ty),
                    });
                    Ok(Typed { ty: ty.clone(), nullable: t.nullable, value })
                }
                Some(s) => {
                    Err(SqlError::not_supported(format!("CONVERT style {s} from {} to {}", t.ty.name(), ty.name())))
                }
            }
        }
    }
}

/// Evaluates a WHERE filter: `Err` for typing errors (the batch does not run), `Ok(Err)` for
/// run-time errors, else whether the row qualifies. Comparisons are between numbers (exactly,
/// or as float when one side is float/real); NULL never qualifies (ANSI_NULLS ON).
pub fn eval_filter(filter: &Filter, scope: &Scope) -> Result<Result<bool, SqlError>, SqlError> {
    let left = eval(&filter.left, scope)?;
    let right = eval(&filter.right, scope)?;
    if !left.ty.is_number() || !right.ty.is_number() {
        return Err(SqlError::not_supported(format!(
            "A WHERE comparison of {} with {}",
            left.ty.name(),
            right.ty.name()
        )));
    }
    if scope.options.get("ANSI_NULLS").is_some_and(|v| v.eq_ignore_ascii_case("OFF")) {
        return Err(SqlError::not_supported("A WHERE comparison under SET ANSI_NULLS OFF"));
    }
    let (l, r) = match (left.value, right.value) {
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        (Ok(l), Ok(r)) => (l, r),
    };
    if l.is_null() || r.is_null() {
        return Ok(Ok(false));
    }
    let ordering =
        if matches!(left.ty, SqlType::Float | SqlType::Real) || matches!(right.ty, SqlType::Float | SqlType::Real) {
            let as_float = |v: &Value, ty: &SqlType| match convert(v, ty, &SqlType::Float) {
                Ok(Value::Float(f)) => Ok(f),
                Ok(other) => Err(SqlError::not_supported(format!("Comparing {other:?}"))),
                Err(e) => Err(e),
            };
            let (a, b) = match (as_float(&l, &left.ty), as_float(&r, &right.ty)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
            };
            a.partial_cmp(&b).ok_or_else(|| SqlError::not_supported("Comparing NaN"))?
        } else {
            let (a, sa) = exact(&l)?;
            let (b, sb) = exact(&r)?;
            let scale = sa.max(sb);
            let widen = |u: i128, s: u8| u.checked_mul(10i128.pow((scale - s) as u32));
            match (widen(a, sa), widen(b, sb)) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => return Err(SqlError::not_supported("A WHERE comparison of numbers this wide")),
            }
        };
    use std::cmp::Ordering::*;
    Ok(Ok(match filter.op {
        Comparison::Equal => ordering == Equal,
        Comparison::NotEqual => ordering != Equal,
        Comparison::Less => ordering == Less,
        Comparison::LessOrEqual => ordering != Greater,
        Comparison::Greater => ordering == Greater,
        Comparison::GreaterOrEqual => ordering != Less,
    }))
}

/// An exact number as (unscaled, scale).
fn exact(v: &Value) -> Result<(i128, u8), SqlError> {
    Ok(match v {
        Value::Bool(b) => (*b as i128, 0),
        Value::Int(i) => (*i as i128, 0),
        Value::Decimal(u, s) => (*u, *s),
        Value::Money(m) => (*m as i128, 4),
        other => return Err(SqlError::not_supported(format!("Comparing {other:?}"))),
    })
}

fn out_of_numeric_range(t: &str) -> SqlError {
    SqlError::new(
        1007,
        format!("The number '{t}' is out of the range for numeric representation (maximum precision 38)."),
    )
}

/// A literal's declared length: at least 1, `None` (max) beyond the type's limit.
fn sized(n: usize, limit: usize) -> Option<u16> {
    if n > limit {
        None
    } else {
        Some(n.max(1) as u16)
    }
}

fn cast(t: Typed, ty: &SqlType) -> Result<Typed, SqlError> {
    // explicit-conversion and type-clash errors are compile-time errors in SQL Server
    let value = match t.value {
        Ok(v) => convert(&v, &t.ty, ty),
        Err(e) => Err(e),
    };
    if let Err(e) = &value {
        if matches!(e.number, 529 | 206) {
            return Err(e.clone());
        }
    }
    Ok(Typed { ty: ty.clone(), nullable: t.nullable, value })
}

fn check_arithmetic_operand(ty: &SqlType, verb: &str) -> Result<(), SqlError> {
    if ty.is_number() && *ty != SqlType::Bit {
        return Ok(());
    }
    Err(SqlError::new(8117, format!("Operand data type {} is invalid for {verb} operator.", ty.name())))
}

fn negate(t: Typed) -> Result<Typed, SqlError> {
    check_arithmetic_operand(&t.ty, "minus")?;
    // unary minus promotes tinyint (unsigned) to smallint
    let ty = if t.ty == SqlType::TinyInt { SqlType::SmallInt } else { t.ty.clone() };
    let overflow =
        || SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {}.", ty.name()));
    let value = t.value.and_then(|v| match v {
        Value::Null => Ok(Value::Null),
        Value::Int(i) => {
            let n = i.checked_neg().ok_or_else(overflow)?;
            let (lo, hi) = match ty {
                SqlType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
                SqlType::Int => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(overflow());
            }
            Ok(Value::Int(n))
        }
        Value::Float(f) => Ok(Value::Float(-f)),
        Value::Decimal(u, s) => Ok(Value::Decimal(-u, s)),
        Value::Money(m) => {
            let n = m.checked_neg().ok_or_else(overflow)?;
            if ty == SqlType::SmallMoney && i32::try_from(n).is_err() {
                return Err(overflow());
            }
            Ok(Value::Money(n))
        }
        other => Err(SqlError::not_supported(format!("Negating {other:?}"))),
    });
    Ok(Typed { ty, nullable: t.nullable, value })
}

fn system_variable(name: &str, scope: &Scope) -> Result<Typed, SqlError> {
    let (ty, value) = match name {
        "VERSION" => (SqlType::NVarChar(Some(300)), Value::Str(VERSION_TEXT.to_string())),
        "SPID" => (SqlType::SmallInt, Value::Int(scope.spid as i64)),
        "TRANCOUNT" => (SqlType::Int, Value::Int(scope.trancount as i64)),
        "SERVERNAME" => (SqlType::NVarChar(Some(128)), Value::Str(scope.server_name.to_string())),
        "LANGUAGE" => (SqlType::NVarChar(Some(128)), Value::Str("us_english".to_string())),
        "MAX_PRECISION" => (SqlType::TinyInt, Value::Int(38)),
        "TEXTSIZE" => match scope.options.get("TEXTSIZE").and_then(|v| v.parse::<i64>().ok()) {
            Some(size) => (SqlType::Int, Value::Int(size)),
            // the default depends on the client library's connection settings
            None => return Err(SqlError::not_supported("@@TEXTSIZE before SET TEXTSIZE")),
        },
        _ => return Err(SqlError::not_supported(format!("@@{name}"))),
    };
    Ok(Typed { ty, nullable: true, value: Ok(value) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parser::{parse_batch, Statement};

    fn typed(sql: &str) -> (SqlType, bool, Value) {
        let vars = HashMap::new();
        let options = HashMap::new();
        let scope = Scope { variables: &vars, spid: 51, trancount: 0, server_name: "s", options: &options };
        let stmts = parse_batch(&format!("SELECT {sql}")).unwrap();
        let (Statement::Select(items, _), _) = &stmts[0] else { panic!("not a select") };
        let t = eval(&items[0].expr, &scope).unwrap();
        (t.ty, t.nullable, t.value.unwrap())
    }

    fn filter(sql: &str) -> Result<Result<bool, SqlError>, SqlError> {
        let vars = HashMap::new();
        let options = HashMap::new();
        let scope = Scope { variables: &vars, spid: 51, trancount: 0, server_name: "s", options: &options };
        let stmts = parse_batch(&format!("SELECT 1 WHERE {sql}")).unwrap();
        let (Statement::Select(_, Some(f)), _) = &stmts[0] else { panic!("no filter") };
        eval_filter(f, &scope)
    }

    #[test]
    fn where_compares_numbers_exactly() {
        assert_eq!(filter("1 = 0"), Ok(Ok(false)));
        assert_eq!(filter("1 = 1.00"), Ok(Ok(true)));
        assert_eq!(filter("0.1 < 0.10000000000000000001"), Ok(Ok(true)));
        assert_eq!(filter("CAST(1 AS bit) >= $0.9999"), Ok(Ok(true)));
        assert_eq!(filter("2 <> 2E0"), Ok(Ok(false)));
        assert_eq!(filter("NULL = NULL"), Ok(Ok(false)));
        assert_eq!(filter("CAST('x' AS int) = 1").unwrap().unwrap_err().number, 245);
        assert_eq!(filter("'a' = 'a'").unwrap_err().number, crate::sql::parser::NOT_SUPPORTED_NUMBER);
    }

    #[test]
    fn literals_are_typed_like_sql_server() {
        assert_eq!(typed("2147483647"), (SqlType::Int, false, Value::Int(2147483647)));
        assert_eq!(
            typed("2147483648"),
            (SqlType::Numeric { precision: 10, scale: 0 }, false, Value::Decimal(2147483648, 0))
        );
        assert_eq!(
            typed("-2147483648"),
            (SqlType::Numeric { precision: 10, scale: 0 }, false, Value::Decimal(-2147483648, 0))
        );
        assert_eq!(typed("12.50"), (SqlType::Numeric { precision: 4, scale: 2 }, false, Value::Decimal(1250, 2)));
        assert_eq!(typed("0.001"), (SqlType::Numeric { precision: 3, scale: 3 }, false, Value::Decimal(1, 3)));
        assert_eq!(typed("1.5E308"), (SqlType::Float, false, Value::Float(1.5e308)));
        assert_eq!(typed("'abc'"), (SqlType::VarChar(Some(3)), false, Value::Str("abc".into())));
        assert_eq!(typed("N'😀'"), (SqlType::NVarChar(Some(2)), false, Value::Str("😀".into())));
        assert_eq!(typed("0x0102"), (SqlType::VarBinary(Some(2)), false, Value::Bytes(vec![1, 2])));
        assert_eq!(typed("NULL"), (SqlType::Int, true, Value::Null));
        assert_eq!(typed("-CAST(5 AS tinyint)"), (SqlType::SmallInt, false, Value::Int(-5)));
    }
}
