//! SELECT on tables: FROM tables, views, the catalog's views, common table expressions and
//! derived tables `(query) AS t`, joined (INNER, LEFT [OUTER], RIGHT [OUTER], CROSS; nested
//! loops), WHERE, GROUP BY and HAVING with the aggregates COUNT, COUNT_BIG, MIN, MAX, SUM and AVG
//! (typed as SQL Server types them), DISTINCT, UNION [ALL], ORDER BY (by expression or position),
//! TOP and OFFSET/FETCH; subqueries, correlated ones too.
//!
//! A SELECT without grouping, DISTINCT or ORDER BY computes its rows one at a time (INNER and CROSS
//! joins as nested loops) and hands each on as it is made: a statement's rows reach the client
//! encoded, so a big join is never held as values. Comparisons of a derived table's columns with
//! constants go into the derived table's own WHERE, where SQLite reads just the rows in a range
//! of an integer column (from an index when there is one) instead of all of them.

mod grouping;

use std::cmp::Ordering;
use std::rc::Rc;

use sqlparser::ast;

use super::store::Reading;
use super::{
    candidate_rows, catalog, catalog_column, conjuncts, modules, qualified_row_scope, qualifies, row_scope,
    session_reading, table_name, translate, translate_condition, value_of,
};
use crate::engine::scope;
use crate::engine::{EncodedRows, Event, Session};
use crate::sql::arithmetic::common_type;
use crate::sql::convert::convert;
use crate::sql::eval::{column_index, compare, eval, ColumnValue, Scope, Variables};
use crate::sql::parser::{Condition, Expr, SqlError};
use crate::types::{ColumnDef, SqlType};
use crate::value::Value;
use grouping::Grouping;

/// The typed values of a row's ORDER BY (or GROUP BY) expressions.
type Key = Vec<(SqlType, Value)>;

/// A query's result: its columns, the rows computed, and the run-time error that stopped it, if any.
pub(super) struct ResultSet {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
    pub error: Option<SqlError>,
    /// The source row of each result row, for `SELECT @v = ... FROM`: kept when the context asks
    /// for them and the query is one ungrouped SELECT
    pub sources: Option<Vec<Vec<ColumnValue>>>,
}

/// What a query reads besides its tables: the session (and its store), the batch's variables, the
/// row of the query a correlated subquery belongs to, and the common table expressions in scope.
pub(super) struct Context<'a> {
    pub session: &'a Session,
    pub variables: &'a Variables,
    /// The outer queries' current row, nearest first (marked `outer`)
    outer: Vec<ColumnValue>,
    ctes: Vec<Rc<Cte>>,
    /// Keep each result row's source row (`ResultSet::sources`)
    keep_sources: bool,
}

/// A common table expression, computed once.
struct Cte {
    name: String,
    result: ResultSet,
}

impl<'a> Context<'a> {
    /// The context of a statement: no outer row, no common table expressions.
    pub fn new(session: &'a Session, variables: &'a Variables) -> Context<'a> {
        Context { session, variables, outer: Vec::new(), ctes: Vec::new(), keep_sources: false }
    }

    /// The context of a query whose result rows' source rows are wanted.
    pub fn keeping_sources(self) -> Context<'a> {
        Context { keep_sources: true, ..self }
    }

    /// The context of a correlated subquery: `outer` is the row of the query it belongs to.
    pub fn with_outer(self, outer: Vec<ColumnValue>) -> Context<'a> {
        Context { outer, ..self }
    }

    /// The columns an expression on `row` sees: the row's own, then the outer queries'.
    fn columns(&self, mut row: Vec<ColumnValue>) -> Vec<ColumnValue> {
        row.extend(self.outer.iter().cloned());
        row
    }

    fn scope<'s>(&'s self, columns: &'s [ColumnValue]) -> Scope<'s> {
        scope(self.session, self.variables, columns)
    }

    /// A context for a query nested in this one (a derived table or a CTE's body: no outer row of its own).
    fn nested(&self) -> Context<'a> {
        Context {
            session: self.session,
            variables: self.variables,
            outer: self.outer.clone(),
            ctes: self.ctes.clone(),
            keep_sources: false,
        }
    }

    fn cte(&self, name: &ast::ObjectName) -> Option<Rc<Cte>> {
        let [part] = name.0.as_slice() else {
            return None;
        };
        let name = part.as_ident()?.value.as_str();
        self.ctes.iter().rev().find(|c| c.name.eq_ignore_ascii_case(name)).cloned()
    }
}

/// Runs a SELECT statement, appending its result; returns its row count. A plain SELECT's rows
/// go out as they are computed (without ORDER BY, grouping or DISTINCT, none is held).
pub(super) fn select(
    session: &Session,
    query: &ast::Query,
    variables: &Variables,
    events: &mut Vec<Event>,
) -> Result<u64, SqlError> {
    let cx = Context::new(session, variables);
    let fmtonly = session.options.get("FMTONLY").is_some_and(|v| v.eq_ignore_ascii_case("ON"));
    let mut sink = ClientRows::new(events, session.encode_rows && !fmtonly, fmtonly);
    let error = match plain_select(query) {
        Some(select) => select_into(&cx, select, &order_by(query)?, &mut sink)?.0,
        None => {
            let result = run_query(&cx, query)?;
            sink.columns(&result.columns);
            for row in result.rows {
                sink.row(row);
            }
            result.error
        }
    };
    let count = sink.finish();
    error.map_or(Ok(count), Err)
}

/// The SELECT of a query that is one SELECT with at most ORDER BY: no WITH, OFFSET/FETCH or FOR.
fn plain_select(query: &ast::Query) -> Option<&ast::Select> {
    let plain = query.with.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.locks.is_empty()
        && query.for_clause.is_none();
    match query.body.as_ref() {
        ast::SetExpr::Select(select) if plain => Some(select),
        _ => None,
    }
}

/// A query's ORDER BY keys with their directions (true: ascending).
fn order_by(query: &ast::Query) -> Result<Vec<(ast::Expr, bool)>, SqlError> {
    match &query.order_by {
        None => Ok(Vec::new()),
        Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(keys), .. }) => {
            Ok(keys.iter().map(|k| (k.expr.clone(), k.options.asc != Some(false))).collect())
        }
        Some(_) => Err(SqlError::not_supported("ORDER BY ALL")),
    }
}

/// Where a SELECT's rows go as they are computed: the result's columns first, then each row.
trait RowSink {
    fn columns(&mut self, columns: &[ColumnDef]);
    fn row(&mut self, row: Vec<Value>);
}

/// A result held whole (a derived table, a subquery, a view, a CTE).
#[derive(Default)]
struct Collected {
    columns: Vec<ColumnDef>,
    rows: Vec<Vec<Value>>,
}

impl RowSink for Collected {
    fn columns(&mut self, columns: &[ColumnDef]) {
        self.columns = columns.to_vec();
    }

    fn row(&mut self, row: Vec<Value>) {
        self.rows.push(row);
    }
}

/// A statement's result on its way to the client: COLMETADATA, then its rows, one event each or
/// (when the session asks for it) encoded into chunks of ROW tokens, some ten times smaller.
struct ClientRows<'e> {
    events: &'e mut Vec<Event>,
    columns: Vec<ColumnDef>,
    encode: bool,
    /// FMTONLY: the rows are counted as none and not sent
    discard: bool,
    count: u64,
    chunk: EncodedRows,
}

/// Rows encoded into one chunk before it becomes an event.
const CHUNK_BYTES: usize = 64 * 1024;

