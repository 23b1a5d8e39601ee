//! Turns the engine's `Event`s into the token stream of one response message.

use crate::engine::{Done, DoneKind, Event};
use crate::tokens::{self, DONE_ERROR, DONE_MORE};
use crate::types::{self, ColumnDef};

/// Encodes the events of one response in order. DONE_MORE goes on every DONE-family token
/// but the response's last one; rows use the most recent COLMETADATA.
pub struct ResponseEncoder {
    server_name: String,
    columns: Vec<ColumnDef>,
    last_done: Option<usize>,
}

impl ResponseEncoder {
    pub fn new(events: &[Event], server_name: &str) -> ResponseEncoder {
        ResponseEncoder {
            server_name: server_name.to_string(),
            columns: Vec::new(),
            last_done: events.iter().rposition(|e| matches!(e, Event::Done(_))),
        }
    }

    /// Whether the events end with a DONE-family token of their own.
    pub fn has_done(&self) -> bool {
        self.last_done.is_some()
    }

    /// Appends the token of `events[index]`; `Delay` appends nothing (the session waits).
    /// A value the type system cannot encode appends nothing and is returned as `Err`.
    pub fn encode(&mut self, out: &mut Vec<u8>, index: usize, event: &Event) -> Result<(), String> {
        match event {
            Event::ColMetadata(cols) => {
                types::write_colmetadata(out, cols);
                self.columns = cols.clone();
            }
            Event::Row(values) => {
                let mut row = Vec::new();
                types::write_row(&mut row, &self.columns, values)?;
                out.extend_from_slice(&row);
            }
            Event::Done(done) => {
                let mut done = *done;
                if Some(index) != self.last_done {
                    done.status |= DONE_MORE;
                }
                tokens::write_done(out, &done);
            }
            Event::Error(message) => tokens::write_error(out, message, &self.server_name),
            Event::Info(message) => tokens::write_info(out, message, &self.server_name),
            Event::EnvChange(change) => tokens::write_envchange(out, change),
            Event::ReturnStatus(status) => tokens::write_return_status(out, *status),
            Event::ReturnValue { ordinal, name, status, column, value } => {
                tokens::write_return_value(out, *ordinal, name, *status, column, value)?;
            }
            Event::Delay(_) => {}
        }
        Ok(())
    }

    /// Ends a response cut short by an encoding failure: ERROR plus a final DONE_ERROR.
    pub fn encode_failure(&self, out: &mut Vec<u8>, detail: &str) {
        let error =
            tokens::server_message(50000, 1, 16, format!("The local test server cannot encode a value: {detail}"));
        tokens::write_error(out, &error, &self.server_name);
        tokens::write_done(out, &Done { kind: DoneKind::Done, status: DONE_ERROR, cur_cmd: 0, row_count: 0 });
    }
}

/// The token stream of a response without delays, as the session would write it.
pub fn encode_events(events: &[Event], server_name: &str) -> Result<Vec<u8>, String> {
    let mut encoder = ResponseEncoder::new(events, server_name);
    let mut out = Vec::new();
    for (index, event) in events.iter().enumerate() {
        encoder.encode(&mut out, index, event)?;
    }
    Ok(out)
}
