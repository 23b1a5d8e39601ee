//! Statements on tables. sqlparser's `MsSqlDialect` is the front end of batches that touch
//! tables: it splits them statement by statement, and CREATE/DROP TABLE, INSERT, UPDATE,
//! DELETE and SELECT ... FROM run here on the SQLite store, while every other statement
//! (table-less SELECT, SET, USE, transactions, WAITFOR) goes back as text to the part-1
//! parser. Expressions are translated into the part-1 `Expr`, so typing, conversions and
//! comparisons have one implementation (`sql::eval`, `sql::convert`).

pub mod bulk;
pub mod catalog;
pub mod describe;
mod locks;
pub mod modules;
pub mod output;
pub mod preparse;
mod query;
pub mod store;
pub mod transaction;
mod undo;

use std::borrow::Cow;
use std::rc::Rc;

use sqlparser::ast;
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::engine::{scope, Done, DoneKind, Event, Message, Session};
use crate::sql::convert::{convert, converts_unchanged};
use crate::sql::eval::{compare, eval, eval_condition, lock_timeout, ColumnValue, Scope, Typed, Variables};
use crate::sql::lexer::{tokenize, Token as Part1Token};
use crate::sql::parser::{
    parse_conversion_type, ArithmeticOperator, Comparison, Condition, Expr, SqlError, DATE_PART_FUNCTIONS,
    NILADIC_FUNCTIONS, STATEMENT_KEYWORDS,
};
use crate::tokens::{CURCMD_SELECT, DONE_COUNT, DONE_ERROR};
use crate::types::{ColumnDef, SqlType};
use crate::value::Value;
use store::{
    parse_type, storage_error, CatalogColumn, Constraint, KeyKind, KeyRange, Reading, Store, Table, WriteError,
};

/// CurCmd values of the DONE tokens of table statements.
const CMD_INSERT: u16 = 0xC3;
const CMD_DELETE: u16 = 0xC4;
const CMD_UPDATE: u16 = 0xC5;
const CMD_CREATE_TABLE: u16 = 0xC6;
const CMD_DROP_TABLE: u16 = 0xC7;
const CMD_CREATE_INDEX: u16 = 0xC8;
const CMD_DROP_INDEX: u16 = 0xC9;

/// Words that make a batch one for this front end (the set operators combine queries, which it runs;
/// ORDER BY sorts rows, which only it does).
const TABLE_WORDS: &[&str] = &[
    "FROM",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "TRUNCATE",
    "INTO",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "ORDER",
];

/// A statement of a batch: run on tables here, or given to the part-1 parser as text.
pub enum Piece {
    Table(Box<ast::Statement>, u32),
    /// The statement's text, preceded by blank space up to its place so line numbers hold.
    Other(String),
}

/// Whether `sql` names a table statement anywhere (outside strings and comments).
pub fn involves_tables(sql: &str) -> bool {
    tokenize(sql).is_ok_and(|tokens| {
        tokens.iter().any(|(t, _)| {
            matches!(t, Part1Token::Ident { quoted: false, .. }) && TABLE_WORDS.iter().any(|w| t.is_keyword(w))
        })
    })
}

/// Where each line of `sql` starts.
fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0).chain(sql.char_indices().filter(|(_, c)| *c == '\n').map(|(i, _)| i + 1)).collect()
}

/// The byte offset in `sql` of a token's location (line and character, from 1).
fn byte_offset(sql: &str, line_starts: &[usize], loc: Location) -> usize {
    let Some(&line_start) = line_starts.get((loc.line as usize).saturating_sub(1)) else {
        return sql.len();
    };
    sql[line_start..]
        .char_indices()
        .nth((loc.column as usize).saturating_sub(1))
        .map_or(sql.len(), |(i, _)| line_start + i)
}

/// `sql` with a comma that ends the column list of a CREATE TABLE blanked out: SQL Server takes
/// `CREATE TABLE t (a int, b int,)`, sqlparser's T-SQL dialect does not. Nothing else moves.
fn without_trailing_column_commas<'s>(sql: &'s str, line_starts: &[usize]) -> Cow<'s, str> {
    let Ok(tokens) = Tokenizer::new(&MsSqlDialect {}, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let tokens: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let is_word = |i: usize, word: &str| matches!(tokens.get(i), Some(t) if matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word)));
    let mut commas = Vec::new();
    for start in 0..tokens.len() {
        if !(is_word(start, "CREATE") && is_word(start + 1, "TABLE")) {
            continue;
        }
        let Some(open) = (start + 2..tokens.len()).find(|&i| tokens[i].token == Token::LParen) else { continue };
        let mut depth = 0;
        for i in open..tokens.len() {
            match tokens[i].token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        if tokens[i - 1].token == Token::Comma {
                            commas.push(byte_offset(sql, line_starts, tokens[i - 1].span.start));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    if commas.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut text = sql.to_string();
    for at in commas {
        text.replace_range(at..at + 1, " ");
    }
    Cow::Owned(text)
}

/// Splits a batch into its statements.
pub fn split_batch(sql: &str) -> Result<Vec<Piece>, SqlError> {
    let dialect = MsSqlDialect {};
    let line_starts = line_starts(sql);
    let sql = &*without_trailing_column_commas(sql, &line_starts);
    let mut parser = Parser::new(&dialect).try_with_sql(sql).map_err(|e| SqlError::from_parser(e, 1))?;
    let offset = |loc: Location| byte_offset(sql, &line_starts, loc);
    let mut pieces = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        let first = parser.peek_token();
        if first.token == Token::EOF {
            return Ok(pieces);
        }
        let line = first.span.start.line as u32;
        let start = offset(first.span.start);
        let word = match &first.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_uppercase(),
            _ => String::new(),
        };
        if word == "CREATE" && is_clustering_index(&parser) {
            // sqlparser reads no [NON]CLUSTERED in CREATE INDEX, which makes no difference here
            parser.next_token();
            skip_statement(&mut parser);
            let next = parser.peek_token();
            let end = if next.token == Token::EOF { sql.len() } else { offset(next.span.start) };
            let text = without_clustering(&sql[start..end]);
            let statement = Parser::new(&dialect)
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_statement())
                .map_err(|e| SqlError::from_parser(e, line))?;
            pieces.push(Piece::Table(Box::new(statement), line));
            continue;
        }
        // DROP PROCEDURE and DROP VIEW are the part-1 parser's
        let drops_module = word == "DROP" && {
            let next = parser.peek_nth_token(1).token.to_string().to_uppercase();
            ["PROC", "PROCEDURE", "VIEW"].contains(&next.as_str())
        };
        if ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "WITH"].contains(&word.as_str()) && !drops_module
        {
            let mut statement = parser.parse_statement().map_err(|e| SqlError::from_parser(e, line))?;
            let next = parser.peek_token();
            let end = if next.token == Token::EOF { sql.len() } else { offset(next.span.start) };
            if let Some(cut) = reserved_word_inside(&word, &sql[start..end]) {
                // sqlparser took a T-SQL reserved word for an alias (`SELECT 1 DROP TABLE t`): the
                // statement ends before it
                statement = Parser::new(&dialect)
                    .try_with_sql(&sql[..start + cut])
                    .and_then(|mut p| {
                        while p.peek_token().token != Token::EOF && offset(p.peek_token().span.start) < start {
                            p.next_token();
                        }
                        p.parse_statement()
                    })
                    .map_err(|e| SqlError::from_parser(e, line))?;
                while parser.peek_token().token != Token::EOF && offset(parser.peek_token().span.start) > start + cut {
                    parser.prev_token();
                }
            }
            if is_table_statement(&statement) {
                pieces.push(Piece::Table(Box::new(statement), line));
                continue;
            }
        } else {
            // a statement of the part-1 parser runs to the next statement keyword
            parser.next_token();
            if drops_module {
                // past the IF EXISTS of DROP PROCEDURE IF EXISTS
                parser.next_token();
                let _ =
                    parser.parse_keywords(&[sqlparser::keywords::Keyword::IF, sqlparser::keywords::Keyword::EXISTS]);
            }
            skip_statement(&mut parser);
        }
        let next = parser.peek_token();
        let end = if next.token == Token::EOF { sql.len() } else { offset(next.span.start) };
        let padding: String = sql[..start].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        pieces.push(Piece::Other(padding + &sql[start..end]));
    }
}

