//! Writers of the server's non-row tokens (MS-TDS 2.2.7): DONE family, ERROR, INFO,
//! ENVCHANGE, LOGINACK, RETURNSTATUS, RETURNVALUE. COLMETADATA and rows are `types`' job.

use crate::engine::{Done, DoneKind, EnvChange, Message};
use crate::types::write_b_varchar as put_b_varchar;
use crate::types::{self, ColumnDef};
use crate::value::Value;
use crate::wire::put_us_varchar;

pub const TOKEN_RETURNSTATUS: u8 = 0x79;
pub const TOKEN_COLMETADATA: u8 = 0x81;
pub const TOKEN_ROW: u8 = 0xD1;
pub const TOKEN_ERROR: u8 = 0xAA;
pub const TOKEN_INFO: u8 = 0xAB;
pub const TOKEN_RETURNVALUE: u8 = 0xAC;
pub const TOKEN_LOGINACK: u8 = 0xAD;
pub const TOKEN_ENVCHANGE: u8 = 0xE3;
pub const TOKEN_DONE: u8 = 0xFD;
pub const TOKEN_DONEPROC: u8 = 0xFE;
pub const TOKEN_DONEINPROC: u8 = 0xFF;

pub const DONE_FINAL: u16 = 0x00;
pub const DONE_MORE: u16 = 0x01;
pub const DONE_ERROR: u16 = 0x02;
pub const DONE_INXACT: u16 = 0x04;
pub const DONE_COUNT: u16 = 0x10;
pub const DONE_ATTN: u16 = 0x20;
/// On the DONEPROC of every RPC of a batched RPC request but the last.
pub const DONE_RPCINBATCH: u16 = 0x80;

/// CurCmd values SQL Server puts in DONE tokens.
pub const CURCMD_SELECT: u16 = 0xC1;
pub const CURCMD_EXECUTE: u16 = 0xE0;

/// SQL_Latin1_General_CP1_CI_AS, the server's default collation (defined with the type system).
pub use crate::types::DEFAULT_COLLATION;

/// ENVCHANGE type 18: acknowledges RESETCONNECTION, empty old and new values.
const ENV_RESET_CONNECTION_ACK: u8 = 18;

/// An ERROR/INFO message without procedure, at line 1 as SQL Server reports batch messages.
pub fn server_message(number: i32, state: u8, class: u8, text: String) -> Message {
    Message { number, state, class, text, procedure: String::new(), line: 1 }
}

pub fn write_done(out: &mut Vec<u8>, done: &Done) {
    out.push(match done.kind {
        DoneKind::Done => TOKEN_DONE,
        DoneKind::DoneProc => TOKEN_DONEPROC,
        DoneKind::DoneInProc => TOKEN_DONEINPROC,
    });
    out.extend_from_slice(&done.status.to_le_bytes());
    out.extend_from_slice(&done.cur_cmd.to_le_bytes());
    out.extend_from_slice(&done.row_count.to_le_bytes());
}

pub fn write_error(out: &mut Vec<u8>, message: &Message, server_name: &str) {
    write_message(out, TOKEN_ERROR, message, server_name);
}

pub fn write_info(out: &mut Vec<u8>, message: &Message, server_name: &str) {
    write_message(out, TOKEN_INFO, message, server_name);
}

fn write_message(out: &mut Vec<u8>, token: u8, message: &Message, server_name: &str) {
    let mut body = Vec::new();
    body.extend_from_slice(&message.number.to_le_bytes());
    body.push(message.state);
    body.push(message.class);
    put_us_varchar(&mut body, &message.text);
    put_b_varchar(&mut body, server_name);
    put_b_varchar(&mut body, &message.procedure);
    body.extend_from_slice(&message.line.to_le_bytes());
    write_length_prefixed(out, token, &body);
}

pub fn write_envchange(out: &mut Vec<u8>, change: &EnvChange) {
    let mut body = Vec::new();
    match change {
        EnvChange::Database { new, old } => env_strings(&mut body, 1, new, old),
        EnvChange::Language { new, old } => env_strings(&mut body, 2, new, old),
        EnvChange::PacketSize { new, old } => env_strings(&mut body, 4, &new.to_string(), &old.to_string()),
        EnvChange::Collation { new } => env_bytes(&mut body, 7, new, &[]),
        EnvChange::BeginTransaction { descriptor } => env_bytes(&mut body, 8, &descriptor.to_le_bytes(), &[]),
        EnvChange::CommitTransaction { descriptor } => env_bytes(&mut body, 9, &[], &descriptor.to_le_bytes()),
        EnvChange::RollbackTransaction { descriptor } => env_bytes(&mut body, 10, &[], &descriptor.to_le_bytes()),
    }
    write_length_prefixed(out, TOKEN_ENVCHANGE, &body);
}

pub fn write_reset_connection_ack(out: &mut Vec<u8>) {
    write_length_prefixed(out, TOKEN_ENVCHANGE, &[ENV_RESET_CONNECTION_ACK, 0, 0]);
}

fn env_strings(body: &mut Vec<u8>, ty: u8, new: &str, old: &str) {
    body.push(ty);
    put_b_varchar(body, new);
    put_b_varchar(body, old);
}

fn env_bytes(body: &mut Vec<u8>, ty: u8, new: &[u8], old: &[u8]) {
    body.push(ty);
    body.push(new.len() as u8);
    body.extend_from_slice(new);
    body.push(old.len() as u8);
    body.extend_from_slice(old);
}

/// LOGINACK content. `tds_version` is written big-endian as the spec's examples show
/// (0x74000004 for TDS 7.4); `prog_version` is major, minor, build high, build low.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAck {
    pub interface: u8,
    pub tds_version: u32,
    pub prog_name: String,
    pub prog_version: [u8; 4],
}

pub fn write_loginack(out: &mut Vec<u8>, ack: &LoginAck) {
    let mut body = vec![ack.interface];
    body.extend_from_slice(&ack.tds_version.to_be_bytes());
    put_b_varchar(&mut body, &ack.prog_name);
    body.extend_from_slice(&ack.prog_version);
    write_length_prefixed(out, TOKEN_LOGINACK, &body);
}

pub fn write_return_status(out: &mut Vec<u8>, status: i32) {
    out.push(TOKEN_RETURNSTATUS);
    out.extend_from_slice(&status.to_le_bytes());
}

/// RETURNVALUE (TDS 7.2+): ordinal, name, status, UserType, Flags, TYPE_INFO, value.
/// Nothing is appended when the value does not fit the column's type.
pub fn write_return_value(
    out: &mut Vec<u8>,
    ordinal: u16,
    name: &str,
    status: u8,
    column: &ColumnDef,
    value: &Value,
) -> Result<(), String> {
    let mut encoded = Vec::new();
    types::write_value(&mut encoded, &column.ty, column.nullable, value)?;
    out.push(TOKEN_RETURNVALUE);
    out.extend_from_slice(&ordinal.to_le_bytes());
    put_b_varchar(out, name);
    out.push(status);
    out.extend_from_slice(&0u32.to_le_bytes());
    // Flags: 2.2.7.18 says all SHOULD be zero, and SQL Server sends 0 (real-sqlserver-2009-tds72.pcap frame 4)
    out.extend_from_slice(&0u16.to_le_bytes());
    types::write_type_info(out, &column.ty, column.nullable);
    out.extend_from_slice(&encoded);
    Ok(())
}

fn write_length_prefixed(out: &mut Vec<u8>, token: u8, body: &[u8]) {
    out.push(token);
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
}