impl<'e> ClientRows<'e> {
    fn new(events: &'e mut Vec<Event>, encode: bool, discard: bool) -> ClientRows<'e> {
        ClientRows { events, columns: Vec::new(), encode, discard, count: 0, chunk: EncodedRows::default() }
    }

    fn flush(&mut self) {
        if !self.chunk.is_empty() {
            self.events.push(Event::EncodedRows(std::mem::take(&mut self.chunk)));
        }
    }

    /// Sends what is left; returns the row count.
    fn finish(mut self) -> u64 {
        self.flush();
        self.count
    }
}

impl RowSink for ClientRows<'_> {
    fn columns(&mut self, columns: &[ColumnDef]) {
        self.columns = columns.to_vec();
        self.events.push(Event::ColMetadata(self.columns.clone()));
    }

    fn row(&mut self, row: Vec<Value>) {
        if self.discard {
            return;
        }
        self.count += 1;
        if !self.encode {
            self.events.push(Event::Row(row));
            return;
        }
        if self.chunk.push(&self.columns, &row).is_err() {
            // the protocol layer reports a value it cannot encode, ending the response there
            self.flush();
            self.events.push(Event::Row(row));
        } else if self.chunk.len() >= CHUNK_BYTES {
            self.flush();
        }
    }
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
    /// An expression over aggregates (`COUNT(*) + 1`, `ISNULL(SUM(x), 0)`): they are hidden
    /// outputs named `__aggregate_<n>`, which the expression reads
    OverAggregates(Expr),
    /// The aggregate and its argument (`None` for `COUNT(*)`), with the argument's type
    Aggregate(Aggregate, Option<(Expr, SqlType)>),
    /// `STRING_AGG(value, separator) [WITHIN GROUP (ORDER BY ...)]`
    StringAgg(Box<StringAgg>),
}

struct StringAgg {
    value: Expr,
    value_type: SqlType,
    separator: Expr,
    order: Vec<(Expr, bool)>,
}

struct Output {
    column: ColumnDef,
    item: Item,
}

pub(super) fn run_query(cx: &Context, query: &ast::Query) -> Result<ResultSet, SqlError> {
    if !query.locks.is_empty() || query.for_clause.is_some() {
        return Err(SqlError::not_supported("FOR clauses"));
    }
    let with_ctes;
    let cx = match &query.with {
        None => cx,
        Some(with) => {
            if with.recursive {
                return Err(SqlError::not_supported("WITH RECURSIVE"));
            }
            let mut inner = cx.nested();
            for table in &with.cte_tables {
                let mut result = run_query(&inner, &table.query)?;
                if let Some(e) = result.error.take() {
                    return Err(e);
                }
                if !table.alias.columns.is_empty() {
                    if table.alias.columns.len() != result.columns.len() {
                        return Err(SqlError::new(
                            8158,
                            format!(
                                "'{}' has more columns than were specified in the column list.",
                                table.alias.name.value
                            ),
                        ));
                    }
                    for (column, alias) in result.columns.iter_mut().zip(&table.alias.columns) {
                        column.name = alias.name.value.clone();
                    }
                }
                inner.ctes.push(Rc::new(Cte { name: table.alias.name.value.clone(), result }));
            }
            with_ctes = inner;
            &with_ctes
        }
    };
    let order = order_by(query)?;
    let (offset, fetch) = paging(cx, query)?;
    if (offset.is_some() || fetch.is_some()) && order.is_empty() {
        return Err(SqlError::syntax_near(if offset.is_some() { "OFFSET" } else { "FETCH" }));
    }
    let mut result = match query.body.as_ref() {
        ast::SetExpr::Select(select) => {
            if offset.is_some() && select.top.is_some() {
                return Err(SqlError::new(10741, "A TOP can not be used in the same query or sub-query as a OFFSET."));
            }
            run_select(cx, select, &order)?
        }
        body => {
            let mut result = run_set_expr(cx, body)?;
            sort_by_output(cx, &mut result, &order)?;
            result
        }
    };
    if let Some(n) = offset {
        result.rows.drain(..(n as usize).min(result.rows.len()));
    }
    if let Some(n) = fetch {
        result.rows.truncate(n as usize);
    }
    Ok(result)
}

/// `OFFSET n ROWS` and `FETCH NEXT m ROWS ONLY`.
fn paging(cx: &Context, query: &ast::Query) -> Result<(Option<u64>, Option<u64>), SqlError> {
    let columns = cx.columns(Vec::new());
    let scope = cx.scope(&columns);
    let offset = match &query.limit_clause {
        None => None,
        Some(ast::LimitClause::LimitOffset { limit: None, offset: Some(o), limit_by }) if limit_by.is_empty() => {
            Some(row_count(&o.value, &scope, "OFFSET")?)
        }
        Some(_) => return Err(SqlError::not_supported("LIMIT")),
    };
    let fetch = match &query.fetch {
        None => None,
        Some(ast::Fetch { with_ties: false, percent: false, quantity: Some(q) }) => {
            Some(row_count(q, &scope, "FETCH")?)
        }
        Some(_) => return Err(SqlError::not_supported("FETCH with PERCENT or WITH TIES")),
    };
    Ok((offset, fetch))
}

fn row_count(e: &ast::Expr, scope: &Scope, clause: &str) -> Result<u64, SqlError> {
    let (typed, v) = value_of(e, scope)?;
    match convert(&v, &typed.ty, &SqlType::BigInt)? {
        Value::Int(n) if n >= 0 => Ok(n as u64),
        Value::Int(_) if clause == "OFFSET" => {
            Err(SqlError::new(10742, "The offset specified in a OFFSET clause may not be negative."))
        }
        _ => Err(SqlError::new(10744, "The number of rows provided for a FETCH clause must be greater then zero.")),
    }
}

