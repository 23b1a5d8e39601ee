//! Parses the T-SQL subset the test server runs: table-less SELECTs of literals,
//! CAST/CONVERT, CASE, variables, functions and subqueries; SET; USE; WAITFOR DELAY.
//! Subqueries are handed to sqlparser, the front end of statements on tables.

use sqlparser::ast;
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::ParserError;

use super::lexer::{tokenize_spans, Token};
use crate::types::SqlType;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Integer(String),
    Decimal(String),
    Float(String),
    Money(String),
    Str(String),
    NStr(String),
    Binary(Vec<u8>),
    Null,
    Variable(String),
    SystemVariable(String),
    /// A column of the table a statement reads, by name
    Column(String),
    /// `SCOPE_IDENTITY()`
    ScopeIdentity,
    Negate(Box<Expr>),
    /// Unary plus: no-op on numbers, kept for type checks
    Plus(Box<Expr>),
    Cast(Box<Expr>, SqlType),
    /// `left op right` of the arithmetic operators (and `+` concatenating strings)
    Arithmetic(ArithmeticOperator, Box<Expr>, Box<Expr>),
    /// A scalar function call by upper-cased name: `GETDATE()`, `ISNULL(a, b)` ...
    Function(String, Vec<Expr>),
    Convert {
        ty: SqlType,
        expr: Box<Expr>,
        style: Option<i64>,
    },
    /// `CASE WHEN condition THEN result ... [ELSE result] END` (a simple CASE compares its
    /// operand with each WHEN value; IIF is a CASE of one branch)
    Case {
        branches: Vec<(Condition, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// `(SELECT ...)`: the one value of a one-column query
    Subquery(Box<ast::Query>),
    /// The date part a DATEADD/DATEDIFF/DATEPART/DATENAME argument names: `day`, `dd` ...
    DatePart(String),
}

/// A search condition (WHERE, IF, WHILE, CASE WHEN), true, false or unknown.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Compare(Comparison, Expr, Expr),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    IsNull { expr: Expr, negated: bool },
    In { expr: Expr, list: Vec<Expr>, negated: bool },
    InQuery { expr: Expr, query: Box<ast::Query>, negated: bool },
    Between { expr: Expr, low: Expr, high: Expr, negated: bool },
    Like { expr: Expr, pattern: Expr, escape: Option<Expr>, negated: bool },
    Exists(Box<ast::Query>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithmeticOperator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    /// Column name: the alias, or empty for an unnamed expression.
    pub name: String,
}

/// A comparison operator of a WHERE clause.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// The select list and an optional WHERE condition
    Select(Vec<SelectItem>, Option<Condition>),
    /// `SET option value`: option upper-cased, value as written
    Set {
        option: String,
        value: String,
    },
    Use(String),
    /// `DECLARE @a int [= expr], ...`
    Declare(Vec<(String, SqlType, Option<Expr>)>),
    /// `SET @a = expr`, `SET @a += expr` (the operator of a compound assignment)
    SetVariable(String, Option<ArithmeticOperator>, Expr),
    /// `SELECT @a = expr, ... [WHERE ...]`
    SelectAssign(Vec<(String, Expr)>, Option<Condition>),
    WaitForDelay(String),
    /// `PRINT expr`
    Print(Expr),
    /// `EXEC[UTE] [@status =] procedure [@name =] value [OUTPUT] | DEFAULT, ...`
    Execute {
        /// The variable that takes the return status
        status: Option<String>,
        procedure: String,
        arguments: Vec<Argument>,
    },
    /// `EXEC[UTE] (string [+ ...])`: dynamic SQL
    ExecuteString(Expr),
    /// `RAISERROR(message or number, severity, state [, argument ...]) [WITH option, ...]`
    RaiseError {
        message: Expr,
        severity: Expr,
        state: Expr,
        arguments: Vec<Expr>,
        options: Vec<String>,
    },
    /// `THROW number, message, state`; `THROW` alone rethrows the error a CATCH block handles
    Throw(Option<(Expr, Expr, Expr)>),
    BeginTransaction,
    CommitTransaction,
    RollbackTransaction,
    /// `DROP PROC[EDURE] | VIEW [IF EXISTS] name, ...`
    DropModule {
        kind: super::definition::DefinitionKind,
        names: Vec<String>,
        if_exists: bool,
    },
}

/// An argument of EXEC: `[@name =] value [OUTPUT]`; no value for DEFAULT.
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    /// With '@', empty for a positional argument
    pub name: String,
    pub value: Option<Expr>,
    pub output: bool,
}

/// A statement error with SQL Server's message number.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    pub number: i32,
    pub class: u8,
    pub text: String,
    /// 1-based line in the batch; 0 when not known yet (the statement's line is used)
    pub line: u32,
}

/// Message number used for everything this server does not implement.
pub const NOT_SUPPORTED_NUMBER: i32 = 50000;

const NOT_SUPPORTED_TEXT: &str = " is not supported by the local test server.";

/// Whether a message is this server's "not supported" error (which no CATCH block may swallow).
pub fn is_not_supported(m: &crate::engine::Message) -> bool {
    m.number == NOT_SUPPORTED_NUMBER && m.text.ends_with(NOT_SUPPORTED_TEXT)
}

impl SqlError {
    pub fn new(number: i32, text: impl Into<String>) -> SqlError {
        // SQL Server raises its parse-time errors at severity 15, the others here at 16
        let class = match number {
            102 | 103 | 105 | 113 | 131 | 137 | 148 | 156 | 168 | 1001 | 1002 | 1007 => 15,
            _ => 16,
        };
        SqlError { number, class, text: text.into(), line: 0 }
    }

    pub fn not_supported(what: impl std::fmt::Display) -> SqlError {
        SqlError::new(NOT_SUPPORTED_NUMBER, format!("{what}{NOT_SUPPORTED_TEXT}"))
    }

    pub fn syntax_near(tok: &str) -> SqlError {
        SqlError::new(102, format!("Incorrect syntax near '{tok}'."))
    }

    /// The state SQL Server sends the error with.
    pub fn state(&self) -> u8 {
        match self.number {
            515 => 2,
            // lock timeouts and deadlock victims as SQL Server reports them on a row lock
            1205 | 1222 => 51,
            _ => 1,
        }
    }

    /// SQL Server's syntax error for what sqlparser could not parse, on `line`.
    pub fn from_parser(e: ParserError, line: u32) -> SqlError {
        let text = e.to_string();
        let near = text.split("found: ").nth(1).and_then(|rest| rest.split(" at Line").next()).unwrap_or("");
        let near = if near == "EOF" { "" } else { near };
        SqlError { line, ..SqlError::syntax_near(near) }
    }
}

/// A query (`SELECT ...`, `WITH ... SELECT ...`) parsed by sqlparser, for a subquery.
pub fn parse_query(text: &str, line: u32) -> Result<ast::Query, SqlError> {
    let dialect = MsSqlDialect {};
    let mut parser =
        sqlparser::parser::Parser::new(&dialect).try_with_sql(text).map_err(|e| SqlError::from_parser(e, line))?;
    let query = parser.parse_query().map_err(|e| SqlError::from_parser(e, line))?;
    if parser.peek_token().token != sqlparser::tokenizer::Token::EOF {
        return Err(SqlError { line, ..SqlError::syntax_near(&parser.peek_token().token.to_string()) });
    }
    Ok(*query)
}

