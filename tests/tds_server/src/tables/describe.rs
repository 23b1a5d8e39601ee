//! sp_describe_undeclared_parameters for table statements, as ODBC's SQLDescribeParam asks before
//! an array-bound INSERT (executemany): a parameter assigned to or compared with a column takes
//! the column's declared type, as SQL Server deduces it.

use sqlparser::ast;

use super::store::Table;
use super::{find_table, involves_tables, single_table, split_batch, store, Piece};
use crate::engine::Session;
use crate::sql::parser::SqlError;
use crate::types::SqlType;

/// A parameter's name and the type deduced for it (`None` where none can be).
pub type ParameterUse = (String, Option<SqlType>);

/// Each parameter use in the table statements of `sql`; `None` when `sql` has no table statement.
pub fn parameter_uses(session: &mut Session, sql: &str) -> Result<Option<Vec<ParameterUse>>, SqlError> {
    if !involves_tables(sql) {
        return Ok(None);
    }
    let mut uses = Vec::new();
    let mut any = false;
    for piece in split_batch(sql)? {
        let Piece::Table(statement, _) = piece else { continue };
        any = true;
        match statement.as_ref() {
            ast::Statement::Insert(insert) => {
                let ast::TableObject::TableName(name) = &insert.table else {
                    return Err(SqlError::not_supported("INSERT into a table function"));
                };
                let table = find_table(store(session)?, name)?;
                let targets = insert_targets(&table, &insert.columns)?;
                match insert.source.as_deref().map(|q| q.body.as_ref()) {
                    Some(ast::SetExpr::Values(values)) => {
                        for row in &values.rows {
                            for (e, &target) in row.iter().zip(&targets) {
                                match parameter(e) {
                                    Some(name) => uses.push((name, Some(table.columns[target].ty.clone()))),
                                    None => collect(e, &table, &mut uses),
                                }
                            }
                        }
                    }
                    Some(ast::SetExpr::Select(select)) => {
                        for item in &select.projection {
                            if let ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } =
                                item
                            {
                                collect(e, &table, &mut uses);
                            }
                        }
                    }
                    _ => {}
                }
            }
            ast::Statement::Update(update) => {
                let table = find_table(store(session)?, single_table(std::slice::from_ref(&update.table))?)?;
                for a in &update.assignments {
                    let column = match &a.target {
                        ast::AssignmentTarget::ColumnName(name) => name.0.last().map(|p| p.to_string()),
                        ast::AssignmentTarget::Tuple(_) => None,
                    };
                    match (parameter(&a.value), column.and_then(|c| column_type(&table, &c))) {
                        (Some(name), Some(ty)) => uses.push((name, Some(ty))),
                        _ => collect(&a.value, &table, &mut uses),
                    }
                }
                if let Some(selection) = &update.selection {
                    collect(selection, &table, &mut uses);
                }
            }
            ast::Statement::Delete(delete) => {
                let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &delete.from;
                let table = find_table(store(session)?, single_table(from)?)?;
                if let Some(selection) = &delete.selection {
                    collect(selection, &table, &mut uses);
                }
            }
            _ => return Ok(None),
        }
    }
    Ok(any.then_some(uses))
}

/// The table ordinals an INSERT's values go to.
fn insert_targets(table: &Table, columns: &[ast::Ident]) -> Result<Vec<usize>, SqlError> {
    if columns.is_empty() {
        return Ok((0..table.columns.len()).filter(|&i| !table.columns[i].identity).collect());
    }
    columns
        .iter()
        .map(|ident| {
            table
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&ident.value))
                .ok_or_else(|| SqlError::new(207, format!("Invalid column name '{}'.", ident.value)))
        })
        .collect()
}

/// `@name` (not `@@name`).
fn parameter(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(ident) if ident.quote_style.is_none() && ident.value.starts_with('@') => {
            (!ident.value.starts_with("@@")).then(|| ident.value.clone())
        }
        ast::Expr::Nested(inner) => parameter(inner),
        _ => None,
    }
}

fn column_type(table: &Table, name: &str) -> Option<SqlType> {
    let name = name.trim_matches(|c| c == '[' || c == ']');
    table.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).map(|c| c.ty.clone())
}

/// A column of `table` named by `e`.
fn column_of(e: &ast::Expr, table: &Table) -> Option<SqlType> {
    match e {
        ast::Expr::Identifier(ident) => column_type(table, &ident.value),
        ast::Expr::CompoundIdentifier(parts) => parts.last().and_then(|p| column_type(table, &p.value)),
        _ => None,
    }
}

/// Records the parameters of `e`: one compared with a column takes its type, others none.
fn collect(e: &ast::Expr, table: &Table, uses: &mut Vec<(String, Option<SqlType>)>) {
    match e {
        ast::Expr::BinaryOp { left, op, right } => {
            let comparison = matches!(
                op,
                ast::BinaryOperator::Eq
                    | ast::BinaryOperator::NotEq
                    | ast::BinaryOperator::Lt
                    | ast::BinaryOperator::LtEq
                    | ast::BinaryOperator::Gt
                    | ast::BinaryOperator::GtEq
            );
            for (side, other) in [(left, right), (right, left)] {
                match (parameter(side), comparison.then(|| column_of(other, table)).flatten()) {
                    (Some(name), Some(ty)) => uses.push((name, Some(ty))),
                    _ => collect(side, table, uses),
                }
            }
        }
        ast::Expr::Nested(inner) | ast::Expr::UnaryOp { expr: inner, .. } | ast::Expr::IsNull(inner) => {
            collect(inner, table, uses)
        }
        _ => {
            if let Some(name) = parameter(e) {
                uses.push((name, None));
            }
        }
    }
}
