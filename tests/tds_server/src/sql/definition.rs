//! The batches that define a module: CREATE [OR ALTER] / ALTER PROCEDURE and VIEW, which must
//! be alone in their batch (everything after AS is the body), and the parameter list of a
//! procedure.

use super::lexer::Token;
use super::parser::{Expr, Parser, SqlError, TypeContext};
use crate::types::SqlType;

/// What a definition batch defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionKind {
    Procedure,
    View,
}

/// How it defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionVerb {
    Create,
    Alter,
    CreateOrAlter,
}

/// A CREATE/ALTER PROCEDURE or VIEW batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub kind: DefinitionKind,
    pub verb: DefinitionVerb,
    /// The name without schema
    pub name: String,
    /// The statement's text from CREATE/ALTER on
    pub text: String,
    /// Where the body starts in `text`
    pub body_offset: usize,
}

/// A procedure parameter: `@name type [= default] [OUTPUT]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureParameter {
    pub name: String,
    pub ty: SqlType,
    pub default: Option<Expr>,
    pub output: bool,
}

/// The definition a batch is, when it starts with CREATE/ALTER PROCEDURE or VIEW; an error when
/// another statement comes first (SQL Server's 111) or when the header does not parse.
pub fn parse(sql: &str) -> Result<Option<Definition>, SqlError> {
    let mut p = Parser::new(sql)?;
    let Some((kind, verb, start)) = definition_start(&p) else {
        unsupported_definition(&p)?;
        return misplaced(&p);
    };
    p.pos = start;
    let name = object_name(&mut p)?;
    let body = match kind {
        DefinitionKind::Procedure => {
            procedure_parameters(&mut p)?;
            skip_options(&mut p, &["WITH", "FOR"]);
            expect_as(&mut p)?;
            p.offset_of(p.pos)
        }
        DefinitionKind::View => {
            if p.peek_punct('(') {
                let close = p.matching_paren(p.pos).ok_or_else(|| SqlError::syntax_near("("))?;
                p.pos = close + 1;
            }
            skip_options(&mut p, &["WITH"]);
            expect_as(&mut p)?;
            p.offset_of(p.pos)
        }
    };
    let from = p.offset_of(0);
    Ok(Some(Definition { kind, verb, name, text: sql[from..].to_string(), body_offset: body - from }))
}

/// The parameters of the procedure whose definition is `text`.
pub fn parameters(text: &str) -> Result<Vec<ProcedureParameter>, SqlError> {
    let mut p = Parser::new(text)?;
    let Some((DefinitionKind::Procedure, _, start)) = definition_start(&p) else {
        return Err(SqlError::not_supported("A procedure definition of this form"));
    };
    p.pos = start;
    object_name(&mut p)?;
    procedure_parameters(&mut p)
}

/// At `CREATE [OR ALTER] PROC[EDURE]|VIEW` or `ALTER PROC[EDURE]|VIEW`: the kind, the verb and
/// the token index of the name.
fn definition_start(p: &Parser) -> Option<(DefinitionKind, DefinitionVerb, usize)> {
    let word = |i: usize, k: &str| p.token_at(i).is_some_and(|t| t.is_keyword(k));
    let (verb, at) = if word(0, "CREATE") && word(1, "OR") && word(2, "ALTER") {
        (DefinitionVerb::CreateOrAlter, 3)
    } else if word(0, "CREATE") {
        (DefinitionVerb::Create, 1)
    } else if word(0, "ALTER") {
        (DefinitionVerb::Alter, 1)
    } else {
        return None;
    };
    let kind = if word(at, "PROC") || word(at, "PROCEDURE") {
        DefinitionKind::Procedure
    } else if word(at, "VIEW") {
        DefinitionKind::View
    } else {
        return None;
    };
    Some((kind, verb, at + 1))
}

/// The modules this server does not define (functions, triggers, types ...): "not supported"
/// rather than a syntax error.
fn unsupported_definition(p: &Parser) -> Result<(), SqlError> {
    let word = |i: usize, k: &str| p.token_at(i).is_some_and(|t| t.is_keyword(k));
    let (verb, at) = if word(0, "CREATE") && word(1, "OR") && word(2, "ALTER") {
        ("CREATE OR ALTER", 3)
    } else if word(0, "CREATE") {
        ("CREATE", 1)
    } else if word(0, "ALTER") {
        ("ALTER", 1)
    } else {
        return Ok(());
    };
    match ["FUNCTION", "TRIGGER", "TYPE", "SYNONYM", "SEQUENCE", "SCHEMA", "ASSEMBLY"].into_iter().find(|k| word(at, k))
    {
        Some(object) => Err(SqlError::not_supported(format!("{verb} {object}"))),
        None => Ok(()),
    }
}

