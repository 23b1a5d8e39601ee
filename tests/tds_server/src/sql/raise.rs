//! PRINT, RAISERROR and THROW: the messages a batch raises itself, with SQL Server's numbers,
//! severities and states (RAISERROR below severity 11 is informational).

use super::convert::convert;
use super::eval::{eval, Scope};
use super::parser::{Expr, SqlError};
use crate::engine::Message;
use crate::types::SqlType;
use crate::value::Value;

/// What a raised message becomes: an INFO token, or an ERROR that ends the batch or not.
pub enum Raised {
    Info(Message),
    Error { message: Message, ends_batch: bool },
}

fn text_of(e: &Expr, scope: &Scope) -> Result<Option<String>, SqlError> {
    let t = eval(e, scope)?;
    match convert(&t.value?, &t.ty, &SqlType::NVarChar(None))? {
        Value::Str(s) => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn integer_of(e: &Expr, scope: &Scope) -> Result<Option<i64>, SqlError> {
    let t = eval(e, scope)?;
    match convert(&t.value?, &t.ty, &SqlType::BigInt)? {
        Value::Int(i) => Ok(Some(i)),
        _ => Ok(None),
    }
}

fn message(number: i32, state: u8, class: u8, text: String, line: u32) -> Message {
    Message { number, state, class, text, procedure: String::new(), line: line as i32 }
}

/// `PRINT expr`: an INFO of number 0, class 0.
pub fn print(e: &Expr, scope: &Scope, line: u32) -> Result<Raised, SqlError> {
    let text = text_of(e, scope)?.unwrap_or_default();
    Ok(Raised::Info(message(0, 1, 0, text, line)))
}

/// `RAISERROR(...)`: a message text raises 50000; a number raises 18054 unless sys.messages
/// has it, which it never has here (no sp_addmessage).
pub fn raiserror(
    text_or_number: &Expr,
    severity: &Expr,
    state: &Expr,
    arguments: &[Expr],
    options: &[String],
    scope: &Scope,
    line: u32,
) -> Result<Raised, SqlError> {
    if let Some(option) = options.iter().find(|o| !["NOWAIT", "SETERROR"].contains(&o.as_str())) {
        return Err(SqlError::not_supported(format!("RAISERROR WITH {option}")));
    }
    let severity = integer_of(severity, scope)?.unwrap_or(0);
    let state = integer_of(state, scope)?.unwrap_or(1);
    if !(0..=18).contains(&severity) {
        return Err(SqlError::not_supported("RAISERROR with a severity above 18 (WITH LOG)"));
    }
    // a negative state is taken as 1
    let state = if (0..=255).contains(&state) { state as u8 } else { 1 };
    let number_given = eval(text_or_number, scope)?.ty.is_integer();
    let (number, text, severity) = if number_given {
        let number = integer_of(text_or_number, scope)?.unwrap_or(0);
        (
            18054,
            format!("Error {number}, severity {severity}, state {state} was raised, but no message with that error number was found in sys.messages. If error is larger than 50000, make sure the user-defined message is added using sp_addmessage."),
            severity.max(16),
        )
    } else {
        let format = text_of(text_or_number, scope)?.unwrap_or_default();
        (50000, substitute(&format, arguments, scope)?, severity)
    };
    let m = message(number, state, severity as u8, text, line);
    Ok(if severity <= 10 { Raised::Info(m) } else { Raised::Error { message: m, ends_batch: false } })
}

/// RAISERROR's printf-style substitution: %d, %i, %u, %s (with optional flags and width
/// digits ignored) take the arguments in order; %% is a percent sign.
fn substitute(format: &str, arguments: &[Expr], scope: &Scope) -> Result<String, SqlError> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_argument = arguments.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        while chars.peek().is_some_and(|c| "-+ #0123456789.".contains(*c)) {
            chars.next();
        }
        match chars.next() {
            Some('d' | 'i' | 'u' | 's' | 'S') => match next_argument.next() {
                Some(a) => out.push_str(&text_of(a, scope)?.unwrap_or_else(|| "(null)".to_string())),
                None => out.push_str("(null)"),
            },
            Some(other) => return Err(SqlError::not_supported(format!("The RAISERROR format %{other}"))),
            None => {}
        }
    }
    Ok(out)
}

/// `THROW number, message, state`: severity 16, and the batch ends.
pub fn throw(number: &Expr, text: &Expr, state: &Expr, scope: &Scope, line: u32) -> Result<Raised, SqlError> {
    let number = integer_of(number, scope)?.unwrap_or(0);
    if !(50000..=i32::MAX as i64).contains(&number) {
        return Err(SqlError::new(
            35100,
            format!("Error number {number} in the THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647."),
        ));
    }
    let state = integer_of(state, scope)?.unwrap_or(1);
    if !(0..=255).contains(&state) {
        return Err(SqlError::new(
            35101,
            format!("State {state} in the THROW statement is outside the valid range. Specify a state in the valid range of 0 to 255."),
        ));
    }
    let text = text_of(text, scope)?.unwrap_or_default();
    Ok(Raised::Error { message: message(number as i32, state as u8, 16, text, line), ends_batch: true })
}

/// `THROW` alone in a CATCH block: the error it handles, raised again as it was.
pub fn rethrow(handled: Option<&Message>) -> Result<Raised, SqlError> {
    match handled {
        Some(m) => Ok(Raised::Error { message: m.clone(), ends_batch: true }),
        None => Err(SqlError::new(
            10704,
            "To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW statement inside a CATCH block, or add error parameters to the THROW statement.",
        )),
    }
}
