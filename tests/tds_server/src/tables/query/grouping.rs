//! What the select list of a grouped query (GROUP BY, HAVING or an aggregate) may compute
//! outside its aggregates. SQL Server refuses (8120) only a column of the query's own FROM
//! sources that no GROUP BY expression covers: constants, variables, `@@` variables, system
//! functions, outer references and expressions over them have one value per group.

use crate::sql::eval::{column_index, ColumnValue};
use crate::sql::lexer::{tokenize, Token};
use crate::sql::parser::{Condition, Expr, SqlError};

/// The FROM sources' columns (`own`, without outer ones) and the GROUP BY expressions.
pub(super) struct Grouping<'a> {
    pub own: &'a [ColumnValue],
    pub group_by: &'a [Expr],
}

impl Grouping<'_> {
    /// Ok when `e` has one value per group, else 8120 for the first ungrouped column it reads.
    pub fn check(&self, e: &Expr) -> Result<(), SqlError> {
        if self.group_by.iter().any(|g| self.same(g, e)) {
            return Ok(());
        }
        match e {
            // a name that is no column of the FROM sources is an outer reference (or invalid,
            // which evaluating it reports)
            Expr::Column(name) if column_index(self.own, name).is_ok() => Err(SqlError::new(
                8120,
                format!(
                    "Column '{}' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.",
                    name.rsplit('.').next().unwrap_or(name)
                ),
            )),
            Expr::Negate(inner) | Expr::Plus(inner) | Expr::Cast(inner, _) | Expr::Convert { expr: inner, .. } => {
                self.check(inner)
            }
            Expr::Arithmetic(_, left, right) => {
                self.check(left)?;
                self.check(right)
            }
            Expr::Function(_, args) => args.iter().try_for_each(|a| self.check(a)),
            Expr::Case { branches, otherwise } => {
                for (condition, result) in branches {
                    self.check_condition(condition)?;
                    self.check(result)?;
                }
                otherwise.as_deref().map_or(Ok(()), |o| self.check(o))
            }
            Expr::Subquery(query) => self.check_subquery(&query.to_string()),
            _ => Ok(()),
        }
    }

    fn check_condition(&self, c: &Condition) -> Result<(), SqlError> {
        match c {
            Condition::Compare(_, left, right) => {
                self.check(left)?;
                self.check(right)
            }
            Condition::And(left, right) | Condition::Or(left, right) => {
                self.check_condition(left)?;
                self.check_condition(right)
            }
            Condition::Not(inner) => self.check_condition(inner),
            Condition::IsNull { expr, .. } => self.check(expr),
            Condition::In { expr, list, .. } => {
                self.check(expr)?;
                list.iter().try_for_each(|e| self.check(e))
            }
            Condition::InQuery { expr, query, .. } => {
                self.check(expr)?;
                self.check_subquery(&query.to_string())
            }
            Condition::Between { expr, low, high, .. } => [expr, low, high].into_iter().try_for_each(|e| self.check(e)),
            Condition::Like { expr, pattern, escape, .. } => {
                [expr, pattern].into_iter().chain(escape).try_for_each(|e| self.check(e))
            }
            Condition::Exists(query) => self.check_subquery(&query.to_string()),
        }
    }

    /// A subquery computed once per group would read the group's first row: refused when it
    /// names an ungrouped column of the FROM sources, unqualified or qualified by its table (an
    /// unqualified name may be the subquery's own column, which this check cannot tell apart).
    fn check_subquery(&self, text: &str) -> Result<(), SqlError> {
        let tokens: Vec<Token> = tokenize(text).unwrap_or_default().into_iter().map(|(t, _)| t).collect();
        let name = |i: usize| match tokens.get(i) {
            Some(Token::Ident { text, .. }) => Some(text.as_str()),
            _ => None,
        };
        let dot = |i: usize| matches!(tokens.get(i), Some(Token::Punct('.')));
        let ungrouped = |column: &str, qualifier: Option<&str>| {
            self.own.iter().enumerate().any(|(i, c)| {
                c.name.eq_ignore_ascii_case(column)
                    && qualifier.is_none_or(|q| c.qualifier.eq_ignore_ascii_case(q))
                    && !self
                        .group_by
                        .iter()
                        .any(|g| matches!(g, Expr::Column(n) if column_index(self.own, n).ok() == Some(i)))
            })
        };
        for i in 0..tokens.len() {
            let Some(column) = name(i).filter(|_| !dot(i + 1)) else { continue };
            let qualifier = if i >= 2 && dot(i - 1) { name(i - 2) } else { None };
            if ungrouped(column, qualifier) {
                return Err(SqlError::not_supported(
                    "A subquery of a grouped query's select list that names a column outside GROUP BY",
                ));
            }
        }
        Ok(())
    }

    /// Whether a GROUP BY expression is `e`: the same expression, or the same column however qualified.
    fn same(&self, group: &Expr, e: &Expr) -> bool {
        match (group, e) {
            (Expr::Column(a), Expr::Column(b)) => {
                matches!((column_index(self.own, a), column_index(self.own, b)), (Ok(i), Ok(j)) if i == j)
            }
            _ => group == e,
        }
    }
}