/// SQL Server's 111 when a definition comes after another statement of the batch.
fn misplaced(p: &Parser) -> Result<Option<Definition>, SqlError> {
    let word = |i: usize, k: &str| p.token_at(i).is_some_and(|t| t.is_keyword(k));
    for i in 1..p.token_count() {
        let verb = if word(i, "CREATE") {
            "CREATE"
        } else if word(i, "ALTER") && !word(i - 1, "OR") {
            "ALTER"
        } else {
            continue;
        };
        let at = if word(i + 1, "OR") && word(i + 2, "ALTER") { i + 3 } else { i + 1 };
        let object = if word(at, "PROC") || word(at, "PROCEDURE") {
            "PROCEDURE"
        } else if let Some(object) = ["VIEW", "FUNCTION", "TRIGGER"].into_iter().find(|k| word(at, k)) {
            object
        } else {
            continue;
        };
        let e = SqlError::new(111, format!("'{verb} {object}' must be the first statement in a query batch."));
        return Err(SqlError { line: p.line_of(i), ..e });
    }
    Ok(None)
}

/// `[schema.]name` (the schema must be dbo); the name.
fn object_name(p: &mut Parser) -> Result<String, SqlError> {
    let mut parts = Vec::new();
    loop {
        match p.next() {
            Some(Token::Ident { text, .. }) => parts.push(text),
            Some(t) => return Err(SqlError::syntax_near(&t.display())),
            None => return Err(SqlError::syntax_near("")),
        }
        if !p.eat_punct('.') {
            break;
        }
    }
    match parts.as_slice() {
        [name] => Ok(name.clone()),
        [schema, name] if schema.eq_ignore_ascii_case("dbo") => Ok(name.clone()),
        _ => Err(SqlError::not_supported(format!("The object name {}", parts.join(".")))),
    }
}

/// `[(] @p type [= default] [OUT|OUTPUT] [READONLY], ... [)]`
fn procedure_parameters(p: &mut Parser) -> Result<Vec<ProcedureParameter>, SqlError> {
    let parenthesized = p.eat_punct('(');
    let mut parameters = Vec::new();
    while matches!(p.peek(), Some(Token::Variable(_))) {
        let Some(Token::Variable(name)) = p.next() else { unreachable!("peeked") };
        p.eat_keyword("AS");
        let ty = p.type_name(TypeContext::Declaration)?;
        p.eat_keyword("VARYING");
        p.eat_keyword("NULL");
        let default = if p.eat_punct('=') { Some(p.expr()?) } else { None };
        let output = p.eat_keyword("OUTPUT") || p.eat_keyword("OUT");
        if p.eat_keyword("READONLY") {
            return Err(SqlError::not_supported("READONLY (table-valued) parameters"));
        }
        if parameters.iter().any(|q: &ProcedureParameter| q.name.eq_ignore_ascii_case(&name)) {
            let e = SqlError::new(
                134,
                format!("The variable name '{name}' has already been declared. Variable names must be unique within a query batch or stored procedure."),
            );
            return Err(SqlError { class: 15, ..e });
        }
        parameters.push(ProcedureParameter { name, ty, default, output });
        if !p.eat_punct(',') {
            break;
        }
    }
    if parenthesized {
        p.expect_punct(')')?;
    }
    Ok(parameters)
}

/// Skips `WITH option, ...` and `FOR REPLICATION` before AS.
fn skip_options(p: &mut Parser, words: &[&str]) {
    while words.iter().any(|w| p.peek_keyword(w)) {
        p.pos += 1;
        while !p.at_end() && !p.peek_keyword("AS") {
            p.pos += 1;
        }
    }
}

fn expect_as(p: &mut Parser) -> Result<(), SqlError> {
    if p.eat_keyword("AS") {
        Ok(())
    } else {
        Err(p.located(p.unexpected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedure_header_and_body() {
        let sql = "CREATE PROCEDURE dbo.add_one @a int, @b int = 5 OUTPUT, @c nvarchar(10) = N'x'\nAS\nBEGIN SET @b = @a + 1; RETURN 7 END";
        let d = parse(sql).unwrap().unwrap();
        assert_eq!((d.kind, d.verb, d.name.as_str()), (DefinitionKind::Procedure, DefinitionVerb::Create, "add_one"));
        assert_eq!(&d.text[d.body_offset..], "BEGIN SET @b = @a + 1; RETURN 7 END");
        let params = parameters(&d.text).unwrap();
        assert_eq!(params.len(), 3);
        assert_eq!((params[1].name.as_str(), params[1].output), ("@b", true));
        assert_eq!(params[1].default, Some(Expr::Integer("5".into())));
        assert_eq!(params[2].ty, SqlType::NVarChar(Some(10)));
    }

    #[test]
    fn views_and_placement() {
        let d = parse("create or alter view v (a) with schemabinding as select 1 as a").unwrap().unwrap();
        assert_eq!((d.kind, d.verb), (DefinitionKind::View, DefinitionVerb::CreateOrAlter));
        assert_eq!(&d.text[d.body_offset..], "select 1 as a");
        assert_eq!(parse("SELECT 1").unwrap(), None);
        let e = parse("SELECT 1\nCREATE PROCEDURE p AS SELECT 1").unwrap_err();
        assert_eq!((e.number, e.line), (111, 2));
        assert_eq!(e.text, "'CREATE PROCEDURE' must be the first statement in a query batch.");
        assert_eq!(parse("SET NOCOUNT ON; CREATE OR ALTER VIEW v AS SELECT 1").unwrap_err().number, 111);
    }
}