/// A query body that is not a single SELECT: a parenthesized query, or a UNION, EXCEPT or
/// INTERSECT (sqlparser binds INTERSECT tighter than the others, as SQL Server does).
fn run_set_expr(cx: &Context, body: &ast::SetExpr) -> Result<ResultSet, SqlError> {
    match body {
        ast::SetExpr::Select(select) => run_select(cx, select, &[]),
        ast::SetExpr::Query(query) => run_query(cx, query),
        ast::SetExpr::SetOperation { op, set_quantifier, left, right } => {
            let operation = match (op, set_quantifier) {
                (ast::SetOperator::Union, ast::SetQuantifier::All) => SetOperation::UnionAll,
                (ast::SetOperator::Union, ast::SetQuantifier::None) => SetOperation::Union,
                (ast::SetOperator::Except, ast::SetQuantifier::None) => SetOperation::Except,
                (ast::SetOperator::Intersect, ast::SetQuantifier::None) => SetOperation::Intersect,
                // T-SQL has no EXCEPT ALL, INTERSECT ALL, UNION DISTINCT or MINUS
                (op, ast::SetQuantifier::None) => return Err(SqlError::syntax_near(&op.to_string())),
                (_, quantifier) => return Err(SqlError::syntax_near(&quantifier.to_string())),
            };
            let left = run_set_expr(cx, left)?;
            if left.error.is_some() {
                return Ok(left);
            }
            let right = run_set_expr(cx, right)?;
            combine(left, right, operation)
        }
        _ => Err(SqlError::not_supported("This kind of query")),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum SetOperation {
    UnionAll,
    Union,
    Except,
    Intersect,
}

/// `left <operation> right`: the columns are named by the left query and typed by data type
/// precedence; UNION ALL keeps every row, the others one of each (two NULLs being equal). A
/// column of UNION is nullable when either side's is, of EXCEPT and INTERSECT when the left's is.
fn combine(left: ResultSet, right: ResultSet, operation: SetOperation) -> Result<ResultSet, SqlError> {
    if left.columns.len() != right.columns.len() {
        return Err(SqlError::new(
            205,
            "All queries combined using a UNION, INTERSECT or EXCEPT operator must have an equal number of expressions in their target lists.",
        ));
    }
    let mut columns = Vec::new();
    for (l, r) in left.columns.iter().zip(&right.columns) {
        let union = matches!(operation, SetOperation::UnionAll | SetOperation::Union);
        columns.push(ColumnDef {
            name: l.name.clone(),
            ty: common_type(&l.ty, &r.ty)?,
            nullable: l.nullable || (union && r.nullable),
            updatable: false,
            identity: false,
            computed: true,
        });
    }
    let mut sides = Vec::new();
    for (source, part) in [(&left.columns, left.rows), (&right.columns, right.rows)] {
        let mut rows = Vec::new();
        for row in part {
            let converted = row
                .iter()
                .zip(source.iter().zip(&columns))
                .map(|(v, (from, to))| convert(v, &from.ty, &to.ty))
                .collect::<Result<Vec<_>, _>>();
            match converted {
                Ok(r) => rows.push(r),
                Err(e) => {
                    // the rows combined so far go out before the error, as they are streamed
                    let rows = sides.into_iter().flatten().chain(rows).collect();
                    return Ok(ResultSet { columns, rows, error: Some(e), sources: None });
                }
            }
        }
        sides.push(rows);
    }
    let [left_rows, right_rows]: [Vec<Vec<Value>>; 2] = sides.try_into().expect("two sides");
    let rows = match operation {
        SetOperation::UnionAll => left_rows.into_iter().chain(right_rows).collect(),
        SetOperation::Union => distinct_rows(&columns, left_rows.into_iter().chain(right_rows).collect()),
        SetOperation::Except | SetOperation::Intersect => distinct_rows(&columns, left_rows)
            .into_iter()
            .filter(|row| {
                right_rows.iter().any(|r| same_row(&columns, row, r)) == (operation == SetOperation::Intersect)
            })
            .collect(),
    };
    Ok(ResultSet { columns, rows, error: right.error, sources: None })
}

/// The rows without repeats (as equal under the columns' comparison), in order of first appearance.
fn distinct_rows(columns: &[ColumnDef], rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let mut kept: Vec<Vec<Value>> = Vec::new();
    for row in rows {
        if !kept.iter().any(|other| same_row(columns, &row, other)) {
            kept.push(row);
        }
    }
    kept
}

/// Whether two rows are equal under their columns' comparison (two NULLs being equal), column
/// by column as far as `columns` go.
fn same_row(columns: &[ColumnDef], a: &[Value], b: &[Value]) -> bool {
    a.iter().zip(b).zip(columns).all(|((x, y), c)| sort_order(&c.ty, x, &c.ty, y) == Ordering::Equal)
}

/// Sorts a result by ORDER BY keys over its own columns (by name or position).
fn sort_by_output(cx: &Context, result: &mut ResultSet, order: &[(ast::Expr, bool)]) -> Result<(), SqlError> {
    if order.is_empty() {
        return Ok(());
    }
    let keys: Vec<(OrderKey, bool)> = order
        .iter()
        .map(|(e, ascending)| Ok((order_key(e, result.columns.len())?, *ascending)))
        .collect::<Result<_, SqlError>>()?;
    let mut keyed = Vec::new();
    for row in std::mem::take(&mut result.rows) {
        let scope_row = cx.columns(row_scope(&result.columns, &row));
        let key = sort_keys(&keys, &cx.scope(&scope_row), &row)?;
        keyed.push((key, row));
    }
    sort_rows(&mut keyed, &keys);
    result.rows = keyed.into_iter().map(|(_, r)| r).collect();
    Ok(())
}

/// An ORDER BY key: an expression, or the position of an output column (`ORDER BY 2`).
enum OrderKey {
    Expression(Expr),
    Position(usize),
}

fn order_key(e: &ast::Expr, outputs: usize) -> Result<OrderKey, SqlError> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            return match n.parse::<usize>() {
                Ok(i) if (1..=outputs).contains(&i) => Ok(OrderKey::Position(i - 1)),
                _ => Err(SqlError::new(
                    108,
                    format!(
                        "The ORDER BY position number {n} is out of range of the number of items in the select list."
                    ),
                )),
            };
        }
    }
    Ok(OrderKey::Expression(translate(e)?))
}

/// The rows of a FROM clause, each column with the table name or alias that qualifies it.
struct Source {
    columns: Vec<ColumnDef>,
    qualifiers: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Source {
    fn scope_row(&self, values: &[Value]) -> Vec<ColumnValue> {
        qualified_row_scope(&self.columns, &self.qualifiers, values)
    }
}

/// `COUNT(*)` ... found in an expression of a grouped query (select list, HAVING, ORDER BY):
/// computed as hidden outputs named `__aggregate_<n>` that the rewritten expression reads.
fn extract_aggregates(e: &ast::Expr, found: &mut Vec<(Aggregate, Option<Expr>)>) -> Result<ast::Expr, SqlError> {
    let mut again = |inner: &ast::Expr| extract_aggregates(inner, found).map(Box::new);
    Ok(match e {
        ast::Expr::Function(f) => match aggregate_call(e)? {
            Some(call) => {
                found.push(call);
                ast::Expr::Identifier(ast::Ident::new(format!("__aggregate_{}", found.len() - 1)))
            }
            // a scalar function of aggregates: ISNULL(SUM(x), 0)
            None => {
                let mut f = f.clone();
                if let ast::FunctionArguments::List(list) = &mut f.args {
                    for arg in &mut list.args {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)) = arg {
                            *a = extract_aggregates(a, found)?;
                        }
                    }
                }
                ast::Expr::Function(f)
            }
        },
        ast::Expr::Cast { expr, .. } | ast::Expr::Convert { expr, .. } => {
            let mut converted = e.clone();
            if let ast::Expr::Cast { expr: inner, .. } | ast::Expr::Convert { expr: inner, .. } = &mut converted {
                *inner = again(expr)?;
            }
            converted
        }
        ast::Expr::Case { case_token, end_token, operand, conditions, else_result } => {
            let mut conditions = conditions.clone();
            for when in &mut conditions {
                when.condition = extract_aggregates(&when.condition, found)?;
                when.result = extract_aggregates(&when.result, found)?;
            }
            ast::Expr::Case {
                case_token: case_token.clone(),
                end_token: end_token.clone(),
                operand: operand.as_deref().map(|o| extract_aggregates(o, found).map(Box::new)).transpose()?,
                conditions,
                else_result: else_result.as_deref().map(|o| extract_aggregates(o, found).map(Box::new)).transpose()?,
            }
        }
        ast::Expr::BinaryOp { left, op, right } => {
            ast::Expr::BinaryOp { left: again(left)?, op: op.clone(), right: again(right)? }
        }
        ast::Expr::UnaryOp { op, expr } => ast::Expr::UnaryOp { op: *op, expr: again(expr)? },
        ast::Expr::Nested(inner) => ast::Expr::Nested(again(inner)?),
        ast::Expr::IsNull(inner) => ast::Expr::IsNull(again(inner)?),
        ast::Expr::IsNotNull(inner) => ast::Expr::IsNotNull(again(inner)?),
        ast::Expr::Between { expr, negated, low, high } => {
            ast::Expr::Between { expr: again(expr)?, negated: *negated, low: again(low)?, high: again(high)? }
        }
        other => other.clone(),
    })
}

