//! Faults a test arms on one connection through SQL (`EXEC sp_fastmssql_fault @close_after_rows = 10`,
//! as a batch or an RPC by name) so that any client can be tested under network adversity.
//! A fault applies to the next request of the same connection, once.

use std::time::Duration;

use crate::engine::{Done, DoneKind, Event, RpcTarget};
use crate::packet::{frame_message, Message, PacketType, STATUS_EOM};
use crate::replay::{procedure_name, PROC_SP_EXECUTESQL};
use crate::request;
use crate::tokens::{self, CURCMD_EXECUTE, DONE_COUNT, DONE_ERROR, DONE_FINAL};
use crate::value::Value;

/// The server-only procedure that arms a fault.
pub const FAULT_PROCEDURE: &str = "sp_fastmssql_fault";

/// Requests larger than this are never a call of the fault procedure.
const MAX_ARMING_REQUEST_LEN: usize = 8 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the socket once this many bytes (packet headers included) of the next response are sent.
    CloseAfterBytes(usize),
    /// Close the socket once this many rows of the next response are sent.
    CloseAfterRows(u64),
    /// Wait this long before executing the next request (an Attention cuts it short).
    Delay(Duration),
    /// Answer the next request with this error instead of executing it.
    Error { number: i32, message: String, severity: u8 },
    /// Answer the next request with a response that breaks the protocol.
    Malformed(Malformation),
}

/// The broken responses `@malformed = N'...'` asks for, to prove a client's reader refuses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// `absurd_length`: a varbinary(max) value announcing 2^62 bytes, in a chunk of 4 GiB that
    /// the message ends without.
    AbsurdLength,
    /// `unknown_token`: a token type that no TDS version defines, then a DONE.
    UnknownToken,
    /// `truncated_token`: the message ends in the middle of a COLMETADATA token.
    TruncatedToken,
    /// `bad_packet_header`: a packet whose length field is shorter than the header itself.
    BadPacketHeader,
    /// `invalid_utf16`: well-formed TDS, but an nvarchar value holding an unpaired surrogate.
    InvalidUtf16,
}

impl Malformation {
    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "absurd_length" => Self::AbsurdLength,
            "unknown_token" => Self::UnknownToken,
            "truncated_token" => Self::TruncatedToken,
            "bad_packet_header" => Self::BadPacketHeader,
            "invalid_utf16" => Self::InvalidUtf16,
            _ => {
                return Err("@malformed must be absurd_length, unknown_token, truncated_token, \
                            bad_packet_header or invalid_utf16"
                    .into())
            }
        })
    }

    /// The whole response, framed: `prefix` (tokens owed to the request, e.g. a reset's
    /// acknowledgement) and then the broken part.
    pub fn response(self, prefix: &[u8], spid: u16, packet_size: usize) -> Vec<u8> {
        if self == Self::BadPacketHeader {
            return vec![PacketType::TabularResult.to_byte(), STATUS_EOM, 0, 4, 0, 0, 1, 0];
        }
        let mut payload = prefix.to_vec();
        let one_column = |payload: &mut Vec<u8>, type_info: &[u8]| {
            payload.extend_from_slice(&[tokens::TOKEN_COLMETADATA, 1, 0]);
            payload.extend_from_slice(&[0, 0, 0, 0, 1, 0]); // UserType, Flags: nullable
            payload.extend_from_slice(type_info);
            payload.extend_from_slice(&[1, b'v', 0]); // the name "v"
        };
        match self {
            Self::AbsurdLength => {
                one_column(&mut payload, &[0xA5, 0xFF, 0xFF]); // varbinary(max)
                payload.push(tokens::TOKEN_ROW);
                payload.extend_from_slice(&(1u64 << 62).to_le_bytes());
                payload.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
                payload.extend_from_slice(b"only a few bytes");
            }
            Self::UnknownToken => {
                payload.extend_from_slice(&[0x5A, 1, 2, 3]);
                tokens::write_done(
                    &mut payload,
                    &Done { kind: DoneKind::Done, status: DONE_FINAL, cur_cmd: 0, row_count: 0 },
                );
            }
            Self::TruncatedToken => {
                payload.extend_from_slice(&[tokens::TOKEN_COLMETADATA, 1, 0, 0, 0, 0, 0, 1]);
            }
            Self::InvalidUtf16 => {
                // nvarchar(100), Latin1_General_CI_AS; the value is the lone high surrogate U+D800.
                one_column(&mut payload, &[0xE7, 200, 0, 0x09, 0x04, 0xD0, 0x00, 0x34]);
                payload.extend_from_slice(&[tokens::TOKEN_ROW, 2, 0, 0x00, 0xD8]);
                let row =
                    Done { kind: DoneKind::Done, status: DONE_COUNT, cur_cmd: tokens::CURCMD_SELECT, row_count: 1 };
                tokens::write_done(&mut payload, &row);
            }
            Self::BadPacketHeader => unreachable!("answered above"),
        }
        let mut framed = Vec::new();
        frame_message(&mut framed, PacketType::TabularResult, spid, packet_size, &payload);
        framed
    }
}

