//! The arithmetic operators `+ - * / %` and string concatenation, typed as SQL Server types
//! them: the result type follows data type precedence, decimal results take the precision and
//! scale of "Precision, scale, and length (Transact-SQL)" (capped at 38 by its scale reduction
//! rules), and overflow and division by zero are the run-time errors 8115 and 8134.

use num_bigint::BigInt;

use super::convert::convert;
use super::convert::int_range;
use super::eval::Typed;
use super::parser::{ArithmeticOperator, SqlError};
use crate::types::SqlType;
use crate::value::Value;

impl ArithmeticOperator {
    /// The operator's name in SQL Server's messages ("... is invalid for add operator").
    fn verb(self) -> &'static str {
        match self {
            ArithmeticOperator::Add => "add",
            ArithmeticOperator::Subtract => "subtract",
            ArithmeticOperator::Multiply => "multiply",
            ArithmeticOperator::Divide => "divide",
            ArithmeticOperator::Modulo => "modulo",
        }
    }
}

/// Data type precedence among the types arithmetic applies to (higher wins); `None` for the others.
fn precedence(ty: &SqlType) -> Option<u8> {
    Some(match ty {
        SqlType::Float => 10,
        SqlType::Real => 9,
        SqlType::Decimal { .. } | SqlType::Numeric { .. } => 8,
        SqlType::Money => 7,
        SqlType::SmallMoney => 6,
        SqlType::BigInt => 5,
        SqlType::Int => 4,
        SqlType::SmallInt => 3,
        SqlType::TinyInt => 2,
        SqlType::Bit => 1,
        _ => return None,
    })
}

/// The precision and scale of a number type taking part in a decimal operation.
fn decimal_shape(ty: &SqlType) -> (u32, u32) {
    match ty {
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            (*precision as u32, *scale as u32)
        }
        SqlType::Money => (19, 4),
        SqlType::SmallMoney => (10, 4),
        SqlType::BigInt => (19, 0),
        SqlType::Int => (10, 0),
        SqlType::SmallInt => (5, 0),
        SqlType::TinyInt => (3, 0),
        _ => (1, 0),
    }
}

/// The decimal result type of `op` on operands of precision/scale `(p1, s1)` and `(p2, s2)`.
pub fn decimal_result(op: ArithmeticOperator, (p1, s1): (u32, u32), (p2, s2): (u32, u32)) -> (u8, u8) {
    use ArithmeticOperator::*;
    let integral = |p: u32, s: u32| p - s;
    let (precision, scale) = match op {
        Add | Subtract => {
            let s = s1.max(s2);
            (s + integral(p1, s1).max(integral(p2, s2)) + 1, s)
        }
        Multiply => (p1 + p2 + 1, s1 + s2),
        Divide => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        Modulo => {
            let s = s1.max(s2);
            (integral(p1, s1).min(integral(p2, s2)) + s, s)
        }
    };
    if precision <= 38 {
        return (precision as u8, scale as u8);
    }
    let scale = match op {
        // the operands' integral digits are kept; the scale gives way
        Add | Subtract | Modulo => 38u32.saturating_sub(integral(p1, s1).max(integral(p2, s2))).min(scale),
        Multiply | Divide if precision - scale < 32 => scale.min(38 - (precision - scale)),
        Multiply | Divide => scale.min(6),
    };
    (38, scale as u8)
}

fn overflow(ty: &SqlType) -> SqlError {
    let name = if ty.is_decimal() { "numeric" } else { ty.name() };
    SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {name}."))
}

fn divide_by_zero() -> SqlError {
    SqlError::new(8134, "Divide by zero error encountered.")
}

fn invalid_operand(ty: &SqlType, op: ArithmeticOperator) -> SqlError {
    SqlError::new(8117, format!("Operand data type {} is invalid for {} operator.", ty.name(), op.verb()))
}

fn incompatible(l: &SqlType, r: &SqlType, op: ArithmeticOperator) -> SqlError {
    SqlError::new(
        402,
        format!("The data types {} and {} are incompatible in the {} operator.", l.name(), r.name(), op.verb()),
    )
}

