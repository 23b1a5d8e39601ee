//! Runs a batch, a dynamic SQL string or a procedure body: a definition batch (CREATE
//! PROCEDURE/VIEW), control flow (IF, WHILE, BEGIN...END, RETURN, TRY...CATCH) or plain
//! statements. In a TRY block an error goes to its CATCH block instead of the client, from
//! nested procedures and dynamic SQL too.

use std::collections::HashSet;

use crate::definitions;
use crate::engine::{fail, note_error, run_batch, scope, DoneKind, Event, Session};
use crate::sql::block::{self, Block};
use crate::sql::convert::convert;
use crate::sql::definition;
use crate::sql::eval::{eval, eval_condition, Variables};
use crate::sql::parser::{is_not_supported, parse_batch, Condition, Expr, SqlError, Statement};
use crate::tokens::DONE_ERROR;
use crate::types::SqlType;
use crate::value::Value;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its end (statement errors may have been reported)
    Completed,
    /// RETURN, with its value
    Returned(Option<i32>),
    /// An error ended it, and every scope around it up to the batch (or up to a TRY block)
    Aborted,
}

/// How a block ended, for the block around it.
enum Flow {
    Next,
    Break,
    Continue,
    Return(Option<i32>),
}

/// Why a block stopped early: an error that ends the batch, or one a TRY block catches.
enum Stop {
    Abort,
    Caught(crate::engine::Message),
}

/// WHILE iterations one loop may run before it is refused (a runaway loop would hold the session).
const MAX_ITERATIONS: u64 = 10_000_000;

