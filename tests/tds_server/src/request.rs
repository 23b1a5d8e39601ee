//! Decoding of client requests (MS-TDS 2.2.6): ALL_HEADERS, SQLBatch, RPC (by ProcID or
//! name, batched) and the transaction manager request.

use crate::engine::{RpcParam, RpcRequest, RpcTarget};
use crate::types::{self, SqlType, ValueError};
use crate::value::Value;
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

/// A request refused before it runs, with SQL Server's error number and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub number: i32,
    pub text: String,
}

impl RequestError {
    /// 4002: bytes that are no valid request.
    pub fn malformed(detail: String) -> RequestError {
        RequestError {
            number: 4002,
            text: format!("The incoming tabular data stream (TDS) protocol stream is incorrect. {detail}"),
        }
    }

    /// 8023: an RPC parameter whose value is no valid instance of its type (a NaN or infinite
    /// float, a date out of range, a decimal beyond its precision). `ordinal` counts every
    /// parameter of the call from 1, as SQL Server numbers them.
    fn invalid_parameter(ordinal: usize, name: &str, ty: &SqlType) -> RequestError {
        RequestError {
            number: 8023,
            text: format!(
                "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. \
                 Parameter {ordinal} (\"{name}\"): The supplied value is not a valid instance of data type {}. \
                 Check the source data for invalid values. An example of an invalid value is data of numeric type \
                 with scale greater than precision.",
                ty.name()
            ),
        }
    }
}

impl From<String> for RequestError {
    fn from(detail: String) -> RequestError {
        RequestError::malformed(detail)
    }
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

pub fn parse_rpc(payload: &[u8]) -> Result<RpcBatch, RequestError> {
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
            return Err(format!("unexpected byte 0x{flag:02X} between batched RPCs").into());
        }
        if r.is_empty() {
            break;
        }
    }
    Ok(RpcBatch { headers, requests })
}

fn read_rpc(r: &mut Reader) -> Result<RpcRequest, RequestError> {
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
        let value = match types::read_value(&mut rest, &ty) {
            Ok(value) => value,
            Err(ValueError::Invalid(_)) => return Err(RequestError::invalid_parameter(ordinal, &name, &ty)),
            Err(ValueError::Malformed(e)) => return Err(format!("RPC parameter {ordinal} value: {e}").into()),
        };
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

/// A column of a BulkLoad message's COLMETADATA: the format of its values in the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkColumn {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    /// The value length of a fixed-length form (INT4, FLT8, ...), whose values carry no length byte.
    pub fixed_len: Option<u8>,
}

/// A BulkLoad message (MS-TDS 2.2.6.1), the data of the INSERT BULK the session announced:
/// its columns, then its rows read one at a time (a million rows are never all held).
pub struct BulkLoadReader<'a> {
    pub columns: Vec<BulkColumn>,
    r: Reader<'a>,
    /// The DONE has been read: no rows follow
    done: bool,
}

use crate::tokens::{TOKEN_COLMETADATA as COLMETADATA, TOKEN_ROW as ROW};
const NBCROW: u8 = 0xD2;
const DONE: u8 = 0xFD;
/// DONE's Status, CurCmd and DoneRowCount (TDS 7.2+).
const DONE_BODY_LEN: usize = 12;
/// The DONE body of TDS 7.1 and before: Status, CurCmd and a 4-byte DoneRowCount.
const DONE_BODY_LEN_7_1: usize = 8;

/// The fixed-length data types (2.2.5.4.1) a bulk client may send for NOT NULL columns, as
/// SQL Server's own COLMETADATA describes them, with their value lengths.
fn fixed_length_type(token: u8) -> Option<(SqlType, u8)> {
    use types::token::*;
    Some(match token {
        INT1 => (SqlType::TinyInt, 1),
        BIT => (SqlType::Bit, 1),
        INT2 => (SqlType::SmallInt, 2),
        INT4 => (SqlType::Int, 4),
        INT8 => (SqlType::BigInt, 8),
        FLT4 => (SqlType::Real, 4),
        FLT8 => (SqlType::Float, 8),
        MONEY => (SqlType::Money, 8),
        MONEY4 => (SqlType::SmallMoney, 4),
        DATETIME => (SqlType::DateTime, 8),
        DATETIM4 => (SqlType::SmallDateTime, 4),
        _ => return None,
    })
}

fn is_text_type(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Text | SqlType::NText | SqlType::Image)
}

