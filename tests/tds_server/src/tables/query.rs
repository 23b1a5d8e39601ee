//! SELECT on tables: one FROM source (a table or a derived table `(query) AS t`), WHERE,
//! GROUP BY with the aggregates COUNT, COUNT_BIG, MIN, MAX, SUM and AVG (typed as SQL Server
//! types them), ORDER BY and TOP.

use std::cmp::Ordering;

use sqlparser::ast;

use super::{catalog_column, find_table, qualifies, row_scope, store, translate, value_of};
use crate::engine::scope;
use crate::engine::{Event, Session};
use crate::sql::convert::convert;
use crate::sql::eval::{compare, eval, Variables};
use crate::sql::parser::{Expr, SqlError};
use crate::types::{ColumnDef, SqlType};
use crate::value::Value;

/// The typed values of a row's ORDER BY (or GROUP BY) expressions.
type Key = Vec<(SqlType, Value)>;

/// A query's result: its columns, the rows computed, and the run-time error that stopped it, if any.
pub(super) struct ResultSet {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
    pub error: Option<SqlError>,
}

/// Runs a SELECT statement, appending its result; returns its row count.
pub(super) fn select(
    session: &mut Session,
    query: &ast::Query,
    variables: &Variables,
    events: &mut Vec<Event>,
) -> Result<u64, SqlError> {
    let result = run_query(session, query, variables)?;
    events.push(Event::ColMetadata(result.columns));
    let fmtonly = session.options.get("FMTONLY").is_some_and(|v| v.eq_ignore_ascii_case("ON"));
    let count = if fmtonly { 0 } else { result.rows.len() as u64 };
    if !fmtonly {
        events.extend(result.rows.into_iter().map(Event::Row));
    }
    result.error.map_or(Ok(count), Err)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Aggregate {
    Count,
    CountBig,
    Min,
    Max,
    Sum,
    Avg,
}

/// What computes an output column.
enum Item {
    Plain(Expr),
    /// The aggregate and its argument (`None` for `COUNT(*)`), with the argument's type
    Aggregate(Aggregate, Option<(Expr, SqlType)>),
}

struct Output {
    column: ColumnDef,
    item: Item,
}

pub(super) fn run_query(
    session: &mut Session,
    query: &ast::Query,
    variables: &Variables,
) -> Result<ResultSet, SqlError> {
    let ast::SetExpr::Select(select) = query.body.as_ref() else {
        return Err(SqlError::not_supported("A query other than one SELECT"));
    };
    if query.with.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
        || !query.locks.is_empty()
        || query.for_clause.is_some()
    {
        return Err(SqlError::not_supported("WITH, OFFSET/FETCH or FOR clauses"));
    }
    if select.distinct.is_some() || select.into.is_some() || select.having.is_some() {
        return Err(SqlError::not_supported("DISTINCT, INTO or HAVING"));
    }
    let group_by = match &select.group_by {
        ast::GroupByExpr::Expressions(g, m) if m.is_empty() => {
            g.iter().map(translate).collect::<Result<Vec<_>, _>>()?
        }
        _ => return Err(SqlError::not_supported("GROUP BY ALL or its modifiers")),
    };
    let (source_columns, source_rows) = relation(session, &select.from, variables)?;
    let session: &Session = session;
    let null_row = row_scope(&source_columns, &vec![Value::Null; source_columns.len()]);
    let typing_scope = scope(session, variables, &null_row);
    let mut outputs = Vec::new();
    for item in &select.projection {
        let (e, alias) = match item {
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                outputs.extend(
                    source_columns
                        .iter()
                        .map(|c| Output { column: c.clone(), item: Item::Plain(Expr::Column(c.name.clone())) }),
                );
                continue;
            }
            ast::SelectItem::UnnamedExpr(e) => (e, None),
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        };
        let output = match aggregate_call(e)? {
            Some((aggregate, argument)) => {
                let argument = match argument {
                    None => None,
                    Some(a) => {
                        let ty = eval(&a, &typing_scope)?.ty;
                        Some((a, ty))
                    }
                };
                let ty = aggregate_type(aggregate, argument.as_ref().map(|(_, t)| t))?;
                let column = ColumnDef {
                    name: alias.unwrap_or_default(),
                    ty,
                    nullable: true,
                    updatable: false,
                    identity: false,
                    computed: true,
                };
                Output { column, item: Item::Aggregate(aggregate, argument) }
            }
            None => {
                let expr = translate(e)?;
                let typed = eval(&expr, &typing_scope)?;
                let column = match &expr {
                    // a source column keeps its metadata (flags included), under its alias
                    Expr::Column(name) => {
                        let c = source_columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).expect("typed above");
                        ColumnDef { name: alias.unwrap_or_else(|| c.name.clone()), ..c.clone() }
                    }
                    _ => ColumnDef {
                        name: alias.unwrap_or_default(),
                        ty: typed.ty,
                        nullable: typed.nullable,
                        updatable: false,
                        identity: false,
                        computed: true,
                    },
                };
                Output { column, item: Item::Plain(expr) }
            }
        };
        outputs.push(output);
    }
    let grouped = !group_by.is_empty() || outputs.iter().any(|o| matches!(o.item, Item::Aggregate(..)));
    if grouped {
        for o in &outputs {
            if let Item::Plain(e) = &o.item {
                if !group_by.contains(e) {
                    let name = match e {
                        Expr::Column(n) => n.clone(),
                        _ => o.column.name.clone(),
                    };
                    return Err(SqlError::new(8120, format!("Column '{name}' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.")));
                }
            }
        }
    }
    let top = top(select.top.as_ref(), &typing_scope)?;
    let order: Vec<(Expr, bool)> = match &query.order_by {
        None => Vec::new(),
        Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(keys), .. }) => keys
            .iter()
            .map(|k| Ok((translate(&k.expr)?, k.options.asc != Some(false))))
            .collect::<Result<_, SqlError>>()?,
        Some(_) => return Err(SqlError::not_supported("ORDER BY ALL")),
    };
    let columns: Vec<ColumnDef> = outputs.iter().map(|o| o.column.clone()).collect();
    let mut error = None;
    // the qualifying source rows, then the output rows with their sort keys
    let mut qualifying = Vec::new();
    for values in source_rows {
        let row = row_scope(&source_columns, &values);
        match qualifies(select.selection.as_ref(), &scope(session, variables, &row)) {
            Ok(true) => qualifying.push(values),
            Ok(false) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let mut rows: Vec<(Key, Vec<Value>)> = Vec::new();
    // an ungrouped query is one group per row
    let groups = if grouped {
        groups(session, variables, &source_columns, &qualifying, &group_by)
    } else {
        Ok(qualifying.iter().map(|r| vec![r]).collect())
    };
    let computed = groups.and_then(|groups| {
        for group in groups {
            let first = group.first().map(|r| row_scope(&source_columns, r));
            let out = outputs
                .iter()
                .map(|o| match (&o.item, &first) {
                    (Item::Plain(e), Some(row)) => eval(e, &scope(session, variables, row))?.value,
                    // no row: only aggregates are selected (checked above)
                    (Item::Plain(_), None) => Ok(Value::Null),
                    (Item::Aggregate(a, argument), _) => {
                        aggregate(session, variables, &source_columns, &group, *a, argument.as_ref(), &o.column.ty)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            // ORDER BY sees the source row, or the output columns of a grouped query
            let keys = match (&first, grouped) {
                (Some(row), false) => sort_keys(&order, &scope(session, variables, row))?,
                _ => sort_keys(&order, &scope(session, variables, &row_scope(&columns, &out)))?,
            };
            rows.push((keys, out));
        }
        Ok(())
    });
    if let Err(e) = computed {
        error.get_or_insert(e);
    }
    if !order.is_empty() {
        rows.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .zip(&order)
                .map(|(((ta, va), (tb, vb)), (_, ascending))| {
                    let o = sort_order(ta, va, tb, vb);
                    if *ascending {
                        o
                    } else {
                        o.reverse()
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    if let Some(n) = top {
        rows.truncate(n as usize);
    }
    Ok(ResultSet { columns, rows: rows.into_iter().map(|(_, r)| r).collect(), error })
}

/// The columns and rows of a FROM clause: one table or one derived table.
fn relation(
    session: &mut Session,
    from: &[ast::TableWithJoins],
    variables: &Variables,
) -> Result<(Vec<ColumnDef>, Vec<Vec<Value>>), SqlError> {
    let [ast::TableWithJoins { relation, joins }] = from else {
        return Err(SqlError::not_supported("A FROM clause other than one table"));
    };
    if !joins.is_empty() {
        return Err(SqlError::not_supported("JOIN"));
    }
    match relation {
        ast::TableFactor::Table { name, args: None, .. } => {
            let store = store(session)?;
            let table = find_table(store, name)?;
            let rows = store.scan(&table)?.into_iter().map(|(_, values)| values).collect();
            Ok((table.columns.iter().map(catalog_column).collect(), rows))
        }
        ast::TableFactor::Derived { lateral: false, subquery, alias, sample: None } => {
            let result = run_query(session, subquery, variables)?;
            if let Some(e) = result.error {
                return Err(e);
            }
            let alias = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_default();
            if let Some(i) = result.columns.iter().position(|c| c.name.is_empty()) {
                return Err(SqlError::new(
                    8155,
                    format!("No column name was specified for column {} of '{alias}'.", i + 1),
                ));
            }
            Ok((result.columns, result.rows))
        }
        _ => Err(SqlError::not_supported("This kind of FROM source")),
    }
}

fn top(top: Option<&ast::Top>, scope: &crate::sql::eval::Scope) -> Result<Option<u64>, SqlError> {
    Ok(match top {
        None => None,
        Some(ast::Top { with_ties: false, percent: false, quantity: Some(q) }) => Some(match q {
            ast::TopQuantity::Constant(n) => *n,
            ast::TopQuantity::Expr(e) => {
                let (typed, v) = value_of(e, scope)?;
                match convert(&v, &typed.ty, &SqlType::BigInt)? {
                    Value::Int(n) if n >= 0 => n as u64,
                    _ => {
                        return Err(SqlError::new(
                            1060,
                            "The number of rows provided for a TOP or FETCH clauses row count parameter must be an integer.",
                        ))
                    }
                }
            }
        }),
        Some(_) => return Err(SqlError::not_supported("TOP PERCENT or WITH TIES")),
    })
}

fn sort_keys(order: &[(Expr, bool)], scope: &crate::sql::eval::Scope) -> Result<Key, SqlError> {
    order
        .iter()
        .map(|(e, _)| {
            let t = eval(e, scope)?;
            Ok((t.ty, t.value?))
        })
        .collect()
}

/// ORDER BY's order: NULL first, as the lowest value.
fn sort_order(ta: &SqlType, a: &Value, tb: &SqlType, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // values of one column always compare
        _ => compare(ta, a, tb, b).ok().flatten().unwrap_or(Ordering::Equal),
    }
}

/// The qualifying rows split by the GROUP BY values, in order of first appearance; without
/// GROUP BY, one group of all rows (even none).
fn groups<'r>(
    session: &Session,
    variables: &Variables,
    columns: &[ColumnDef],
    rows: &'r [Vec<Value>],
    group_by: &[Expr],
) -> Result<Vec<Vec<&'r Vec<Value>>>, SqlError> {
    if group_by.is_empty() {
        return Ok(vec![rows.iter().collect()]);
    }
    let mut groups: Vec<(Key, Vec<&Vec<Value>>)> = Vec::new();
    for values in rows {
        let row = row_scope(columns, values);
        let key = sort_keys(
            &group_by.iter().map(|e| (e.clone(), true)).collect::<Vec<_>>(),
            &scope(session, variables, &row),
        )?;
        let same =
            |other: &Key| key.iter().zip(other).all(|((ta, a), (tb, b))| sort_order(ta, a, tb, b) == Ordering::Equal);
        match groups.iter_mut().find(|(k, _)| same(k)) {
            Some((_, members)) => members.push(values),
            None => groups.push((key, vec![values])),
        }
    }
    Ok(groups.into_iter().map(|(_, members)| members).collect())
}

/// `COUNT(*)`, `MIN(x)` ...: the aggregate and its argument; `None` for other expressions.
fn aggregate_call(e: &ast::Expr) -> Result<Option<(Aggregate, Option<Expr>)>, SqlError> {
    let ast::Expr::Function(f) = e else { return Ok(None) };
    let name = f.name.to_string().to_uppercase();
    let aggregate = match name.as_str() {
        "COUNT" => Aggregate::Count,
        "COUNT_BIG" => Aggregate::CountBig,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        "SUM" => Aggregate::Sum,
        "AVG" => Aggregate::Avg,
        _ => return Ok(None),
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::not_supported(format!("{name} without an argument list")));
    };
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() || list.duplicate_treatment.is_some() {
        return Err(SqlError::not_supported(format!("{name} with DISTINCT, OVER or FILTER")));
    }
    match list.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]
            if matches!(aggregate, Aggregate::Count | Aggregate::CountBig) =>
        {
            Ok(Some((aggregate, None)))
        }
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] => Ok(Some((aggregate, Some(translate(a)?)))),
        _ => Err(SqlError::new(174, format!("The {} function requires 1 argument(s).", name.to_lowercase()))),
    }
}

/// The type SQL Server gives an aggregate of an argument of type `argument`.
fn aggregate_type(aggregate: Aggregate, argument: Option<&SqlType>) -> Result<SqlType, SqlError> {
    let Some(ty) = argument else {
        return Ok(if aggregate == Aggregate::CountBig { SqlType::BigInt } else { SqlType::Int });
    };
    let verb = match aggregate {
        Aggregate::Count => return Ok(SqlType::Int),
        Aggregate::CountBig => return Ok(SqlType::BigInt),
        Aggregate::Min | Aggregate::Max => return Ok(ty.clone()),
        Aggregate::Sum => "sum",
        Aggregate::Avg => "avg",
    };
    Ok(match ty {
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int => SqlType::Int,
        SqlType::BigInt => SqlType::BigInt,
        SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => {
            let scale = if aggregate == Aggregate::Avg { (*scale).max(6) } else { *scale };
            SqlType::Decimal { precision: 38, scale }
        }
        SqlType::Money | SqlType::SmallMoney => SqlType::Money,
        SqlType::Real | SqlType::Float => SqlType::Float,
        other => {
            return Err(SqlError::new(
                8117,
                format!("Operand data type {} is invalid for {verb} operator.", other.name()),
            ))
        }
    })
}

/// An aggregate over a group's rows (NULL arguments are left out, as SQL Server does).
fn aggregate(
    session: &Session,
    variables: &Variables,
    columns: &[ColumnDef],
    group: &[&Vec<Value>],
    aggregate: Aggregate,
    argument: Option<&(Expr, SqlType)>,
    result: &SqlType,
) -> Result<Value, SqlError> {
    let Some((expr, ty)) = argument else {
        return Ok(Value::Int(group.len() as i64));
    };
    let mut values = Vec::new();
    for values_of_row in group {
        let row = row_scope(columns, values_of_row);
        let v = eval(expr, &scope(session, variables, &row))?.value?;
        if !v.is_null() {
            values.push(v);
        }
    }
    let n = values.len();
    match aggregate {
        Aggregate::Count | Aggregate::CountBig => return Ok(Value::Int(n as i64)),
        Aggregate::Min | Aggregate::Max => {
            let wanted = if aggregate == Aggregate::Min { Ordering::Less } else { Ordering::Greater };
            return Ok(values
                .into_iter()
                .reduce(|best, v| if sort_order(ty, &v, ty, &best) == wanted { v } else { best })
                .unwrap_or(Value::Null));
        }
        Aggregate::Sum | Aggregate::Avg => {}
    }
    if n == 0 {
        return Ok(Value::Null);
    }
    let overflow = || {
        SqlError::new(8115, format!("Arithmetic overflow error converting expression to data type {}.", result.name()))
    };
    if matches!(result, SqlType::Float) {
        let mut sum = 0.0;
        for v in &values {
            if let Value::Float(f) = convert(v, ty, &SqlType::Float)? {
                sum += f;
            }
        }
        return Ok(Value::Float(if aggregate == Aggregate::Avg { sum / n as f64 } else { sum }));
    }
    // exact: sum the unscaled values at the result's scale, then check the result's range
    let mut sum: i128 = 0;
    for v in &values {
        let unscaled = match convert(v, ty, result)? {
            Value::Int(i) => i as i128,
            Value::Money(m) => m as i128,
            Value::Decimal(u, _) => u,
            other => return Err(SqlError::not_supported(format!("Summing {other:?}"))),
        };
        sum = sum.checked_add(unscaled).ok_or_else(overflow)?;
    }
    if aggregate == Aggregate::Avg {
        // integer division truncates toward zero, as SQL Server's AVG does
        sum /= n as i128;
    }
    match result {
        SqlType::Int if i32::try_from(sum).is_ok() => Ok(Value::Int(sum as i64)),
        SqlType::BigInt if i64::try_from(sum).is_ok() => Ok(Value::Int(sum as i64)),
        SqlType::Money if i64::try_from(sum).is_ok() => Ok(Value::Money(sum as i64)),
        SqlType::Decimal { precision, scale } if crate::types::fits_precision(sum, *precision) => {
            Ok(Value::Decimal(sum, *scale))
        }
        _ => Err(overflow()),
    }
}
