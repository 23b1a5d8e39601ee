//! Types and evaluates expressions as SQL Server does: literal typing by form and
//! magnitude, CAST/CONVERT, unary minus, variables and system functions.

use std::collections::HashMap;
use std::rc::Rc;

use super::convert::{convert, parse_decimal_text};
use super::parser::{Comparison, Condition, Expr, SqlError};
use super::temporal;
use super::{arithmetic, functions, like};
use crate::engine::Session;
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

/// A column of the row an expression is evaluated on.
#[derive(Clone, Debug)]
pub struct ColumnValue {
    /// The table (or alias) the column comes from; empty when it needs no qualification
    pub qualifier: Rc<str>,
    /// A column of an outer query's row, seen by a correlated subquery: the query's own columns come first
    pub outer: bool,
    pub name: Rc<str>,
    pub ty: SqlType,
    pub nullable: bool,
    pub value: Value,
}

/// What expressions can see: parameters, the current row's columns and session values.
pub struct Scope<'a> {
    pub variables: &'a Variables,
    pub columns: &'a [ColumnValue],
    pub spid: u16,
    pub trancount: i32,
    /// @@ROWCOUNT: the rows the previous statement affected or returned
    pub rowcount: u64,
    /// @@IDENTITY (the session's last identity value) and SCOPE_IDENTITY() (this scope's)
    pub identity: Option<i64>,
    pub scope_identity: Option<i64>,
    pub server_name: &'a str,
    pub options: &'a HashMap<String, String>,
    /// The session, for subqueries, the catalog and session functions (none in unit tests)
    pub session: Option<&'a Session>,
}

#[cfg(test)]
impl<'a> Scope<'a> {
    /// Parameters and options only: no row, no session history, SPID 51.
    pub(crate) fn for_tests(variables: &'a Variables, options: &'a HashMap<String, String>) -> Scope<'a> {
        Scope {
            variables,
            columns: &[],
            spid: 51,
            trancount: 0,
            rowcount: 0,
            identity: None,
            scope_identity: None,
            server_name: "s",
            options,
            session: None,
        }
    }
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
        Expr::ScopeIdentity => Ok(identity_value(scope.scope_identity)),
        Expr::Column(name) => {
            let column = &scope.columns[column_index(scope.columns, name)?];
            Ok(Typed { ty: column.ty.clone(), nullable: column.nullable, value: Ok(column.value.clone()) })
        }
        Expr::Plus(inner) => {
            let t = eval(inner, scope)?;
            check_arithmetic_operand(&t.ty, "add")?;
            Ok(t)
        }
        Expr::Negate(inner) => negate(eval(inner, scope)?),
        Expr::Arithmetic(op, left, right) => arithmetic::binary(
            *op,
            eval(left, scope)?,
            eval(right, scope)?,
            **left == Expr::Null,
            **right == Expr::Null,
        ),
        Expr::Function(name, args) => functions::call(name, args, scope),
        Expr::Case { branches, otherwise } => case(branches, otherwise.as_deref(), scope),
        Expr::Subquery(query) => subquery_value(query, scope),
        Expr::DatePart(part) => Err(SqlError::new(207, format!("Invalid column name '{part}'."))),
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

/// The column `name` (`c`, or `t.c` qualified by a table or alias) refers to: 207 when there is
/// none, 4104 for an unknown qualifier, 209 when columns of two tables match. Of matches from
/// the same (or no) table, the first wins.
pub fn column_index(columns: &[ColumnValue], name: &str) -> Result<usize, SqlError> {
    let (qualifier, column) = match name.rsplit_once('.') {
        Some((q, c)) => (Some(q), c),
        None => (None, name),
    };
    let mut matches: Vec<usize> = (0..columns.len())
        .filter(|&i| {
            let c = &columns[i];
            c.name.eq_ignore_ascii_case(column)
                && qualifier.is_none_or(|q| c.qualifier.is_empty() || c.qualifier.eq_ignore_ascii_case(q))
        })
        .collect();
    // a name of the query itself hides the outer queries' (the nearest outer one wins)
    if matches.iter().any(|&i| !columns[i].outer) {
        matches.retain(|&i| !columns[i].outer);
    } else {
        matches.truncate(1);
    }
    let Some(&first) = matches.first() else {
        if let Some(q) = qualifier {
            if !columns.iter().any(|c| c.qualifier.eq_ignore_ascii_case(q)) {
                return Err(SqlError::new(4104, format!("The multi-part identifier \"{name}\" could not be bound.")));
            }
        }
        return Err(SqlError::new(207, format!("Invalid column name '{column}'.")));
    };
    let ambiguous = matches.iter().any(|&i| {
        let (a, b) = (&columns[first].qualifier, &columns[i].qualifier);
        !a.is_empty() && !b.is_empty() && !a.eq_ignore_ascii_case(b)
    });
    if ambiguous {
        return Err(SqlError::new(209, format!("Ambiguous column name '{column}'.")));
    }
    Ok(first)
}