/// Applies `op`. `left_null`/`right_null` say an operand is the untyped NULL literal, which
/// takes the other operand's type.
pub fn binary(
    op: ArithmeticOperator,
    left: Typed,
    right: Typed,
    left_null: bool,
    right_null: bool,
) -> Result<Typed, SqlError> {
    let lt = if left_null && !right_null { right.ty.clone() } else { left.ty.clone() };
    let rt = if right_null && !left_null { left.ty.clone() } else { right.ty.clone() };
    let nullable = left.nullable || right.nullable;
    if lt.is_string() && rt.is_string() {
        if op != ArithmeticOperator::Add {
            return Err(invalid_operand(&lt, op));
        }
        let ty = concatenation_type(&lt, &rt, op)?;
        let value = both(left.value, right.value).map(|(l, r)| match (l, r) {
            (Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            _ => Value::Null,
        });
        return Ok(Typed { ty, nullable, value });
    }
    // a string operand converts to the other operand's (number) type
    let (lt_num, rt_num) = match (lt.is_string(), rt.is_string()) {
        (true, false) => (rt.clone(), rt.clone()),
        (false, true) => (lt.clone(), lt.clone()),
        _ => (lt.clone(), rt.clone()),
    };
    let (Some(lp), Some(rp)) = (precedence(&lt_num), precedence(&rt_num)) else {
        let bad = if precedence(&lt_num).is_none() { &lt } else { &rt };
        return Err(if bad.is_number() || bad.is_string() || bad.is_binary() || bad.is_temporal() {
            SqlError::not_supported(format!("The {} operator on {} and {}", op.verb(), lt.name(), rt.name()))
        } else {
            invalid_operand(bad, op)
        });
    };
    let ty = if lp >= rp { lt_num.clone() } else { rt_num.clone() };
    if ty == SqlType::Bit {
        return Err(invalid_operand(&ty, op));
    }
    if op == ArithmeticOperator::Modulo && matches!(ty, SqlType::Float | SqlType::Real) {
        return Err(incompatible(&lt, &rt, op));
    }
    let ty = match &ty {
        SqlType::Decimal { .. } => {
            let (precision, scale) = decimal_result(op, decimal_shape(&lt_num), decimal_shape(&rt_num));
            SqlType::Decimal { precision, scale }
        }
        SqlType::Numeric { .. } => {
            let (precision, scale) = decimal_result(op, decimal_shape(&lt_num), decimal_shape(&rt_num));
            SqlType::Numeric { precision, scale }
        }
        _ => ty,
    };
    let value = both(left.value, right.value).and_then(|(l, r)| {
        if l.is_null() || r.is_null() {
            return Ok(Value::Null);
        }
        let l = if lt.is_string() { convert(&l, &lt, &lt_num)? } else { l };
        let r = if rt.is_string() { convert(&r, &rt, &rt_num)? } else { r };
        compute(op, &ty, (&lt_num, &l), (&rt_num, &r))
    });
    Ok(Typed { ty, nullable, value })
}

/// The type of an expression choosing among values of types `a` and `b` (COALESCE, CASE,
/// UNION): the higher precedence, decimals wide enough for both, strings as long as the longer
/// (fixed-length when both are).
pub fn common_type(a: &SqlType, b: &SqlType) -> Result<SqlType, SqlError> {
    if a == b || *b == SqlType::Null {
        return Ok(a.clone());
    }
    if *a == SqlType::Null {
        return Ok(b.clone());
    }
    if a.is_string() && b.is_string() {
        let length = |t: &SqlType| match t {
            SqlType::Char(n) | SqlType::NChar(n) => Some(*n),
            SqlType::VarChar(n) | SqlType::NVarChar(n) => *n,
            _ => None,
        };
        let n = match (length(a), length(b)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        };
        let fixed = |t: &SqlType| matches!(t, SqlType::Char(_) | SqlType::NChar(_));
        let unicode = a.is_unicode() || b.is_unicode();
        // a Unicode type longer than 4000 characters is nvarchar(max)
        let n = n.filter(|&n| !unicode || n <= 4000);
        return Ok(match (fixed(a) && fixed(b), n) {
            (true, Some(n)) if unicode => SqlType::NChar(n),
            (true, Some(n)) => SqlType::Char(n),
            _ if unicode => SqlType::NVarChar(n),
            _ => SqlType::VarChar(n),
        });
    }
    if a.is_string() {
        return Ok(b.clone());
    }
    if b.is_string() {
        return Ok(a.clone());
    }
    match (precedence(a), precedence(b)) {
        (Some(x), Some(y)) if x.max(y) == 8 => {
            let ((p1, s1), (p2, s2)) = (decimal_shape(a), decimal_shape(b));
            let scale = s1.max(s2);
            let (precision, scale) = (((p1 - s1).max(p2 - s2) + scale).min(38) as u8, scale as u8);
            let numeric = matches!(a, SqlType::Numeric { .. }) || matches!(b, SqlType::Numeric { .. });
            Ok(if numeric { SqlType::Numeric { precision, scale } } else { SqlType::Decimal { precision, scale } })
        }
        (Some(x), Some(y)) => Ok(if x >= y { a.clone() } else { b.clone() }),
        _ => Err(SqlError::not_supported(format!("Choosing between {} and {}", a.name(), b.name()))),
    }
}

fn both(l: Result<Value, SqlError>, r: Result<Value, SqlError>) -> Result<(Value, Value), SqlError> {
    Ok((l?, r?))
}

/// `a + b` on strings: nvarchar when either is Unicode, the lengths added up to the type's limit.
fn concatenation_type(lt: &SqlType, rt: &SqlType, op: ArithmeticOperator) -> Result<SqlType, SqlError> {
    let length = |ty: &SqlType| match ty {
        SqlType::Char(n) | SqlType::NChar(n) => Ok(Some(*n as u32)),
        SqlType::VarChar(n) | SqlType::NVarChar(n) => Ok(n.map(|n| n as u32)),
        _ => Err(incompatible(lt, rt, op)),
    };
    let (ll, rl) = (length(lt)?, length(rt)?);
    let unicode = lt.is_unicode() || rt.is_unicode();
    let fixed =
        matches!(lt, SqlType::Char(_) | SqlType::NChar(_)) && matches!(rt, SqlType::Char(_) | SqlType::NChar(_));
    let limit = if unicode { 4000 } else { 8000 };
    let total = match (ll, rl) {
        (Some(a), Some(b)) => Some((a + b).min(limit) as u16),
        _ => None,
    };
    Ok(match (unicode, fixed, total) {
        (true, true, Some(n)) => SqlType::NChar(n),
        (false, true, Some(n)) => SqlType::Char(n),
        (true, _, n) => SqlType::NVarChar(n),
        (false, _, n) => SqlType::VarChar(n),
    })
}

/// Computes `l op r` in the result type `ty` (both non-NULL).
fn compute(
    op: ArithmeticOperator,
    ty: &SqlType,
    (lt, l): (&SqlType, &Value),
    (rt, r): (&SqlType, &Value),
) -> Result<Value, SqlError> {
    use ArithmeticOperator::*;
    match ty {
        SqlType::Float | SqlType::Real => {
            let as_float = |v: &Value, t: &SqlType| match convert(v, t, &SqlType::Float)? {
                Value::Float(f) => Ok(f),
                other => Err(SqlError::not_supported(format!("Arithmetic on {other:?}"))),
            };
            let (a, b) = (as_float(l, lt)?, as_float(r, rt)?);
            let f = match op {
                Add => a + b,
                Subtract => a - b,
                Multiply => a * b,
                Divide if b == 0.0 => return Err(divide_by_zero()),
                Divide => a / b,
                Modulo => return Err(incompatible(lt, rt, op)),
            };
            let f = if *ty == SqlType::Real { f as f32 as f64 } else { f };
            if !f.is_finite() {
                return Err(overflow(ty));
            }
            Ok(Value::Float(f))
        }
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            let unscaled = |v: &Value, t: &SqlType| -> Result<(BigInt, u32), SqlError> {
                let (p, s) = decimal_shape(t);
                match convert(v, t, &SqlType::Decimal { precision: p as u8, scale: s as u8 })? {
                    Value::Decimal(u, _) => Ok((BigInt::from(u), s)),
                    other => Err(SqlError::not_supported(format!("Arithmetic on {other:?}"))),
                }
            };
            let ((a, sa), (b, sb)) = (unscaled(l, lt)?, unscaled(r, rt)?);
            let result_scale = *scale as u32;
            let (exact, exact_scale) = match op {
                Add | Subtract | Modulo => {
                    let s = sa.max(sb);
                    let a = a * pow10(s - sa);
                    let b = b * pow10(s - sb);
                    match op {
                        Add => (a + b, s),
                        Subtract => (a - b, s),
                        _ if b == BigInt::from(0) => return Err(divide_by_zero()),
                        // the remainder has the dividend's sign, as Rust's and SQL Server's do
                        _ => (a % b, s),
                    }
                }
                Multiply => (a * b, sa + sb),
                Divide => {
                    if b == BigInt::from(0) {
                        return Err(divide_by_zero());
                    }
                    // SQL Server truncates the quotient at the result's scale
                    let numerator = a * pow10(result_scale + sb);
                    let denominator = b * pow10(sa);
                    (numerator / denominator, result_scale)
                }
            };
            let rounded = rescale(exact, exact_scale, result_scale);
            let limit = pow10(*precision as u32);
            if rounded >= limit || -&rounded >= limit {
                return Err(overflow(ty));
            }
            let u: i128 = rounded.try_into().map_err(|_| overflow(ty))?;
            Ok(Value::Decimal(u, *scale))
        }
        SqlType::Money | SqlType::SmallMoney => {
            let scaled = |v: &Value, t: &SqlType| match convert(v, t, &SqlType::Money) {
                Ok(Value::Money(m)) => Ok(m as i128),
                Ok(other) => Err(SqlError::not_supported(format!("Arithmetic on {other:?}"))),
                Err(_) => Err(overflow(ty)),
            };
            let (a, b) = (scaled(l, lt)?, scaled(r, rt)?);
            let m = match op {
                Add => a + b,
                Subtract => a - b,
                Multiply => round_div(a * b, 10_000),
                Divide | Modulo if b == 0 => return Err(divide_by_zero()),
                Divide => round_div(a * 10_000, b),
                Modulo => a % b,
            };
            let fits = if *ty == SqlType::SmallMoney { i32::try_from(m).is_ok() } else { i64::try_from(m).is_ok() };
            if !fits {
                return Err(overflow(ty));
            }
            Ok(Value::Money(m as i64))
        }
        _ => {
            let int = |v: &Value| match v {
                Value::Int(i) => Ok(*i),
                Value::Bool(b) => Ok(*b as i64),
                other => Err(SqlError::not_supported(format!("Arithmetic on {other:?}"))),
            };
            let (a, b) = (int(l)?, int(r)?);
            let n = match op {
                Add => a.checked_add(b),
                Subtract => a.checked_sub(b),
                Multiply => a.checked_mul(b),
                Divide | Modulo if b == 0 => return Err(divide_by_zero()),
                Divide => a.checked_div(b),
                Modulo => a.checked_rem(b),
            }
            .ok_or_else(|| overflow(ty))?;
            let (lo, hi) = int_range(ty);
            if n < lo || n > hi {
                return Err(overflow(ty));
            }
            Ok(Value::Int(n))
        }
    }
}

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u8).pow(n)
}

