//! The control flow of a batch: BEGIN...END, IF/ELSE, WHILE, BREAK, CONTINUE, RETURN and
//! BEGIN TRY...END TRY BEGIN CATCH...END CATCH. Every other statement is cut out as its own
//! text, for the statement front ends to run as before.

use sqlparser::dialect::MsSqlDialect;
use sqlparser::tokenizer::{Location, Token as SqlToken};

use super::lexer::Token;
use super::parser::{Condition, Expr, Parser, SqlError, STATEMENT_KEYWORDS};

/// A part of a batch's control flow.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// One statement: its text, blank-padded up to its place in the batch so line numbers hold
    Statement {
        text: String,
        line: u32,
    },
    /// BEGIN ... END
    Sequence(Vec<Block>),
    If {
        condition: Condition,
        line: u32,
        then: Box<Block>,
        otherwise: Option<Box<Block>>,
    },
    While {
        condition: Condition,
        line: u32,
        body: Box<Block>,
    },
    Break(u32),
    Continue(u32),
    /// RETURN [value]
    Return {
        value: Option<Expr>,
        line: u32,
    },
    /// BEGIN TRY ... END TRY BEGIN CATCH ... END CATCH
    TryCatch {
        body: Vec<Block>,
        handler: Vec<Block>,
    },
}

/// Words that make a batch one for this parser (a cheap test before parsing).
const CONTROL_WORDS: &[&str] = &["IF", "WHILE", "BEGIN", "RETURN", "BREAK", "CONTINUE", "GOTO"];

/// The objects DROP ... IF EXISTS drops.
const DROPPED_OBJECTS: &[&str] = &[
    "TABLE",
    "VIEW",
    "PROC",
    "PROCEDURE",
    "INDEX",
    "FUNCTION",
    "TRIGGER",
    "SCHEMA",
    "TYPE",
    "SEQUENCE",
    "SYNONYM",
    "DATABASE",
];

/// Words after BEGIN that make it a statement of its own, not a block.
const BEGIN_STATEMENTS: &[&str] = &["TRAN", "TRANSACTION", "DISTRIBUTED", "DIALOG", "CONVERSATION"];

/// Whether `sql` has control flow (outside strings and comments).
pub fn has_control_flow(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    if !CONTROL_WORDS.iter().any(|w| upper.contains(w)) {
        return false;
    }
    let Ok(p) = Parser::new(sql) else {
        return false;
    };
    (0..p.token_count()).any(|i| {
        let word = |j: usize| p.token_at(j).filter(|t| matches!(t, Token::Ident { quoted: false, .. }));
        match word(i) {
            Some(t) if t.is_keyword("BEGIN") => {
                !word(i + 1).is_some_and(|n| BEGIN_STATEMENTS.iter().any(|k| n.is_keyword(k)))
            }
            // not the IF of DROP TABLE IF EXISTS
            Some(t) if t.is_keyword("IF") => {
                i == 0 || !word(i - 1).is_some_and(|w| DROPPED_OBJECTS.iter().any(|k| w.is_keyword(k)))
            }
            Some(t) => ["WHILE", "RETURN", "BREAK", "CONTINUE", "GOTO"].iter().any(|k| t.is_keyword(k)),
            None => false,
        }
    })
}

/// Parses a batch into its blocks.
pub fn parse(sql: &str) -> Result<Vec<Block>, SqlError> {
    let mut b = BlockParser { p: Parser::new(sql)?, sql };
    let blocks = b.list(&[])?;
    if !b.p.at_end() {
        return Err(b.p.located(b.p.unexpected()));
    }
    Ok(blocks)
}

struct BlockParser<'t> {
    p: Parser<'t>,
    sql: &'t str,
}

