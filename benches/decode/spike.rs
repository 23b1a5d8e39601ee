//! Decoder spike (benchmark code only, not part of the product): reads the
//! COLMETADATA, ROW/NBCROW and DONE tokens of scenario 1's types straight
//! from the packet bytes into the product's Arrow sink, to show what the
//! wire reader costs compared with the tiberius path.

use fastmssql::arrow::{ColumnBuilder, ColumnDescription, ColumnSink, ResultSet, ResultSetBuilder, ValueKind};
use fastmssql::temporal::{MICROS_PER_DAY, UNIX_EPOCH_DAYS_FROM_YEAR_1};

const PACKET_HEADER: usize = 8;
const COLMETADATA: u8 = 0x81;
const ROW: u8 = 0xD1;
const NBCROW: u8 = 0xD2;
const DONE: u8 = 0xFD;
const DONEPROC: u8 = 0xFE;
const DONEINPROC: u8 = 0xFF;
const ENVCHANGE: u8 = 0xE3;
const INFO: u8 = 0xAB;
const ERROR: u8 = 0xAA;
/// A 2-byte length of 0xFFFF marks a NULL varchar/nvarchar value.
const NULL_LENGTH: u16 = 0xFFFF;

/// The wire types of scenario 1 (and the not-null fixed types a server may
/// use instead of their nullable forms).
#[derive(Debug, Clone, Copy)]
enum WireType {
    Int4,
    Int8,
    Float8,
    Intn,
    Floatn,
    Bitn,
    Decimaln { scale: u8 },
    NVarchar,
    /// Single-byte text; the spike reads only ASCII (the scenario's data).
    BigVarchar,
    Datetime2n { scale: u8 },
    Daten,
    Guid,
}

/// Receives the decoded rows of one result set.
pub trait RowSink {
    type Column: ColumnSink;
    fn columns(&mut self) -> &mut [Self::Column];
    fn end_row(&mut self);
}

impl RowSink for ResultSetBuilder {
    type Column = ColumnBuilder;

    fn columns(&mut self) -> &mut [ColumnBuilder] {
        self.columns_mut()
    }

    fn end_row(&mut self) {
        ResultSetBuilder::end_row(self);
    }
}

/// Bounds-checked reading of the token stream.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        let slice = self.bytes.get(self.at..self.at + count).ok_or("token stream ends inside a token")?;
        self.at += count;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(le_bytes(self.take(4)?)))
    }

    fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// A little-endian unsigned integer of up to `N` bytes, zero-extended.
fn le_bytes<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut padded = [0u8; N];
    padded[..bytes.len()].copy_from_slice(bytes);
    padded
}

/// The token stream: packet payloads without their 8-byte headers, joined.
pub fn token_stream(response: &[u8]) -> Result<Vec<u8>, String> {
    let mut tokens = Vec::with_capacity(response.len());
    let mut at = 0;
    while at < response.len() {
        let header = response.get(at..at + PACKET_HEADER).ok_or("response ends inside a packet header")?;
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let packet = response.get(at + PACKET_HEADER..at + length.max(PACKET_HEADER)).ok_or("truncated packet")?;
        tokens.extend_from_slice(packet);
        at += length.max(PACKET_HEADER);
    }
    Ok(tokens)
}

fn b_varchar_name(reader: &mut Reader<'_>) -> Result<String, String> {
    let units = usize::from(reader.u8()?);
    let bytes = reader.take(units * 2)?;
    let utf16: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&utf16).map_err(|e| e.to_string())
}