/// The truth of a condition: typing errors (the statement does not run) outside, run-time
/// errors inside, and `None` for UNKNOWN (a comparison with NULL under ANSI_NULLS).
pub type Truth = Result<Result<Option<bool>, SqlError>, SqlError>;

/// IN over `candidates`: TRUE when one equals the value, else UNKNOWN when a comparison was unknown
/// (with a NULL), else FALSE.
fn is_in<'a>(
    ty: &SqlType,
    value: &Value,
    candidates: impl Iterator<Item = (&'a SqlType, &'a Value)>,
) -> Result<Option<bool>, SqlError> {
    let mut found = Some(false);
    for (candidate_ty, candidate) in candidates {
        match compare(ty, value, candidate_ty, candidate)? {
            Some(std::cmp::Ordering::Equal) => return Ok(Some(true)),
            Some(_) => {}
            None => found = None,
        }
    }
    Ok(found)
}

/// Evaluates a search condition under three-valued logic.
pub fn eval_condition(condition: &Condition, scope: &Scope) -> Truth {
    // a run-time error of an operand makes the condition's own run-time error
    macro_rules! value {
        ($e:expr) => {{
            let typed = eval($e, scope)?;
            match typed.value {
                Ok(v) => (typed.ty, v),
                Err(e) => return Ok(Err(e)),
            }
        }};
    }
    macro_rules! truth {
        ($c:expr) => {
            match eval_condition($c, scope)? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            }
        };
    }
    macro_rules! runtime {
        ($r:expr) => {
            match $r {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            }
        };
    }
    if scope.options.get("ANSI_NULLS").is_some_and(|v| v.eq_ignore_ascii_case("OFF")) {
        return Err(SqlError::not_supported("A comparison under SET ANSI_NULLS OFF"));
    }
    Ok(Ok(match condition {
        Condition::Compare(op, left, right) => {
            let (lt, l) = value!(left);
            let (rt, r) = value!(right);
            runtime!(compare(&lt, &l, &rt, &r)).map(|o| comparison_holds(*op, o))
        }
        Condition::And(a, b) => match (truth!(a), truth!(b)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Condition::Or(a, b) => match (truth!(a), truth!(b)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Condition::Not(c) => truth!(c).map(|b| !b),
        Condition::IsNull { expr, negated } => Some(value!(expr).1.is_null() != *negated),
        Condition::In { expr, list, negated } => {
            let (t, v) = value!(expr);
            let mut candidates = Vec::with_capacity(list.len());
            for item in list {
                candidates.push(value!(item));
            }
            runtime!(is_in(&t, &v, candidates.iter().map(|(it, iv)| (it, iv)))).map(|b| b != *negated)
        }
        Condition::InQuery { expr, query, negated } => {
            let (t, v) = value!(expr);
            let result = runtime!(subquery_rows(query, scope));
            let Some(column) = single_column(&result.columns) else {
                return Err(only_one_expression());
            };
            runtime!(is_in(&t, &v, result.rows.iter().map(|row| (&column.ty, &row[0])))).map(|b| b != *negated)
        }
        Condition::Between { expr, low, high, negated } => {
            let (t, v) = value!(expr);
            let (lt, l) = value!(low);
            let (ht, h) = value!(high);
            let above = runtime!(compare(&t, &v, &lt, &l)).map(|o| o != std::cmp::Ordering::Less);
            let below = runtime!(compare(&t, &v, &ht, &h)).map(|o| o != std::cmp::Ordering::Greater);
            let within = match (above, below) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            within.map(|b| b != *negated)
        }
        Condition::Like { expr, pattern, escape, negated } => {
            let escape = match escape {
                None => None,
                Some(e) => match runtime!(text_of(e, scope)?) {
                    None => return Ok(Ok(None)),
                    Some(text) => {
                        let mut chars = text.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => Some(c),
                            _ => {
                                return Ok(Err(SqlError::new(
                                    506,
                                    format!(
                                        "The invalid escape character \"{text}\" was specified in a LIKE predicate."
                                    ),
                                )))
                            }
                        }
                    }
                },
            };
            let text = runtime!(text_of(expr, scope)?);
            let pattern = runtime!(text_of(pattern, scope)?);
            match (text, pattern) {
                (Some(t), Some(p)) => Some(like::matches(&t, &p, escape) != *negated),
                _ => None,
            }
        }
        Condition::Exists(query) => Some(!runtime!(subquery_rows(query, scope)).rows.is_empty()),
    }))
}