/// Runs `sql` with `variables`, its statements' DONE tokens of `kind`.
pub fn run(
    session: &mut Session,
    sql: &str,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> Outcome {
    match definition::parse(sql) {
        Ok(Some(d)) => {
            return if definitions::define(session, &d, kind, events) { Outcome::Completed } else { Outcome::Aborted };
        }
        Ok(None) => {}
        Err(e) => {
            let line = e.line.max(1);
            fail(events, kind, e, 0, line);
            return Outcome::Aborted;
        }
    }
    // inside a TRY block each statement is run on its own, so the first error reaches the CATCH block
    if session.catching == 0 && !block::has_control_flow(sql) {
        return if run_batch(session, sql, variables, kind, events) { Outcome::Completed } else { Outcome::Aborted };
    }
    let blocks = match block::parse(sql).and_then(|b| check_declarations(&b).map(|()| b)) {
        Ok(blocks) => blocks,
        Err(e) => {
            let line = e.line.max(1);
            fail(events, kind, e, 0, line);
            return Outcome::Aborted;
        }
    };
    let mut runner = Runner { kind, loops: 0, tries: 0 };
    match runner.list(session, &blocks, variables, events) {
        Ok(Flow::Return(value)) => Outcome::Returned(value),
        Ok(_) => Outcome::Completed,
        Err(_) => Outcome::Aborted,
    }
}

/// SQL Server's 134 for a variable declared twice in the batch (a DECLARE in a loop runs more than
/// once, so this is checked over the text, as SQL Server compiles it).
fn check_declarations(blocks: &[Block]) -> Result<(), SqlError> {
    fn walk(block: &Block, seen: &mut HashSet<String>) -> Result<(), SqlError> {
        match block {
            Block::Statement { text, line } => {
                if !text.trim_start().get(..7).is_some_and(|w| w.eq_ignore_ascii_case("DECLARE")) {
                    return Ok(());
                }
                let Ok(statements) = parse_batch(text) else { return Ok(()) };
                for (statement, _) in statements {
                    let Statement::Declare(list) = statement else { continue };
                    for (name, _, _) in list {
                        if !seen.insert(name.to_lowercase()) {
                            let e = SqlError::new(
                                134,
                                format!("The variable name '{name}' has already been declared. Variable names must be unique within a query batch or stored procedure."),
                            );
                            return Err(SqlError { line: *line, class: 15, ..e });
                        }
                    }
                }
                Ok(())
            }
            Block::Sequence(list) => list.iter().try_for_each(|b| walk(b, seen)),
            Block::If { then, otherwise, .. } => {
                walk(then, seen)?;
                otherwise.as_deref().map_or(Ok(()), |b| walk(b, seen))
            }
            Block::While { body, .. } => walk(body, seen),
            Block::TryCatch { body, handler } => body.iter().chain(handler).try_for_each(|b| walk(b, seen)),
            Block::Break(_) | Block::Continue(_) | Block::Return { .. } => Ok(()),
        }
    }
    let mut seen = HashSet::new();
    blocks.iter().try_for_each(|b| walk(b, &mut seen))
}

/// The first error of a statement's events a CATCH block handles: severity 11 or more, and not
/// this server's own "not supported" (which must reach the client). An error raised at the TRY
/// block's own level by compiling the statement (a syntax error, an unknown table or column) is
/// not caught, as in SQL Server; `nested` says the statement ran a procedure or dynamic SQL, whose
/// errors are all caught.
fn catchable_error(statement_events: &[Event], nested: bool) -> Option<crate::engine::Message> {
    const COMPILE_ERRORS: &[i32] = &[102, 156, 170, 207, 208, 209, 4104];
    statement_events.iter().find_map(|e| match e {
        Event::Error(m) if m.class > 10 && !is_not_supported(m) => {
            (nested || !COMPILE_ERRORS.contains(&m.number)).then(|| m.clone())
        }
        _ => None,
    })
}

/// Takes the caught error's tokens out of a statement's events: the client never sees an error a
/// CATCH block handles, and its statement's DONE loses DONE_ERROR (or goes when no result preceded it).
fn withdraw_errors(events: &mut Vec<Event>, start: usize) {
    let mut i = start;
    while i < events.len() {
        let after_result =
            i > start && matches!(events[i - 1], Event::ColMetadata(_) | Event::Row(_) | Event::EncodedRows(_));
        match &mut events[i] {
            Event::Error(m) if m.class > 10 => {
                events.remove(i);
            }
            Event::Done(d) if d.status & DONE_ERROR != 0 && after_result => {
                d.status &= !DONE_ERROR;
                i += 1;
            }
            Event::Done(d) if d.status & DONE_ERROR != 0 => {
                events.remove(i);
            }
            _ => i += 1,
        }
    }
}

/// Whether a statement's text runs a procedure or dynamic SQL (whose errors are nested ones).
fn calls_module(text: &str) -> bool {
    let word: String = text.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    word.eq_ignore_ascii_case("EXEC") || word.eq_ignore_ascii_case("EXECUTE")
}

struct Runner {
    kind: DoneKind,
    /// WHILE loops around the current block
    loops: u32,
    /// TRY blocks of this run around the current block: only they catch its errors (an error of
    /// a procedure or dynamic SQL run in a caller's TRY block ends the run and reaches the caller)
    tries: u32,
}

impl Runner {
    fn list(
        &mut self,
        session: &mut Session,
        blocks: &[Block],
        variables: &mut Variables,
        events: &mut Vec<Event>,
    ) -> Result<Flow, Stop> {
        for b in blocks {
            match self.block(session, b, variables, events)? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    fn block(
        &mut self,
        session: &mut Session,
        block: &Block,
        variables: &mut Variables,
        events: &mut Vec<Event>,
    ) -> Result<Flow, Stop> {
        match block {
            Block::Statement { text, .. } => {
                let start = events.len();
                let goes_on = run_batch(session, text, variables, self.kind, events);
                self.after_statement(session, events, start, goes_on, calls_module(text))?;
                Ok(Flow::Next)
            }
            Block::Sequence(list) => self.list(session, list, variables, events),
            Block::If { condition, line, then, otherwise } => {
                if self.holds(session, condition, *line, variables, events)? {
                    self.block(session, then, variables, events)
                } else if let Some(otherwise) = otherwise {
                    self.block(session, otherwise, variables, events)
                } else {
                    Ok(Flow::Next)
                }
            }
            Block::While { condition, line, body } => {
                let mut iterations = 0u64;
                while self.holds(session, condition, *line, variables, events)? {
                    iterations += 1;
                    if iterations > MAX_ITERATIONS {
                        let e =
                            SqlError::not_supported(format!("A WHILE loop of more than {MAX_ITERATIONS} iterations"));
                        self.fail(session, events, e, *line)?;
                        break;
                    }
                    self.loops += 1;
                    let flow = self.block(session, body, variables, events);
                    self.loops -= 1;
                    match flow? {
                        Flow::Break => break,
                        Flow::Return(value) => return Ok(Flow::Return(value)),
                        Flow::Next | Flow::Continue => {}
                    }
                }
                Ok(Flow::Next)
            }
            Block::Break(line) | Block::Continue(line) => {
                if self.loops == 0 {
                    let word = if matches!(block, Block::Break(_)) { "BREAK" } else { "CONTINUE" };
                    let e = SqlError::new(
                        135,
                        format!("Cannot use a {word} statement outside the scope of a WHILE statement."),
                    );
                    self.fail(session, events, SqlError { class: 15, ..e }, *line)?;
                    return Ok(Flow::Next);
                }
                Ok(if matches!(block, Block::Break(_)) { Flow::Break } else { Flow::Continue })
            }
            Block::Return { value: None, .. } => Ok(Flow::Return(None)),
            Block::Return { value: Some(e), line } => match self.return_value(session, e, variables) {
                Ok(value) => Ok(Flow::Return(Some(value))),
                Err(e) => {
                    self.fail(session, events, e, *line)?;
                    Ok(Flow::Next)
                }
            },
            Block::TryCatch { body, handler } => {
                session.catching += 1;
                self.tries += 1;
                let tried = self.list(session, body, variables, events);
                self.tries -= 1;
                session.catching -= 1;
                match tried {
                    Err(Stop::Caught(error)) => {
                        let outer = session.handled_error.replace(error);
                        let handled = self.list(session, handler, variables, events);
                        session.handled_error = outer;
                        handled
                    }
                    other => other,
                }
            }
        }
    }

    /// After a statement: a caught error goes to the CATCH block, an error ending the batch stops it.
    fn after_statement(
        &self,
        session: &mut Session,
        events: &mut Vec<Event>,
        start: usize,
        goes_on: bool,
        nested: bool,
    ) -> Result<(), Stop> {
        if session.catching > 0 {
            if let Some(error) = catchable_error(&events[start..], nested) {
                if self.tries == 0 {
                    // a caller's TRY block catches it: the error stays for the caller to find
                    return Err(Stop::Abort);
                }
                withdraw_errors(events, start);
                return Err(Stop::Caught(error));
            }
        }
        if goes_on {
            Ok(())
        } else {
            Err(Stop::Abort)
        }
    }

    /// Reports an error of a control-flow statement itself (its condition, RETURN value ...); `Ok`
    /// when the batch goes on past the statement.
    fn fail(&self, session: &mut Session, events: &mut Vec<Event>, e: SqlError, line: u32) -> Result<(), Stop> {
        let start = events.len();
        let goes_on = fail(events, self.kind, e, 0, line);
        note_error(session, &events[start..]);
        self.after_statement(session, events, start, goes_on, false)
    }

    /// Whether a condition holds (UNKNOWN does not).
    fn holds(
        &self,
        session: &mut Session,
        condition: &Condition,
        line: u32,
        variables: &Variables,
        events: &mut Vec<Event>,
    ) -> Result<bool, Stop> {
        let truth = eval_condition(condition, &scope(session, variables, &[]));
        match truth.and_then(|t| t) {
            Ok(t) => Ok(t == Some(true)),
            // an error that ends only its statement skips the IF (or ends the loop)
            Err(e) => self.fail(session, events, e, line).map(|()| false),
        }
    }

    /// RETURN's value: an integer, in a procedure only.
    fn return_value(&self, session: &Session, e: &Expr, variables: &Variables) -> Result<i32, SqlError> {
        if session.nesting_level == 0 {
            return Err(SqlError::new(178, "A RETURN statement with a return value cannot be used in this context."));
        }
        let typed = eval(e, &scope(session, variables, &[]))?;
        match convert(&typed.value?, &typed.ty, &SqlType::Int)? {
            Value::Int(i) => Ok(i as i32),
            // RETURN NULL returns 0, as SQL Server does (with a warning)
            _ => Ok(0),
        }
    }
}