/// One SELECT: FROM, WHERE, GROUP BY/HAVING, the select list, DISTINCT, ORDER BY and TOP.
fn run_select(cx: &Context, select: &ast::Select, order: &[(ast::Expr, bool)]) -> Result<ResultSet, SqlError> {
    let mut collected = Collected::default();
    let (error, sources) = select_into(cx, select, order, &mut collected)?;
    Ok(ResultSet { columns: collected.columns, rows: collected.rows, error, sources })
}

/// A SELECT's source rows from kept; its run-time error, if any, comes after the rows before it.
type Selected = (Option<SqlError>, Option<Vec<Vec<ColumnValue>>>);

/// Runs one SELECT into `sink`; returns its run-time error and (when the context keeps them) the
/// source row of each result row. Without grouping, DISTINCT or ORDER BY each row goes to the
/// sink as the joins produce it; otherwise they are all computed first.
fn select_into(
    cx: &Context,
    select: &ast::Select,
    order: &[(ast::Expr, bool)],
    sink: &mut dyn RowSink,
) -> Result<Selected, SqlError> {
    if select.into.is_some() {
        return Err(SqlError::not_supported("SELECT ... INTO"));
    }
    let distinct = match &select.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(other) => return Err(SqlError::not_supported(format!("{other}"))),
    };
    let group_by = match &select.group_by {
        ast::GroupByExpr::Expressions(g, m) if m.is_empty() => {
            g.iter().map(translate).collect::<Result<Vec<_>, _>>()?
        }
        _ => return Err(SqlError::not_supported("GROUP BY ALL or its modifiers")),
    };
    let joined = from_clause(cx, select)?;
    let source = &joined.layout;
    let selection = match &select.selection {
        Some(e) if !joined.filtered => Some(translate_condition(e)?),
        _ => None,
    };
    let null_row = cx.columns(source.scope_row(&vec![Value::Null; source.columns.len()]));
    let typing_scope = cx.scope(&null_row);
    let mut outputs = Vec::new();
    // aggregates inside expressions (of the select list, HAVING, ORDER BY), and their outputs
    let mut hidden = Vec::new();
    let mut hidden_outputs = Vec::new();
    for item in &select.projection {
        let (e, alias) = match item {
            ast::SelectItem::Wildcard(_) => {
                outputs.extend((0..source.columns.len()).map(|i| source_output(source, i)));
                continue;
            }
            ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let qualifier = name.0.last().map(|p| p.to_string()).unwrap_or_default();
                let qualifier = qualifier.trim_matches(|c| c == '[' || c == ']');
                let of_table: Vec<usize> = (0..source.columns.len())
                    .filter(|&i| source.qualifiers[i].eq_ignore_ascii_case(qualifier))
                    .collect();
                if of_table.is_empty() {
                    return Err(SqlError::new(
                        4104,
                        format!("The multi-part identifier \"{name}\" could not be bound."),
                    ));
                }
                outputs.extend(of_table.into_iter().map(|i| source_output(source, i)));
                continue;
            }
            ast::SelectItem::QualifiedWildcard(..) => return Err(SqlError::not_supported("This wildcard")),
            ast::SelectItem::UnnamedExpr(e) => (e, None),
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        };
        // assignments are split off before (tables::variable_assignments); one among columns is 141
        let assigns = match (e, &alias) {
            (_, Some(a)) => a.starts_with('@'),
            (ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, .. }, None) => {
                matches!(left.as_ref(), ast::Expr::Identifier(i) if i.value.starts_with('@'))
            }
            _ => false,
        };
        if assigns {
            return Err(SqlError::new(
                141,
                "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.",
            ));
        }
        let output = match (string_agg_call(e, &typing_scope)?, aggregate_call(e)?) {
            (Some(string_agg), _) => {
                let ty = string_agg_type(&string_agg.value_type);
                let column = ColumnDef {
                    name: alias.unwrap_or_default(),
                    ty,
                    nullable: true,
                    updatable: false,
                    identity: false,
                    computed: true,
                };
                Output { column, item: Item::StringAgg(Box::new(string_agg)) }
            }
            (None, Some((aggregate, argument))) => {
                aggregate_output(aggregate, argument, alias.unwrap_or_default(), &typing_scope)?
            }
            (None, None) if contains_aggregate(e)? => {
                let expr = translate(&extract_aggregates(e, &mut hidden)?)?;
                type_hidden_aggregates(&hidden, &mut hidden_outputs, &typing_scope)?;
                let aggregates: Vec<ColumnDef> = hidden_outputs.iter().map(|o: &Output| o.column.clone()).collect();
                let mut row = row_scope(&aggregates, &vec![Value::Null; aggregates.len()]);
                row.extend(null_row.iter().cloned());
                let typed = eval(&expr, &cx.scope(&row))?;
                let column = ColumnDef {
                    name: alias.unwrap_or_default(),
                    ty: typed.ty,
                    nullable: typed.nullable,
                    updatable: false,
                    identity: false,
                    computed: true,
                };
                Output { column, item: Item::OverAggregates(expr) }
            }
            (None, None) => {
                let expr = translate(e)?;
                let typed = eval(&expr, &typing_scope)?;
                // a source column (they come before the outer queries' in the row)
                let source_column = match &expr {
                    Expr::Column(name) => source.columns.get(column_index(&null_row, name)?),
                    _ => None,
                };
                let column = match source_column {
                    // a source column keeps its metadata (flags included), under its alias
                    Some(c) => ColumnDef { name: alias.unwrap_or_else(|| c.name.clone()), ..c.clone() },
                    None => ColumnDef {
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
    let visible = outputs.len();
    let grouped = !group_by.is_empty()
        || select.having.is_some()
        || outputs.iter().any(|o| matches!(o.item, Item::Aggregate(..) | Item::StringAgg(_) | Item::OverAggregates(_)));
    let having = match &select.having {
        Some(h) => Some(translate_condition(&extract_aggregates(h, &mut hidden)?)?),
        None => None,
    };
    let order: Vec<(ast::Expr, bool)> = if grouped {
        order.iter().map(|(e, a)| Ok((extract_aggregates(e, &mut hidden)?, *a))).collect::<Result<_, SqlError>>()?
    } else {
        order.to_vec()
    };
    type_hidden_aggregates(&hidden, &mut hidden_outputs, &typing_scope)?;
    outputs.extend(hidden_outputs);
    if grouped {
        let own = source.scope_row(&vec![Value::Null; source.columns.len()]);
        let grouping = Grouping { own: &own, group_by: &group_by };
        for o in &outputs {
            if let Item::Plain(e) | Item::OverAggregates(e) = &o.item {
                grouping.check(e)?;
            }
        }
    }
    let top = top(select.top.as_ref(), &typing_scope)?;
    let keys: Vec<(OrderKey, bool)> =
        order.iter().map(|(e, ascending)| Ok((order_key(e, visible)?, *ascending))).collect::<Result<_, SqlError>>()?;
    let columns: Vec<ColumnDef> = outputs.iter().map(|o| o.column.clone()).collect();
    if !grouped && !distinct && keys.is_empty() && !cx.keep_sources {
        sink.columns(&columns[..visible]);
        let streamed = stream_rows(cx, &joined, selection.as_ref(), &outputs[..visible], top, sink);
        return Ok((streamed.err(), None));
    }
    let source = &joined.into_source(cx)?;
    sink.columns(&columns[..visible]);
    let mut error = None;
    // the qualifying source rows, then the output rows with their sort keys
    let mut qualifying = Vec::new();
    for values in &source.rows {
        let row = cx.columns(source.scope_row(values));
        match qualifies(selection.as_ref(), &cx.scope(&row)) {
            Ok(true) => qualifying.push(values),
            Ok(false) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let mut rows: Vec<(Key, Vec<Value>)> = Vec::new();
    // each kept source row's index goes after the outputs, past what is visible
    let keep_sources = cx.keep_sources && !grouped;
    let mut sources = Vec::new();
    // an ungrouped query is one group per row
    let groups = if grouped {
        groups(cx, source, &qualifying, &group_by)
    } else {
        Ok(qualifying.iter().map(|r| vec![*r]).collect())
    };
    let computed = groups.and_then(|groups| {
        for group in groups {
            let first = group.first().map(|r| cx.columns(source.scope_row(r)));
            let out = outputs
                .iter()
                .map(|o| match (&o.item, &first) {
                    (Item::Plain(e), Some(row)) => eval(e, &cx.scope(row))?.value,
                    // no row (aggregates without GROUP BY over no rows): the rest reads no
                    // column of the sources (checked above)
                    (Item::Plain(e), None) => eval(e, &typing_scope)?.value,
                    (Item::Aggregate(a, argument), _) => {
                        aggregate(cx, source, &group, *a, argument.as_ref(), &o.column.ty)
                    }
                    (Item::StringAgg(agg), _) => string_agg(cx, source, &group, agg, &o.column.ty),
                    // computed below, once the aggregates are
                    (Item::OverAggregates(_), _) => Ok(Value::Null),
                })
                .collect::<Result<Vec<Value>, _>>()?;
            let mut out = out;
            if outputs.iter().any(|o| matches!(o.item, Item::OverAggregates(_))) {
                let mut row = row_scope(&columns, &out);
                row.extend(first.iter().flatten().cloned());
                let row = cx.columns(row);
                for (i, o) in outputs.iter().enumerate() {
                    if let Item::OverAggregates(e) = &o.item {
                        out[i] = eval(e, &cx.scope(&row))?.value?;
                    }
                }
            }
            if keep_sources {
                out.push(Value::Int(sources.len() as i64));
                sources.push(first.clone().unwrap_or_default());
            }
            // a grouped row is seen as its outputs (hidden aggregates included), then its first source row
            let key_row = match (&first, grouped) {
                // a plain row is seen as its source row, then its outputs (ORDER BY an alias)
                (Some(row), false) => {
                    let mut r = row.clone();
                    r.extend(row_scope(&columns, &out));
                    r
                }
                (first, _) => {
                    let mut r = row_scope(&columns, &out);
                    r.extend(first.iter().flatten().cloned());
                    r
                }
            };
            let key_row = cx.columns(key_row);
            let key_scope = cx.scope(&key_row);
            if let Some(h) = &having {
                if !qualifies(Some(h), &key_scope)? {
                    continue;
                }
            }
            let keys = sort_keys(&keys, &key_scope, &out)?;
            rows.push((keys, out));
        }
        Ok(())
    });
    if let Err(e) = computed {
        error.get_or_insert(e);
    }
    if distinct {
        let mut kept: Vec<(Key, Vec<Value>)> = Vec::new();
        for (key, out) in rows {
            if !kept.iter().any(|other| same_row(&columns[..visible], &out, &other.1)) {
                kept.push((key, out));
            }
        }
        rows = kept;
    }
    sort_rows(&mut rows, &keys);
    if let Some(n) = top {
        rows.truncate(n as usize);
    }
    let sources = keep_sources.then(|| {
        rows.iter()
            .map(|(_, r)| match r.last() {
                Some(Value::Int(i)) => std::mem::take(&mut sources[*i as usize]),
                _ => Vec::new(),
            })
            .collect()
    });
    for (_, mut row) in rows {
        row.truncate(visible);
        sink.row(row);
    }
    Ok((error, sources))
}

/// The rows of an ungrouped SELECT without DISTINCT or ORDER BY, each sent to `sink` as soon as
/// it is computed, up to TOP; a column of the source is copied, not evaluated.
fn stream_rows(
    cx: &Context,
    joined: &Joined,
    selection: Option<&Condition>,
    outputs: &[Output],
    top: Option<u64>,
    sink: &mut dyn RowSink,
) -> Result<(), SqlError> {
    if top == Some(0) {
        return Ok(());
    }
    let width = joined.layout.columns.len();
    let template = cx.columns(joined.layout.scope_row(&vec![Value::Null; width]));
    let copied: Vec<Option<usize>> = outputs
        .iter()
        .map(|o| match &o.item {
            Item::Plain(Expr::Column(name)) => column_index(&template, name).ok().filter(|&i| i < width),
            _ => None,
        })
        .collect();
    let evaluates = selection.is_some() || copied.iter().any(Option::is_none);
    let mut sent = 0;
    joined.for_each(cx, &mut |values| {
        let row = evaluates.then(|| {
            let mut row = template.clone();
            for (column, value) in row.iter_mut().zip(values) {
                column.value = value.clone();
            }
            row
        });
        let scope = row.as_deref().map(|row| cx.scope(row));
        if selection.is_some() && !qualifies(selection, scope.as_ref().expect("evaluated"))? {
            return Ok(true);
        }
        let mut out = Vec::with_capacity(outputs.len());
        for (output, copied) in outputs.iter().zip(&copied) {
            out.push(match (copied, &output.item, &scope) {
                (Some(i), _, _) => values[*i].clone(),
                (None, Item::Plain(e), Some(scope)) => eval(e, scope)?.value?,
                _ => unreachable!("an ungrouped query computes plain expressions"),
            });
        }
        sink.row(out);
        sent += 1;
        Ok(top.is_none_or(|n| sent < n))
    })
}

/// Whether an expression calls an aggregate (outside subqueries).
fn contains_aggregate(e: &ast::Expr) -> Result<bool, SqlError> {
    let mut found = Vec::new();
    extract_aggregates(e, &mut found)?;
    Ok(!found.is_empty())
}

/// Types the aggregates `hidden` found since the last call, as hidden outputs named `__aggregate_<n>`.
fn type_hidden_aggregates(
    hidden: &[(Aggregate, Option<Expr>)],
    outputs: &mut Vec<Output>,
    typing_scope: &Scope,
) -> Result<(), SqlError> {
    for (i, (aggregate, argument)) in hidden.iter().enumerate().skip(outputs.len()) {
        outputs.push(aggregate_output(*aggregate, argument.clone(), format!("__aggregate_{i}"), typing_scope)?);
    }
    Ok(())
}

/// The output of a source column selected by `*`.
fn source_output(source: &Source, i: usize) -> Output {
    let c = &source.columns[i];
    let name = format!("{}.{}", source.qualifiers[i], c.name);
    Output { column: c.clone(), item: Item::Plain(Expr::Column(name)) }
}

fn aggregate_output(
    aggregate: Aggregate,
    argument: Option<Expr>,
    name: String,
    typing_scope: &Scope,
) -> Result<Output, SqlError> {
    let argument = match argument {
        None => None,
        Some(a) => {
            let ty = eval(&a, typing_scope)?.ty;
            Some((a, ty))
        }
    };
    let ty = aggregate_type(aggregate, argument.as_ref().map(|(_, t)| t))?;
    let column = ColumnDef { name, ty, nullable: true, updatable: false, identity: false, computed: true };
    Ok(Output { column, item: Item::Aggregate(aggregate, argument) })
}

/// Sorts keyed rows by ORDER BY's directions (a stable sort: ties keep their order).
fn sort_rows(rows: &mut [(Key, Vec<Value>)], keys: &[(OrderKey, bool)]) {
    if keys.is_empty() {
        return;
    }
    rows.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b)
            .zip(keys)
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

/// A SELECT's FROM clause as tables and derived tables joined by nested loops as rows are
/// asked for: `on[k]` joins factor k to those before it (the ON of an INNER JOIN, `None` for
/// CROSS JOIN and commas). A FROM clause with outer joins is one factor, joined beforehand.
struct Joined {
    factors: Vec<Source>,
    on: Vec<Option<Condition>>,
    /// The joined columns and their qualifiers (no rows)
    layout: Source,
    /// Whether the rows are those the WHERE qualifies already (all of it went into a derived
    /// table, or is a range read of the only table)
    filtered: bool,
}

/// The FROM clause of `select`; one table alone has only the rows its WHERE can qualify.
fn from_clause(cx: &Context, select: &ast::Select) -> Result<Joined, SqlError> {
    use ast::JoinOperator as J;
    let inner = |operator: &J| matches!(operator, J::Join(_) | J::Inner(_) | J::CrossJoin(ast::JoinConstraint::None));
    let mut filtered = false;
    let (factors, on) = match select.from.as_slice() {
        // one table: a WHERE on an integer column = constant is looked up, not scanned
        [ast::TableWithJoins { relation: table @ ast::TableFactor::Table { .. }, joins }] if joins.is_empty() => {
            let (source, exact) = factor(cx, table, select.selection.as_ref())?;
            filtered = exact;
            (vec![source], vec![None])
        }
        // one derived table: the WHERE's limits on its plain columns also limit its own WHERE
        [ast::TableWithJoins {
            relation: ast::TableFactor::Derived { lateral: false, subquery, alias, sample: None },
            joins,
        }] if joins.is_empty() => {
            let narrowed = select.selection.as_ref().and_then(|outer| {
                let name = alias.as_ref().map(|a| a.name.value.as_str()).unwrap_or_default();
                narrowed_query(subquery, name, outer)
            });
            let relation = match narrowed {
                Some((subquery, whole)) => {
                    filtered = whole;
                    ast::TableFactor::Derived {
                        lateral: false,
                        subquery: Box::new(subquery),
                        alias: alias.clone(),
                        sample: None,
                    }
                }
                None => select.from[0].relation.clone(),
            };
            (vec![factor(cx, &relation, None)?.0], vec![None])
        }
        from if !from.is_empty() && from.iter().all(|item| item.joins.iter().all(|j| inner(&j.join_operator))) => {
            let mut factors = Vec::new();
            let mut on = Vec::new();
            for item in from {
                factors.push(factor(cx, &item.relation, None)?.0);
                on.push(None);
                for join in &item.joins {
                    factors.push(factor(cx, &join.relation, None)?.0);
                    on.push(match &join.join_operator {
                        J::Join(ast::JoinConstraint::On(e)) | J::Inner(ast::JoinConstraint::On(e)) => {
                            Some(translate_condition(e)?)
                        }
                        J::CrossJoin(_) => None,
                        _ => return Err(SqlError::not_supported("A join without ON")),
                    });
                }
            }
            (factors, on)
        }
        from => (vec![relation(cx, from)?], vec![None]),
    };
    let layout = Source {
        columns: factors.iter().flat_map(|f| f.columns.iter().cloned()).collect(),
        qualifiers: factors.iter().flat_map(|f| f.qualifiers.iter().cloned()).collect(),
        rows: Vec::new(),
    };
    Ok(Joined { factors, on, layout, filtered })
}

/// `query` (a derived table named `alias`) with the parts of the outer WHERE that compare one of
/// its columns with a constant (or test it for NULL) added to its own WHERE, when it is one
/// SELECT of one table whose column that is: a range of its rows can then be read instead of all
/// of them. Also whether that was the whole outer WHERE (else the rest of it filters what comes out).
fn narrowed_query(query: &ast::Query, alias: &str, outer: &ast::Expr) -> Option<(ast::Query, bool)> {
    use ast::BinaryOperator as B;
    let ast::SetExpr::Select(inner) = query.body.as_ref() else { return None };
    let plain = plain_select(query).is_some()
        && query.order_by.is_none()
        && inner.distinct.is_none()
        && inner.top.is_none()
        && inner.having.is_none()
        && inner.into.is_none()
        && matches!(&inner.group_by, ast::GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
        && matches!(inner.from.as_slice(), [ast::TableWithJoins { relation: ast::TableFactor::Table { .. }, joins }] if joins.is_empty());
    if !plain {
        return None;
    }
    // the inner expression of the derived table's column `name`: a column of the table
    let column = |name: &str| -> Option<ast::Expr> {
        if let [ast::SelectItem::Wildcard(_)] = inner.projection.as_slice() {
            return Some(ast::Expr::Identifier(ast::Ident::new(name)));
        }
        let mut found = inner.projection.iter().filter_map(|item| match item {
            ast::SelectItem::UnnamedExpr(e @ ast::Expr::Identifier(i)) if i.value.eq_ignore_ascii_case(name) => {
                Some(e.clone())
            }
            ast::SelectItem::UnnamedExpr(e @ ast::Expr::CompoundIdentifier(parts))
                if parts.last().is_some_and(|i| i.value.eq_ignore_ascii_case(name)) =>
            {
                Some(e.clone())
            }
            ast::SelectItem::ExprWithAlias {
                expr: e @ (ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)),
                alias,
            } if alias.value.eq_ignore_ascii_case(name) => Some(e.clone()),
            _ => None,
        });
        match (found.next(), found.next()) {
            (Some(e), None) => Some(e),
            _ => None,
        }
    };
    let outer_column = |e: &ast::Expr| -> Option<ast::Expr> {
        match e {
            ast::Expr::Identifier(i) => column(&i.value),
            ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] if q.value.eq_ignore_ascii_case(alias) => column(&c.value),
                _ => None,
            },
            _ => None,
        }
    };
    // a constant of the statement: a literal or a variable (a parameter), perhaps negated
    fn constant(e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Value(_) => true,
            ast::Expr::Identifier(i) => i.value.starts_with('@'),
            ast::Expr::Nested(inner) | ast::Expr::UnaryOp { expr: inner, .. } => constant(inner),
            _ => false,
        }
    }
    let mut parts = Vec::new();
    conjuncts(outer, &mut parts);
    let mut pushed = Vec::new();
    let whole = parts.len();
    for part in parts {
        match part {
            ast::Expr::IsNull(e) => {
                if let Some(c) = outer_column(e) {
                    pushed.push(ast::Expr::IsNull(Box::new(c)));
                }
            }
            ast::Expr::BinaryOp { left, op: op @ (B::Eq | B::Gt | B::GtEq | B::Lt | B::LtEq), right } => {
                let rewritten = match (outer_column(left), outer_column(right)) {
                    (Some(c), None) if constant(right) => (Box::new(c), right.clone()),
                    (None, Some(c)) if constant(left) => (left.clone(), Box::new(c)),
                    _ => continue,
                };
                let (left, right) = rewritten;
                pushed.push(ast::Expr::BinaryOp { left, op: op.clone(), right });
            }
            _ => {}
        }
    }
    if pushed.is_empty() {
        return None;
    }
    let whole = pushed.len() == whole;
    let mut narrowed = query.clone();
    let ast::SetExpr::Select(select) = narrowed.body.as_mut() else { return None };
    let condition = select.selection.take().into_iter().map(|e| ast::Expr::Nested(Box::new(e))).chain(pushed);
    select.selection =
        condition.reduce(|a, b| ast::Expr::BinaryOp { left: Box::new(a), op: B::And, right: Box::new(b) });
    Some((narrowed, whole))
}

impl Joined {
    /// Calls `each` with every joined row, in FROM order, until it returns false.
    fn for_each(&self, cx: &Context, each: &mut dyn FnMut(&[Value]) -> Result<bool, SqlError>) -> Result<(), SqlError> {
        if let ([factor], [None]) = (self.factors.as_slice(), self.on.as_slice()) {
            // one factor: its rows as they are
            for row in &factor.rows {
                if !each(row)? {
                    break;
                }
            }
            return Ok(());
        }
        let mut values = Vec::with_capacity(self.layout.columns.len());
        self.join_from(cx, 0, &mut values, each).map(|_| ())
    }

    /// The rows of factors `k..` joined to `values` (a row of the factors before); false once `each` stopped.
    fn join_from(
        &self,
        cx: &Context,
        k: usize,
        values: &mut Vec<Value>,
        each: &mut dyn FnMut(&[Value]) -> Result<bool, SqlError>,
    ) -> Result<bool, SqlError> {
        let Some(factor) = self.factors.get(k) else {
            return each(values);
        };
        let start = values.len();
        for row in &factor.rows {
            values.truncate(start);
            values.extend(row.iter().cloned());
            if let Some(on) = &self.on[k] {
                let width = values.len();
                let columns =
                    qualified_row_scope(&self.layout.columns[..width], &self.layout.qualifiers[..width], values);
                if !qualifies(Some(on), &cx.scope(&cx.columns(columns)))? {
                    continue;
                }
            }
            if !self.join_from(cx, k + 1, values, each)? {
                return Ok(false);
            }
        }
        values.truncate(start);
        Ok(true)
    }

    /// The joined columns with all the joined rows.
    fn into_source(mut self, cx: &Context) -> Result<Source, SqlError> {
        if self.factors.len() == 1 && self.on[0].is_none() {
            return Ok(self.factors.pop().expect("one factor"));
        }
        let mut rows = Vec::new();
        self.for_each(cx, &mut |values| {
            rows.push(values.to_vec());
            Ok(true)
        })?;
        Ok(Source { rows, ..self.layout })
    }
}

/// The columns and rows of a FROM clause: tables and derived tables, joined.
fn relation(cx: &Context, from: &[ast::TableWithJoins]) -> Result<Source, SqlError> {
    // no FROM: one row of no columns
    let mut result = Source { columns: Vec::new(), qualifiers: Vec::new(), rows: vec![Vec::new()] };
    for (n, item) in from.iter().enumerate() {
        let mut joined = factor(cx, &item.relation, None)?.0;
        for join in &item.joins {
            let right = factor(cx, &join.relation, None)?.0;
            joined = join_sources(cx, joined, right, &join.join_operator)?;
        }
        result = if n == 0 { joined } else { cross(result, joined, None, false, cx)? };
    }
    Ok(result)
}

/// One table or derived table of a FROM clause, qualified by its alias or name; the rows of a
/// table are those `selection` (its WHERE, when it is the only table) can qualify. Also whether
/// they are exactly those it qualifies (read as a range of an integer column that is all of it).
fn factor(cx: &Context, factor: &ast::TableFactor, selection: Option<&ast::Expr>) -> Result<(Source, bool), SqlError> {
    match factor {
        ast::TableFactor::Table { name, alias, args: None, with_hints, .. } => {
            let reading = table_reading(cx.session, with_hints)?;
            let named = |default: &str, columns: Vec<ColumnDef>, rows: Vec<Vec<Value>>| {
                let qualifier = alias.as_ref().map_or_else(|| default.to_string(), |a| a.name.value.clone());
                Source { qualifiers: vec![qualifier; columns.len()], columns, rows }
            };
            if let Some(cte) = cx.cte(name) {
                return Ok((named(&cte.name, cte.result.columns.clone(), cte.result.rows.clone()), false));
            }
            if let Some((view, columns, rows)) = catalog::system_view(cx.session, name)? {
                return Ok((named(view, columns, rows), false));
            }
            let store =
                cx.session.store.as_ref().ok_or_else(|| SqlError::not_supported("A query before the store opens"))?;
            let object = table_name(name)?;
            if let Some(table) = store.table(&object)? {
                let qualifier = alias.as_ref().map_or_else(|| table.name.clone(), |a| a.name.value.clone());
                let statement_columns = cx.columns(Vec::new());
                let statement_scope = cx.scope(&statement_columns);
                let (rows, exact) = candidate_rows(store, &table, &qualifier, selection, &statement_scope, reading)?;
                let source = Source {
                    columns: table.columns.iter().map(catalog_column).collect(),
                    qualifiers: vec![qualifier; table.columns.len()],
                    rows: rows.into_iter().map(|(_, values)| values).collect(),
                };
                return Ok((source, exact));
            }
            match modules::view(store, &object)? {
                Some(view) => {
                    let no_variables = Variables::new();
                    let result = run_query(&Context::new(cx.session, &no_variables), &view.query)?;
                    if let Some(e) = result.error {
                        return Err(e);
                    }
                    Ok((named(&view.name, result.columns, result.rows), false))
                }
                None => Err(SqlError::new(208, format!("Invalid object name '{name}'."))),
            }
        }
        ast::TableFactor::Derived { lateral: false, subquery, alias, sample: None } => {
            let result = run_query(&cx.nested(), subquery)?;
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
            Ok((
                Source { qualifiers: vec![alias; result.columns.len()], columns: result.columns, rows: result.rows },
                false,
            ))
        }
        ast::TableFactor::NestedJoin { table_with_joins, alias: None } => {
            Ok((relation(cx, std::slice::from_ref(table_with_joins))?, false))
        }
        _ => Err(SqlError::not_supported("This kind of FROM source")),
    }
}

/// How a table of a query is read: by its `WITH (...)` hints, else by the session's isolation level.
fn table_reading(session: &Session, hints: &[ast::Expr]) -> Result<Reading, SqlError> {
    let mut reading = session_reading(session);
    for hint in hints {
        match hint {
            ast::Expr::Identifier(word) if word.quote_style.is_none() => {
                match word.value.to_uppercase().as_str() {
                    "NOLOCK" | "READUNCOMMITTED" => reading = Reading::Uncommitted,
                    "READCOMMITTED" => reading = Reading::Committed,
                    "READPAST" => reading = Reading::SkipLocked,
                    // the granularity of locks, which here are always rows
                    "ROWLOCK" => {}
                    other => return Err(SqlError::not_supported(format!("The table hint {other}"))),
                }
            }
            other => return Err(SqlError::not_supported(format!("The table hint {other}"))),
        }
    }
    Ok(reading)
}

fn join_sources(cx: &Context, left: Source, right: Source, operator: &ast::JoinOperator) -> Result<Source, SqlError> {
    use ast::JoinOperator as J;
    let on = |c: &ast::JoinConstraint| match c {
        ast::JoinConstraint::On(e) => translate_condition(e),
        _ => Err(SqlError::not_supported("A join without ON")),
    };
    match operator {
        J::Join(c) | J::Inner(c) => cross(left, right, Some(&on(c)?), false, cx),
        J::Left(c) | J::LeftOuter(c) => cross(left, right, Some(&on(c)?), true, cx),
        J::CrossJoin(ast::JoinConstraint::None) => cross(left, right, None, false, cx),
        J::Right(c) | J::RightOuter(c) => {
            // the LEFT JOIN of the swapped sides, its columns put back in FROM order
            fn rotated<T>(mut v: Vec<T>, by: usize) -> Vec<T> {
                v.rotate_left(by);
                v
            }
            let split = right.columns.len();
            let swapped = cross(right, left, Some(&on(c)?), true, cx)?;
            Ok(Source {
                columns: rotated(swapped.columns, split),
                qualifiers: rotated(swapped.qualifiers, split),
                rows: swapped.rows.into_iter().map(|r| rotated(r, split)).collect(),
            })
        }
        J::FullOuter(_) => Err(SqlError::not_supported("FULL OUTER JOIN")),
        _ => Err(SqlError::not_supported("This kind of join")),
    }
}

/// Every pair of rows for which `on` holds (all pairs without it); with `outer`, a left row
/// without a match once with NULLs on the right (whose columns become nullable).
fn cross(left: Source, right: Source, on: Option<&Condition>, outer: bool, cx: &Context) -> Result<Source, SqlError> {
    let mut columns = left.columns.clone();
    columns.extend(right.columns.iter().map(|c| ColumnDef { nullable: c.nullable || outer, ..c.clone() }));
    let mut qualifiers = left.qualifiers.clone();
    qualifiers.extend(right.qualifiers.iter().cloned());
    let mut result = Source { columns, qualifiers, rows: Vec::new() };
    for l in &left.rows {
        let mut matched = false;
        for r in &right.rows {
            let mut values = l.clone();
            values.extend(r.iter().cloned());
            let holds = match on {
                None => true,
                Some(c) => {
                    let row = cx.columns(result.scope_row(&values));
                    qualifies(Some(c), &cx.scope(&row))?
                }
            };
            if holds {
                matched = true;
                result.rows.push(values);
            }
        }
        if outer && !matched {
            let mut values = l.clone();
            values.extend(std::iter::repeat_n(Value::Null, right.columns.len()));
            result.rows.push(values);
        }
    }
    Ok(result)
}

fn top(top: Option<&ast::Top>, scope: &Scope) -> Result<Option<u64>, SqlError> {
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

fn sort_keys(keys: &[(OrderKey, bool)], scope: &Scope, outputs: &[Value]) -> Result<Key, SqlError> {
    keys.iter()
        .map(|(k, _)| match k {
            OrderKey::Expression(e) => {
                let t = eval(e, scope)?;
                Ok((t.ty, t.value?))
            }
            OrderKey::Position(i) => {
                let c = &scope.columns[*i];
                Ok((c.ty.clone(), outputs[*i].clone()))
            }
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
    cx: &Context,
    source: &Source,
    rows: &[&'r Vec<Value>],
    group_by: &[Expr],
) -> Result<Vec<Vec<&'r Vec<Value>>>, SqlError> {
    if group_by.is_empty() {
        return Ok(vec![rows.to_vec()]);
    }
    let mut groups: Vec<(Key, Vec<&Vec<Value>>)> = Vec::new();
    let keys: Vec<(OrderKey, bool)> = group_by.iter().map(|e| (OrderKey::Expression(e.clone()), true)).collect();
    for &values in rows {
        let row = cx.columns(source.scope_row(values));
        let key = sort_keys(&keys, &cx.scope(&row), &[])?;
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
    cx: &Context,
    source: &Source,
    group: &[&Vec<Value>],
    aggregate: Aggregate,
    argument: Option<&(Expr, SqlType)>,
    result: &SqlType,
) -> Result<Value, SqlError> {
    let Some((expr, ty)) = argument else {
        return Ok(Value::Int(group.len() as i64));
    };
    // a column of the source is read from each row, not evaluated on it
    let width = source.columns.len();
    let template = source.scope_row(&vec![Value::Null; width]);
    let column = match expr {
        Expr::Column(name) => column_index(&template, name).ok(),
        _ => None,
    };
    let mut values = Vec::new();
    for values_of_row in group {
        let v = match column {
            Some(i) => values_of_row[i].clone(),
            None => eval(expr, &cx.scope(&cx.columns(source.scope_row(values_of_row))))?.value?,
        };
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

/// `STRING_AGG(value, separator) [WITHIN GROUP (ORDER BY ...)]`; `None` for other expressions.
fn string_agg_call(e: &ast::Expr, typing_scope: &Scope) -> Result<Option<StringAgg>, SqlError> {
    let ast::Expr::Function(f) = e else { return Ok(None) };
    if !f.name.to_string().eq_ignore_ascii_case("STRING_AGG") {
        return Ok(None);
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::new(174, "The string_agg function requires 2 argument(s)."));
    };
    let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(value)), ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(separator))] =
        list.args.as_slice()
    else {
        return Err(SqlError::new(174, "The string_agg function requires 2 argument(s)."));
    };
    if f.over.is_some() || f.filter.is_some() || list.duplicate_treatment.is_some() {
        return Err(SqlError::not_supported("STRING_AGG with DISTINCT, OVER or FILTER"));
    }
    let order = f
        .within_group
        .iter()
        .map(|k| Ok((translate(&k.expr)?, k.options.asc != Some(false))))
        .collect::<Result<_, SqlError>>()?;
    let value = translate(value)?;
    let value_type = eval(&value, typing_scope)?.ty;
    Ok(Some(StringAgg { value, value_type, separator: translate(separator)?, order }))
}

/// STRING_AGG's type: (n)varchar(max) of a max argument, else nvarchar(4000) or varchar(8000).
fn string_agg_type(value: &SqlType) -> SqlType {
    match value {
        SqlType::VarChar(None) | SqlType::Text => SqlType::VarChar(None),
        SqlType::NVarChar(None) | SqlType::NText => SqlType::NVarChar(None),
        SqlType::Char(_) | SqlType::VarChar(_) => SqlType::VarChar(Some(8000)),
        _ => SqlType::NVarChar(Some(4000)),
    }
}

/// The group's non-NULL values joined by the separator, in the WITHIN GROUP order (else the
/// rows' order); NULL without a value, SQL Server's 9829 past 8000 bytes of a non-max result.
fn string_agg(
    cx: &Context,
    source: &Source,
    group: &[&Vec<Value>],
    agg: &StringAgg,
    ty: &SqlType,
) -> Result<Value, SqlError> {
    let keys: Vec<(OrderKey, bool)> = agg.order.iter().map(|(e, a)| (OrderKey::Expression(e.clone()), *a)).collect();
    let mut pieces: Vec<(Key, String, String)> = Vec::new();
    for values in group {
        let row = cx.columns(source.scope_row(values));
        let scope = cx.scope(&row);
        let typed = eval(&agg.value, &scope)?;
        let Some(text) = crate::sql::functions::text(&typed.value?, &typed.ty)? else { continue };
        let separator = eval(&agg.separator, &scope)?;
        let separator = crate::sql::functions::text(&separator.value?, &separator.ty)?.unwrap_or_default();
        pieces.push((sort_keys(&keys, &scope, &[])?, text, separator));
    }
    if pieces.is_empty() {
        return Ok(Value::Null);
    }
    let mut keyed: Vec<(Key, Vec<Value>)> =
        pieces.iter().enumerate().map(|(i, (k, _, _))| (k.clone(), vec![Value::Int(i as i64)])).collect();
    sort_rows(&mut keyed, &keys);
    let mut joined = String::new();
    for (n, (_, index)) in keyed.iter().enumerate() {
        let Some(Value::Int(i)) = index.first() else { continue };
        let (_, text, separator) = &pieces[*i as usize];
        if n > 0 {
            joined.push_str(separator);
        }
        joined.push_str(text);
    }
    let bytes = if ty.is_unicode() { joined.encode_utf16().count() * 2 } else { joined.chars().count() };
    if !matches!(ty, SqlType::VarChar(None) | SqlType::NVarChar(None)) && bytes > 8000 {
        return Err(SqlError::new(
            9829,
            "STRING_AGG aggregation result exceeded the limit of 8000 bytes. Use LOB types to avoid result truncation.",
        ));
    }
    Ok(Value::Str(joined))
}
