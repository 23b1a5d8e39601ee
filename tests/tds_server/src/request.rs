//! Decoding of client requests (MS-TDS 2.2.6): ALL_HEADERS, SQLBatch, RPC (by ProcID or
//! name, batched) and the transaction manager request.

use crate::engine::{RpcParam, RpcRequest, RpcTarget};
use crate::types;
use crate::wire::{decode_utf16le, Reader};

const HEADER_QUERY_NOTIFICATIONS: u16 = 0x0001;
const HEADER_TRANSACTION_DESCRIPTOR: u16 = 0x0002;
const HEADER_TRACE_ACTIVITY: u16 = 0x0003;

/// What ALL_HEADERS carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllHeaders {
    pub transaction_descriptor: Option<u64>,
    pub outstanding_request_count: Option<u32>,
    /// Header types other than the transaction descriptor (query notifications, trace activity).
    pub other_header_types: Vec<u16>,
}

/// Reads ALL_HEADERS at the start of a SQLBatch / RPC / TransMgrReq payload.
pub fn read_all_headers(r: &mut Reader) -> Result<AllHeaders, String> {
    let start = r.position();
    let total = r.u32_le("ALL_HEADERS TotalLength")? as usize;
    if total < 4 {
        return Err(format!("ALL_HEADERS TotalLength {total} is shorter than itself"));
    }
    let mut headers = AllHeaders::default();
    while r.position() - start < total {
        let length = r.u32_le("header HeaderLength")? as usize;
        if length < 6 {
            return Err(format!("ALL_HEADERS header length {length} is too short"));
        }
        let ty = r.u16_le("header HeaderType")?;
        let data = r.bytes(length - 6, "header data")?;
        let mut d = Reader::new(data);
        match ty {
            HEADER_TRANSACTION_DESCRIPTOR => {
                headers.transaction_descriptor = Some(d.u64_le("TransactionDescriptor")?);
                headers.outstanding_request_count = Some(d.u32_le("OutstandingRequestCount")?);
            }
            HEADER_QUERY_NOTIFICATIONS | HEADER_TRACE_ACTIVITY => headers.other_header_types.push(ty),
            other => return Err(format!("unknown ALL_HEADERS header type {other}")),
        }
    }
    if r.position() - start != total {
        return Err(format!("ALL_HEADERS TotalLength {total} does not match its headers"));
    }
    Ok(headers)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlBatch {
    pub headers: AllHeaders,
    pub text: String,
}

pub fn parse_sql_batch(payload: &[u8]) -> Result<SqlBatch, String> {
    let mut r = Reader::new(payload);
    let headers = read_all_headers(&mut r)?;
    let rest = r.remaining();
    if !rest.len().is_multiple_of(2) {
        return Err("SQLBatch text has an odd number of bytes".into());
    }
    Ok(SqlBatch { headers, text: decode_utf16le(rest) })
}

/// An RPC message: one or more procedure calls sharing ALL_HEADERS.
#[derive(Clone, Debug)]
pub struct RpcBatch {
    pub headers: AllHeaders,
    pub requests: Vec<RpcRequest>,
}

/// BatchFlag separating RPCs (TDS 7.2+) and NoExecFlag. TDS 7.1's 0x80 is not accepted:
/// it would be ambiguous with a 128-character parameter name.
const RPC_BATCH_FLAGS: [u8; 2] = [0xFF, 0xFE];
const PROC_ID_SWITCH: u16 = 0xFFFF;

pub fn parse_rpc(payload: &[u8]) -> Result<RpcBatch, String> {
    let mut r = Reader::new(payload);
    let headers = read_all_headers(&mut r)?;
    let mut requests = Vec::new();
    loop {
        requests.push(read_rpc(&mut r)?);
        if r.is_empty() {
            break;
        }
        let flag = r.u8("RPC batch flag")?;
        if !RPC_BATCH_FLAGS.contains(&flag) {
            return Err(format!("unexpected byte 0x{flag:02X} between batched RPCs"));
        }
        if r.is_empty() {
            break;
        }
    }
    Ok(RpcBatch { headers, requests })
}

fn read_rpc(r: &mut Reader) -> Result<RpcRequest, String> {
    let name_len = r.u16_le("RPC NameLenProcID")?;
    let target = if name_len == PROC_ID_SWITCH {
        RpcTarget::ProcId(r.u16_le("RPC ProcID")?)
    } else {
        RpcTarget::Name(r.utf16(name_len as usize, "RPC ProcName")?)
    };
    let option_flags = r.u16_le("RPC OptionFlags")?;
    let mut params = Vec::new();
    while !r.is_empty() && !RPC_BATCH_FLAGS.contains(&r.remaining()[0]) {
        let ordinal = params.len() + 1;
        let name = r.b_varchar("RPC parameter name")?;
        let status = r.u8("RPC parameter StatusFlags")?;
        let mut rest = r.remaining();
        let ty = types::read_type_info(&mut rest).map_err(|e| format!("RPC parameter {ordinal} TYPE_INFO: {e}"))?;
        let value = types::read_value(&mut rest, &ty).map_err(|e| format!("RPC parameter {ordinal} value: {e}"))?;
        r.advance_to(rest);
        params.push(RpcParam { name, status, ty, value });
    }
    Ok(RpcRequest { target, option_flags, params })
}

/// TransMgrReq request types (MS-TDS 2.2.6.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionRequest {
    Begin {
        isolation_level: u8,
        name: Vec<u8>,
    },
    Commit {
        name: Vec<u8>,
        begin_after: Option<(u8, Vec<u8>)>,
    },
    Rollback {
        name: Vec<u8>,
        begin_after: Option<(u8, Vec<u8>)>,
    },
    Save {
        name: Vec<u8>,
    },
    /// TM_GET_DTC_ADDRESS, TM_PROPAGATE_XACT, TM_PROMOTE_XACT and unknown types.
    Unsupported(u16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionManagerRequest {
    pub headers: AllHeaders,
    pub request: TransactionRequest,
}

pub fn parse_transaction_manager(payload: &[u8]) -> Result<TransactionManagerRequest, String> {
    let mut r = Reader::new(payload);
    let headers = read_all_headers(&mut r)?;
    let request_type = r.u16_le("TransMgrReq RequestType")?;
    let request = match request_type {
        5 => TransactionRequest::Begin {
            isolation_level: r.u8("TM_BEGIN_XACT ISOLATION_LEVEL")?,
            name: r.b_varbyte("TM_BEGIN_XACT name")?.to_vec(),
        },
        7 | 8 => {
            let name = r.b_varbyte("transaction name")?.to_vec();
            let flags = r.u8("XACT_FLAGS")?;
            let begin_after = if flags & 0x01 != 0 {
                Some((r.u8("ISOLATION_LEVEL")?, r.b_varbyte("BEGIN_XACT_NAME")?.to_vec()))
            } else {
                None
            };
            if request_type == 7 {
                TransactionRequest::Commit { name, begin_after }
            } else {
                TransactionRequest::Rollback { name, begin_after }
            }
        }
        9 => TransactionRequest::Save { name: r.b_varbyte("TM_SAVE_XACT name")?.to_vec() },
        other => TransactionRequest::Unsupported(other),
    };
    Ok(TransactionManagerRequest { headers, request })
}