/// An operand of LIKE as text (numbers and dates convert to their string form); `None` for NULL.
fn text_of(e: &Expr, scope: &Scope) -> Result<Result<Option<String>, SqlError>, SqlError> {
    let typed = eval(e, scope)?;
    Ok(typed.value.and_then(|v| match convert(&v, &typed.ty, &SqlType::NVarChar(None))? {
        Value::Str(s) => Ok(Some(s)),
        _ => Ok(None),
    }))
}

/// The columns and rows of a subquery, run in `scope` (whose row its correlated names read).
fn subquery_rows(query: &sqlparser::ast::Query, scope: &Scope) -> Result<crate::tables::QueryRows, SqlError> {
    let session = scope.session.ok_or_else(|| SqlError::not_supported("A subquery here"))?;
    crate::tables::subquery(session, query, scope)
}

fn single_column(columns: &[crate::types::ColumnDef]) -> Option<&crate::types::ColumnDef> {
    match columns {
        [column] => Some(column),
        _ => None,
    }
}

fn only_one_expression() -> SqlError {
    SqlError::new(
        116,
        "Only one expression can be specified in the select list when the subquery is not introduced with EXISTS.",
    )
}

/// `(SELECT ...)` as a value: NULL without a row, SQL Server's 512 with more than one.
fn subquery_value(query: &sqlparser::ast::Query, scope: &Scope) -> Result<Typed, SqlError> {
    let result = subquery_rows(query, scope)?;
    let column = single_column(&result.columns).ok_or_else(only_one_expression)?;
    let value = match result.rows.as_slice() {
        [] => Ok(Value::Null),
        [row] => Ok(row[0].clone()),
        _ => Err(SqlError::new(
            512,
            "Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.",
        )),
    };
    Ok(Typed { ty: column.ty.clone(), nullable: true, value })
}

/// CASE: typed by data type precedence over its results (an untyped NULL result does not count),
/// nullable unless every result is not and there is an ELSE; the first true branch's result.
fn case(branches: &[(Condition, Expr)], otherwise: Option<&Expr>, scope: &Scope) -> Result<Typed, SqlError> {
    let results: Vec<&Expr> = branches.iter().map(|(_, e)| e).chain(otherwise).collect();
    let mut typed = Vec::with_capacity(results.len());
    let mut ty: Option<SqlType> = None;
    for e in &results {
        let t = eval(e, scope)?;
        if **e != Expr::Null {
            ty = Some(match ty {
                None => t.ty.clone(),
                Some(so_far) => arithmetic::common_type(&so_far, &t.ty)?,
            });
        }
        typed.push(t);
    }
    let ty = ty.unwrap_or(SqlType::Int);
    let nullable = otherwise.is_none() || typed.iter().any(|t| t.nullable);
    let mut chosen = otherwise.map(|_| typed.len() - 1);
    for (i, (condition, _)) in branches.iter().enumerate() {
        match eval_condition(condition, scope)? {
            Ok(Some(true)) => {
                chosen = Some(i);
                break;
            }
            Ok(_) => {}
            Err(e) => return Ok(Typed { ty, nullable, value: Err(e) }),
        }
    }
    let value = match chosen {
        None => Ok(Value::Null),
        Some(i) => {
            let t = typed.swap_remove(i);
            t.value.and_then(|v| convert(&v, &t.ty, &ty))
        }
    };
    Ok(Typed { ty, nullable, value })
}