/// `u` at scale `from` brought to scale `to`, rounding half away from zero.
fn rescale(u: BigInt, from: u32, to: u32) -> BigInt {
    if to >= from {
        return u * pow10(to - from);
    }
    let divisor = pow10(from - to);
    let half = &divisor / 2;
    let negative = u < BigInt::from(0);
    let magnitude = if negative { -u } else { u };
    let q: BigInt = (magnitude + half) / divisor;
    if negative {
        -q
    } else {
        q
    }
}

/// `a / b` rounded half away from zero.
fn round_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    let r = a % b;
    if 2 * r.abs() >= b.abs() {
        q + if (a < 0) == (b < 0) { 1 } else { -1 }
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ArithmeticOperator::*;

    #[test]
    fn decimal_result_types_follow_the_documented_rules() {
        assert_eq!(decimal_result(Add, (5, 2), (10, 0)), (13, 2));
        assert_eq!(decimal_result(Multiply, (5, 2), (4, 1)), (10, 3));
        // 1.0 / 3: p = 2-1+0+max(6, 1+10+1) = 13, s = 12
        assert_eq!(decimal_result(Divide, (2, 1), (10, 0)), (13, 12));
        // decimal(38,10) * decimal(38,10): integral part 58 > 32, the scale drops to 6
        assert_eq!(decimal_result(Multiply, (38, 10), (38, 10)), (38, 6));
        // decimal(20,10) * decimal(20,10): p 41 and s 20, integral 21 < 32: scale min(20, 38-21) = 17
        assert_eq!(decimal_result(Multiply, (20, 10), (20, 10)), (38, 17));
        assert_eq!(decimal_result(Add, (38, 10), (38, 0)), (38, 0));
    }
}