impl Fault {
    /// The response of a request answered by an `Error` fault.
    pub fn error_events(number: i32, message: &str, severity: u8) -> Vec<Event> {
        vec![
            Event::Error(tokens::server_message(number, 1, severity, message.to_string())),
            Event::Done(Done { kind: DoneKind::Done, status: DONE_ERROR, cur_cmd: 0, row_count: 0 }),
        ]
    }
}

/// What a request calling the fault procedure asks for.
pub enum Arming {
    Arm { fault: Fault, kind: PacketType },
    Refuse(String),
}

impl Arming {
    /// The answer to the arming request: a plain procedure call's, or an error for a bad call.
    pub fn response(&self) -> Vec<Event> {
        match self {
            Arming::Refuse(text) => Fault::error_events(50000, text, 16),
            Arming::Arm { kind: PacketType::Rpc, .. } => vec![
                Event::ReturnStatus(0),
                Event::Done(Done { kind: DoneKind::DoneProc, status: 0, cur_cmd: CURCMD_EXECUTE, row_count: 0 }),
            ],
            Arming::Arm { .. } => {
                vec![Event::Done(Done { kind: DoneKind::Done, status: 0, cur_cmd: CURCMD_EXECUTE, row_count: 0 })]
            }
        }
    }
}

/// A procedure argument: an integer or a string.
#[derive(Debug, PartialEq)]
enum Argument {
    Int(i64),
    Text(String),
}

/// `Some` when `message` calls the fault procedure (a batch, or an sp_executesql statement, that
/// is only that EXEC; or an RPC by name that is only that call); `None` for every other request.
pub fn arming_request(message: &Message) -> Option<Arming> {
    // A call of the procedure is a few hundred bytes; bigger requests are not decoded twice.
    if message.payload.len() > MAX_ARMING_REQUEST_LEN {
        return None;
    }
    let arguments = match message.ty {
        PacketType::SqlBatch => {
            let batch = request::parse_sql_batch(&message.payload).ok()?;
            batch_arguments(&batch.text)?
        }
        PacketType::Rpc => {
            let rpc = request::parse_rpc(&message.payload).ok()?;
            let [call] = rpc.requests.as_slice() else { return None };
            let executes_sql = match &call.target {
                RpcTarget::ProcId(id) => *id == PROC_SP_EXECUTESQL,
                RpcTarget::Name(name) => procedure_name(name).eq_ignore_ascii_case("sp_executesql"),
            };
            match (&call.target, call.params.first().map(|p| &p.value)) {
                (_, Some(Value::Str(statement))) if executes_sql => batch_arguments(statement)?,
                (RpcTarget::Name(name), _) if is_fault_procedure(name) => call
                    .params
                    .iter()
                    .map(|param| {
                        let value = match &param.value {
                            Value::Int(i) => Ok(Argument::Int(*i)),
                            Value::Str(s) => Ok(Argument::Text(s.clone())),
                            other => Err(format!("{} has an unsupported value {other:?}", param.name)),
                        };
                        value.map(|value| (param.name.trim_start_matches('@').to_string(), value))
                    })
                    .collect(),
                _ => return None,
            }
        }
        _ => return None,
    };
    let fault = arguments.and_then(fault_from_arguments);
    Some(match fault {
        Ok(fault) => Arming::Arm { fault, kind: message.ty },
        Err(text) => Arming::Refuse(format!("{FAULT_PROCEDURE}: {text}")),
    })
}

