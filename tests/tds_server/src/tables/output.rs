//! The OUTPUT clause of INSERT, UPDATE and DELETE (`OUTPUT INSERTED.*, DELETED.col AS c, ...`),
//! which sqlparser does not read there: the pre-parser cuts it out, the statement runs as
//! usual, and the rows it inserted, changed or deleted come back as a result set typed from
//! the catalog, before the statement's DONE as SQL Server sends them.

use std::collections::HashSet;

use sqlparser::ast;

use super::store::Table;
use super::{
    catalog_column, find_table, qualifies, row_scope, run_statement, single_table, store, translate_condition,
};
use crate::engine::{fail, scope, DoneKind, Event, Session};
use crate::sql::eval::Variables;
use crate::sql::parser::SqlError;
use crate::tokens::DONE_ERROR;
use crate::types::ColumnDef;
use crate::value::Value;

/// A DML statement without its OUTPUT clause, and the clause's items.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputStatement {
    pub statement: Box<ast::Statement>,
    pub items: Vec<ast::SelectItem>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Inserted,
    Deleted,
}

/// One output column: the side and table ordinal its values come from.
struct OutputColumn {
    side: Side,
    ordinal: usize,
    def: ColumnDef,
}

/// What the statement touches, known before it runs.
enum Before {
    /// INSERT: the rows after this rowid are the new ones
    LastRowid(i64),
    /// UPDATE/DELETE: the qualifying rows as they were
    Rows(Vec<(i64, Vec<Value>)>),
}

/// Runs the statement and its OUTPUT; returns false when its error ends the batch.
pub fn run(
    session: &mut Session,
    output: &OutputStatement,
    line: u32,
    variables: &Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let planned = plan(session, output, variables);
    let (table, columns, before) = match planned {
        Ok(planned) => planned,
        Err(e) => return fail(events, kind, e, 0, line),
    };
    let ok = run_statement(session, &output.statement, line, variables, kind, events);
    let succeeded = matches!(events.last(), Some(Event::Done(d)) if d.status & DONE_ERROR == 0);
    if !succeeded {
        return ok;
    }
    let rows = match output_rows(session, &table, &columns, &before) {
        Ok(rows) => rows,
        Err(e) => return fail(events, kind, e, 0, line),
    };
    let at = events.len() - 1;
    let result = std::iter::once(Event::ColMetadata(columns.into_iter().map(|c| c.def).collect()))
        .chain(rows.into_iter().map(Event::Row));
    events.splice(at..at, result);
    ok
}

fn plan(
    session: &mut Session,
    output: &OutputStatement,
    variables: &Variables,
) -> Result<(Table, Vec<OutputColumn>, Before), SqlError> {
    let (name, selection, sides): (&ast::ObjectName, Option<&ast::Expr>, &[Side]) = match output.statement.as_ref() {
        ast::Statement::Insert(insert) => match &insert.table {
            ast::TableObject::TableName(name) => (name, None, &[Side::Inserted]),
            _ => return Err(SqlError::not_supported("INSERT ... OUTPUT into a table function")),
        },
        ast::Statement::Delete(delete) => {
            let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &delete.from;
            (single_table(from)?, delete.selection.as_ref(), &[Side::Deleted])
        }
        ast::Statement::Update(update) => (
            single_table(std::slice::from_ref(&update.table))?,
            update.selection.as_ref(),
            &[Side::Inserted, Side::Deleted],
        ),
        _ => return Err(SqlError::not_supported("OUTPUT on this statement")),
    };
    let table = find_table(store(session)?, name)?;
    let columns = output_columns(&table, &output.items, sides)?;
    let session: &Session = session;
    let store = session.store.as_ref().expect("opened by find_table");
    let before = if sides == [Side::Inserted] {
        let last: Option<i64> = store
            .conn
            .query_row(&format!("SELECT max(rowid) FROM {}", table.storage_name()), [], |r| r.get(0))
            .map_err(super::store::storage_error)?;
        Before::LastRowid(last.unwrap_or(0))
    } else {
        let defs: Vec<ColumnDef> = table.columns.iter().map(catalog_column).collect();
        let condition = selection.map(translate_condition).transpose()?;
        let mut rows = Vec::new();
        for (rowid, values) in store.scan(&table)? {
            let row = row_scope(&defs, &values);
            if qualifies(condition.as_ref(), &scope(session, variables, &row))? {
                rows.push((rowid, values));
            }
        }
        Before::Rows(rows)
    };
    Ok((table, columns, before))
}

