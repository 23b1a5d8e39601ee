//! The pre-parser: finds the statements sqlparser cannot parse (`INSERT BULK`, `SAVE TRAN`,
//! `ROLLBACK TRAN name`, INSERT/UPDATE/DELETE with an OUTPUT clause, DELETE without FROM) in a
//! batch before it goes to the other front ends, and cuts the batch around them so the rest
//! runs as before.

use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

use super::bulk::{self, InsertBulk};
use super::output::{self, OutputStatement};
use super::transaction;
use crate::engine::{DoneKind, Event, Session};
use crate::sql::eval::Variables;
use crate::sql::parser::{SqlError, STATEMENT_KEYWORDS};

/// A statement only the pre-parser reads.
#[derive(Clone, Debug, PartialEq)]
pub enum PreStatement {
    InsertBulk(InsertBulk),
    /// `SAVE TRAN[SACTION] name`
    SaveTransaction(String),
    /// `ROLLBACK TRAN[SACTION] name`: to a savepoint, or all of the transaction of that name
    RollbackTransaction(String),
    /// INSERT, UPDATE or DELETE with an OUTPUT clause
    Output(OutputStatement),
    /// A table statement sqlparser reads once rewritten (`DELETE t` as `DELETE FROM t`)
    Table(Box<sqlparser::ast::Statement>),
}

/// A part of a batch: text for the other front ends (blank-padded from the batch's start, so
/// line numbers hold), or a pre-parsed statement with its line.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Text(String),
    Statement(PreStatement, u32),
}

/// Words without which a batch has no pre-parsed statement (a cheap test before tokenizing).
const TRIGGER_WORDS: &[&str] = &["BULK", "SAVE", "ROLLBACK", "OUTPUT", "DELETE"];

/// The batch cut around its pre-parsed statements; `None` when it has none.
pub fn split(sql: &str) -> Option<Result<Vec<Segment>, SqlError>> {
    let upper = sql.to_ascii_uppercase();
    if !TRIGGER_WORDS.iter().any(|w| upper.contains(w)) {
        return None;
    }
    let dialect = MsSqlDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(sql).ok()?;
    let offsets = CharOffsets::new(sql);
    let mut segments = Vec::new();
    let mut text_start = 0;
    loop {
        let next = parser.peek_token();
        if next.token == Token::EOF {
            break;
        }
        let start = offsets.of(next.span.start);
        let line = next.span.start.line as u32;
        let Some(kind) = starts_pre_statement(&parser) else {
            let dml = ["INSERT", "UPDATE", "DELETE"].iter().any(|w| word_is(&next.token, w));
            match if dml { find_dml(&sql[start..]) } else { None } {
                None => {
                    parser.next_token();
                }
                Some(Err(e)) => return Some(Err(syntax_error(e, line))),
                Some(Ok((statement, len))) => {
                    push_text(&mut segments, sql, text_start, start);
                    segments.push(Segment::Statement(statement, line));
                    text_start = start + len;
                    while parser.peek_token().token != Token::EOF
                        && offsets.of(parser.peek_token().span.start) < text_start
                    {
                        parser.next_token();
                    }
                }
            }
            continue;
        };
        let statement = match parse_pre_statement(&mut parser, kind) {
            Ok(statement) => statement,
            Err(e) => return Some(Err(syntax_error(e, line))),
        };
        push_text(&mut segments, sql, text_start, start);
        segments.push(Segment::Statement(statement, line));
        let after = parser.peek_token();
        text_start = if after.token == Token::EOF { sql.len() } else { offsets.of(after.span.start) };
    }
    if segments.is_empty() {
        return None;
    }
    push_text(&mut segments, sql, text_start, sql.len());
    Some(Ok(segments))
}

/// Appends `sql[start..end]`, padded as described at `Segment::Text`, unless it is blank.
fn push_text(segments: &mut Vec<Segment>, sql: &str, start: usize, end: usize) {
    let text = &sql[start..end];
    if text.trim_matches(|c: char| c.is_whitespace() || c == ';').is_empty() {
        return;
    }
    let padding: String = sql[..start].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
    segments.push(Segment::Text(padding + text));
}