impl BlockParser<'_> {
    fn keyword_at(&self, index: usize, kw: &str) -> bool {
        self.p.token_at(index).is_some_and(|t| t.is_keyword(kw))
    }

    fn peek2(&self, first: &str, second: &str) -> bool {
        self.keyword_at(self.p.pos, first) && self.keyword_at(self.p.pos + 1, second)
    }

    fn skip_semicolons(&mut self) {
        while self.p.eat_punct(';') {}
    }

    /// Blocks up to the end of the text or a terminating `END` (left unconsumed).
    fn list(&mut self, ends_at: &[&str]) -> Result<Vec<Block>, SqlError> {
        let mut blocks = Vec::new();
        loop {
            self.skip_semicolons();
            if self.p.at_end() || ends_at.iter().any(|k| self.p.peek_keyword(k)) {
                return Ok(blocks);
            }
            blocks.push(self.block()?);
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), SqlError> {
        if self.p.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.p.located(self.p.unexpected()))
        }
    }

    fn block(&mut self) -> Result<Block, SqlError> {
        self.skip_semicolons();
        let line = self.p.line();
        let located = |p: &Parser, e: SqlError| p.located(e);
        if self.peek2("BEGIN", "TRY") {
            self.p.pos += 2;
            let body = self.list(&["END"])?;
            self.expect_keyword("END")?;
            self.expect_keyword("TRY")?;
            self.skip_semicolons();
            if !self.peek2("BEGIN", "CATCH") {
                return Err(located(&self.p, SqlError::syntax_near("END TRY")));
            }
            self.p.pos += 2;
            let handler = self.list(&["END"])?;
            self.expect_keyword("END")?;
            self.expect_keyword("CATCH")?;
            return Ok(Block::TryCatch { body, handler });
        }
        if self.p.peek_keyword("BEGIN") && !BEGIN_STATEMENTS.iter().any(|k| self.keyword_at(self.p.pos + 1, k)) {
            self.p.pos += 1;
            let blocks = self.list(&["END"])?;
            self.expect_keyword("END")?;
            return Ok(Block::Sequence(blocks));
        }
        if self.p.eat_keyword("IF") {
            let condition = self.p.condition().map_err(|e| located(&self.p, e))?;
            let then = Box::new(self.statement_block()?);
            // a `;` may end the statement before ELSE
            let before = self.p.pos;
            self.skip_semicolons();
            let otherwise = if self.p.eat_keyword("ELSE") {
                Some(Box::new(self.statement_block()?))
            } else {
                self.p.pos = before;
                None
            };
            return Ok(Block::If { condition, line, then, otherwise });
        }
        if self.p.eat_keyword("WHILE") {
            let condition = self.p.condition().map_err(|e| located(&self.p, e))?;
            let body = Box::new(self.statement_block()?);
            return Ok(Block::While { condition, line, body });
        }
        if self.p.eat_keyword("BREAK") {
            return Ok(Block::Break(line));
        }
        if self.p.eat_keyword("CONTINUE") {
            return Ok(Block::Continue(line));
        }
        if self.p.eat_keyword("RETURN") {
            let value =
                if self.at_statement_boundary() { None } else { Some(self.p.expr().map_err(|e| located(&self.p, e))?) };
            return Ok(Block::Return { value, line });
        }
        if self.p.peek_keyword("GOTO") || (self.p.token_at(self.p.pos + 1) == Some(&Token::Punct(':'))) {
            return Err(located(&self.p, SqlError::not_supported("GOTO and labels")));
        }
        if self.p.peek_keyword("ELSE") || self.p.peek_keyword("END") {
            let word = self.p.peek().map(Token::display).unwrap_or_default();
            return Err(located(&self.p, SqlError::new(156, format!("Incorrect syntax near the keyword '{word}'."))));
        }
        self.statement()
    }

    /// The statement or block an IF, ELSE or WHILE governs.
    fn statement_block(&mut self) -> Result<Block, SqlError> {
        self.skip_semicolons();
        if self.p.at_end() {
            return Err(self.p.located(self.p.unexpected()));
        }
        self.block()
    }

    fn at_statement_boundary(&self) -> bool {
        self.p.at_end() || self.p.peek_punct(';') || self.p.at_statement_start()
    }

    /// One statement for the statement front ends, cut out of the batch.
    fn statement(&mut self) -> Result<Block, SqlError> {
        let start = self.p.pos;
        let line = self.p.line();
        let end = self.statement_end(start);
        let (from, to) = (self.p.offset_of(start), self.p.offset_of(end));
        let padding: String = self.sql[..from].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        self.p.pos = end;
        Ok(Block::Statement { text: padding + &self.sql[from..to], line })
    }

    /// The token index where the statement starting at `start` ends: where sqlparser stops
    /// reading a statement it parses (when a statement boundary follows), else by scanning.
    fn statement_end(&self, start: usize) -> usize {
        const PARSED: &[&str] =
            &["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "DROP", "ALTER", "TRUNCATE"];
        if PARSED.iter().any(|k| self.keyword_at(start, k)) {
            if let Some(end) = self.parsed_end(start) {
                return end;
            }
        }
        self.scanned_end(start)
    }

    fn parsed_end(&self, start: usize) -> Option<usize> {
        let from = self.p.offset_of(start);
        let text = &self.sql[from..];
        let dialect = MsSqlDialect {};
        let mut parser = sqlparser::parser::Parser::new(&dialect).try_with_sql(text).ok()?;
        parser.parse_statement().ok()?;
        let next = parser.peek_token();
        let offset =
            if next.token == SqlToken::EOF { self.sql.len() } else { from + byte_offset(text, next.span.start) };
        let end =
            (start..self.p.token_count()).find(|&i| self.p.offset_of(i) >= offset).unwrap_or(self.p.token_count());
        let at_boundary = end >= self.p.token_count()
            || self.p.token_at(end) == Some(&Token::Punct(';'))
            || self.p.token_at(end).is_some_and(|t| STATEMENT_KEYWORDS.iter().any(|k| t.is_keyword(k)));
        (end > start && self.p.offset_of(end) == offset.min(self.sql.len()) && at_boundary).then_some(end)
    }

    /// The end of a statement by its words: the next statement keyword outside parentheses and
    /// CASE...END, except the keywords that continue the statement (INSERT ... SELECT, UNION
    /// SELECT, UPDATE ... SET, DROP ... IF EXISTS, table hints and options after WITH ...).
    fn scanned_end(&self, start: usize) -> usize {
        let first = |k: &str| self.keyword_at(start, k);
        let mut depth = 0usize;
        let mut case_depth = 0usize;
        // the one source of an INSERT, the verb after a WITH's CTEs, the SET of an UPDATE
        let mut continuation_used = false;
        let mut i = start + 1;
        while let Some(t) = self.p.token_at(i) {
            match t {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => depth = depth.saturating_sub(1),
                Token::Punct(';') if depth == 0 => return i,
                Token::Ident { quoted: false, .. } if depth == 0 => {
                    if t.is_keyword("CASE") {
                        case_depth += 1;
                    } else if t.is_keyword("END") && case_depth > 0 {
                        case_depth -= 1;
                    } else if case_depth == 0 && STATEMENT_KEYWORDS.iter().any(|k| t.is_keyword(k)) {
                        let previous = |k: &str| self.keyword_at(i - 1, k);
                        let next = |k: &str| self.keyword_at(i + 1, k);
                        let once = !continuation_used;
                        let continues = if t.is_keyword("WITH") {
                            !self.starts_cte(i)
                        } else if t.is_keyword("SELECT") {
                            ["UNION", "ALL", "EXCEPT", "INTERSECT"].iter().any(|k| previous(k))
                                || (once && (first("INSERT") || first("WITH") || first("DECLARE")))
                        } else if t.is_keyword("EXEC") || t.is_keyword("EXECUTE") {
                            once && first("INSERT")
                        } else if t.is_keyword("INSERT") || t.is_keyword("UPDATE") || t.is_keyword("DELETE") {
                            first("MERGE") || (once && first("WITH"))
                        } else if t.is_keyword("SET") {
                            first("ALTER") || (once && (first("UPDATE") || first("MERGE")))
                        } else if t.is_keyword("DROP") {
                            first("ALTER")
                        } else if t.is_keyword("IF") {
                            first("DROP") && next("EXISTS")
                        } else if t.is_keyword("FETCH") {
                            previous("ROWS") || previous("ROW")
                        } else {
                            false
                        };
                        if !continues {
                            return i;
                        }
                        if !["UNION", "ALL", "EXCEPT", "INTERSECT", "ROWS", "ROW"].iter().any(|k| previous(k))
                            && !t.is_keyword("WITH")
                        {
                            continuation_used = true;
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.p.token_count()
    }

    /// Whether the WITH at `index` starts a common table expression: `WITH name [(columns)] AS (`.
    fn starts_cte(&self, index: usize) -> bool {
        matches!(self.p.token_at(index + 1), Some(Token::Ident { .. }))
            && (self.keyword_at(index + 2, "AS") || self.p.token_at(index + 2) == Some(&Token::Punct('(')))
    }
}

/// The byte offset in `text` of sqlparser's (line, column) location.
fn byte_offset(text: &str, location: Location) -> usize {
    let mut line_start = 0;
    for _ in 1..location.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    text[line_start..]
        .char_indices()
        .nth(location.column.saturating_sub(1) as usize)
        .map_or(text.len(), |(i, _)| line_start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<String> {
        blocks
            .iter()
            .map(|b| match b {
                Block::Statement { text, .. } => text.trim().to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn finds_control_flow() {
        assert!(has_control_flow("IF 1 = 1 SELECT 1"));
        assert!(has_control_flow("BEGIN SELECT 1 END"));
        assert!(!has_control_flow("BEGIN TRAN; SELECT 1; COMMIT"));
        assert!(!has_control_flow("DROP TABLE IF EXISTS t; SELECT 'IF'"));
        assert!(!has_control_flow("SELECT 1 -- IF"));
    }

    #[test]
    fn statements_are_cut_where_they_end() {
        let blocks = parse("SET NOCOUNT ON\nIF OBJECT_ID('t') IS NOT NULL DROP TABLE t\nSELECT CASE WHEN 1 = 1 THEN 'a' END x\nPRINT 'done'").unwrap();
        assert_eq!(blocks.len(), 4);
        let Block::If { then, otherwise: None, line: 2, .. } = &blocks[1] else { panic!("{blocks:?}") };
        assert_eq!(texts(std::slice::from_ref(then)), ["DROP TABLE t"]);
        assert_eq!(texts(&blocks[2..]), ["SELECT CASE WHEN 1 = 1 THEN 'a' END x", "PRINT 'done'"]);
        let Block::Statement { text, line } = &blocks[3] else { panic!() };
        assert_eq!((*line, text.lines().count()), (4, 4), "padded to its line");
    }

    #[test]
    fn nested_blocks_else_and_loops() {
        let sql = "DECLARE @i int = 0; WHILE @i < 3 BEGIN SET @i += 1; IF @i = 2 CONTINUE ELSE PRINT @i; END; RETURN";
        let blocks = parse(sql).unwrap();
        let Block::While { body, .. } = &blocks[1] else { panic!("{blocks:?}") };
        let Block::Sequence(inner) = body.as_ref() else { panic!("{body:?}") };
        assert_eq!(inner.len(), 2);
        let Block::If { then, otherwise: Some(otherwise), .. } = &inner[1] else { panic!("{inner:?}") };
        assert!(matches!(then.as_ref(), Block::Continue(_)));
        assert_eq!(texts(std::slice::from_ref(otherwise)), ["PRINT @i"]);
        assert!(matches!(blocks[2], Block::Return { value: None, .. }));
    }

    #[test]
    fn try_catch_and_continuing_keywords() {
        let sql =
            "BEGIN TRY INSERT INTO t SELECT 1 UNION ALL SELECT 2 END TRY BEGIN CATCH SELECT ERROR_NUMBER() END CATCH\n\
                   UPDATE t SET a = 1 WHERE a IN (SELECT 1) RAISERROR('x', 10, 1) WITH NOWAIT DROP TABLE IF EXISTS t";
        let blocks = parse(sql).unwrap();
        let Block::TryCatch { body, handler } = &blocks[0] else { panic!("{blocks:?}") };
        assert_eq!(texts(body), ["INSERT INTO t SELECT 1 UNION ALL SELECT 2"]);
        assert_eq!(texts(handler), ["SELECT ERROR_NUMBER()"]);
        assert_eq!(
            texts(&blocks[1..]),
            ["UPDATE t SET a = 1 WHERE a IN (SELECT 1)", "RAISERROR('x', 10, 1) WITH NOWAIT", "DROP TABLE IF EXISTS t"]
        );
    }

    #[test]
    fn misplaced_keywords_are_syntax_errors() {
        assert_eq!(parse("END").unwrap_err().number, 156);
        assert_eq!(parse("IF 1 = 1").unwrap_err().number, 102);
        assert_eq!(parse("BEGIN SELECT 1").unwrap_err().number, 102);
    }
}