fn output_columns(table: &Table, items: &[ast::SelectItem], sides: &[Side]) -> Result<Vec<OutputColumn>, SqlError> {
    let side_of = |qualifier: &str| -> Result<Side, SqlError> {
        let side = if qualifier.eq_ignore_ascii_case("INSERTED") {
            Side::Inserted
        } else if qualifier.eq_ignore_ascii_case("DELETED") {
            Side::Deleted
        } else {
            return Err(SqlError::not_supported(format!("OUTPUT of '{qualifier}' (only INSERTED and DELETED)")));
        };
        if !sides.contains(&side) {
            return Err(SqlError::new(4104, format!("The multi-part identifier \"{qualifier}\" could not be bound.")));
        }
        Ok(side)
    };
    let mut columns = Vec::new();
    for item in items {
        match item {
            ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let side = side_of(&name.to_string())?;
                for (ordinal, c) in table.columns.iter().enumerate() {
                    columns.push(OutputColumn { side, ordinal, def: catalog_column(c) });
                }
            }
            ast::SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(parts))
            | ast::SelectItem::ExprWithAlias { expr: ast::Expr::CompoundIdentifier(parts), .. } => {
                let [qualifier, column] = parts.as_slice() else {
                    return Err(SqlError::not_supported(format!("The OUTPUT item {item}")));
                };
                let side = side_of(&qualifier.value)?;
                let ordinal = table
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&column.value))
                    .ok_or_else(|| SqlError::new(207, format!("Invalid column name '{}'.", column.value)))?;
                let mut def = catalog_column(&table.columns[ordinal]);
                if let ast::SelectItem::ExprWithAlias { alias, .. } = item {
                    def.name = alias.value.clone();
                }
                columns.push(OutputColumn { side, ordinal, def });
            }
            other => return Err(SqlError::not_supported(format!("The OUTPUT item {other}"))),
        }
    }
    Ok(columns)
}

fn output_rows(
    session: &Session,
    table: &Table,
    columns: &[OutputColumn],
    before: &Before,
) -> Result<Vec<Vec<Value>>, SqlError> {
    let store = session.store.as_ref().expect("opened by plan");
    // each output row's (inserted, deleted) values, in the order the statement touched them
    type Sides = (Option<Vec<Value>>, Option<Vec<Value>>);
    let pairs: Vec<Sides> = match before {
        Before::LastRowid(last) => store
            .scan(table)?
            .into_iter()
            .filter(|(rowid, _)| rowid > last)
            .map(|(_, values)| (Some(values), None))
            .collect(),
        Before::Rows(old) => {
            let touched: HashSet<i64> = old.iter().map(|(rowid, _)| *rowid).collect();
            let mut now: std::collections::HashMap<i64, Vec<Value>> =
                store.scan(table)?.into_iter().filter(|(rowid, _)| touched.contains(rowid)).collect();
            old.iter().map(|(rowid, values)| (now.remove(rowid), Some(values.clone()))).collect()
        }
    };
    Ok(pairs
        .into_iter()
        .map(|(inserted, deleted)| {
            columns
                .iter()
                .map(|c| {
                    let side = if c.side == Side::Inserted { &inserted } else { &deleted };
                    side.as_ref().map_or(Value::Null, |values| values[c.ordinal].clone())
                })
                .collect()
        })
        .collect())
}