/// Byte offsets of sqlparser's (line, column) locations in the text.
struct CharOffsets<'a> {
    sql: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> CharOffsets<'a> {
    fn new(sql: &'a str) -> CharOffsets<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        CharOffsets { sql, line_starts }
    }

    fn of(&self, location: Location) -> usize {
        let line = (location.line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(line) else { return self.sql.len() };
        let column = (location.column as usize).saturating_sub(1);
        self.sql[start..].char_indices().nth(column).map_or(self.sql.len(), |(i, _)| start + i)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    InsertBulk,
    Save,
    Rollback,
}

fn word_is(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn is_tran(token: &Token) -> bool {
    word_is(token, "TRAN") || word_is(token, "TRANSACTION")
}

/// A transaction or savepoint name: a word that does not start the next statement, or a variable.
fn is_name(token: &Token) -> bool {
    match token {
        Token::Word(w) if w.quote_style.is_some() => true,
        Token::Word(w) => !STATEMENT_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&w.value)),
        _ => false,
    }
}

fn starts_pre_statement(parser: &Parser) -> Option<Kind> {
    let [first, second, third] = parser.peek_tokens();
    if word_is(&first, "INSERT") && word_is(&second, "BULK") {
        Some(Kind::InsertBulk)
    } else if word_is(&first, "SAVE") && is_tran(&second) {
        Some(Kind::Save)
    } else if word_is(&first, "ROLLBACK") && is_tran(&second) && is_name(&third) {
        Some(Kind::Rollback)
    } else {
        None
    }
}

fn parse_pre_statement(parser: &mut Parser, kind: Kind) -> Result<PreStatement, ParserError> {
    parser.next_token();
    parser.next_token();
    Ok(match kind {
        Kind::InsertBulk => PreStatement::InsertBulk(parse_insert_bulk(parser)?),
        Kind::Save => PreStatement::SaveTransaction(parser.parse_identifier()?.value),
        Kind::Rollback => PreStatement::RollbackTransaction(parser.parse_identifier()?.value),
    })
}