/// Where, in a DML statement's text, an unquoted T-SQL reserved word that starts a statement (and
/// cannot appear inside this one outside parentheses) is: sqlparser reads it as an alias.
fn reserved_word_inside(first_word: &str, text: &str) -> Option<usize> {
    const STARTS_ONLY: &str =
        "DROP CREATE ALTER DECLARE PRINT EXEC EXECUTE RAISERROR TRUNCATE WHILE RETURN USE WAITFOR GRANT THROW BREAK CONTINUE GOTO DBCC";
    if !["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&first_word) {
        return None;
    }
    let tokens = crate::sql::lexer::tokenize_spans(text).ok()?;
    let mut depth = 0usize;
    for lexed in tokens.iter().skip(1) {
        match &lexed.token {
            Part1Token::Punct('(') => depth += 1,
            Part1Token::Punct(')') => depth = depth.saturating_sub(1),
            // INSERT ... EXEC is one statement
            t if (t.is_keyword("EXEC") || t.is_keyword("EXECUTE")) && first_word == "INSERT" => {}
            t if depth == 0 && STARTS_ONLY.split(' ').any(|w| t.is_keyword(w)) => return Some(lexed.span.start),
            _ => {}
        }
    }
    None
}

/// Moves to the end of the current statement: the next statement keyword outside parentheses.
fn skip_statement(parser: &mut Parser) {
    let mut depth = 0usize;
    loop {
        match &parser.peek_token().token {
            Token::EOF | Token::SemiColon => break,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w)
                if depth == 0
                    && w.quote_style.is_none()
                    && STATEMENT_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&w.value)) =>
            {
                break
            }
            _ => {}
        }
        parser.next_token();
    }
}

/// At `CREATE [UNIQUE] CLUSTERED|NONCLUSTERED INDEX`.
fn is_clustering_index(parser: &Parser) -> bool {
    let word = |n: usize| match parser.peek_nth_token(n).token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_uppercase(),
        _ => String::new(),
    };
    let at = if word(1) == "UNIQUE" { 2 } else { 1 };
    ["CLUSTERED", "NONCLUSTERED"].contains(&word(at).as_str()) && word(at + 1) == "INDEX"
}

/// The statement's text without its first CLUSTERED/NONCLUSTERED keyword.
fn without_clustering(text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    for keyword in ["NONCLUSTERED", "CLUSTERED"] {
        if let Some(i) = upper.find(keyword) {
            return format!("{}{}{}", &text[..i], " ".repeat(keyword.len()), &text[i + keyword.len()..]);
        }
    }
    text.to_string()
}

fn is_table_statement(statement: &ast::Statement) -> bool {
    match statement {
        // a SELECT without FROM is the part-1 parser's, unless it has an ORDER BY
        ast::Statement::Query(q) => {
            q.order_by.is_some()
                || !matches!(q.body.as_ref(), ast::SetExpr::Select(s) if s.from.is_empty() && s.into.is_none())
        }
        _ => true,
    }
}

/// Whether an error ends only its statement (the batch goes on), as SQL Server's constraint,
/// truncation, overflow and divide-by-zero errors do; the others end the batch.
pub(crate) fn ends_statement_only(e: &SqlError) -> bool {
    matches!(e.number, 2627 | 2601 | 515 | 2628 | 8152 | 544 | 109 | 110 | 120 | 121 | 8115 | 8134 | 1222)
}

fn done(kind: DoneKind, status: u16, cur_cmd: u16, row_count: u64) -> Event {
    Event::Done(Done { kind, status, cur_cmd, row_count })
}

fn count_status(session: &Session) -> u16 {
    if session.options.get("NOCOUNT").is_some_and(|v| v.eq_ignore_ascii_case("ON")) {
        0
    } else {
        DONE_COUNT
    }
}

/// The session's store, opened on first use.
pub fn store(session: &mut Session) -> Result<&Store, SqlError> {
    if session.store.is_none() {
        let database = match &session.tables {
            Some(database) => database.clone(),
            None => store::Database::process_default()?,
        };
        session.store = Some(Store::open(database, session.spid)?);
    }
    Ok(session.store.as_ref().expect("opened above"))
}

/// Readies the store for a table statement of the session: its transaction (`Session::transaction`,
/// set by BEGIN TRAN or by the protocol layer's TransMgrReq; opened in the store lazily, so a
/// transaction that never touches a table has nothing to undo) and its SET LOCK_TIMEOUT.
pub(crate) fn begin_if_open(session: &mut Session) -> Result<(), SqlError> {
    let wanted = session.transaction;
    let timeout = lock_timeout(&session.options);
    let store = store(session)?;
    store.set_lock_timeout(timeout);
    store.sync_transaction(wanted)
}

/// How the session's SELECTs read others' changes: SET TRANSACTION ISOLATION LEVEL READ
/// UNCOMMITTED reads them as they are.
fn session_reading(session: &Session) -> Reading {
    match session.options.get("TRANSACTION") {
        Some(level)
            if level.to_ascii_uppercase().split_whitespace().eq(["ISOLATION", "LEVEL", "READ", "UNCOMMITTED"]) =>
        {
            Reading::Uncommitted
        }
        _ => Reading::Committed,
    }
}

/// Commits or rolls back the store's side of a transaction the session has just ended, and
/// releases its locks.
pub fn end_transaction(session: &mut Session, commit: bool) -> Result<(), SqlError> {
    session.nesting = Default::default();
    match &session.store {
        Some(store) => store.end_transaction(commit),
        None => Ok(()),
    }
}

/// Whether the server rolled the session's transaction back since asked last (it was chosen as
/// a deadlock victim): the session still has to end it (`Session::transaction`, ENVCHANGE).
pub fn rolled_back_by_server(session: &Session) -> bool {
    session.store.as_ref().is_some_and(Store::take_rolled_back)
}

/// The result columns a table statement would return, typed without sending rows; `None`
/// for a statement that returns no result.
pub fn result_columns(
    session: &mut Session,
    statement: &ast::Statement,
    variables: &Variables,
) -> Result<Option<Vec<ColumnDef>>, SqlError> {
    match statement {
        ast::Statement::Query(query) => {
            begin_if_open(session)?;
            Ok(Some(query::run_query(&query::Context::new(session, variables), query)?.columns))
        }
        _ => Ok(None),
    }
}