/// The date parts of DATEADD, DATEDIFF, DATEPART and DATENAME, by every name T-SQL accepts,
/// with the canonical name each stands for.
pub const DATE_PARTS: &[(&str, &str)] = &[
    ("year", "year"),
    ("yy", "year"),
    ("yyyy", "year"),
    ("quarter", "quarter"),
    ("qq", "quarter"),
    ("q", "quarter"),
    ("month", "month"),
    ("mm", "month"),
    ("m", "month"),
    ("dayofyear", "dayofyear"),
    ("dy", "dayofyear"),
    ("y", "dayofyear"),
    ("day", "day"),
    ("dd", "day"),
    ("d", "day"),
    ("week", "week"),
    ("wk", "week"),
    ("ww", "week"),
    ("weekday", "weekday"),
    ("dw", "weekday"),
    ("w", "weekday"),
    ("hour", "hour"),
    ("hh", "hour"),
    ("minute", "minute"),
    ("mi", "minute"),
    ("n", "minute"),
    ("second", "second"),
    ("ss", "second"),
    ("s", "second"),
    ("millisecond", "millisecond"),
    ("ms", "millisecond"),
    ("microsecond", "microsecond"),
    ("mcs", "microsecond"),
    ("nanosecond", "nanosecond"),
    ("ns", "nanosecond"),
    ("tzoffset", "tzoffset"),
    ("tz", "tzoffset"),
    ("iso_week", "iso_week"),
    ("isowk", "iso_week"),
    ("isoww", "iso_week"),
];

/// Functions whose first argument is a date part.
pub const DATE_PART_FUNCTIONS: &[&str] = &["DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATEPART", "DATENAME", "DATETRUNC"];

/// Functions T-SQL calls without parentheses.
pub const NILADIC_FUNCTIONS: &[&str] = &["CURRENT_TIMESTAMP", "CURRENT_USER", "SESSION_USER", "SYSTEM_USER", "USER"];

/// Keywords that start a statement (and so end the previous one without a ';').
pub const STATEMENT_KEYWORDS: &[&str] = &[
    "SELECT",
    "SET",
    "USE",
    "WAITFOR",
    "DECLARE",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "ALTER",
    "DROP",
    "EXEC",
    "EXECUTE",
    "IF",
    "WHILE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVE",
    "PRINT",
    "RAISERROR",
    "THROW",
    "RETURN",
    "TRUNCATE",
    "GRANT",
    "REVOKE",
    "DENY",
    "WITH",
    "GOTO",
    "BREAK",
    "CONTINUE",
    "DBCC",
    "BACKUP",
    "RESTORE",
    "KILL",
    "CHECKPOINT",
    "RECONFIGURE",
    "SHUTDOWN",
    "BULK",
    "OPEN",
    "CLOSE",
    "FETCH",
    "DEALLOCATE",
    "END",
    "ELSE",
    "TRY",
    "CATCH",
];

/// Words that would continue a SELECT in valid T-SQL this server does not run.
const UNSUPPORTED_SELECT_WORDS: &[&str] = &[
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "INTO",
    "FOR",
    "OPTION",
    "TOP",
    "DISTINCT",
    "ALL",
    "CASE",
    "OVER",
    "COLLATE",
    "IS",
    "AND",
    "OR",
    "NOT",
    "LIKE",
    "IN",
    "BETWEEN",
];

/// Parses a batch into its statements, each with the (1-based) line it starts on.
pub fn parse_batch(sql: &str) -> Result<Vec<(Statement, u32)>, SqlError> {
    let mut p = Parser::new(sql)?;
    let mut statements = Vec::new();
    loop {
        while p.eat_punct(';') {}
        if p.at_end() {
            return Ok(statements);
        }
        let line = p.line();
        // a batch may start with a procedure call without EXEC
        let implicit_call = statements.is_empty()
            && p.pos == 0
            && matches!(p.peek(), Some(t @ Token::Ident { quoted: false, .. }) if !p.is_reserved(&t.display()));
        let statement = if implicit_call { p.execute_call(None) } else { p.statement() };
        let statement = statement.map_err(|e| p.located(e))?;
        statements.push((statement, line));
        if !(p.at_end() || p.peek_punct(';') || p.at_statement_start()) {
            return Err(p.located(p.unexpected()));
        }
    }
}

/// Parses an sp_executesql/sp_prepare parameter declaration list: `@P1 int, @P2 nvarchar(max) OUTPUT`.
pub fn parse_param_declarations(text: &str) -> Result<Vec<(String, SqlType, bool)>, SqlError> {
    let mut p = Parser::new(text)?;
    let mut out = Vec::new();
    while !p.at_end() {
        let name = match p.next() {
            Some(Token::Variable(v)) => v,
            Some(t) => return Err(SqlError::syntax_near(&t.display())),
            None => break,
        };
        p.eat_keyword("AS");
        let ty = p.type_name(TypeContext::Declaration)?;
        let output = p.eat_keyword("OUTPUT") || p.eat_keyword("OUT");
        out.push((name, ty, output));
        if !p.eat_punct(',') && !p.at_end() {
            return Err(p.unexpected());
        }
    }
    Ok(out)
}

/// Parses the target type of a CAST/CONVERT written apart (char types without a length are 30 long).
pub fn parse_conversion_type(text: &str) -> Result<SqlType, SqlError> {
    let mut p = Parser::new(text)?;
    let ty = p.type_name(TypeContext::Conversion)?;
    if !p.at_end() {
        return Err(p.unexpected());
    }
    Ok(ty)
}

/// Where a type name appears: CAST/CONVERT default char lengths to 30, declarations to 1.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum TypeContext {
    Conversion,
    Declaration,
}

/// A recursive-descent parser over the tokens of a text (also the control-flow parser's, see `sql::block`).
pub(crate) struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    /// line of each token
    lines: Vec<u32>,
    /// byte range of each token in `text`
    spans: Vec<std::ops::Range<usize>>,
    pub(crate) pos: usize,
}