/// One column of COLMETADATA: its wire type and the sink's description of it
/// (the same Arrow kind and declared type the product derives).
fn column_metadata(reader: &mut Reader<'_>) -> Result<(String, WireType, ColumnDescription), String> {
    let _user_type = reader.u32()?;
    let _flags = reader.u16()?;
    let token_type = reader.u8()?;
    let (wire, kind, sql_type) = match token_type {
        0x38 => (WireType::Int4, ValueKind::Int32, "int".to_string()),
        0x7F => (WireType::Int8, ValueKind::Int64, "bigint".to_string()),
        0x3E => (WireType::Float8, ValueKind::Float64, "float".to_string()),
        0x26 => match reader.u8()? {
            4 => (WireType::Intn, ValueKind::Int32, "int".to_string()),
            8 => (WireType::Intn, ValueKind::Int64, "bigint".to_string()),
            other => return Err(format!("the spike reads intn(4|8), not intn({other})")),
        },
        0x6D => match reader.u8()? {
            8 => (WireType::Floatn, ValueKind::Float64, "float".to_string()),
            other => return Err(format!("the spike reads floatn(8), not floatn({other})")),
        },
        0x68 => {
            reader.u8()?;
            (WireType::Bitn, ValueKind::Bool, "bit".to_string())
        }
        0x6A => {
            let _length = reader.u8()?;
            let (precision, scale) = (reader.u8()?, reader.u8()?);
            (WireType::Decimaln { scale }, ValueKind::Decimal { precision, scale }, format!("decimal({precision},{scale})"))
        }
        0xE7 | 0xA7 => {
            let max_bytes = reader.u16()?;
            let _collation = reader.take(5)?;
            if max_bytes == NULL_LENGTH {
                return Err("the spike does not read (max) columns".into());
            }
            if token_type == 0xE7 {
                (WireType::NVarchar, ValueKind::Utf8, format!("nvarchar({})", max_bytes / 2))
            } else {
                (WireType::BigVarchar, ValueKind::Utf8, format!("varchar({max_bytes})"))
            }
        }
        0x2A => {
            let scale = reader.u8()?;
            (WireType::Datetime2n { scale }, ValueKind::Timestamp, format!("datetime2({scale})"))
        }
        0x28 => (WireType::Daten, ValueKind::Date, "date".to_string()),
        0x24 => {
            reader.u8()?;
            (WireType::Guid, ValueKind::Uuid, "uniqueidentifier".to_string())
        }
        other => return Err(format!("the spike does not read TYPE_INFO 0x{other:02X}")),
    };
    let name = b_varchar_name(reader)?;
    Ok((name, wire, ColumnDescription::new(kind, sql_type)))
}

/// Reads one non-NULL-bitmap value (which may still be a NULL of its own
/// length encoding) into `sink`.
fn value<K: ColumnSink>(reader: &mut Reader<'_>, wire: WireType, sink: &mut K, text: &mut String) -> Result<(), String> {
    let sink_error = |e: fastmssql::arrow::SinkError| e.0;
    match wire {
        WireType::Int4 => sink.append_i32(i32::from_le_bytes(le_bytes(reader.take(4)?))).map_err(sink_error),
        WireType::Int8 => sink.append_i64(i64::from_le_bytes(le_bytes(reader.take(8)?))).map_err(sink_error),
        WireType::Float8 => sink.append_f64(f64::from_le_bytes(le_bytes(reader.take(8)?))).map_err(sink_error),
        WireType::NVarchar | WireType::BigVarchar => {
            let length = reader.u16()?;
            if length == NULL_LENGTH {
                sink.append_null();
                return Ok(());
            }
            let bytes = reader.take(usize::from(length))?;
            text.clear();
            if let WireType::NVarchar = wire {
                utf16le_to_string(bytes, text)?;
            } else if bytes.is_ascii() {
                text.push_str(std::str::from_utf8(bytes).map_err(|e| e.to_string())?);
            } else {
                return Err("the spike reads only ASCII varchar values".into());
            }
            sink.append_str(text).map_err(sink_error)
        }
        _ => {
            let length = usize::from(reader.u8()?);
            if length == 0 {
                sink.append_null();
                return Ok(());
            }
            let bytes = reader.take(length)?;
            let appended = match (wire, length) {
                (WireType::Intn, 4) => sink.append_i32(i32::from_le_bytes(le_bytes(bytes))),
                (WireType::Intn, 8) => sink.append_i64(i64::from_le_bytes(le_bytes(bytes))),
                (WireType::Floatn, 8) => sink.append_f64(f64::from_le_bytes(le_bytes(bytes))),
                (WireType::Bitn, 1) => sink.append_bool(bytes[0] != 0),
                (WireType::Decimaln { scale }, 5 | 9 | 13 | 17) => {
                    let magnitude = u128::from_le_bytes(le_bytes(&bytes[1..])) as i128;
                    sink.append_decimal(if bytes[0] == 1 { magnitude } else { -magnitude }, scale)
                }
                (WireType::Datetime2n { scale }, 6..=8) => {
                    let increments = u64::from_le_bytes(le_bytes(&bytes[..length - 3])) as i64;
                    let days = i64::from(u32::from_le_bytes(le_bytes(&bytes[length - 3..]))) - UNIX_EPOCH_DAYS_FROM_YEAR_1;
                    let nanos = increments * 10i64.pow(9 - u32::from(scale));
                    sink.append_timestamp(days * MICROS_PER_DAY + nanos / 1000)
                }
                (WireType::Daten, 3) => {
                    let days = i64::from(u32::from_le_bytes(le_bytes(bytes)));
                    sink.append_date((days - UNIX_EPOCH_DAYS_FROM_YEAR_1) as i32)
                }
                (WireType::Guid, 16) => {
                    // The wire holds the first three groups little-endian.
                    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
                    sink.append_uuid(order.map(|i| bytes[i]))
                }
                _ => return Err(format!("{wire:?} value of length {length}")),
            };
            appended.map_err(sink_error)
        }
    }
}