/// `SELECT @a = expr, ... FROM ...`: the variables assigned and the query computing their
/// values (its select list the expressions); `None` for any other statement.
pub fn variable_assignments(statement: &ast::Statement) -> Option<(Vec<String>, ast::Query)> {
    let ast::Statement::Query(query) = statement else { return None };
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return None };
    let mut targets = Vec::new();
    let mut projection = Vec::new();
    for item in &select.projection {
        match item {
            // MsSqlDialect reads `@a = expr` as the alias form `name = expr`
            ast::SelectItem::ExprWithAlias { expr, alias }
                if alias.quote_style.is_none() && alias.value.starts_with('@') =>
            {
                targets.push(alias.value.clone());
                projection.push(ast::SelectItem::UnnamedExpr(expr.clone()));
            }
            ast::SelectItem::UnnamedExpr(ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, right }) => {
                match left.as_ref() {
                    ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.starts_with('@') => {
                        targets.push(i.value.clone());
                        projection.push(ast::SelectItem::UnnamedExpr(right.as_ref().clone()));
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    let mut computing = query.as_ref().clone();
    let mut select = select.as_ref().clone();
    select.projection = projection;
    computing.body = Box::new(ast::SetExpr::Select(Box::new(select)));
    Some((targets, computing))
}

/// The columns and rows of a subquery.
pub struct QueryRows {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
}

/// Runs a subquery evaluated in `scope`: its correlated names read the columns of `scope`'s row.
pub fn subquery(session: &Session, query: &ast::Query, scope: &Scope) -> Result<QueryRows, SqlError> {
    let outer = scope.columns.iter().map(|c| ColumnValue { outer: true, ..c.clone() }).collect();
    let cx = query::Context::new(session, scope.variables).with_outer(outer);
    let result = query::run_query(&cx, query)?;
    match result.error {
        Some(e) => Err(e),
        None => Ok(QueryRows { columns: result.columns, rows: result.rows }),
    }
}

/// `SELECT @a = expr, ... FROM ...` run row by row, as SQL Server assigns: each variable takes its
/// expression's value on each row in the query's order, so an expression may read what the
/// previous row assigned (`SELECT @s = @s + name FROM ...`). Returns the number of rows; `None`
/// for a grouped query, whose rows are assigned from the computed result instead.
pub fn assign_rows(
    session: &mut Session,
    targets: &[String],
    query: &ast::Query,
    variables: &mut Variables,
    mut assign: impl FnMut(&mut Variables, &str, &Typed, Value) -> Result<(), SqlError>,
) -> Result<Option<u64>, SqlError> {
    begin_if_open(session)?;
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return Ok(None) };
    let expressions = select
        .projection
        .iter()
        .map(|item| match item {
            ast::SelectItem::UnnamedExpr(e) => translate(e),
            other => Err(SqlError::not_supported(format!("The assignment {other}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sources = {
        let result = query::run_query(&query::Context::new(session, variables).keeping_sources(), query)?;
        if let Some(e) = result.error {
            return Err(e);
        }
        match result.sources {
            Some(sources) => sources,
            None => return Ok(None),
        }
    };
    for row in &sources {
        for (target, e) in targets.iter().zip(&expressions) {
            let mut typed = eval(e, &scope(session, variables, row))?;
            let value = std::mem::replace(&mut typed.value, Ok(Value::Null))?;
            assign(variables, target, &typed, value)?;
        }
    }
    Ok(Some(sources.len() as u64))
}

/// The columns and rows of a query on tables (a run-time error fails it).
pub fn query_rows(
    session: &mut Session,
    query: &ast::Query,
    variables: &Variables,
) -> Result<(Vec<ColumnDef>, Vec<Vec<Value>>), SqlError> {
    begin_if_open(session)?;
    let result = query::run_query(&query::Context::new(session, variables), query)?;
    match result.error {
        Some(e) => Err(e),
        None => Ok((result.columns, result.rows)),
    }
}

/// Runs a table statement; returns false when its error ends the batch.
pub fn run_statement(
    session: &mut Session,
    statement: &ast::Statement,
    line: u32,
    variables: &Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let synced = begin_if_open(session);
    let (cur_cmd, result) = match statement {
        _ if synced.is_err() => (0, synced.map(|()| None)),
        ast::Statement::CreateTable(create) => (CMD_CREATE_TABLE, create_table(session, create).map(|()| None)),
        ast::Statement::Drop { object_type: ast::ObjectType::Table, if_exists, names, .. } => {
            (CMD_DROP_TABLE, drop_tables(session, names, *if_exists).map(|()| None))
        }
        ast::Statement::CreateIndex(create) => (CMD_CREATE_INDEX, create_index(session, create).map(|()| None)),
        ast::Statement::Drop { object_type: ast::ObjectType::Index, if_exists, names, table, .. } => {
            (CMD_DROP_INDEX, drop_index(session, names, table.as_ref(), *if_exists).map(|()| None))
        }
        ast::Statement::Insert(insert) => (CMD_INSERT, self::insert(session, insert, variables).map(Some)),
        ast::Statement::Update(update) => (CMD_UPDATE, self::update(session, update, variables).map(Some)),
        ast::Statement::Delete(delete) => (CMD_DELETE, self::delete(session, delete, variables).map(Some)),
        ast::Statement::Query(query) => match select_into_target(query) {
            Some(into) => (CURCMD_SELECT, select_into(session, query, into, variables).map(Some)),
            None => (CURCMD_SELECT, query::select(session, query, variables, events).map(Some)),
        },
        other => (0, Err(SqlError::not_supported(format!("The statement '{}'", first_words(other))))),
    };
    match result {
        Ok(count) => {
            session.row_count = count.unwrap_or(0);
            let status = if count.is_some() { count_status(session) } else { 0 };
            events.push(done(kind, status, cur_cmd, count.unwrap_or(0)));
            true
        }
        Err(e) => {
            session.row_count = 0;
            let line = if e.line != 0 { e.line } else { line };
            events.push(Event::Error(Message {
                number: e.number,
                state: e.state(),
                class: e.class,
                text: e.text.clone(),
                procedure: String::new(),
                line: line as i32,
            }));
            events.push(done(kind, DONE_ERROR, cur_cmd, 0));
            ends_statement_only(&e)
        }
    }
}

/// The table of `SELECT ... INTO t`.
fn select_into_target(query: &ast::Query) -> Option<&ast::SelectInto> {
    match query.body.as_ref() {
        ast::SetExpr::Select(select) => select.into.as_ref(),
        _ => None,
    }
}

/// `SELECT ... INTO t FROM ...`: creates `t` with the result's columns (names, types, nullability;
/// an identity column stays one, going on after the rows copied, by 1) and inserts the rows.
fn select_into(
    session: &mut Session,
    query: &ast::Query,
    into: &ast::SelectInto,
    variables: &Variables,
) -> Result<u64, SqlError> {
    if into.temporary || into.unlogged || into.table {
        return Err(SqlError::not_supported(format!("SELECT ... INTO {}", into.name)));
    }
    let name = table_name(&into.name)?;
    let mut source = query.clone();
    if let ast::SetExpr::Select(select) = source.body.as_mut() {
        select.into = None;
    }
    let result = query::run_query(&query::Context::new(session, variables), &source)?;
    if let Some(e) = result.error {
        return Err(e);
    }
    let mut columns: Vec<CatalogColumn> = Vec::new();
    for c in &result.columns {
        if c.name.is_empty() {
            return Err(SqlError {
                class: 15,
                ..SqlError::new(
                    1038,
                "An object or column name is missing or empty. For SELECT INTO statements, verify each column has a name. For other statements, look for empty alias names. Aliases defined as \"\" or [] are not allowed. Change the alias to a valid name.",
                )
            });
        }
        if columns.iter().any(|o| o.name.eq_ignore_ascii_case(&c.name)) {
            return Err(SqlError::new(
                2705,
                format!(
                    "Column names in each table must be unique. Column name '{}' in table '{name}' is specified more than once.",
                    c.name
                ),
            ));
        }
        // an untyped NULL makes an int column
        let ty = if c.ty == SqlType::Null { SqlType::Int } else { c.ty.clone() };
        let identity = c.identity && !columns.iter().any(|o| o.identity);
        columns.push(CatalogColumn {
            name: c.name.clone(),
            ty,
            nullable: c.nullable && !identity,
            identity,
            default_sql: None,
        });
    }
    let identity = columns.iter().position(|c| c.identity).map(|i| {
        let last = result.rows.iter().filter_map(|r| if let Value::Int(v) = r[i] { Some(v) } else { None }).max();
        (last.map_or(1, |v| v + 1), 1)
    });
    let table = Table { name: name.clone(), columns, constraints: Vec::new() };
    if store(session)?.table(&name)?.is_some() {
        return Err(SqlError::new(2714, format!("There is already an object named '{name}' in the database.")));
    }
    let session_ref: &Session = session;
    let store = session_ref.store.as_ref().expect("opened above");
    store.statement(|store| {
        store.create_table(&table, identity)?;
        for row in &result.rows {
            store.insert(&table, row).map_err(|e| constraint_error(session_ref, &table, row, e))?;
        }
        Ok(result.rows.len() as u64)
    })
}

fn first_words(statement: &ast::Statement) -> String {
    statement.to_string().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// `t`, `dbo.t`, `[master].[dbo].[t]`, `#t` → the table's name.
fn table_name(name: &ast::ObjectName) -> Result<String, SqlError> {
    let parts: Vec<String> =
        name.0.iter().map(|p| p.to_string().trim_matches(|c| c == '[' || c == ']' || c == '"').to_string()).collect();
    match parts.as_slice() {
        [t] => Ok(t.clone()),
        [s, t] if s.eq_ignore_ascii_case("dbo") => Ok(t.clone()),
        [_db, s, t] if s.eq_ignore_ascii_case("dbo") || s.is_empty() => Ok(t.clone()),
        _ => Err(SqlError::not_supported(format!("The object name {name}"))),
    }
}

fn invalid_object(name: &str) -> SqlError {
    SqlError::new(208, format!("Invalid object name '{name}'."))
}

fn find_table(store: &Store, name: &ast::ObjectName) -> Result<Table, SqlError> {
    let n = table_name(name)?;
    store.table(&n)?.ok_or_else(|| invalid_object(&name.to_string()))
}

/// The object name SQL Server's messages use: `master.dbo.t`.
fn qualified(session: &Session, table: &Table) -> String {
    let db = if table.is_temp() { "tempdb" } else { &session.database };
    format!("{db}.dbo.{}", table.name)
}

// ---------------------------------------------------------------------------
// CREATE / DROP TABLE
// ---------------------------------------------------------------------------

fn create_table(session: &mut Session, create: &ast::CreateTable) -> Result<(), SqlError> {
    let name = table_name(&create.name)?;
    if create.query.is_some() || create.like.is_some() || create.clone.is_some() {
        return Err(SqlError::not_supported("CREATE TABLE ... AS/LIKE/CLONE"));
    }
    let mut columns = Vec::new();
    let mut constraints = Vec::new();
    let mut identity = None;
    let short_hash = |kind: &str| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (kind, &name, std::time::SystemTime::now()).hash(&mut h);
        format!("{kind}__{}__{:016X}", name.trim_start_matches('#'), h.finish())
    };
    for (ordinal, def) in create.columns.iter().enumerate() {
        let ty = parse_type(&def.data_type.to_string())?;
        let mut column =
            CatalogColumn { name: def.name.value.clone(), ty, nullable: true, identity: false, default_sql: None };
        for option in &def.options {
            match &option.option {
                ast::ColumnOption::Null => column.nullable = true,
                ast::ColumnOption::NotNull => column.nullable = false,
                ast::ColumnOption::Default(e) => column.default_sql = Some(e.to_string()),
                ast::ColumnOption::PrimaryKey(_) => {
                    column.nullable = false;
                    constraints.push(Constraint {
                        name: short_hash("PK"),
                        kind: KeyKind::PrimaryKey,
                        columns: vec![ordinal],
                    });
                }
                ast::ColumnOption::Unique(_) => constraints.push(Constraint {
                    name: short_hash("UQ"),
                    kind: KeyKind::Unique,
                    columns: vec![ordinal],
                }),
                ast::ColumnOption::Identity(ast::IdentityPropertyKind::Identity(p)) => {
                    let (seed, increment) = match &p.parameters {
                        None => (1, 1),
                        Some(ast::IdentityPropertyFormatKind::FunctionCall(f)) => {
                            (constant_int(&f.seed)?, constant_int(&f.increment)?)
                        }
                        Some(other) => return Err(SqlError::not_supported(format!("IDENTITY {other}"))),
                    };
                    column.identity = true;
                    column.nullable = false;
                    identity = Some((seed, increment));
                }
                other => return Err(SqlError::not_supported(format!("The column option {other}"))),
            }
        }
        columns.push(column);
    }
    let ordinal_of = |columns: &[CatalogColumn], ident: &str| {
        columns.iter().position(|c| c.name.eq_ignore_ascii_case(ident)).ok_or_else(|| {
            SqlError::new(1911, format!("Column name '{ident}' does not exist in the target table or view."))
        })
    };
    for constraint in &create.constraints {
        let (primary_key, idents) = match constraint {
            ast::TableConstraint::PrimaryKey(pk) => {
                (true, pk.columns.iter().map(|c| c.column.expr.to_string()).collect::<Vec<_>>())
            }
            ast::TableConstraint::Unique(uq) => (false, uq.columns.iter().map(|c| c.column.expr.to_string()).collect()),
            other => return Err(SqlError::not_supported(format!("The table constraint {other}"))),
        };
        let mut ordinals = Vec::new();
        for ident in &idents {
            ordinals.push(ordinal_of(&columns, ident.trim_matches(|c| c == '[' || c == ']'))?);
        }
        if primary_key {
            for &o in &ordinals {
                columns[o].nullable = false;
            }
        }
        constraints.push(Constraint {
            name: short_hash(if primary_key { "PK" } else { "UQ" }),
            kind: if primary_key { KeyKind::PrimaryKey } else { KeyKind::Unique },
            columns: ordinals,
        });
    }
    let table = Table { name: name.clone(), columns, constraints };
    let store = store(session)?;
    if store.table(&name)?.is_some() {
        return Err(SqlError::new(2714, format!("There is already an object named '{name}' in the database.")));
    }
    store.statement(|s| s.create_table(&table, identity))
}

/// `CREATE [UNIQUE] [NONCLUSTERED] INDEX name ON t (columns)`: 1913 for a name the table
/// already has, 1505 when existing rows already repeat a unique key.
fn create_index(session: &mut Session, create: &ast::CreateIndex) -> Result<(), SqlError> {
    if create.predicate.is_some() || !create.include.is_empty() || create.using.is_some() {
        return Err(SqlError::not_supported("CREATE INDEX with INCLUDE, WHERE or USING"));
    }
    let store = store(session)?;
    let table = find_table(store, &create.table_name)?;
    let name = create
        .name
        .as_ref()
        .and_then(|n| n.0.last())
        .map(|p| p.to_string().trim_matches(|c| c == '[' || c == ']').to_string())
        .ok_or_else(|| SqlError::syntax_near("INDEX"))?;
    if table.constraints.iter().any(|k| k.name.eq_ignore_ascii_case(&name)) {
        return Err(SqlError::new(
            1913,
            format!(
                "The operation failed because an index or statistics with name '{name}' already exists on table '{}'.",
                table.name
            ),
        ));
    }
    let mut columns = Vec::new();
    for c in &create.columns {
        let ident = c.column.expr.to_string();
        let ident = ident.trim_matches(|c| c == '[' || c == ']');
        columns.push(table.columns.iter().position(|col| col.name.eq_ignore_ascii_case(ident)).ok_or_else(|| {
            SqlError::new(1911, format!("Column name '{ident}' does not exist in the target table or view."))
        })?);
    }
    let kind = if create.unique { KeyKind::UniqueIndex } else { KeyKind::Index };
    let index = Constraint { name: name.clone(), kind, columns };
    // rows already stored must not repeat the key (NULLs count as equal)
    let check_rows = |rows: Vec<(i64, Vec<Value>)>| {
        if kind == KeyKind::UniqueIndex {
            let mut seen: Vec<Vec<Value>> = Vec::new();
            for (_, values) in rows {
                let key: Vec<Value> = index.columns.iter().map(|&i| values[i].clone()).collect();
                let same = |other: &Vec<Value>| {
                    key.iter().zip(other).zip(&index.columns).all(|((a, b), &i)| {
                        let ty = &table.columns[i].ty;
                        a.is_null() && b.is_null()
                            || compare(ty, a, ty, b).ok().flatten() == Some(std::cmp::Ordering::Equal)
                    })
                };
                if seen.iter().any(same) {
                    return Err(SqlError::new(
                        1505,
                        format!("The CREATE UNIQUE INDEX statement terminated because a duplicate key was found for the object name 'dbo.{}' and the index name '{name}'.", table.name),
                    ));
                }
                seen.push(key);
            }
        }
        Ok(())
    };
    store.statement(|store| store.create_index(&table, &index, check_rows))
}

/// `DROP INDEX name ON t` or `DROP INDEX t.name`.
fn drop_index(
    session: &mut Session,
    names: &[ast::ObjectName],
    table: Option<&ast::ObjectName>,
    if_exists: bool,
) -> Result<(), SqlError> {
    let store = store(session)?;
    for name in names {
        let (table_name, index) = match (table, name.0.as_slice()) {
            (Some(t), [.., index]) => (t.clone(), index.to_string()),
            (None, [.., t, index]) => (ast::ObjectName(vec![t.clone()]), index.to_string()),
            _ => return Err(SqlError::syntax_near("INDEX")),
        };
        let index = index.trim_matches(|c| c == '[' || c == ']').to_string();
        let table = find_table(store, &table_name)?;
        match table.constraints.iter().find(|k| k.kind.is_index() && k.name.eq_ignore_ascii_case(&index)) {
            Some(k) => store.statement(|s| s.drop_index(&table, k))?,
            None if if_exists => {}
            None => {
                return Err(SqlError::new(
                    3701,
                    format!(
                        "Cannot drop the index '{}.{index}', because it does not exist or you do not have permission.",
                        table.name
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn constant_int(e: &ast::Expr) -> Result<i64, SqlError> {
    let text = e.to_string();
    text.parse().map_err(|_| SqlError::not_supported(format!("IDENTITY with {text}")))
}

/// Drops the session's #temp tables (RESETCONNECTION); inside its open transaction when the reset
/// keeps one. A session whose store was never opened has none.
pub fn drop_temp_tables(session: &mut Session) -> Result<(), SqlError> {
    let Some(store) = &session.store else { return Ok(()) };
    for name in store.table_names(true)? {
        if let Some(table) = store.table(&name)? {
            store.statement(|s| s.drop_table(&table))?;
        }
    }
    Ok(())
}

fn drop_tables(session: &mut Session, names: &[ast::ObjectName], if_exists: bool) -> Result<(), SqlError> {
    let store = store(session)?;
    for name in names {
        match store.table(&table_name(name)?)? {
            Some(table) => store.statement(|s| s.drop_table(&table))?,
            None if if_exists => {}
            None => {
                return Err(SqlError::new(
                    3701,
                    format!("Cannot drop the table '{name}', because it does not exist or you do not have permission."),
                ))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/// A sqlparser expression as the part-1 evaluator's `Expr`.
fn translate(e: &ast::Expr) -> Result<Expr, SqlError> {
    Ok(match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => {
                if n.contains(['e', 'E']) {
                    Expr::Float(n.clone())
                } else if n.contains('.') {
                    Expr::Decimal(n.clone())
                } else {
                    Expr::Integer(n.clone())
                }
            }
            ast::Value::SingleQuotedString(s) => Expr::Str(s.clone()),
            ast::Value::NationalStringLiteral(s) => Expr::NStr(s.clone()),
            ast::Value::HexStringLiteral(h) => {
                let h = if h.len() % 2 == 1 { format!("0{h}") } else { h.clone() };
                let bytes: Option<Vec<u8>> =
                    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok()).collect();
                Expr::Binary(bytes.ok_or_else(|| SqlError::syntax_near(&format!("0x{h}")))?)
            }
            ast::Value::Null => Expr::Null,
            other => return Err(SqlError::not_supported(format!("The literal {other}"))),
        },
        ast::Expr::Identifier(ident) => identifier(ident),
        // `t.c` (or `dbo.t.c`): the column and the table or alias qualifying it
        ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [.., table, column] => Expr::Column(format!("{}.{}", table.value, column.value)),
            [column] => Expr::Column(column.value.clone()),
            [] => return Err(SqlError::syntax_near("")),
        },
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => Expr::Negate(Box::new(translate(expr)?)),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Plus, expr } => Expr::Plus(Box::new(translate(expr)?)),
        ast::Expr::Nested(inner) => translate(inner)?,
        ast::Expr::BinaryOp { left, op, right } => {
            let op = match op {
                ast::BinaryOperator::Plus => ArithmeticOperator::Add,
                ast::BinaryOperator::Minus => ArithmeticOperator::Subtract,
                ast::BinaryOperator::Multiply => ArithmeticOperator::Multiply,
                ast::BinaryOperator::Divide => ArithmeticOperator::Divide,
                ast::BinaryOperator::Modulo => ArithmeticOperator::Modulo,
                other => return Err(SqlError::not_supported(format!("The operator {other} in an expression"))),
            };
            Expr::Arithmetic(op, Box::new(translate(left)?), Box::new(translate(right)?))
        }
        ast::Expr::Function(f) => function(f)?,
        ast::Expr::Case { operand, conditions, else_result, .. } => {
            let operand = operand.as_deref().map(translate).transpose()?;
            let mut branches = Vec::new();
            for when in conditions {
                let condition = match &operand {
                    Some(operand) => {
                        Condition::Compare(Comparison::Equal, operand.clone(), translate(&when.condition)?)
                    }
                    None => translate_condition(&when.condition)?,
                };
                branches.push((condition, translate(&when.result)?));
            }
            let otherwise = else_result.as_deref().map(translate).transpose()?.map(Box::new);
            Expr::Case { branches, otherwise }
        }
        ast::Expr::Subquery(query) => Expr::Subquery(query.clone()),
        ast::Expr::Substring { expr, substring_from: Some(from), substring_for: Some(count), .. } => {
            Expr::Function("SUBSTRING".into(), vec![translate(expr)?, translate(from)?, translate(count)?])
        }
        ast::Expr::Trim { expr, trim_where: None, trim_what: None, trim_characters: None } => {
            Expr::Function("TRIM".into(), vec![translate(expr)?])
        }
        ast::Expr::Ceil { expr, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) } => {
            Expr::Function("CEILING".into(), vec![translate(expr)?])
        }
        ast::Expr::Floor { expr, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) } => {
            Expr::Function("FLOOR".into(), vec![translate(expr)?])
        }
        ast::Expr::Cast { kind: ast::CastKind::Cast, expr, data_type, format: None, .. } => {
            Expr::Cast(Box::new(translate(expr)?), parse_conversion_type(&data_type.to_string())?)
        }
        ast::Expr::Convert { is_try: false, expr, data_type: Some(data_type), charset: None, styles, .. } => {
            let style = match styles.as_slice() {
                [] => None,
                [ast::Expr::Value(v)] => match &v.value {
                    ast::Value::Number(n, _) => Some(n.parse().map_err(|_| SqlError::syntax_near(n))?),
                    other => return Err(SqlError::not_supported(format!("CONVERT style {other}"))),
                },
                _ => return Err(SqlError::not_supported("CONVERT with this style")),
            };
            Expr::Convert {
                ty: parse_conversion_type(&data_type.to_string())?,
                expr: Box::new(translate(expr)?),
                style,
            }
        }
        other => return Err(SqlError::not_supported(format!("The expression '{other}' on a table"))),
    })
}

/// A scalar function call: `SCOPE_IDENTITY()`, or one `sql::functions` evaluates.
fn function(f: &ast::Function) -> Result<Expr, SqlError> {
    let name = f.name.to_string().to_uppercase();
    let ast::FunctionArguments::List(list) = &f.args else {
        return Ok(Expr::Function(name, Vec::new()));
    };
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() || list.duplicate_treatment.is_some() {
        return Err(SqlError::not_supported(format!("{name} with DISTINCT, OVER or FILTER")));
    }
    if name == "SCOPE_IDENTITY" && list.args.is_empty() {
        return Ok(Expr::ScopeIdentity);
    }
    let arguments: Vec<&ast::Expr> = list
        .args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
            other => Err(SqlError::not_supported(format!("The function argument {other}"))),
        })
        .collect::<Result<_, _>>()?;
    if name == "IIF" {
        let [condition, then, otherwise] = arguments.as_slice() else {
            return Err(SqlError::new(174, "The iif function requires 3 argument(s)."));
        };
        return Ok(Expr::Case {
            branches: vec![(translate_condition(condition)?, translate(then)?)],
            otherwise: Some(Box::new(translate(otherwise)?)),
        });
    }
    let mut args = Vec::with_capacity(arguments.len());
    for (i, a) in arguments.into_iter().enumerate() {
        args.push(match a {
            // DATEADD(day, ...): the date part is a keyword, not a column
            ast::Expr::Identifier(part) if i == 0 && DATE_PART_FUNCTIONS.contains(&name.as_str()) => {
                Expr::DatePart(part.value.to_lowercase())
            }
            other => translate(other)?,
        });
    }
    Ok(Expr::Function(name, args))
}

fn identifier(ident: &ast::Ident) -> Expr {
    let v = &ident.value;
    if ident.quote_style.is_none() && NILADIC_FUNCTIONS.iter().any(|f| v.eq_ignore_ascii_case(f)) {
        Expr::Function(v.to_uppercase(), Vec::new())
    } else if ident.quote_style.is_none() && v.starts_with("@@") {
        Expr::SystemVariable(v[2..].to_uppercase())
    } else if ident.quote_style.is_none() && v.starts_with('@') {
        Expr::Variable(v.clone())
    } else {
        Expr::Column(v.clone())
    }
}

/// A row as the columns an expression sees (of one table: no qualifier needed).
fn row_scope(columns: &[ColumnDef], values: &[Value]) -> Vec<ColumnValue> {
    qualified_row_scope(columns, &[], values)
}

/// A row as the columns an expression sees, each qualified by its table's name or alias
/// (`qualifiers[i]`, empty when missing).
fn qualified_row_scope(columns: &[ColumnDef], qualifiers: &[String], values: &[Value]) -> Vec<ColumnValue> {
    columns
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (c, v))| ColumnValue {
            qualifier: qualifiers.get(i).map_or_else(|| Rc::from(""), |q| Rc::from(q.as_str())),
            outer: false,
            name: Rc::from(c.name.as_str()),
            ty: c.ty.clone(),
            nullable: c.nullable,
            value: v.clone(),
        })
        .collect()
}

/// A table column as a result column: typed and flagged from the catalog.
fn catalog_column(c: &CatalogColumn) -> ColumnDef {
    ColumnDef {
        name: c.name.clone(),
        ty: c.ty.clone(),
        nullable: c.nullable,
        updatable: !c.identity,
        identity: c.identity,
        computed: false,
    }
}

/// Evaluates to a value (run-time errors included).
fn value_of(e: &ast::Expr, scope: &Scope) -> Result<(Typed, Value), SqlError> {
    let mut typed = eval(&translate(e)?, scope)?;
    let value = std::mem::replace(&mut typed.value, Ok(Value::Null))?;
    Ok((typed, value))
}

/// A search condition as the evaluator's `Condition`.
fn translate_condition(e: &ast::Expr) -> Result<Condition, SqlError> {
    use ast::BinaryOperator as B;
    let boxed = |e: &ast::Expr| translate_condition(e).map(Box::new);
    Ok(match e {
        ast::Expr::Nested(inner) => translate_condition(inner)?,
        ast::Expr::BinaryOp { left, op: B::And, right } => Condition::And(boxed(left)?, boxed(right)?),
        ast::Expr::BinaryOp { left, op: B::Or, right } => Condition::Or(boxed(left)?, boxed(right)?),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Not, expr } => Condition::Not(boxed(expr)?),
        ast::Expr::IsNull(inner) => Condition::IsNull { expr: translate(inner)?, negated: false },
        ast::Expr::IsNotNull(inner) => Condition::IsNull { expr: translate(inner)?, negated: true },
        ast::Expr::BinaryOp { left, op, right } => {
            let op = match op {
                B::Eq => Comparison::Equal,
                B::NotEq => Comparison::NotEqual,
                B::Lt => Comparison::Less,
                B::LtEq => Comparison::LessOrEqual,
                B::Gt => Comparison::Greater,
                B::GtEq => Comparison::GreaterOrEqual,
                other => return Err(SqlError::not_supported(format!("The operator {other} in a condition"))),
            };
            Condition::Compare(op, translate(left)?, translate(right)?)
        }
        ast::Expr::InList { expr, list, negated } => Condition::In {
            expr: translate(expr)?,
            list: list.iter().map(translate).collect::<Result<_, _>>()?,
            negated: *negated,
        },
        ast::Expr::InSubquery { expr, subquery, negated } => {
            Condition::InQuery { expr: translate(expr)?, query: subquery.clone(), negated: *negated }
        }
        ast::Expr::Between { expr, negated, low, high } => Condition::Between {
            expr: translate(expr)?,
            low: translate(low)?,
            high: translate(high)?,
            negated: *negated,
        },
        ast::Expr::Like { negated, any: false, expr, pattern, escape_char } => {
            let escape = match escape_char {
                None => None,
                Some(ast::Value::SingleQuotedString(e)) => Some(Expr::Str(e.clone())),
                Some(ast::Value::NationalStringLiteral(e)) => Some(Expr::NStr(e.clone())),
                Some(other) => return Err(SqlError::not_supported(format!("LIKE ... ESCAPE {other}"))),
            };
            Condition::Like { expr: translate(expr)?, pattern: translate(pattern)?, escape, negated: *negated }
        }
        ast::Expr::Exists { subquery, negated: false } => Condition::Exists(subquery.clone()),
        ast::Expr::Exists { subquery, negated: true } => Condition::Not(Box::new(Condition::Exists(subquery.clone()))),
        other => return Err(SqlError::not_supported(format!("The condition '{other}'"))),
    })
}

/// A stored row: its rowid and values.
type RowWithId = (i64, Vec<Value>);

/// The rows of `table` a WHERE can qualify: when one of its AND-ed conditions is
/// `integer_column = constant`, only the rows SQLite finds holding that value, else when some
/// limit an integer column to a range, only those in it; otherwise every row. Also whether the
/// rows are exactly those the WHERE qualifies (it is all such a range); otherwise the WHERE is
/// still to be evaluated on each, as this only saves a scan.
fn candidate_rows(
    store: &Store,
    table: &Table,
    qualifier: &str,
    selection: Option<&ast::Expr>,
    scope: &Scope,
    reading: Reading,
) -> Result<(Vec<RowWithId>, bool), SqlError> {
    let Some(selection) = selection else {
        return Ok((store.scan(table, reading)?, true));
    };
    if let Some((ordinal, value)) = point_lookup(table, qualifier, selection, scope) {
        return Ok((store.rows_with(table, ordinal, value, reading)?, false));
    }
    match range_lookup(table, qualifier, selection, scope) {
        Some((range, exact)) => Ok((store.rows_in(table, &range, reading)?, exact)),
        None => Ok((store.scan(table, reading)?, false)),
    }
}

/// The range of an integer column that the AND-ed parts of `e` limit it to (`column >= constant`,
/// `>`, `<`, `<=`, `IS NULL`, either way round, the constant of an integer type), for the first
/// such column; and whether `e` is all such parts on that column (the range is then exactly `e`).
fn range_lookup(table: &Table, qualifier: &str, e: &ast::Expr, scope: &Scope) -> Option<(KeyRange, bool)> {
    use ast::BinaryOperator as B;
    let mut parts = Vec::new();
    conjuncts(e, &mut parts);
    let count = parts.len();
    let mut range: Option<KeyRange> = None;
    let mut used = 0;
    let mut exact = true;
    for part in parts {
        let (ordinal, low, high) = match part {
            ast::Expr::IsNull(inner) => match integer_column(table, qualifier, inner) {
                Some(ordinal) if range.is_none() => return Some((KeyRange::Null(ordinal), count == 1)),
                _ => continue,
            },
            ast::Expr::BinaryOp { left, op: op @ (B::Gt | B::GtEq | B::Lt | B::LtEq), right } => {
                // `constant < column` is `column > constant`
                let (ordinal, other, op) =
                    match (integer_column(table, qualifier, left), integer_column(table, qualifier, right)) {
                        (Some(i), _) => (i, right.as_ref(), op.clone()),
                        (None, Some(i)) => (
                            i,
                            left.as_ref(),
                            match op {
                                B::Gt => B::Lt,
                                B::GtEq => B::LtEq,
                                B::Lt => B::Gt,
                                _ => B::GtEq,
                            },
                        ),
                        _ => continue,
                    };
                let Some(bound) = integer_constant(other, scope) else { continue };
                // past the ends of bigint a strict bound is kept as the end itself, which is no longer exact
                let (low, high) = match op {
                    B::GtEq => (Some(bound), None),
                    B::Gt => (
                        Some(bound.checked_add(1).unwrap_or_else(|| {
                            exact = false;
                            bound
                        })),
                        None,
                    ),
                    B::LtEq => (None, Some(bound)),
                    _ => (
                        None,
                        Some(bound.checked_sub(1).unwrap_or_else(|| {
                            exact = false;
                            bound
                        })),
                    ),
                };
                (ordinal, low, high)
            }
            _ => continue,
        };
        range = match range {
            None => Some(KeyRange::Between { ordinal, low, high }),
            Some(KeyRange::Between { ordinal: o, low: l, high: h }) if o == ordinal => Some(KeyRange::Between {
                ordinal,
                low: l.max(low),
                high: match (h, high) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            }),
            kept => {
                exact = false;
                kept
            }
        };
        used += 1;
    }
    range.map(|r| (r, exact && used == count))
}

/// The AND-ed parts of a condition.
fn conjuncts<'e>(e: &'e ast::Expr, parts: &mut Vec<&'e ast::Expr>) {
    match e {
        ast::Expr::Nested(inner) => conjuncts(inner, parts),
        ast::Expr::BinaryOp { left, op: ast::BinaryOperator::And, right } => {
            conjuncts(left, parts);
            conjuncts(right, parts);
        }
        other => parts.push(other),
    }
}

/// The ordinal of the integer column of `table` that `e` names (bare, or qualified by `qualifier`).
fn integer_column(table: &Table, qualifier: &str, e: &ast::Expr) -> Option<usize> {
    let name = match e {
        ast::Expr::Identifier(i) => &i.value,
        ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [.., q, c] if q.value.eq_ignore_ascii_case(qualifier) => &c.value,
            _ => return None,
        },
        ast::Expr::Nested(inner) => return integer_column(table, qualifier, inner),
        _ => return None,
    };
    table.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name) && c.ty.is_integer())
}

/// The value of an expression reading no column, when it is an integer (of an integer type: a
/// fraction would need rounding toward the comparison).
fn integer_constant(e: &ast::Expr, scope: &Scope) -> Option<i64> {
    let constant = translate(e).ok().filter(|e| !reads_columns(e))?;
    let typed = eval(&constant, scope).ok()?;
    match typed.value.ok()? {
        Value::Int(v) if typed.ty.is_integer() => Some(v),
        _ => None,
    }
}

/// `(ordinal, value)` of an `integer_column = constant` condition of `e` (or of one of its AND-ed parts).
fn point_lookup(table: &Table, qualifier: &str, e: &ast::Expr, scope: &Scope) -> Option<(usize, i64)> {
    use ast::BinaryOperator as B;
    let ast::Expr::BinaryOp { left, op, right } = e else {
        return match e {
            ast::Expr::Nested(inner) => point_lookup(table, qualifier, inner, scope),
            _ => None,
        };
    };
    match op {
        B::And => point_lookup(table, qualifier, left, scope).or_else(|| point_lookup(table, qualifier, right, scope)),
        B::Eq => {
            let column = |side: &ast::Expr| {
                let name = match side {
                    ast::Expr::Identifier(i) => i.value.clone(),
                    ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                        [.., q, c] if q.value.eq_ignore_ascii_case(qualifier) => c.value.clone(),
                        _ => return None,
                    },
                    _ => return None,
                };
                table.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&name) && c.ty.is_integer())
            };
            let (ordinal, other) = match (column(left), column(right)) {
                (Some(i), _) => (i, right.as_ref()),
                (None, Some(i)) => (i, left.as_ref()),
                _ => return None,
            };
            let constant = translate(other).ok().filter(|e| !reads_columns(e))?;
            let typed = eval(&constant, scope).ok()?;
            match convert(&typed.value.ok()?, &typed.ty, &SqlType::BigInt) {
                Ok(Value::Int(v)) => Some((ordinal, v)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether an expression reads a column (and so is no constant of the statement).
fn reads_columns(e: &Expr) -> bool {
    match e {
        Expr::Column(_) => true,
        Expr::Negate(inner) | Expr::Plus(inner) | Expr::Cast(inner, _) | Expr::Convert { expr: inner, .. } => {
            reads_columns(inner)
        }
        Expr::Arithmetic(_, l, r) => reads_columns(l) || reads_columns(r),
        Expr::Function(_, args) => args.iter().any(reads_columns),
        // conservatively: they may
        Expr::Case { .. } | Expr::Subquery(_) => true,
        _ => false,
    }
}

/// Whether a row qualifies for an optional WHERE (UNKNOWN does not).
fn qualifies(selection: Option<&Condition>, scope: &Scope) -> Result<bool, SqlError> {
    Ok(match selection {
        None => true,
        Some(c) => eval_condition(c, scope)?? == Some(true),
    })
}

// ---------------------------------------------------------------------------
// INSERT / UPDATE / DELETE
// ---------------------------------------------------------------------------

/// `value` of type `from` as stored in `column` of `table`: 515 for NULL in NOT NULL,
/// 2628 for strings and binaries longer than the column, else SQL Server's conversion.
fn assign(
    session: &Session,
    table: &Table,
    column: &CatalogColumn,
    value: &Value,
    from: &SqlType,
    verb: &str,
) -> Result<Value, SqlError> {
    if value.is_null() {
        if !column.nullable {
            return Err(SqlError::new(
                515,
                format!(
                    "Cannot insert the value NULL into column '{}', table '{}'; column does not allow nulls. {verb} fails.",
                    column.name,
                    qualified(session, table)
                ),
            ));
        }
        return Ok(Value::Null);
    }
    if converts_unchanged(value, from, &column.ty) {
        // within the column's length too: a longer string would have been cut
        return Ok(value.clone());
    }
    let converted = convert(value, from, &column.ty)?;
    if let Some(limit) = length_limit(&column.ty) {
        let full = convert(value, from, &unbounded(&column.ty))?;
        if stored_length(&full, &column.ty) > limit {
            let shown = match &converted {
                Value::Str(s) => s.clone(),
                Value::Bytes(b) => format!("0x{}", b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
                _ => String::new(),
            };
            return Err(SqlError::new(
                2628,
                format!(
                    "String or binary data would be truncated in table '{}', column '{}'. Truncated value: '{shown}'.",
                    qualified(session, table),
                    column.name
                ),
            ));
        }
    }
    Ok(converted)
}

/// `assign` of a value the caller gives up: one already of the column's type is moved, not
/// copied (a bulk load's strings).
fn assign_owned(
    session: &Session,
    table: &Table,
    column: &CatalogColumn,
    value: Value,
    from: &SqlType,
    verb: &str,
) -> Result<Value, SqlError> {
    if !value.is_null() && converts_unchanged(&value, from, &column.ty) {
        return Ok(value);
    }
    assign(session, table, column, &value, from, verb)
}

/// A sized string/binary type's length in characters (bytes for binary), `None` for (max) and others.
fn length_limit(ty: &SqlType) -> Option<usize> {
    match ty {
        SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => Some(*n as usize),
        SqlType::VarChar(Some(n)) | SqlType::NVarChar(Some(n)) | SqlType::VarBinary(Some(n)) => Some(*n as usize),
        _ => None,
    }
}

fn unbounded(ty: &SqlType) -> SqlType {
    match ty {
        SqlType::Char(_) | SqlType::VarChar(_) => SqlType::VarChar(None),
        SqlType::NChar(_) | SqlType::NVarChar(_) => SqlType::NVarChar(None),
        _ => SqlType::VarBinary(None),
    }
}

/// Length in the column's units, ignoring the trailing spaces SQL Server pads with.
fn stored_length(v: &Value, ty: &SqlType) -> usize {
    match v {
        Value::Str(s) if ty.is_unicode() => s.trim_end_matches(' ').encode_utf16().count(),
        Value::Str(s) => s.trim_end_matches(' ').chars().count(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// A row that could not be written: SQLite's unique key violation as SQL Server's 2627 or 2601.
fn constraint_error(session: &Session, table: &Table, values: &[Value], e: WriteError) -> SqlError {
    let e = match e {
        WriteError::Refused(e) => e,
        WriteError::Failed(e) => return e,
    };
    let is_unique = matches!(
        &e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    );
    if !is_unique {
        return storage_error(e);
    }
    // "UNIQUE constraint failed: t_x.c0, t_x.c2" names the storage columns
    let text = e.to_string();
    let failed: Vec<usize> = text
        .rsplit(": ")
        .next()
        .unwrap_or("")
        .split(", ")
        .filter_map(|c| c.rsplit('.').next()?.strip_prefix('c')?.parse().ok())
        .collect();
    let Some(constraint) = table.constraints.iter().find(|k| k.kind.is_unique() && k.columns == failed) else {
        return storage_error(e);
    };
    let key: Vec<String> = constraint
        .columns
        .iter()
        .map(|&i| match convert(&values[i], &table.columns[i].ty, &SqlType::NVarChar(None)) {
            Ok(Value::Str(s)) => s,
            // SQL Server's way of showing a NULL key
            _ => "<NULL>".to_string(),
        })
        .collect();
    let object = qualified(session, table);
    let object = object.split_once('.').map_or(object.as_str(), |(_, rest)| rest);
    let (number, text) = match constraint.kind {
        KeyKind::UniqueIndex => (
            2601,
            format!(
                "Cannot insert duplicate key row in object '{object}' with unique index '{}'. The duplicate key value is ({}).",
                constraint.name,
                key.join(", ")
            ),
        ),
        kind => (
            2627,
            format!(
                "Violation of {} constraint '{}'. Cannot insert duplicate key in object '{object}'. The duplicate key value is ({}).",
                if kind == KeyKind::PrimaryKey { "PRIMARY KEY" } else { "UNIQUE KEY" },
                constraint.name,
                key.join(", ")
            ),
        ),
    };
    SqlError { class: 14, ..SqlError::new(number, text) }
}

fn insert(session: &mut Session, insert: &ast::Insert, variables: &Variables) -> Result<u64, SqlError> {
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(SqlError::not_supported("INSERT into a table function"));
    };
    let table = find_table(store(session)?, name)?;
    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..table.columns.len()).filter(|&i| !table.columns[i].identity).collect()
    } else {
        let mut targets = Vec::new();
        for ident in &insert.columns {
            let i = table
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&ident.value))
                .ok_or_else(|| SqlError::new(207, format!("Invalid column name '{}'.", ident.value)))?;
            if table.columns[i].identity {
                return Err(SqlError::new(
                    544,
                    format!(
                        "Cannot insert explicit value for identity column in table '{}' when IDENTITY_INSERT is set to OFF.",
                        table.name
                    ),
                ));
            }
            targets.push(i);
        }
        targets
    };
    let place = |values: Vec<(SqlType, Value)>| {
        let mut given: Vec<Option<(SqlType, Value)>> = vec![None; table.columns.len()];
        for (value, &i) in values.into_iter().zip(&targets) {
            given[i] = Some(value);
        }
        given
    };
    // SQL Server computes and checks every row before inserting any
    let mut prepared = Vec::new();
    let values_list = insert.source.as_deref().and_then(|q| match q.body.as_ref() {
        ast::SetExpr::Values(values) => Some(values),
        _ => None,
    });
    match (values_list, insert.source.as_deref()) {
        (Some(values), _) => {
            let no_columns = Vec::new();
            let scope = scope(session, variables, &no_columns);
            for row in &values.rows {
                if row.len() != targets.len() {
                    return Err(if row.len() > targets.len() {
                        SqlError::new(110, "There are fewer columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.")
                    } else {
                        SqlError::new(109, "There are more columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.")
                    });
                }
                let values = row
                    .iter()
                    .map(|e| value_of(e, &scope).map(|(typed, value)| (typed.ty, value)))
                    .collect::<Result<Vec<_>, _>>()?;
                prepared.push(place(values));
            }
        }
        (None, Some(source)) => {
            let result = query::run_query(&query::Context::new(session, variables), source)?;
            if let Some(e) = result.error {
                return Err(e);
            }
            if result.columns.len() != targets.len() {
                return Err(if result.columns.len() < targets.len() {
                    SqlError::new(120, "The select list for the INSERT statement contains fewer items than the insert list. The number of SELECT values must match the number of INSERT columns.")
                } else {
                    SqlError::new(121, "The select list for the INSERT statement contains more items than the insert list. The number of SELECT values must match the number of INSERT columns.")
                });
            }
            for row in result.rows {
                prepared.push(place(result.columns.iter().map(|c| c.ty.clone()).zip(row).collect()));
            }
        }
        (None, None) => return Err(SqlError::not_supported("INSERT ... DEFAULT VALUES")),
    }
    let session_ref: &Session = session;
    let no_columns = Vec::new();
    let scope = scope(session_ref, variables, &no_columns);
    let store = session_ref.store.as_ref().expect("opened by find_table");
    let mut last_identity = None;
    let inserted = store.statement(|store| {
        for given in &prepared {
            let mut values = Vec::with_capacity(table.columns.len());
            for (column, given) in table.columns.iter().zip(given) {
                let value = match given {
                    Some((ty, v)) => assign(session_ref, &table, column, v, ty, "INSERT")?,
                    None if column.identity => {
                        let id = store.next_identity(&table)?;
                        last_identity = Some(id);
                        Value::Int(id)
                    }
                    None => default_value(session_ref, &table, column, &scope)?,
                };
                values.push(value);
            }
            store.insert(&table, &values).map_err(|e| constraint_error(session_ref, &table, &values, e))?;
        }
        Ok(prepared.len() as u64)
    });
    if inserted.is_ok() && last_identity.is_some() {
        session.identity = last_identity;
        session.scope_identity = last_identity;
    }
    inserted
}

/// The value a column takes when an INSERT gives none: its DEFAULT, else NULL (515 when NOT NULL).
fn default_value(session: &Session, table: &Table, column: &CatalogColumn, scope: &Scope) -> Result<Value, SqlError> {
    match &column.default_sql {
        Some(sql) => {
            let dialect = MsSqlDialect {};
            let e = Parser::new(&dialect)
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| SqlError::from_parser(e, 0))?;
            let (typed, v) = value_of(&e, scope)?;
            assign(session, table, column, &v, &typed.ty, "INSERT")
        }
        None => assign(session, table, column, &Value::Null, &SqlType::Int, "INSERT"),
    }
}

/// The single table a statement's FROM names.
fn single_table(from: &[ast::TableWithJoins]) -> Result<&ast::ObjectName, SqlError> {
    match from {
        [ast::TableWithJoins { relation: ast::TableFactor::Table { name, args: None, .. }, joins }]
            if joins.is_empty() =>
        {
            Ok(name)
        }
        _ => Err(SqlError::not_supported("A FROM clause other than one table")),
    }
}

fn update(session: &mut Session, update: &ast::Update, variables: &Variables) -> Result<u64, SqlError> {
    if update.from.is_some() || update.returning.is_some() || update.limit.is_some() {
        return Err(SqlError::not_supported("UPDATE with FROM, OUTPUT or a limit"));
    }
    let table = find_table(store(session)?, single_table(std::slice::from_ref(&update.table))?)?;
    let mut assignments = Vec::new();
    for a in &update.assignments {
        let ast::AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(SqlError::not_supported("UPDATE of a tuple"));
        };
        let column = name.0.last().map(|p| p.to_string()).unwrap_or_default();
        let column = column.trim_matches(|c| c == '[' || c == ']');
        let i = table
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(column))
            .ok_or_else(|| SqlError::new(207, format!("Invalid column name '{column}'.")))?;
        if table.columns[i].identity {
            return Err(SqlError::new(8102, format!("Cannot update identity column '{}'.", table.columns[i].name)));
        }
        assignments.push((i, &a.value));
    }
    let session_ref: &Session = session;
    change_rows(session_ref, &table, update.selection.as_ref(), variables, |store, rowid, values, scope| {
        let mut new_values = values.to_vec();
        for (i, e) in &assignments {
            let (typed, v) = value_of(e, scope)?;
            new_values[*i] = assign(session_ref, &table, &table.columns[*i], &v, &typed.ty, "UPDATE")?;
        }
        store
            .update(&table, rowid, values, &new_values)
            .map_err(|e| constraint_error(session_ref, &table, &new_values, e))
    })
}