/// `name ( column type [COLLATE c] [NULL | NOT NULL], ... ) [WITH ( option, ... )]` after INSERT BULK.
fn parse_insert_bulk(parser: &mut Parser) -> Result<InsertBulk, ParserError> {
    let table = parser.parse_object_name(false)?;
    parser.expect_token(&Token::LParen)?;
    let mut columns = Vec::new();
    loop {
        let name = parser.parse_identifier()?.value;
        let ty = parser.parse_data_type()?.to_string();
        if parser.parse_keyword(sqlparser::keywords::Keyword::COLLATE) {
            parser.parse_identifier()?;
        }
        if !parser.parse_keyword(sqlparser::keywords::Keyword::NULL) {
            let _ = parser.parse_keywords(&[sqlparser::keywords::Keyword::NOT, sqlparser::keywords::Keyword::NULL]);
        }
        columns.push((name, ty));
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    let mut options = Vec::new();
    if parser.parse_keyword(sqlparser::keywords::Keyword::WITH) {
        parser.expect_token(&Token::LParen)?;
        // each option's text up to the next top-level comma
        let mut depth = 0usize;
        let mut option = String::new();
        loop {
            let token = parser.next_token().token;
            match &token {
                Token::EOF => return parser.expected("')'", parser.peek_token()),
                Token::RParen if depth == 0 => break,
                Token::Comma if depth == 0 => {
                    options.push(std::mem::take(&mut option).to_uppercase());
                    continue;
                }
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            option.push_str(&token.to_string());
        }
        options.push(option.to_uppercase());
    }
    Ok(InsertBulk { table, columns, options })
}

/// Runs a pre-parsed statement; returns false when its error ends the batch.
pub fn run(
    session: &mut Session,
    statement: &PreStatement,
    line: u32,
    variables: &Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    match statement {
        PreStatement::Output(statement) => output::run(session, statement, line, variables, kind, events),
        PreStatement::Table(statement) => super::run_statement(session, statement, line, variables, kind, events),
        PreStatement::InsertBulk(insert) => bulk::run_announce(session, insert, line, kind, events),
        PreStatement::SaveTransaction(name) => transaction::save(session, name, line, kind, events),
        PreStatement::RollbackTransaction(name) => transaction::rollback(session, Some(name), line, kind, events),
    }
}

/// What `DELETE t` is read as: T-SQL's FROM is optional, sqlparser's is not.
const DELETE_FROM: &str = "DELETE FROM";

/// An INSERT, UPDATE or DELETE at the start of `text` that sqlparser cannot parse as it is: one
/// with an OUTPUT clause (parsed without it), or `DELETE t ...` without FROM; with its length in
/// `text`. `None` for any other text.
fn find_dml(text: &str) -> Option<Result<(PreStatement, usize), ParserError>> {
    use sqlparser::keywords::Keyword;
    let dialect = MsSqlDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(text).ok()?;
    let first = parser.next_token();
    let mut delete_without_from = false;
    // what precedes OUTPUT: INSERT [INTO] t [(columns)], DELETE [FROM] t, UPDATE t SET assignments
    if word_is(&first.token, "INSERT") {
        let _ = parser.parse_keyword(Keyword::INTO); // optional
        parser.parse_object_name(false).ok()?;
        if parser.peek_token().token == Token::LParen {
            parser.parse_parenthesized_column_list(sqlparser::parser::IsOptional::Mandatory, false).ok()?;
        }
    } else if word_is(&first.token, "DELETE") {
        delete_without_from = !parser.parse_keyword(Keyword::FROM) && !word_is(&parser.peek_token().token, "TOP");
        parser.parse_object_name(false).ok()?;
    } else if word_is(&first.token, "UPDATE") {
        parser.parse_object_name(false).ok()?;
        parser.expect_keyword(Keyword::SET).ok()?;
        parser.parse_comma_separated(Parser::parse_assignment).ok()?;
    } else {
        return None;
    }
    let offsets = CharOffsets::new(text);
    let output = parser.peek_token();
    let mut items = None;
    let mut rewritten = text.to_string();
    if word_is(&output.token, "OUTPUT") {
        let clause_start = offsets.of(output.span.start);
        parser.next_token();
        let mut read = match parser.parse_comma_separated(Parser::parse_select_item) {
            Ok(items) => items,
            Err(e) => return Some(Err(e)),
        };
        let after = parser.peek_token();
        let mut clause_end = if after.token == Token::EOF { text.len() } else { offsets.of(after.span.start) };
        // sqlparser reads `INSERTED.k VALUES` as an alias: VALUES (reserved in T-SQL) starts the source
        if let Some(sqlparser::ast::SelectItem::ExprWithAlias { expr, alias }) = read.last().cloned() {
            if alias.quote_style.is_none() && alias.value.eq_ignore_ascii_case("VALUES") {
                clause_end = offsets.of(alias.span.start);
                *read.last_mut().expect("the item just read") = sqlparser::ast::SelectItem::UnnamedExpr(expr);
            }
        }
        // the clause blanked byte for byte, so offsets in the statement stay those of `text`
        let blank: String = text[clause_start..clause_end]
            .chars()
            .map(|c| if c == '\n' { "\n".to_string() } else { " ".repeat(c.len_utf8()) })
            .collect();
        rewritten.replace_range(clause_start..clause_end, &blank);
        items = Some(read);
    } else if !delete_without_from {
        return None;
    }
    let delete_end = offsets.of(first.span.end);
    let shift = if delete_without_from {
        rewritten.replace_range(..delete_end, DELETE_FROM);
        DELETE_FROM.len() - delete_end
    } else {
        0
    };
    let parsed = Parser::new(&dialect).try_with_sql(&rewritten).and_then(|mut parser| {
        let statement = Box::new(parser.parse_statement()?);
        let end = parser.peek_token();
        let len =
            if end.token == Token::EOF { rewritten.len() } else { CharOffsets::new(&rewritten).of(end.span.start) };
        let statement = match items {
            Some(items) => PreStatement::Output(OutputStatement { statement, items }),
            None => PreStatement::Table(statement),
        };
        Ok((statement, len - shift))
    });
    Some(parsed)
}

fn syntax_error(e: ParserError, line: u32) -> SqlError {
    let text = e.to_string();
    let near = text.split("found: ").nth(1).and_then(|rest| rest.split(" at Line").next()).unwrap_or("");
    SqlError { line, ..SqlError::syntax_near(if near == "EOF" { "" } else { near }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiberius_insert_bulk() {
        let sql = "INSERT BULK bulk_t ([id] int, [name] nvarchar(100), [at] datetime2(7)) WITH (TABLOCK, KEEP_NULLS)";
        let Some(Ok(segments)) = split(sql) else { panic!("not pre-parsed: {sql}") };
        let [Segment::Statement(PreStatement::InsertBulk(insert), 1)] = segments.as_slice() else {
            panic!("{segments:?}")
        };
        assert_eq!(insert.table.to_string(), "bulk_t");
        let names: Vec<&str> = insert.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "name", "at"]);
        assert_eq!(insert.options, ["TABLOCK", "KEEP_NULLS"]);
    }

    #[test]
    fn pytds_insert_bulk_with_nullability_and_order() {
        let sql = "INSERT BULK [t]([a] NVARCHAR(4000) NULL,[b] INT NOT NULL) WITH (ORDER(a ASC, b DESC),TABLOCK)";
        let Some(Ok(segments)) = split(sql) else { panic!("not pre-parsed") };
        let [Segment::Statement(PreStatement::InsertBulk(insert), 1)] = segments.as_slice() else {
            panic!("{segments:?}")
        };
        assert_eq!(insert.columns.len(), 2);
        assert_eq!(insert.options.len(), 2);
        assert!(insert.options[0].starts_with("ORDER("), "{:?}", insert.options);
    }

    #[test]
    fn freetds_insert_bulk() {
        // tds7_build_bulk_insert_stmt: lower case, bracketed names, hints in `with (...)`
        let sql = "insert bulk [dbo].[t] ([k] int, [amount] decimal(9,2), [g] uniqueidentifier  ) with (TABLOCK)";
        let Some(Ok(segments)) = split(sql) else { panic!("not pre-parsed") };
        let [Segment::Statement(PreStatement::InsertBulk(insert), 1)] = segments.as_slice() else {
            panic!("{segments:?}")
        };
        assert_eq!(insert.table.to_string(), "[dbo].[t]");
        let columns: Vec<(&str, String)> = insert.columns.iter().map(|(n, t)| (n.as_str(), t.to_uppercase())).collect();
        assert_eq!(columns, [("k", "INT".into()), ("amount", "DECIMAL(9,2)".into()), ("g", "UNIQUEIDENTIFIER".into())]);
        assert_eq!(insert.options, ["TABLOCK"]);
    }

    #[test]
    fn save_and_rollback_cut_a_batch_keeping_lines() {
        let sql =
            "BEGIN TRAN\nINSERT INTO t VALUES (1)\nSAVE TRAN s1\nINSERT INTO t VALUES (2)\nROLLBACK TRAN s1\nCOMMIT";
        let Some(Ok(segments)) = split(sql) else { panic!("not pre-parsed") };
        assert_eq!(segments.len(), 5, "{segments:?}");
        assert_eq!(segments[1], Segment::Statement(PreStatement::SaveTransaction("s1".into()), 3));
        assert_eq!(segments[3], Segment::Statement(PreStatement::RollbackTransaction("s1".into()), 5));
        let Segment::Text(third) = &segments[2] else { panic!() };
        assert_eq!(third.lines().count(), 4, "padded to line 4: {third:?}");
        assert_eq!(third.trim(), "INSERT INTO t VALUES (2)");
    }

    #[test]
    fn plain_rollback_and_words_in_strings_are_left_alone() {
        assert!(split("ROLLBACK TRAN").is_none());
        assert!(split("ROLLBACK TRANSACTION SELECT 1").is_none());
        assert!(split("SELECT 'INSERT BULK t (a int)', 'SAVE TRAN x'").is_none());
    }
}