/// Whether `op` holds between two values ordered as `ordering`.
pub fn comparison_holds(op: Comparison, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Comparison::Equal => ordering == Equal,
        Comparison::NotEqual => ordering != Equal,
        Comparison::Less => ordering == Less,
        Comparison::LessOrEqual => ordering != Greater,
        Comparison::Greater => ordering == Greater,
        Comparison::GreaterOrEqual => ordering != Less,
    }
}

/// Orders two values as SQL Server compares them; `None` when either is NULL (UNKNOWN).
/// Numbers compare exactly (as float when one is float/real); strings case-insensitively and
/// ignoring trailing spaces (SQL_Latin1_General_CP1_CI_AS); a string against another type is
/// converted to that type first (type precedence); date/time values on a common type.
pub fn compare(lt: &SqlType, l: &Value, rt: &SqlType, r: &Value) -> Result<Option<std::cmp::Ordering>, SqlError> {
    if l.is_null() || r.is_null() {
        return Ok(None);
    }
    if lt.is_string() && !rt.is_string() && !matches!(rt, SqlType::SqlVariant) {
        return compare(rt, &convert(l, lt, rt)?, rt, r);
    }
    if rt.is_string() && !lt.is_string() && !matches!(lt, SqlType::SqlVariant) {
        return compare(lt, l, lt, &convert(r, rt, lt)?);
    }
    if lt.is_number() && rt.is_number() {
        return compare_numbers(lt, l, rt, r).map(Some);
    }
    if lt.is_temporal() && rt.is_temporal() {
        let common = if matches!(lt, SqlType::DateTimeOffset(_)) || matches!(rt, SqlType::DateTimeOffset(_)) {
            SqlType::DateTimeOffset(7)
        } else if matches!((lt, rt), (SqlType::Time(_), SqlType::Time(_))) {
            SqlType::Time(7)
        } else {
            SqlType::DateTime2(7)
        };
        let key = |v: &Value, ty: &SqlType| -> Result<(i64, u64), SqlError> {
            Ok(match convert(v, ty, &common)? {
                Value::Time(t) => (0, t),
                Value::DateTime2 { days, ticks } | Value::DateTimeOffset { days, ticks, .. } => (days as i64, ticks),
                other => return Err(SqlError::not_supported(format!("Comparing {other:?}"))),
            })
        };
        return Ok(Some(key(l, lt)?.cmp(&key(r, rt)?)));
    }
    Ok(Some(match (l, r) {
        (Value::Str(a), Value::Str(b)) => {
            let fold = |s: &str| s.trim_end_matches(' ').to_lowercase();
            fold(a).cmp(&fold(b))
        }
        (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
        (Value::Guid(a), Value::Guid(b)) => a.cmp(b),
        _ => {
            return Err(SqlError::new(
                402,
                format!("The data types {} and {} are incompatible in the equal to operator.", lt.name(), rt.name()),
            ))
        }
    }))
}

fn compare_numbers(lt: &SqlType, l: &Value, rt: &SqlType, r: &Value) -> Result<std::cmp::Ordering, SqlError> {
    if matches!(lt, SqlType::Float | SqlType::Real) || matches!(rt, SqlType::Float | SqlType::Real) {
        let as_float = |v: &Value, ty: &SqlType| match convert(v, ty, &SqlType::Float)? {
            Value::Float(f) => Ok(f),
            other => Err(SqlError::not_supported(format!("Comparing {other:?}"))),
        };
        return as_float(l, lt)?.partial_cmp(&as_float(r, rt)?).ok_or_else(|| SqlError::not_supported("Comparing NaN"));
    }
    let (a, sa) = exact(l)?;
    let (b, sb) = exact(r)?;
    let scale = sa.max(sb);
    let widen = |u: i128, s: u8| u.checked_mul(10i128.pow((scale - s) as u32));
    match (widen(a, sa), widen(b, sb)) {
        (Some(a), Some(b)) => Ok(a.cmp(&b)),
        _ => Err(SqlError::not_supported("A comparison of numbers this wide")),
    }
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
            let (lo, hi) = super::convert::int_range(&ty);
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

/// An identity value as SQL Server returns it from SCOPE_IDENTITY() and @@IDENTITY: numeric(38,0).
fn identity_value(value: Option<i64>) -> Typed {
    Typed {
        ty: SqlType::Numeric { precision: 38, scale: 0 },
        nullable: true,
        value: Ok(value.map_or(Value::Null, |v| Value::Decimal(v as i128, 0))),
    }
}

/// SET LOCK_TIMEOUT's milliseconds (@@LOCK_TIMEOUT): -1, waiting forever, until set.
pub fn lock_timeout(options: &HashMap<String, String>) -> i64 {
    options.get("LOCK_TIMEOUT").and_then(|v| v.parse().ok()).unwrap_or(-1)
}

fn system_variable(name: &str, scope: &Scope) -> Result<Typed, SqlError> {
    let (ty, value) = match name {
        "VERSION" => (SqlType::NVarChar(Some(300)), Value::Str(VERSION_TEXT.to_string())),
        "SPID" => (SqlType::SmallInt, Value::Int(scope.spid as i64)),
        "TRANCOUNT" => (SqlType::Int, Value::Int(scope.trancount as i64)),
        "LOCK_TIMEOUT" => (SqlType::Int, Value::Int(lock_timeout(scope.options))),
        "ERROR" => (SqlType::Int, Value::Int(scope.session.map_or(0, |s| s.last_error) as i64)),
        "DATEFIRST" => (SqlType::TinyInt, Value::Int(7)),
        "NESTLEVEL" => (SqlType::Int, Value::Int(scope.session.map_or(0, |s| s.nesting_level) as i64)),
        "ROWCOUNT" => (SqlType::Int, Value::Int(scope.rowcount as i64)),
        "IDENTITY" => return Ok(identity_value(scope.identity)),
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
        let scope = Scope::for_tests(&vars, &options);
        let stmts = parse_batch(&format!("SELECT {sql}")).unwrap();
        let (Statement::Select(items, _), _) = &stmts[0] else { panic!("not a select") };
        let t = eval(&items[0].expr, &scope).unwrap();
        (t.ty, t.nullable, t.value.unwrap())
    }

    fn filter(sql: &str) -> Truth {
        let vars = HashMap::new();
        let options = HashMap::new();
        let scope = Scope::for_tests(&vars, &options);
        let stmts = parse_batch(&format!("SELECT 1 WHERE {sql}")).unwrap();
        let (Statement::Select(_, Some(f)), _) = &stmts[0] else { panic!("no filter") };
        eval_condition(f, &scope)
    }

    #[test]
    fn where_compares_numbers_exactly() {
        assert_eq!(filter("1 = 0"), Ok(Ok(Some(false))));
        assert_eq!(filter("1 = 1.00"), Ok(Ok(Some(true))));
        assert_eq!(filter("0.1 < 0.10000000000000000001"), Ok(Ok(Some(true))));
        assert_eq!(filter("CAST(1 AS bit) >= $0.9999"), Ok(Ok(Some(true))));
        assert_eq!(filter("2 <> 2E0"), Ok(Ok(Some(false))));
        assert_eq!(filter("NULL = NULL"), Ok(Ok(None)));
        assert_eq!(filter("CAST('x' AS int) = 1").unwrap().unwrap_err().number, 245);
    }

    #[test]
    fn three_valued_logic_and_string_comparisons() {
        // SQL_Latin1_General_CP1_CI_AS: case and trailing spaces do not matter
        assert_eq!(filter("'a' = 'A  '"), Ok(Ok(Some(true))));
        assert_eq!(filter("NULL = 1 OR 1 = 1"), Ok(Ok(Some(true))));
        assert_eq!(filter("NULL = 1 AND 1 = 1"), Ok(Ok(None)));
        assert_eq!(filter("NULL = 1 AND 1 = 0"), Ok(Ok(Some(false))));
        assert_eq!(filter("NOT NULL = 1"), Ok(Ok(None)));
        assert_eq!(filter("2 NOT IN (1, NULL)"), Ok(Ok(None)));
        assert_eq!(filter("2 IN (1, NULL, 2)"), Ok(Ok(Some(true))));
        assert_eq!(filter("'abc' LIKE 'A%'"), Ok(Ok(Some(true))));
        assert_eq!(filter("5 NOT BETWEEN 1 AND 4"), Ok(Ok(Some(true))));
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