/// UTF-16LE to UTF-8, with a fast path for ASCII units; unpaired surrogates are an error.
fn utf16le_to_string(bytes: &[u8], text: &mut String) -> Result<(), String> {
    if bytes.len() % 2 != 0 {
        return Err("odd byte length of an nvarchar value".into());
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    for unit in char::decode_utf16(units) {
        text.push(unit.map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// Decodes the single result set of a token stream into the sink that
/// `open` makes from its column descriptions.
pub fn decode_tokens<R: RowSink>(
    tokens: &[u8],
    open: impl FnOnce(Vec<(String, ColumnDescription)>) -> Result<R, String>,
) -> Result<R, String> {
    let mut reader = Reader { bytes: tokens, at: 0 };
    let mut open = Some(open);
    let mut result: Option<(Vec<WireType>, R)> = None;
    let mut text = String::new();
    while !reader.is_empty() {
        match reader.u8()? {
            COLMETADATA => {
                let count = reader.u16()?;
                let mut wires = Vec::with_capacity(usize::from(count));
                let mut described = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let (name, wire, description) = column_metadata(&mut reader)?;
                    wires.push(wire);
                    described.push((name, description));
                }
                let open = open.take().ok_or("the spike reads one result set only")?;
                result = Some((wires, open(described)?));
            }
            token @ (ROW | NBCROW) => {
                let (wires, sink) = result.as_mut().ok_or("a row arrived before its metadata")?;
                let nulls = if token == NBCROW { reader.take(wires.len().div_ceil(8))? } else { &[] };
                for (index, (wire, column)) in wires.iter().zip(sink.columns().iter_mut()).enumerate() {
                    if token == NBCROW && nulls[index / 8] & (1 << (index % 8)) != 0 {
                        column.append_null();
                    } else {
                        value(&mut reader, *wire, column, &mut text)?;
                    }
                }
                sink.end_row();
            }
            DONE | DONEPROC | DONEINPROC => {
                reader.take(12)?;
            }
            ENVCHANGE | INFO => {
                let length = reader.u16()?;
                reader.take(usize::from(length))?;
            }
            ERROR => return Err("the server sent an ERROR token".into()),
            other => return Err(format!("the spike does not read token 0x{other:02X}")),
        }
    }
    result.map(|(_, sink)| sink).ok_or_else(|| "the response has no result set".into())
}

/// The whole spike path: packets to tokens to Arrow columns to a RecordBatch.
pub fn decode(response: &[u8]) -> Result<ResultSet, String> {
    let builder = decode_into_builder(&token_stream(response)?)?;
    builder.finish().map_err(|e| e.0)
}

/// Tokens into the product's column builders, not yet finished.
pub fn decode_into_builder(tokens: &[u8]) -> Result<ResultSetBuilder, String> {
    decode_tokens(tokens, |described| {
        let columns: Result<Vec<ColumnBuilder>, String> = described
            .into_iter()
            .map(|(name, description)| ColumnBuilder::new(name, description).map_err(|e| e.0))
            .collect();
        Ok(ResultSetBuilder::new(columns?))
    })
}