fn delete(session: &mut Session, delete: &ast::Delete, variables: &Variables) -> Result<u64, SqlError> {
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    if !delete.tables.is_empty() || delete.using.is_some() || delete.returning.is_some() || delete.limit.is_some() {
        return Err(SqlError::not_supported("DELETE with several tables, OUTPUT or a limit"));
    }
    let table = find_table(store(session)?, single_table(from)?)?;
    change_rows(session, &table, delete.selection.as_ref(), variables, |store, rowid, values, _| {
        store.delete(&table, rowid, values)
    })
}

/// Runs `change` on every row of `table` that `selection` qualifies, as one atomic statement;
/// returns how many rows it changed. The qualifying rows are locked before the first change.
fn change_rows(
    session: &Session,
    table: &Table,
    selection: Option<&ast::Expr>,
    variables: &Variables,
    mut change: impl FnMut(&Store, i64, &[Value], &Scope) -> Result<(), SqlError>,
) -> Result<u64, SqlError> {
    let store = session.store.as_ref().expect("opened by find_table");
    let defs: Vec<ColumnDef> = table.columns.iter().map(catalog_column).collect();
    let no_columns = Vec::new();
    let statement_scope = scope(session, variables, &no_columns);
    let condition = selection.map(translate_condition).transpose()?;
    store.statement(|store| {
        let qualifying = loop {
            let mut qualifying = Vec::new();
            for (rowid, values) in
                candidate_rows(store, table, &table.name, selection, &statement_scope, Reading::Committed)?.0
            {
                let columns = row_scope(&defs, &values);
                if qualifies(condition.as_ref(), &scope(session, variables, &columns))? {
                    qualifying.push((rowid, values));
                }
            }
            if store.lock_rows(table, &qualifying)? {
                break qualifying;
            }
        };
        for (rowid, values) in &qualifying {
            let columns = row_scope(&defs, values);
            change(store, *rowid, values, &scope(session, variables, &columns))?;
        }
        Ok(qualifying.len() as u64)
    })
}
