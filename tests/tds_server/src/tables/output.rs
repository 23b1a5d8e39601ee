//! The OUTPUT clause of INSERT, UPDATE and DELETE (`OUTPUT INSERTED.*, DELETED.col AS c, ...`),
//! which sqlparser does not read there: the pre-parser cuts it out, the statement runs as
//! usual, and the rows it inserted, changed or deleted (as its undo log records them) come
//! back as a result set typed from the catalog, before the statement's DONE as SQL Server
//! sends them.

use sqlparser::ast;

use super::store::Table;
use super::{catalog_column, find_table, run_statement, single_table, store};
use crate::engine::{fail, DoneKind, Event, Session};
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

/// Runs the statement and its OUTPUT; returns false when its error ends the batch.
pub fn run(
    session: &mut Session,
    output: &OutputStatement,
    line: u32,
    variables: &Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let planned = plan(session, output);
    let (table, columns) = match planned {
        Ok(planned) => planned,
        Err(e) => return fail(events, kind, e, 0, line),
    };
    let ok = run_statement(session, &output.statement, line, variables, kind, events);
    let succeeded = matches!(events.last(), Some(Event::Done(d)) if d.status & DONE_ERROR == 0);
    if !succeeded {
        return ok;
    }
    let rows = match output_rows(session, &table, &columns) {
        Ok(rows) => rows,
        Err(e) => return fail(events, kind, e, 0, line),
    };
    let at = events.len() - 1;
    let result = std::iter::once(Event::ColMetadata(columns.into_iter().map(|c| c.def).collect()))
        .chain(rows.into_iter().map(Event::Row));
    events.splice(at..at, result);
    ok
}

/// The table the statement changes and the columns of its OUTPUT.
fn plan(session: &mut Session, output: &OutputStatement) -> Result<(Table, Vec<OutputColumn>), SqlError> {
    let (name, sides): (&ast::ObjectName, &[Side]) = match output.statement.as_ref() {
        ast::Statement::Insert(insert) => match &insert.table {
            ast::TableObject::TableName(name) => (name, &[Side::Inserted]),
            _ => return Err(SqlError::not_supported("INSERT ... OUTPUT into a table function")),
        },
        ast::Statement::Delete(delete) => {
            let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &delete.from;
            (single_table(from)?, &[Side::Deleted])
        }
        ast::Statement::Update(update) => {
            (single_table(std::slice::from_ref(&update.table))?, &[Side::Inserted, Side::Deleted])
        }
        _ => return Err(SqlError::not_supported("OUTPUT on this statement")),
    };
    let table = find_table(store(session)?, name)?;
    let columns = output_columns(&table, &output.items, sides)?;
    Ok((table, columns))
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

/// The OUTPUT rows of the statement that just ran, in the order it touched them.
fn output_rows(session: &Session, table: &Table, columns: &[OutputColumn]) -> Result<Vec<Vec<Value>>, SqlError> {
    let store = session.store.as_ref().expect("opened by plan");
    Ok(store
        .statement_changes(table)?
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
