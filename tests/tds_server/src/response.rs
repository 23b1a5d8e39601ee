//! Turns the engine's `Event`s into the token stream of one response message.

use std::io;

use crate::connection::Connection;
use crate::engine::{Done, DoneKind, Event};
use crate::fault::Fault;
use crate::packet::{PacketType, PacketWriter};
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
                let start = out.len();
                if let Err(e) = types::write_row(out, &self.columns, values) {
                    out.truncate(start);
                    return Err(e);
                }
            }
            Event::EncodedRows(rows) => out.extend_from_slice(rows.tokens()),
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

/// Whether the connection stays open after a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Open,
    /// Closed on purpose by a fault.
    Closed,
}

/// One response message on its way out: token bytes are framed into packets as they come and
/// leave in chunks, within the limits of a fault armed for this response.
pub struct OutgoingResponse {
    packets: PacketWriter,
    /// Bytes the response may still put on the wire before the connection is closed.
    byte_budget: Option<usize>,
    /// Rows the response may still send before the connection is closed.
    row_budget: Option<u64>,
}

impl OutgoingResponse {
    pub fn new(conn: &Connection, fault: Option<&Fault>) -> OutgoingResponse {
        OutgoingResponse {
            packets: PacketWriter::new(PacketType::TabularResult, conn.spid, conn.packet_size),
            byte_budget: match fault {
                Some(Fault::CloseAfterBytes(bytes)) => Some(*bytes),
                _ => None,
            },
            row_budget: match fault {
                Some(Fault::CloseAfterRows(rows)) => Some(*rows),
                _ => None,
            },
        }
    }

    /// Appends token bytes (whole tokens, or the rest of the response is cut mid-token only by a fault).
    pub fn write(&mut self, tokens: &[u8]) {
        self.packets.write(tokens);
    }

    /// Bytes framed and not yet sent.
    pub fn framed_len(&self) -> usize {
        self.packets.framed().len()
    }

    /// Counts a row already written; when it was the last one the fault allows, sends everything
    /// written so far and closes the connection.
    pub async fn row_written(&mut self, conn: &mut Connection) -> io::Result<Flow> {
        match &mut self.row_budget {
            Some(0) | None => Ok(Flow::Open),
            Some(rows) => {
                *rows -= 1;
                if *rows > 0 {
                    return Ok(Flow::Open);
                }
                self.packets.seal();
                if self.flush(conn).await? == Flow::Open {
                    conn.close().await?;
                }
                Ok(Flow::Closed)
            }
        }
    }

    /// Sends the closed packets.
    pub async fn flush(&mut self, conn: &mut Connection) -> io::Result<Flow> {
        let flow = send_within_budget(conn, self.packets.framed(), &mut self.byte_budget).await?;
        self.packets.consume_framed();
        Ok(flow)
    }

    /// Closes the last packet with EOM and sends what is left.
    pub async fn finish(mut self, conn: &mut Connection) -> io::Result<Flow> {
        let rest = self.packets.finish();
        send_within_budget(conn, rest, &mut self.byte_budget).await
    }
}

/// Sends `bytes`, or only as many as `budget` still allows and then closes the connection.
async fn send_within_budget(conn: &mut Connection, bytes: &[u8], budget: &mut Option<usize>) -> io::Result<Flow> {
    match budget {
        Some(left) if *left <= bytes.len() => {
            conn.write_all(&bytes[..*left]).await?;
            conn.close().await?;
            Ok(Flow::Closed)
        }
        Some(left) => {
            *left -= bytes.len();
            conn.write_all(bytes).await?;
            Ok(Flow::Open)
        }
        None => {
            conn.write_all(bytes).await?;
            Ok(Flow::Open)
        }
    }
}