impl<'t> Parser<'t> {
    pub(crate) fn new(text: &'t str) -> Result<Parser<'t>, SqlError> {
        let lexed = tokenize_spans(text).map_err(|e| SqlError { line: e.line, ..SqlError::new(e.number, e.text) })?;
        let mut tokens = Vec::with_capacity(lexed.len());
        let mut lines = Vec::with_capacity(lexed.len());
        let mut spans = Vec::with_capacity(lexed.len());
        for l in lexed {
            tokens.push(l.token);
            lines.push(l.line);
            spans.push(l.span);
        }
        Ok(Parser { text, tokens, lines, spans, pos: 0 })
    }

    /// The byte offset where token `index` starts (the text's end past the last token).
    pub(crate) fn offset_of(&self, index: usize) -> usize {
        self.spans.get(index).map_or(self.text.len(), |s| s.start)
    }

    /// The token at `index`, if any.
    pub(crate) fn token_at(&self, index: usize) -> Option<&Token> {
        self.tokens.get(index)
    }

    pub(crate) fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// The line of token `index` (the last token's past the end).
    pub(crate) fn line_of(&self, index: usize) -> u32 {
        self.lines.get(index).or(self.lines.last()).copied().unwrap_or(1)
    }

    /// The line of the current token (the last one at the end).
    pub(crate) fn line(&self) -> u32 {
        self.line_of(self.pos)
    }

    /// `e` with the current line when it has none yet.
    pub(crate) fn located(&self, e: SqlError) -> SqlError {
        if e.line == 0 {
            SqlError { line: self.line(), ..e }
        } else {
            e
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    pub(crate) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    pub(crate) fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    pub(crate) fn peek_punct(&self, c: char) -> bool {
        self.peek() == Some(&Token::Punct(c))
    }

    pub(crate) fn eat_punct(&mut self, c: char) -> bool {
        if self.peek_punct(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn peek_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(kw))
    }

    pub(crate) fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.peek_keyword(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn at_statement_start(&self) -> bool {
        STATEMENT_KEYWORDS.iter().any(|k| self.peek_keyword(k))
    }

    /// The error for the current token: a syntax error, or "not supported" when the token
    /// would continue valid T-SQL beyond this server's subset.
    pub(crate) fn unexpected(&self) -> SqlError {
        match self.peek() {
            None => SqlError::syntax_near(&self.tokens.last().map(Token::display).unwrap_or_default()),
            Some(t @ Token::Ident { quoted: false, text })
                if UNSUPPORTED_SELECT_WORDS.iter().any(|k| t.is_keyword(k)) =>
            {
                SqlError::not_supported(format!("'{}'", text.to_ascii_uppercase()))
            }
            Some(Token::Punct(c)) if "+-*/%&|^<>=!~".contains(*c) => SqlError::not_supported(format!("Operator '{c}'")),
            Some(t) => SqlError::syntax_near(&t.display()),
        }
    }

    pub(crate) fn expect_punct(&mut self, c: char) -> Result<(), SqlError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    pub(crate) fn statement(&mut self) -> Result<Statement, SqlError> {
        let first = self.peek().cloned().ok_or_else(|| self.unexpected())?;
        if self.eat_keyword("SELECT") {
            return self.select();
        }
        if self.eat_keyword("SET") {
            return self.set();
        }
        if self.eat_keyword("DECLARE") {
            return self.declare();
        }
        if self.eat_keyword("EXEC") || self.eat_keyword("EXECUTE") {
            return self.execute();
        }
        if self.eat_keyword("PRINT") {
            return Ok(Statement::Print(self.expr()?));
        }
        if self.eat_keyword("RAISERROR") {
            self.expect_punct('(')?;
            let message = self.expr()?;
            self.expect_punct(',')?;
            let severity = self.expr()?;
            self.expect_punct(',')?;
            let state = self.expr()?;
            let mut arguments = Vec::new();
            while self.eat_punct(',') {
                arguments.push(self.expr()?);
            }
            self.expect_punct(')')?;
            let mut options = Vec::new();
            if self.eat_keyword("WITH") {
                loop {
                    match self.next() {
                        Some(Token::Ident { text, quoted: false }) => options.push(text.to_ascii_uppercase()),
                        Some(t) => return Err(SqlError::syntax_near(&t.display())),
                        None => return Err(SqlError::syntax_near("WITH")),
                    }
                    if !self.eat_punct(',') {
                        break;
                    }
                }
            }
            return Ok(Statement::RaiseError { message, severity, state, arguments, options });
        }
        if self.eat_keyword("THROW") {
            if self.at_end() || self.peek_punct(';') || self.at_statement_start() {
                return Ok(Statement::Throw(None));
            }
            let number = self.expr()?;
            self.expect_punct(',')?;
            let message = self.expr()?;
            self.expect_punct(',')?;
            let state = self.expr()?;
            return Ok(Statement::Throw(Some((number, message, state))));
        }
        if self.eat_keyword("USE") {
            return match self.next() {
                Some(Token::Ident { text, .. }) => Ok(Statement::Use(text)),
                Some(t) => Err(SqlError::syntax_near(&t.display())),
                None => Err(SqlError::syntax_near("USE")),
            };
        }
        if self.peek_keyword("BEGIN")
            && self.tokens.get(self.pos + 1).is_some_and(|t| t.is_keyword("TRAN") || t.is_keyword("TRANSACTION"))
        {
            self.pos += 2;
            self.transaction_name();
            return Ok(Statement::BeginTransaction);
        }
        for (keyword, statement) in
            [("COMMIT", Statement::CommitTransaction), ("ROLLBACK", Statement::RollbackTransaction)]
        {
            if self.eat_keyword(keyword) {
                if self.eat_keyword("TRAN") || self.eat_keyword("TRANSACTION") {
                    self.transaction_name();
                } else {
                    self.eat_keyword("WORK");
                }
                return Ok(statement);
            }
        }
        if let Some(kind) = self.drops_module() {
            self.pos += 2;
            let if_exists =
                self.peek_keyword("IF") && self.tokens.get(self.pos + 1).is_some_and(|t| t.is_keyword("EXISTS"));
            if if_exists {
                self.pos += 2;
            }
            let mut names = Vec::new();
            loop {
                let mut name = String::new();
                loop {
                    match self.next() {
                        Some(Token::Ident { text, .. }) => name.push_str(&text),
                        Some(t) => return Err(SqlError::syntax_near(&t.display())),
                        None => return Err(SqlError::syntax_near("DROP")),
                    }
                    if !self.eat_punct('.') {
                        break;
                    }
                    name.push('.');
                }
                names.push(name);
                if !self.eat_punct(',') {
                    break;
                }
            }
            return Ok(Statement::DropModule { kind, names, if_exists });
        }
        if self.eat_keyword("WAITFOR") {
            if !self.eat_keyword("DELAY") {
                return Err(SqlError::not_supported("WAITFOR without DELAY"));
            }
            return match self.next() {
                Some(Token::Str(s)) | Some(Token::NStr(s)) => Ok(Statement::WaitForDelay(s)),
                Some(t) => Err(SqlError::not_supported(format!("WAITFOR DELAY {}", t.display()))),
                None => Err(SqlError::syntax_near("DELAY")),
            };
        }
        match first {
            Token::Ident { text, quoted: false } if STATEMENT_KEYWORDS.iter().any(|k| text.eq_ignore_ascii_case(k)) => {
                Err(SqlError::not_supported(format!("The statement '{}'", text.to_ascii_uppercase())))
            }
            Token::Ident { text, .. } => Err(SqlError::not_supported(format!("The statement '{text}'"))),
            t => Err(SqlError::syntax_near(&t.display())),
        }
    }

    /// At `DROP PROC[EDURE]` or `DROP VIEW`: what it drops.
    pub(crate) fn drops_module(&self) -> Option<super::definition::DefinitionKind> {
        use super::definition::DefinitionKind;
        if !self.peek_keyword("DROP") {
            return None;
        }
        let next = self.tokens.get(self.pos + 1)?;
        if next.is_keyword("PROC") || next.is_keyword("PROCEDURE") {
            Some(DefinitionKind::Procedure)
        } else if next.is_keyword("VIEW") {
            Some(DefinitionKind::View)
        } else {
            None
        }
    }

    /// The optional name after BEGIN/COMMIT/ROLLBACK TRANSACTION (names have no effect).
    fn transaction_name(&mut self) {
        if matches!(self.peek(), Some(Token::Ident { quoted, text }) if *quoted || !self.is_reserved(text))
            || matches!(self.peek(), Some(Token::Variable(_)))
        {
            self.pos += 1;
        }
    }

    fn set(&mut self) -> Result<Statement, SqlError> {
        let option = match self.next() {
            Some(Token::Ident { text, quoted: false }) => text.to_ascii_uppercase(),
            Some(Token::Variable(v)) => {
                let op = self.assignment_operator().ok_or_else(|| self.unexpected())?;
                return Ok(Statement::SetVariable(v, op, self.expr()?));
            }
            Some(t) => return Err(SqlError::syntax_near(&t.display())),
            None => return Err(SqlError::syntax_near("SET")),
        };
        // The value runs to the end of the statement: ON/OFF, a number, a name, or
        // several words (SET TRANSACTION ISOLATION LEVEL READ COMMITTED).
        let mut words = Vec::new();
        while !(self.at_end() || self.peek_punct(';') || self.at_statement_start()) {
            let t = self.next().expect("not at end");
            words.push(match t {
                Token::Punct('-') => "-".to_string(),
                Token::Str(s) | Token::NStr(s) => s,
                t => t.display(),
            });
        }
        if words.is_empty() {
            return Err(SqlError::syntax_near(&option));
        }
        let mut value = String::new();
        for w in words {
            if !(value.is_empty() || value.ends_with('-') || w == ",") {
                value.push(' ');
            }
            value.push_str(&w);
        }
        Ok(Statement::Set { option, value })
    }

    /// `DECLARE @a [AS] type [= expr], ...`
    fn declare(&mut self) -> Result<Statement, SqlError> {
        let mut variables = Vec::new();
        loop {
            let name = match self.next() {
                Some(Token::Variable(v)) => v,
                Some(Token::Ident { text, .. }) => {
                    return Err(SqlError::not_supported(format!("DECLARE {text} (a cursor)")))
                }
                Some(t) => return Err(SqlError::syntax_near(&t.display())),
                None => return Err(SqlError::syntax_near("DECLARE")),
            };
            self.eat_keyword("AS");
            let ty = self.type_name(TypeContext::Declaration)?;
            let init = if self.eat_punct('=') { Some(self.expr()?) } else { None };
            variables.push((name, ty, init));
            if !self.eat_punct(',') {
                return Ok(Statement::Declare(variables));
            }
        }
    }

    /// After EXEC: `(string)`, or `[@status =] procedure [@name =] value [OUTPUT] | DEFAULT, ...`.
    fn execute(&mut self) -> Result<Statement, SqlError> {
        if self.eat_punct('(') {
            let text = self.expr()?;
            self.expect_punct(')')?;
            if self.peek_keyword("AS") || self.peek_keyword("AT") {
                return Err(SqlError::not_supported("EXEC (...) AS/AT"));
            }
            return Ok(Statement::ExecuteString(text));
        }
        let status = match (self.peek().cloned(), self.tokens.get(self.pos + 1)) {
            (Some(Token::Variable(v)), Some(Token::Punct('='))) => {
                self.pos += 2;
                Some(v)
            }
            _ => None,
        };
        self.execute_call(status)
    }

    /// `procedure [args]`: a procedure call (after EXEC, or alone at the start of a batch).
    fn execute_call(&mut self, status: Option<String>) -> Result<Statement, SqlError> {
        let mut procedure = String::new();
        loop {
            match self.next() {
                Some(Token::Ident { text, .. }) => procedure.push_str(&text),
                // `tempdb..sp_x`: the schema left out
                Some(Token::Punct('.')) if procedure.ends_with('.') => {
                    procedure.push('.');
                    continue;
                }
                Some(Token::Variable(v)) => {
                    return Err(SqlError::not_supported(format!("EXEC {v} (a procedure named by a variable)")))
                }
                Some(t) => return Err(SqlError::syntax_near(&t.display())),
                None => return Err(SqlError::syntax_near("EXEC")),
            }
            if !self.eat_punct('.') {
                break;
            }
            procedure.push('.');
        }
        let mut arguments = Vec::new();
        while !(self.at_end() || self.peek_punct(';') || self.at_statement_start()) {
            let name = match (self.peek().cloned(), self.tokens.get(self.pos + 1)) {
                (Some(Token::Variable(v)), Some(Token::Punct('='))) => {
                    self.pos += 2;
                    v
                }
                _ => String::new(),
            };
            let value = if self.eat_keyword("DEFAULT") { None } else { Some(self.expr()?) };
            let output = self.eat_keyword("OUTPUT") || self.eat_keyword("OUT");
            if output && !matches!(value, Some(Expr::Variable(_))) {
                return Err(SqlError::new(
                    179,
                    "Cannot use the OUTPUT option when passing a constant to a stored procedure.",
                ));
            }
            arguments.push(Argument { name, value, output });
            if !self.eat_punct(',') {
                break;
            }
        }
        if self.peek_keyword("WITH") {
            return Err(SqlError::not_supported("EXEC ... WITH"));
        }
        Ok(Statement::Execute { status, procedure, arguments })
    }

    /// After a variable: `=` (`Some(None)`), a compound `+=` ... (`Some(Some(op))`), or none.
    fn assignment_operator(&mut self) -> Option<Option<ArithmeticOperator>> {
        if self.eat_punct('=') {
            return Some(None);
        }
        let op = match self.peek() {
            Some(Token::Punct('+')) => ArithmeticOperator::Add,
            Some(Token::Punct('-')) => ArithmeticOperator::Subtract,
            Some(Token::Punct('*')) => ArithmeticOperator::Multiply,
            Some(Token::Punct('/')) => ArithmeticOperator::Divide,
            Some(Token::Punct('%')) => ArithmeticOperator::Modulo,
            _ => return None,
        };
        if self.tokens.get(self.pos + 1) != Some(&Token::Punct('=')) {
            return None;
        }
        self.pos += 2;
        Some(Some(op))
    }

    fn select(&mut self) -> Result<Statement, SqlError> {
        if matches!(self.peek(), Some(Token::Variable(_))) && self.tokens.get(self.pos + 1) == Some(&Token::Punct('='))
        {
            return self.select_assign();
        }
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.eat_punct(',') {
                break;
            }
        }
        let filter = if self.eat_keyword("WHERE") { Some(self.condition()?) } else { None };
        Ok(Statement::Select(items, filter))
    }

    /// `SELECT @a = expr, ...`: every item assigns (SQL Server's 141 otherwise).
    fn select_assign(&mut self) -> Result<Statement, SqlError> {
        let mut assignments = Vec::new();
        loop {
            let name = match (self.peek().cloned(), self.tokens.get(self.pos + 1)) {
                (Some(Token::Variable(v)), Some(Token::Punct('='))) => v,
                _ => {
                    return Err(SqlError::new(
                        141,
                        "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.",
                    ))
                }
            };
            self.pos += 2;
            assignments.push((name, self.expr()?));
            if !self.eat_punct(',') {
                break;
            }
        }
        let filter = if self.eat_keyword("WHERE") { Some(self.condition()?) } else { None };
        Ok(Statement::SelectAssign(assignments, filter))
    }

    /// A search condition: predicates joined by AND, OR and NOT (AND binds tighter than OR).
    pub(crate) fn condition(&mut self) -> Result<Condition, SqlError> {
        let mut c = self.conjunction()?;
        while self.eat_keyword("OR") {
            c = Condition::Or(Box::new(c), Box::new(self.conjunction()?));
        }
        Ok(c)
    }

    fn conjunction(&mut self) -> Result<Condition, SqlError> {
        let mut c = self.negation()?;
        while self.eat_keyword("AND") {
            c = Condition::And(Box::new(c), Box::new(self.negation()?));
        }
        Ok(c)
    }

    fn negation(&mut self) -> Result<Condition, SqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.negation()?)));
        }
        self.predicate()
    }

    /// One predicate; `(` starts either a parenthesized condition or an expression, tried in that order
    /// of likelihood: an expression followed by a predicate operator, else a condition.
    fn predicate(&mut self) -> Result<Condition, SqlError> {
        if self.eat_keyword("EXISTS") {
            return Ok(Condition::Exists(Box::new(self.parenthesized_query()?)));
        }
        if self.peek_punct('(') {
            let start = self.pos;
            if let Ok(left) = self.expr() {
                if self.at_predicate_operator() {
                    return self.predicate_after(left);
                }
            }
            self.pos = start + 1;
            let c = self.condition()?;
            self.expect_punct(')')?;
            return Ok(c);
        }
        let left = self.expr()?;
        self.predicate_after(left)
    }

    fn at_predicate_operator(&self) -> bool {
        match self.peek() {
            Some(Token::Punct('=' | '<' | '>' | '!')) => true,
            Some(t) => ["IS", "IN", "BETWEEN", "LIKE", "NOT"].iter().any(|k| t.is_keyword(k)),
            None => false,
        }
    }

    /// The rest of a predicate whose left operand is `left`.
    fn predicate_after(&mut self, left: Expr) -> Result<Condition, SqlError> {
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                return Err(self.unexpected());
            }
            return Ok(Condition::IsNull { expr: left, negated });
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            self.expect_punct('(')?;
            if self.peek_keyword("SELECT") || self.peek_keyword("WITH") {
                self.pos -= 1;
                let query = Box::new(self.parenthesized_query()?);
                return Ok(Condition::InQuery { expr: left, query, negated });
            }
            let mut list = vec![self.expr()?];
            while self.eat_punct(',') {
                list.push(self.expr()?);
            }
            self.expect_punct(')')?;
            return Ok(Condition::In { expr: left, list, negated });
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.expr()?;
            if !self.eat_keyword("AND") {
                return Err(self.unexpected());
            }
            let high = self.expr()?;
            return Ok(Condition::Between { expr: left, low, high, negated });
        }
        if self.eat_keyword("LIKE") {
            let pattern = self.expr()?;
            let escape = if self.eat_keyword("ESCAPE") { Some(self.expr()?) } else { None };
            return Ok(Condition::Like { expr: left, pattern, escape, negated });
        }
        if negated {
            return Err(self.unexpected());
        }
        let op = self.comparison_operator()?;
        let right = self.expr()?;
        Ok(Condition::Compare(op, left, right))
    }

    /// `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `!<`, `!>`
    fn comparison_operator(&mut self) -> Result<Comparison, SqlError> {
        let second = |p: &Parser, c: char| p.tokens.get(p.pos + 1) == Some(&Token::Punct(c));
        let (op, width) = match self.peek() {
            Some(Token::Punct('=')) => (Comparison::Equal, 1),
            Some(Token::Punct('<')) if second(self, '>') => (Comparison::NotEqual, 2),
            Some(Token::Punct('<')) if second(self, '=') => (Comparison::LessOrEqual, 2),
            Some(Token::Punct('<')) => (Comparison::Less, 1),
            Some(Token::Punct('>')) if second(self, '=') => (Comparison::GreaterOrEqual, 2),
            Some(Token::Punct('>')) => (Comparison::Greater, 1),
            Some(Token::Punct('!')) if second(self, '=') => (Comparison::NotEqual, 2),
            Some(Token::Punct('!')) if second(self, '<') => (Comparison::GreaterOrEqual, 2),
            Some(Token::Punct('!')) if second(self, '>') => (Comparison::LessOrEqual, 2),
            Some(t) if matches!(t, Token::Ident { .. } | Token::Punct(_)) => {
                return Err(SqlError::not_supported(format!("A condition with '{}'", t.display())))
            }
            Some(t) => return Err(SqlError::syntax_near(&t.display())),
            None => return Err(self.unexpected()),
        };
        self.pos += width;
        Ok(op)
    }

    /// `( query )` at the current token: the query between the parentheses, parsed by sqlparser.
    pub(crate) fn parenthesized_query(&mut self) -> Result<ast::Query, SqlError> {
        let open = self.pos;
        self.expect_punct('(')?;
        let close = self.matching_paren(open).ok_or_else(|| SqlError::syntax_near("("))?;
        let text = &self.text[self.offset_of(open + 1)..self.offset_of(close)];
        // blank lines up to the query keep sqlparser's line numbers those of the batch
        let padding = "\n".repeat(self.line_of(open + 1).saturating_sub(1) as usize);
        let query = parse_query(&format!("{padding}{text}"), self.line_of(open + 1))?;
        self.pos = close + 1;
        Ok(query)
    }

    /// The index of the `)` closing the `(` at `open`.
    pub(crate) fn matching_paren(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, t) in self.tokens.iter().enumerate().skip(open) {
            match t {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn select_item(&mut self) -> Result<SelectItem, SqlError> {
        let (expr, name) = self.select_item_parts()?;
        // column names are sysname: at most 128 characters
        if name.chars().count() > 128 {
            let start: String = name.chars().take(128).collect();
            return Err(SqlError::new(
                103,
                format!("The identifier that starts with '{start}' is too long. Maximum length is 128."),
            ));
        }
        Ok(SelectItem { expr, name })
    }

    /// `name = expr`, `expr [AS] name` or `expr`
    fn select_item_parts(&mut self) -> Result<(Expr, String), SqlError> {
        if let (Some(Token::Ident { text, .. } | Token::Str(text)), Some(Token::Punct('='))) =
            (self.tokens.get(self.pos).cloned(), self.tokens.get(self.pos + 1))
        {
            self.pos += 2;
            return Ok((self.expr()?, text));
        }
        let expr = self.expr()?;
        if self.eat_keyword("AS") {
            return match self.next() {
                Some(Token::Ident { text, .. } | Token::Str(text)) => Ok((expr, text)),
                Some(t) => Err(SqlError::syntax_near(&t.display())),
                None => Err(SqlError::syntax_near("AS")),
            };
        }
        let name = match self.peek() {
            Some(Token::Ident { text, quoted }) if *quoted || !self.is_reserved(text) => text.clone(),
            Some(Token::Str(text)) => text.clone(),
            _ => return Ok((expr, String::new())),
        };
        self.pos += 1;
        Ok((expr, name))
    }

    fn is_reserved(&self, word: &str) -> bool {
        STATEMENT_KEYWORDS.iter().chain(UNSUPPORTED_SELECT_WORDS).any(|k| word.eq_ignore_ascii_case(k))
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, SqlError> {
        let mut e = self.term()?;
        while let Some(op) =
            self.binary_operator(&[('+', ArithmeticOperator::Add), ('-', ArithmeticOperator::Subtract)])?
        {
            e = Expr::Arithmetic(op, Box::new(e), Box::new(self.term()?));
        }
        Ok(e)
    }

    /// Operands joined by `*`, `/` and `%`, which bind tighter than `+` and `-`.
    fn term(&mut self) -> Result<Expr, SqlError> {
        let mut e = self.unary()?;
        while let Some(op) = self.binary_operator(&[
            ('*', ArithmeticOperator::Multiply),
            ('/', ArithmeticOperator::Divide),
            ('%', ArithmeticOperator::Modulo),
        ])? {
            e = Expr::Arithmetic(op, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    /// Consumes one of `operators` when an operand follows it; an operator with nothing after
    /// it is a syntax error, and the bitwise operators are valid T-SQL this server does not run.
    fn binary_operator(
        &mut self,
        operators: &[(char, ArithmeticOperator)],
    ) -> Result<Option<ArithmeticOperator>, SqlError> {
        let Some(Token::Punct(c)) = self.peek() else { return Ok(None) };
        let c = *c;
        if !"+-*/%&|^".contains(c) {
            return Ok(None);
        }
        let operand_follows = match self.tokens.get(self.pos + 1) {
            None | Some(Token::Punct(';' | ',' | ')')) => false,
            Some(t @ Token::Ident { quoted: false, .. }) => !STATEMENT_KEYWORDS.iter().any(|k| t.is_keyword(k)),
            Some(_) => true,
        };
        if !operand_follows {
            return Err(SqlError::syntax_near(&c.to_string()));
        }
        if "&|^".contains(c) {
            return Err(SqlError::not_supported(format!("Operator '{c}'")));
        }
        match operators.iter().find(|(o, _)| *o == c) {
            Some((_, op)) => {
                self.pos += 1;
                Ok(Some(*op))
            }
            None => Ok(None),
        }
    }

    fn unary(&mut self) -> Result<Expr, SqlError> {
        if self.eat_punct('-') {
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        if self.eat_punct('+') {
            return Ok(Expr::Plus(Box::new(self.unary()?)));
        }
        if self.peek_punct('~') {
            return Err(SqlError::not_supported("Operator '~'"));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SqlError> {
        let Some(tok) = self.next() else {
            return Err(SqlError::syntax_near(&self.tokens.last().map(Token::display).unwrap_or_default()));
        };
        Ok(match tok {
            Token::Integer(t) => Expr::Integer(t),
            Token::Decimal(t) => Expr::Decimal(t),
            Token::Float(t) => Expr::Float(t),
            Token::Money(t) => Expr::Money(t),
            Token::Str(s) => Expr::Str(s),
            Token::NStr(s) => Expr::NStr(s),
            Token::Binary(b) => Expr::Binary(b),
            Token::Variable(v) => Expr::Variable(v),
            Token::SystemVariable(v) => Expr::SystemVariable(v),
            Token::Punct('(') if self.peek_keyword("SELECT") || self.peek_keyword("WITH") => {
                self.pos -= 1;
                Expr::Subquery(Box::new(self.parenthesized_query()?))
            }
            Token::Punct('(') => {
                let e = self.expr()?;
                self.expect_punct(')')?;
                e
            }
            Token::Ident { text, quoted: false } if text.eq_ignore_ascii_case("NULL") => Expr::Null,
            Token::Ident { text, quoted: false } if text.eq_ignore_ascii_case("CASE") => self.case()?,
            Token::Ident { text, quoted: false } if text.eq_ignore_ascii_case("IIF") && self.peek_punct('(') => {
                self.pos += 1;
                let condition = self.condition()?;
                self.expect_punct(',')?;
                let then = self.expr()?;
                self.expect_punct(',')?;
                let otherwise = self.expr()?;
                self.expect_punct(')')?;
                Expr::Case { branches: vec![(condition, then)], otherwise: Some(Box::new(otherwise)) }
            }
            Token::Ident { text, quoted: false }
                if self.peek_punct('(') && DATE_PART_FUNCTIONS.iter().any(|f| text.eq_ignore_ascii_case(f)) =>
            {
                self.pos += 1;
                let part = match self.next() {
                    Some(Token::Ident { text: part, .. }) => Expr::DatePart(part.to_ascii_lowercase()),
                    Some(t) => return Err(SqlError::syntax_near(&t.display())),
                    None => return Err(self.unexpected()),
                };
                let mut args = vec![part];
                while self.eat_punct(',') {
                    args.push(self.expr()?);
                }
                self.expect_punct(')')?;
                Expr::Function(text.to_ascii_uppercase(), args)
            }
            Token::Ident { text, quoted: false }
                if !self.peek_punct('(') && NILADIC_FUNCTIONS.iter().any(|f| text.eq_ignore_ascii_case(f)) =>
            {
                Expr::Function(text.to_ascii_uppercase(), Vec::new())
            }
            Token::Ident { text, quoted: false }
                if text.eq_ignore_ascii_case("SCOPE_IDENTITY") && self.peek_punct('(') =>
            {
                self.pos += 1;
                self.expect_punct(')')?;
                Expr::ScopeIdentity
            }
            Token::Ident { text, quoted: false } if text.eq_ignore_ascii_case("CAST") && self.peek_punct('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat_keyword("AS") {
                    return Err(self.unexpected());
                }
                let ty = self.type_name(TypeContext::Conversion)?;
                self.expect_punct(')')?;
                Expr::Cast(Box::new(e), ty)
            }
            Token::Ident { text, quoted: false }
                if (text.eq_ignore_ascii_case("CONVERT") || text.eq_ignore_ascii_case("TRY_CONVERT"))
                    && self.peek_punct('(') =>
            {
                if text.eq_ignore_ascii_case("TRY_CONVERT") {
                    return Err(SqlError::not_supported("TRY_CONVERT"));
                }
                self.pos += 1;
                let ty = self.type_name(TypeContext::Conversion)?;
                self.expect_punct(',')?;
                let e = self.expr()?;
                let style = if self.eat_punct(',') {
                    match self.next() {
                        Some(Token::Integer(n)) => Some(n.parse::<i64>().map_err(|_| SqlError::syntax_near(&n))?),
                        _ => return Err(SqlError::not_supported("A CONVERT style that is not an integer literal")),
                    }
                } else {
                    None
                };
                self.expect_punct(')')?;
                Expr::Convert { ty, expr: Box::new(e), style }
            }
            Token::Ident { text, quoted: false } if self.peek_punct('(') && !self.is_reserved(&text) => {
                self.pos += 1;
                let mut args = Vec::new();
                if !self.eat_punct(')') {
                    loop {
                        args.push(self.expr()?);
                        if self.eat_punct(')') {
                            break;
                        }
                        self.expect_punct(',')?;
                    }
                }
                Expr::Function(text.to_ascii_uppercase(), args)
            }
            Token::Ident { text, .. } if self.peek_punct('(') => {
                return Err(SqlError::not_supported(format!("The function '{text}'")));
            }
            Token::Ident { text, quoted: false } if self.is_reserved(&text) => {
                // words that can begin a select-list item in T-SQL this server does not run
                let starts_item =
                    ["CASE", "TOP", "DISTINCT", "ALL", "NOT"].iter().any(|k| text.eq_ignore_ascii_case(k));
                return Err(if starts_item {
                    SqlError::not_supported(format!("'{}'", text.to_ascii_uppercase()))
                } else {
                    SqlError::new(156, format!("Incorrect syntax near the keyword '{text}'."))
                });
            }
            Token::Ident { text, .. } => return Err(SqlError::not_supported(format!("Column reference '{text}'"))),
            Token::Punct('*') => return Err(SqlError::not_supported("SELECT *")),
            t => return Err(SqlError::syntax_near(&t.display())),
        })
    }

    /// After CASE: `[operand] WHEN ... THEN ... [ELSE ...] END`.
    fn case(&mut self) -> Result<Expr, SqlError> {
        let operand = if self.peek_keyword("WHEN") { None } else { Some(self.expr()?) };
        let mut branches = Vec::new();
        while self.eat_keyword("WHEN") {
            let condition = match &operand {
                Some(operand) => Condition::Compare(Comparison::Equal, operand.clone(), self.expr()?),
                None => self.condition()?,
            };
            if !self.eat_keyword("THEN") {
                return Err(self.unexpected());
            }
            branches.push((condition, self.expr()?));
        }
        if branches.is_empty() {
            return Err(self.unexpected());
        }
        let otherwise = if self.eat_keyword("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        if !self.eat_keyword("END") {
            return Err(self.unexpected());
        }
        Ok(Expr::Case { branches, otherwise })
    }

    fn int_arg(&mut self) -> Result<u32, SqlError> {
        match self.next() {
            Some(Token::Integer(n)) => n.parse::<u32>().map_err(|_| SqlError::syntax_near(&n)),
            Some(t) => Err(SqlError::syntax_near(&t.display())),
            None => Err(SqlError::syntax_near("(")),
        }
    }

    /// `(n)` or `(max)` after a string/binary type name; `Ok(None)` for max.
    fn length_arg(&mut self, default: u32) -> Result<Option<u32>, SqlError> {
        if !self.eat_punct('(') {
            return Ok(Some(default));
        }
        let len = if self.eat_keyword("MAX") { None } else { Some(self.int_arg()?) };
        self.expect_punct(')')?;
        Ok(len)
    }

    pub(crate) fn type_name(&mut self, ctx: TypeContext) -> Result<SqlType, SqlError> {
        let name = match self.next() {
            Some(Token::Ident { text, .. }) => text.to_ascii_lowercase(),
            Some(t) => return Err(SqlError::syntax_near(&t.display())),
            None => return Err(SqlError::syntax_near("AS")),
        };
        // `sys.int` / `dbo.x` style prefixes
        if self.peek_punct('.') {
            return Err(SqlError::not_supported(format!("The type name '{name}.'")));
        }
        let default_len = if ctx == TypeContext::Conversion { 30 } else { 1 };
        let name = match name.as_str() {
            "character" => "char".to_string(),
            "dec" => "decimal".to_string(),
            "integer" => "int".to_string(),
            "double" if self.eat_keyword("precision") => "float".to_string(),
            "rowversion" | "timestamp" => return Err(SqlError::not_supported(format!("The type '{name}'"))),
            _ => name,
        };
        let ty = match name.as_str() {
            "bit" => SqlType::Bit,
            "tinyint" => SqlType::TinyInt,
            "smallint" => SqlType::SmallInt,
            "int" => SqlType::Int,
            "bigint" => SqlType::BigInt,
            "real" => SqlType::Real,
            "float" => {
                let n = if self.eat_punct('(') {
                    let n = self.int_arg()?;
                    self.expect_punct(')')?;
                    n
                } else {
                    53
                };
                match n {
                    1..=24 => SqlType::Real,
                    25..=53 => SqlType::Float,
                    _ => {
                        return Err(SqlError::new(
                            2750,
                            format!("Column or parameter #1: Specified column precision {n} is greater than the maximum precision of 53."),
                        ))
                    }
                }
            }
            "decimal" | "numeric" => {
                let (mut precision, mut scale) = (18, 0);
                if self.eat_punct('(') {
                    precision = self.int_arg()?;
                    if self.eat_punct(',') {
                        scale = self.int_arg()?;
                    }
                    self.expect_punct(')')?;
                }
                if precision == 0 || precision > 38 {
                    return Err(SqlError::new(
                        1002,
                        format!("Line 1: Specified column precision {precision} is greater than the specified maximum precision of 38."),
                    ));
                }
                if scale > precision {
                    return Err(SqlError::new(192, "The scale must be less than or equal to the precision."));
                }
                let (precision, scale) = (precision as u8, scale as u8);
                if name == "decimal" {
                    SqlType::Decimal { precision, scale }
                } else {
                    SqlType::Numeric { precision, scale }
                }
            }
            "money" => SqlType::Money,
            "smallmoney" => SqlType::SmallMoney,
            "char" | "varchar" | "binary" | "varbinary" | "nchar" | "nvarchar" => {
                let varying = self.eat_keyword("varying");
                let len = self.length_arg(default_len)?;
                let limit = if name.starts_with('n') { 4000 } else { 8000 };
                let fixed = matches!(name.as_str(), "char" | "binary" | "nchar") && !varying;
                let len = match len {
                    Some(0) => return Err(SqlError::new(1001, "Line 1: Length or precision specification 0 is invalid.")),
                    Some(n) if n > limit => {
                        return Err(SqlError::new(
                            131,
                            format!("The size ({n}) given to the type '{name}' exceeds the maximum allowed for any data type ({limit})."),
                        ))
                    }
                    None if fixed => return Err(SqlError::syntax_near("max")),
                    l => l.map(|n| n as u16),
                };
                match (name.as_str(), fixed) {
                    ("char", true) => SqlType::Char(len.expect("fixed has a length")),
                    ("binary", true) => SqlType::Binary(len.expect("fixed has a length")),
                    ("nchar", true) => SqlType::NChar(len.expect("fixed has a length")),
                    ("char" | "varchar", _) => SqlType::VarChar(len),
                    ("binary" | "varbinary", _) => SqlType::VarBinary(len),
                    _ => SqlType::NVarChar(len),
                }
            }
            "text" => SqlType::Text,
            "ntext" => SqlType::NText,
            "image" => SqlType::Image,
            "date" => SqlType::Date,
            "time" | "datetime2" | "datetimeoffset" => {
                let scale = if self.eat_punct('(') {
                    let s = self.int_arg()?;
                    self.expect_punct(')')?;
                    s
                } else {
                    7
                };
                if scale > 7 {
                    return Err(SqlError::new(1002, format!("Line 1: Specified scale {scale} is invalid.")));
                }
                let s = scale as u8;
                match name.as_str() {
                    "time" => SqlType::Time(s),
                    "datetime2" => SqlType::DateTime2(s),
                    _ => SqlType::DateTimeOffset(s),
                }
            }
            "datetime" => SqlType::DateTime,
            "smalldatetime" => SqlType::SmallDateTime,
            "uniqueidentifier" => SqlType::UniqueIdentifier,
            "xml" => {
                if self.peek_punct('(') {
                    return Err(SqlError::not_supported("Typed xml"));
                }
                SqlType::Xml
            }
            "sql_variant" => SqlType::SqlVariant,
            "national" => return Err(SqlError::not_supported("The type name 'national ...'")),
            "geography" | "geometry" | "hierarchyid" | "json" | "vector" | "table" | "cursor" | "sysname" => {
                return Err(SqlError::not_supported(format!("The type '{name}'")))
            }
            _ => return Err(SqlError::new(243, format!("Type {name} is not a defined system type."))),
        };
        Ok(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_select_list_with_aliases() {
        let s = parse_batch("select 1 as a, b = N'x', CAST('1' AS decimal(5,2)) c, -2;SELECT NULL").unwrap();
        assert_eq!(
            s,
            vec![
                (
                    Statement::Select(
                        vec![
                            SelectItem { expr: Expr::Integer("1".into()), name: "a".into() },
                            SelectItem { expr: Expr::NStr("x".into()), name: "b".into() },
                            SelectItem {
                                expr: Expr::Cast(
                                    Box::new(Expr::Str("1".into())),
                                    SqlType::Decimal { precision: 5, scale: 2 }
                                ),
                                name: "c".into()
                            },
                            SelectItem { expr: Expr::Negate(Box::new(Expr::Integer("2".into()))), name: String::new() },
                        ],
                        None
                    ),
                    1
                ),
                (Statement::Select(vec![SelectItem { expr: Expr::Null, name: String::new() }], None), 1),
            ]
        );
    }

    #[test]
    fn arithmetic_binds_multiplication_tighter() {
        let s = parse_batch("SELECT 1 + 2 * -3 % 4, (1 - 2) / 3").unwrap();
        let (Statement::Select(items, _), _) = &s[0] else { panic!("{s:?}") };
        let int = |n: &str| Box::new(Expr::Integer(n.into()));
        let product = Expr::Arithmetic(
            ArithmeticOperator::Modulo,
            Box::new(Expr::Arithmetic(ArithmeticOperator::Multiply, int("2"), Box::new(Expr::Negate(int("3"))))),
            int("4"),
        );
        assert_eq!(items[0].expr, Expr::Arithmetic(ArithmeticOperator::Add, int("1"), Box::new(product)));
        let difference = Expr::Arithmetic(ArithmeticOperator::Subtract, int("1"), int("2"));
        assert_eq!(items[1].expr, Expr::Arithmetic(ArithmeticOperator::Divide, Box::new(difference), int("3")));
    }

    #[test]
    fn where_comparisons() {
        let s = parse_batch("SELECT 1 AS a WHERE 1 <> -2; SELECT 2 WHERE @p >= 3").unwrap();
        let (Statement::Select(_, Some(f)), _) = &s[0] else { panic!("{s:?}") };
        assert_eq!(
            f,
            &Condition::Compare(
                Comparison::NotEqual,
                Expr::Integer("1".into()),
                Expr::Negate(Box::new(Expr::Integer("2".into())))
            )
        );
        let (Statement::Select(_, Some(f)), _) = &s[1] else { panic!("{s:?}") };
        assert_eq!(
            f,
            &Condition::Compare(Comparison::GreaterOrEqual, Expr::Variable("@p".into()), Expr::Integer("3".into()))
        );
    }

    #[test]
    fn conditions_bind_and_tighter_than_or() {
        let s = parse_batch("SELECT 1 WHERE NOT 1 = 0 OR (2 > 1) AND @x IS NOT NULL").unwrap();
        let (Statement::Select(_, Some(c)), _) = &s[0] else { panic!("{s:?}") };
        let int = |n: &str| Expr::Integer(n.into());
        let not = Condition::Not(Box::new(Condition::Compare(Comparison::Equal, int("1"), int("0"))));
        let and = Condition::And(
            Box::new(Condition::Compare(Comparison::Greater, int("2"), int("1"))),
            Box::new(Condition::IsNull { expr: Expr::Variable("@x".into()), negated: true }),
        );
        assert_eq!(c, &Condition::Or(Box::new(not), Box::new(and)));
    }

    #[test]
    fn case_iif_and_parenthesized_expressions() {
        let s = parse_batch("SELECT CASE @a WHEN 1 THEN 'one' ELSE 'other' END, IIF((1 + 1) = 2, 1, 0)").unwrap();
        let (Statement::Select(items, _), _) = &s[0] else { panic!("{s:?}") };
        let Expr::Case { branches, otherwise } = &items[0].expr else { panic!("{items:?}") };
        assert_eq!(
            branches[0].0,
            Condition::Compare(Comparison::Equal, Expr::Variable("@a".into()), Expr::Integer("1".into()))
        );
        assert_eq!(otherwise.as_deref(), Some(&Expr::Str("other".into())));
        let Expr::Case { branches, .. } = &items[1].expr else { panic!("{items:?}") };
        assert!(matches!(branches[0].0, Condition::Compare(Comparison::Equal, Expr::Arithmetic(..), _)));
    }

    #[test]
    fn subqueries_go_to_sqlparser() {
        let s = parse_batch("SELECT 1 WHERE EXISTS (SELECT 1 FROM t WHERE x = 1) AND 2 IN (SELECT y FROM t)").unwrap();
        let (Statement::Select(_, Some(Condition::And(a, b))), _) = &s[0] else { panic!("{s:?}") };
        assert!(matches!(a.as_ref(), Condition::Exists(_)));
        assert!(matches!(b.as_ref(), Condition::InQuery { negated: false, .. }));
        let s = parse_batch("DECLARE @n int = (SELECT COUNT(*) FROM t)").unwrap();
        assert!(matches!(&s[0].0, Statement::Declare(list) if matches!(list[0].2, Some(Expr::Subquery(_)))));
    }

    #[test]
    fn statements_split_without_semicolons() {
        let s = parse_batch("SET NOCOUNT ON\nSELECT 1\nSET TRANSACTION ISOLATION LEVEL READ COMMITTED").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (Statement::Set { option: "NOCOUNT".into(), value: "ON".into() }, 1));
        assert_eq!(
            s[2],
            (Statement::Set { option: "TRANSACTION".into(), value: "ISOLATION LEVEL READ COMMITTED".into() }, 3)
        );
    }

    #[test]
    fn cast_default_lengths_and_declarations() {
        let s = parse_batch("SELECT CAST('a' AS varchar), CAST('a' AS nvarchar(max))").unwrap();
        let (Statement::Select(items, _), _) = &s[0] else { panic!("not a select") };
        assert!(matches!(&items[0].expr, Expr::Cast(_, SqlType::VarChar(Some(30)))));
        assert!(matches!(&items[1].expr, Expr::Cast(_, SqlType::NVarChar(None))));
        let d = parse_param_declarations("@P1 int, @P2 nvarchar(max) OUTPUT,@x varchar").unwrap();
        assert_eq!(
            d,
            vec![
                ("@P1".into(), SqlType::Int, false),
                ("@P2".into(), SqlType::NVarChar(None), true),
                ("@x".into(), SqlType::VarChar(Some(1)), false)
            ]
        );
    }

    #[test]
    fn unsupported_and_syntax_errors() {
        assert_eq!(parse_batch("SELECT 1 & 2").unwrap_err().number, NOT_SUPPORTED_NUMBER);
        assert_eq!(parse_batch("SELECT a FROM t").unwrap_err().number, NOT_SUPPORTED_NUMBER);
        assert_eq!(parse_batch("INSERT INTO t VALUES (1)").unwrap_err().number, NOT_SUPPORTED_NUMBER);
        assert_eq!(parse_batch("SELECT 1,").unwrap_err(), SqlError { line: 1, ..SqlError::syntax_near(",") });
        assert_eq!(parse_batch("SELECT 1 +").unwrap_err().text, "Incorrect syntax near '+'.");
        assert_eq!(parse_batch("SELECT 1 +").unwrap_err().class, 15);
        assert_eq!(parse_batch("SELECT 1 | 1").unwrap_err().class, 16);
        assert_eq!(parse_batch("SELECT 1 *;SELECT 2").unwrap_err().number, 102);
        let e = parse_batch("SELECT FROM t").unwrap_err();
        assert_eq!((e.number, e.text.as_str()), (156, "Incorrect syntax near the keyword 'FROM'."));
        assert_eq!(parse_batch("select distinct 1").unwrap_err().number, NOT_SUPPORTED_NUMBER);

        assert_eq!(parse_batch("SELECT 1\nSELECT\n  2 +").unwrap_err().line, 3);
        assert_eq!(parse_batch("SELECT CAST(1 AS foo)").unwrap_err().number, 243);
        assert_eq!(parse_batch(&format!("SELECT 1 AS [{}]", "n".repeat(129))).unwrap_err().number, 103);
        assert!(parse_batch(&format!("SELECT 1 AS [{}]", "n".repeat(128))).is_ok());
    }
}