/// Reads a BulkLoad message's COLMETADATA; its rows follow from `BulkLoadReader::next_row`.
pub fn read_bulk_load(payload: &[u8]) -> Result<BulkLoadReader<'_>, String> {
    let mut r = Reader::new(payload);
    if r.u8("BulkLoad COLMETADATA token")? != COLMETADATA {
        return Err("a BulkLoad message must start with COLMETADATA".into());
    }
    let count = r.u16_le("COLMETADATA Count")?;
    let mut columns = Vec::with_capacity(count as usize);
    for ordinal in 1..=count {
        r.u32_le("COLMETADATA UserType")?;
        let flags = r.u16_le("COLMETADATA Flags")?;
        let mut rest = r.remaining();
        let (ty, fixed_len) = match rest.first().and_then(|&t| fixed_length_type(t)) {
            Some((ty, len)) => {
                rest = &rest[1..];
                (ty, Some(len))
            }
            None => {
                (types::read_type_info(&mut rest).map_err(|e| format!("bulk column {ordinal} TYPE_INFO: {e}"))?, None)
            }
        };
        r.advance_to(rest);
        if is_text_type(&ty) {
            // TableName: unlike a result's COLMETADATA (NumParts, then the parts), one US_VARCHAR,
            // as SQL Server reads it from bulk clients (SqlClient, go-mssqldb, tiberius).
            r.us_varchar("COLMETADATA TableName")?;
        }
        let name = r.b_varchar("COLMETADATA ColName")?;
        columns.push(BulkColumn { name, ty, nullable: flags & types::FLAG_NULLABLE != 0, fixed_len });
    }
    Ok(BulkLoadReader { columns, r, done: false })
}

impl BulkLoadReader<'_> {
    /// Reads the next row's values into `values` (emptied first); `false` at the DONE that ends
    /// the message.
    pub fn next_row(&mut self, values: &mut Vec<Value>) -> Result<bool, String> {
        values.clear();
        if self.done {
            return Ok(false);
        }
        let r = &mut self.r;
        match r.u8("BulkLoad token")? {
            ROW => read_bulk_row(r, &self.columns, None, values)?,
            NBCROW => {
                let bitmap = r.bytes(self.columns.len().div_ceil(8), "NBCROW NullBitmap")?;
                read_bulk_row(r, &self.columns, Some(bitmap), values)?;
            }
            DONE => {
                // Microsoft's mssql-py-core ends its loads with TDS 7.1's DONE (a 4-byte row
                // count), which SQL Server accepts
                let body = if r.remaining().len() == DONE_BODY_LEN_7_1 { DONE_BODY_LEN_7_1 } else { DONE_BODY_LEN };
                r.bytes(body, "BulkLoad DONE")?;
                if !r.is_empty() {
                    return Err(format!("{} bytes after the BulkLoad DONE", r.remaining().len()));
                }
                self.done = true;
                return Ok(false);
            }
            other => return Err(format!("unexpected token 0x{other:02X} in a BulkLoad message")),
        }
        Ok(true)
    }

    /// Reads the rest of the rows, for a stream error that beats a row's error.
    pub fn skip_rest(&mut self) -> Result<(), String> {
        let mut values = Vec::with_capacity(self.columns.len());
        while self.next_row(&mut values)? {}
        Ok(())
    }
}

/// One row's values; `null_bitmap` is NBCROW's (its set bits are NULLs that are not sent).
fn read_bulk_row(
    r: &mut Reader,
    columns: &[BulkColumn],
    null_bitmap: Option<&[u8]>,
    values: &mut Vec<Value>,
) -> Result<(), String> {
    let value_error = |e: ValueError| format!("bulk row value: {e}");
    for (i, column) in columns.iter().enumerate() {
        if null_bitmap.is_some_and(|bitmap| bitmap[i / 8] & (1 << (i % 8)) != 0) {
            values.push(Value::Null);
            continue;
        }
        if is_text_type(&column.ty) {
            // TextPointer (empty for NULL), then the timestamp before the value
            let pointer_len = r.u8("TextPointer length")?;
            if pointer_len == 0 {
                values.push(Value::Null);
                continue;
            }
            r.bytes(pointer_len as usize + 8, "TextPointer and Timestamp")?;
        }
        let value = if let Some(len) = column.fixed_len {
            let data = r.bytes(len as usize, "fixed-length value")?;
            // the nullable form of the same type reads a length byte first
            let mut with_length = [0u8; 9];
            with_length[0] = len;
            with_length[1..=len as usize].copy_from_slice(data);
            let mut buf = &with_length[..=len as usize];
            types::read_value(&mut buf, &column.ty).map_err(value_error)?
        } else {
            let mut rest = r.remaining();
            let value = types::read_value(&mut rest, &column.ty).map_err(value_error)?;
            r.advance_to(rest);
            value
        };
        values.push(value);
    }
    Ok(())
}