fn is_fault_procedure(name: &str) -> bool {
    procedure_name(name).eq_ignore_ascii_case(FAULT_PROCEDURE)
}

/// The named arguments of a batch `EXEC[UTE] sp_fastmssql_fault @a = 1, @b = N'x'[;]`; `None`
/// when the batch is anything else, `Some(Err)` when it calls the procedure badly.
fn batch_arguments(text: &str) -> Option<Result<Vec<(String, Argument)>, String>> {
    let mut rest = text.trim();
    let verb_end = rest.find(|c: char| c.is_whitespace())?;
    if !["EXEC", "EXECUTE"].iter().any(|v| v.eq_ignore_ascii_case(&rest[..verb_end])) {
        return None;
    }
    rest = rest[verb_end..].trim_start();
    let name_end = rest.find(|c: char| c.is_whitespace() || c == ';').unwrap_or(rest.len());
    if !is_fault_procedure(&rest[..name_end]) {
        return None;
    }
    rest = rest[name_end..].trim();
    rest = rest.strip_suffix(';').unwrap_or(rest).trim_end();
    let mut arguments = Vec::new();
    while !rest.is_empty() {
        match parse_argument(rest) {
            Ok((argument, after)) => {
                arguments.push(argument);
                rest = after.trim_start();
                if let Some(after_comma) = rest.strip_prefix(',') {
                    rest = after_comma.trim_start();
                } else if !rest.is_empty() {
                    return Some(Err(format!("expected ',' before {rest:?}")));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(arguments))
}

/// `@name = value` at the start of `text`; returns it and the text after it.
fn parse_argument(text: &str) -> Result<((String, Argument), &str), String> {
    let text = text.strip_prefix('@').ok_or_else(|| format!("expected a named argument @name = value at {text:?}"))?;
    let name_end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    let name = text[..name_end].to_ascii_lowercase();
    let after_eq =
        text[name_end..].trim_start().strip_prefix('=').ok_or_else(|| format!("expected '=' after @{name}"))?;
    let value_text = after_eq.trim_start();
    let unicode = value_text.starts_with(['N', 'n']) && value_text[1..].starts_with('\'');
    let quoted = if unicode { &value_text[1..] } else { value_text };
    if let Some(body) = quoted.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                value.push(c);
            } else if body[i + 1..].starts_with('\'') {
                value.push('\'');
                chars.next();
            } else {
                return Ok(((name, Argument::Text(value)), &body[i + 1..]));
            }
        }
        return Err(format!("unterminated string for @{name}"));
    }
    let number_end = value_text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(value_text.len(), |(i, _)| i);
    let number =
        value_text[..number_end].parse().map_err(|_| format!("@{name} needs an integer or a string literal"))?;
    Ok(((name, Argument::Int(number)), &value_text[number_end..]))
}

fn fault_from_arguments(arguments: Vec<(String, Argument)>) -> Result<Fault, String> {
    let mut fault = None;
    let mut message = None;
    let mut severity = None;
    let non_negative = |name: &str, value: &Argument| match value {
        Argument::Int(n) if *n >= 0 => Ok(*n),
        _ => Err(format!("@{name} needs a non-negative integer")),
    };
    for (name, value) in &arguments {
        let armed = match name.as_str() {
            "close_after_bytes" => Fault::CloseAfterBytes(non_negative(name, value)? as usize),
            "close_after_rows" => match non_negative(name, value)? {
                0 => return Err("@close_after_rows needs at least one row (use @close_after_bytes)".into()),
                rows => Fault::CloseAfterRows(rows as u64),
            },
            "delay_ms" => Fault::Delay(Duration::from_millis(non_negative(name, value)? as u64)),
            "error" => Fault::Error {
                number: i32::try_from(non_negative(name, value)?).map_err(|_| "@error is too large".to_string())?,
                message: String::new(),
                severity: 16,
            },
            "malformed" => {
                let Argument::Text(name) = value else { return Err("@malformed needs a string".into()) };
                Fault::Malformed(Malformation::parse(name)?)
            }
            "message" => {
                let Argument::Text(text) = value else { return Err("@message needs a string".into()) };
                message = Some(text.clone());
                continue;
            }
            "severity" => {
                severity = Some(
                    u8::try_from(non_negative(name, value)?)
                        .ok()
                        .filter(|s| (11..=16).contains(s))
                        .ok_or("@severity must be 11 to 16 (an error the session survives)")?,
                );
                continue;
            }
            other => return Err(format!("unknown argument @{other}")),
        };
        if fault.replace(armed).is_some() {
            return Err(
                "give exactly one of @close_after_bytes, @close_after_rows, @delay_ms, @error, @malformed".into()
            );
        }
    }
    match fault {
        Some(Fault::Error { number, .. }) => Ok(Fault::Error {
            number,
            message: message.unwrap_or_else(|| format!("Error {number} injected by {FAULT_PROCEDURE}.")),
            severity: severity.unwrap_or(16),
        }),
        Some(_) if message.is_some() || severity.is_some() => Err("@message and @severity go with @error".into()),
        Some(fault) => Ok(fault),
        None => Err("give one of @close_after_bytes, @close_after_rows, @delay_ms, @error, @malformed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(text: &str) -> Option<Result<Fault, String>> {
        batch_arguments(text).map(|arguments| arguments.and_then(fault_from_arguments))
    }

    #[test]
    fn batches_arm_each_fault() {
        assert_eq!(batch("EXEC sp_fastmssql_fault @close_after_rows = 10"), Some(Ok(Fault::CloseAfterRows(10))));
        assert_eq!(batch("exec dbo.SP_FASTMSSQL_FAULT @close_after_bytes=100;"), Some(Ok(Fault::CloseAfterBytes(100))));
        assert_eq!(
            batch("EXECUTE sp_fastmssql_fault @delay_ms = 500"),
            Some(Ok(Fault::Delay(Duration::from_millis(500))))
        );
        assert_eq!(
            batch("EXEC sp_fastmssql_fault @error = 1205, @message = N'It''s a deadlock', @severity = 13"),
            Some(Ok(Fault::Error { number: 1205, message: "It's a deadlock".into(), severity: 13 }))
        );
        assert_eq!(
            batch("EXEC sp_fastmssql_fault @malformed = N'unknown_token'"),
            Some(Ok(Fault::Malformed(Malformation::UnknownToken)))
        );
    }

    #[test]
    fn malformed_responses_are_framed_except_the_bad_header() {
        let response = Malformation::InvalidUtf16.response(&[], 51, 4096);
        assert_eq!(&response[..2], &[0x04, STATUS_EOM]);
        assert_eq!(usize::from(u16::from_be_bytes([response[2], response[3]])), response.len());
        assert!(response.windows(2).any(|w| w == [0x00, 0xD8]));
        let header = Malformation::BadPacketHeader.response(&[], 51, 4096);
        assert!(crate::packet::PacketHeader::parse(&header).is_err());
    }

    #[test]
    fn other_batches_are_not_arming_requests_and_bad_calls_are_refused() {
        assert_eq!(batch("SELECT 1"), None);
        assert_eq!(batch("EXEC sp_who"), None);
        for bad in [
            "EXEC sp_fastmssql_fault",
            "EXEC sp_fastmssql_fault @close_after_rows = -1",
            "EXEC sp_fastmssql_fault @close_after_rows = 0",
            "EXEC sp_fastmssql_fault @delay_ms = 1, @error = 2",
            "EXEC sp_fastmssql_fault @message = 'x'",
            "EXEC sp_fastmssql_fault @nonsense = 1",
            "EXEC sp_fastmssql_fault @error = 1 @message = 'x'",
            "EXEC sp_fastmssql_fault @error = 1, @message = 'open",
            "EXEC sp_fastmssql_fault @malformed = N'nonsense'",
            "EXEC sp_fastmssql_fault @malformed = 1",
        ] {
            assert!(matches!(batch(bad), Some(Err(_))), "{bad}");
        }
    }
}
