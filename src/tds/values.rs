//! Row values (MS-TDS 2.2.5.5, 2.2.7.19): how each column's values are read,
//! chosen once per COLMETADATA, and the reading of one value into its
//! column writer. Values up to 8,000 bytes are read whole; `(max)` (PLP),
//! text/ntext/image values stream in pieces.

use super::bytes::ProtocolError;
use super::sink::ColumnWriter;
use super::text::{utf16_to_utf8, CodePageDecoder, InvalidText, Utf16Transcoder};
use super::variant::read_variant;
use crate::temporal::{date_days, datetime2_micros, datetime_micros, smalldatetime_micros, time_nanos};
use crate::types::{type_id::*, Collation, TypeInfo};
use encoding_rs::Encoding;

/// Finds the code page of a char/varchar/text collation that is not UTF-8.
pub type CodePageResolver = fn(Collation) -> Result<&'static Encoding, String>;

/// How the text of a streamed or short value is turned into what its
/// column holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Content {
    Utf16,
    CodePage(&'static Encoding),
    Bytes,
}

/// How one column's values are read. Not-null fixed types have no length
/// prefix; the nullable ones (suffix N) a one-byte length, 0 for NULL.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ValueReader {
    /// The NULL type: no bytes, always NULL.
    AlwaysNull,
    Bit,
    U8,
    I16,
    I32,
    I64,
    F32,
    F64,
    Money4,
    Money8,
    DateTime4,
    DateTime8,
    BitN,
    U8N,
    I16N,
    I32N,
    I64N,
    F32N,
    F64N,
    Money4N,
    Money8N,
    DateTime4N,
    DateTime8N,
    GuidN,
    /// Sign byte and 4, 8, 12 or 16 bytes of magnitude; `limit` is 10^precision.
    DecimalN {
        limit: u128,
    },
    DateN,
    TimeN {
        scale: u8,
    },
    DateTime2N {
        scale: u8,
    },
    DateTimeOffsetN {
        scale: u8,
    },
    /// Two-byte length (0xFFFF for NULL), then at most 8,000 bytes.
    Short(Content),
    /// PLP: eight-byte total length, then chunks, then a zero-length chunk.
    Plp(Content),
    /// text/ntext/image: a text pointer (length 0 for NULL), a timestamp, a
    /// four-byte length and the bytes.
    Long(Content),
    Variant(CodePageResolver),
}

/// What reading a value at the front of the bytes found.
#[derive(Debug)]
pub(crate) enum Read {
    /// The value was read; this many bytes.
    Done(usize),
    /// The bytes end inside the value's fixed part; retry with more.
    Incomplete,
    /// The value's header was read and its data follows in pieces.
    Streams(Box<StreamStart>),
}

/// A streamed value's start. Boxed in [`Read`], as faults are in results:
/// both are rare, and a result of two words is returned in registers, not
/// through memory, by every value read.
#[derive(Debug)]
pub(crate) struct StreamStart {
    /// The header's bytes.
    pub header: usize,
    pub value: StreamedValue,
}

const _: () = assert!(std::mem::size_of::<Result<Read, Box<Fault>>>() <= 16, "a read's result fits two registers");

/// A problem with one value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The bytes break the protocol: nothing after them can be trusted.
    Protocol(ProtocolError),
    /// The value (of this many bytes, read) cannot be held; a NULL stands
    /// in for it and reading goes on.
    Value(usize, String),
}

impl From<ProtocolError> for Fault {
    fn from(error: ProtocolError) -> Self {
        Fault::Protocol(error)
    }
}

fn malformed(what: String) -> Box<Fault> {
    Box::new(Fault::Protocol(ProtocolError::new(what)))
}

/// Largest non-PLP variable-length value (MS-TDS: 8,000 bytes).
const MAX_SHORT_LENGTH: usize = 8000;
const SHORT_NULL: u16 = 0xFFFF;
const PLP_NULL: u64 = u64::MAX;
/// PLP_UNKNOWN_LEN: the total is not announced, the chunks say it.
const PLP_UNKNOWN: u64 = u64::MAX - 1;
/// Space reserved ahead for a streamed value whose total length is
/// announced: more only as the bytes arrive, so a hostile length cannot make
/// us allocate what was never sent.
const MAX_RESERVE_AHEAD: u64 = 1 << 20;

impl ValueReader {
    /// The reader for a column's type; `Err` for types the table refuses.
    pub(crate) fn for_type(info: &TypeInfo, code_pages: CodePageResolver) -> Result<Self, String> {
        use ValueReader as R;
        let text = |info: &TypeInfo| -> Result<Content, String> {
            match info.id {
                NVARCHAR | NCHAR | NTEXT | XML => Ok(Content::Utf16),
                BIGVARBIN | BIGBINARY | IMAGE | UDT => Ok(Content::Bytes),
                _ => {
                    let collation = info.collation.ok_or("a character type without a collation")?;
                    if collation.is_utf8() {
                        Ok(Content::CodePage(encoding_rs::UTF_8))
                    } else {
                        code_pages(collation).map(Content::CodePage)
                    }
                }
            }
        };
        let fixed_width = |want: u32| {
            if info.length == want {
                Ok(())
            } else {
                Err(format!("TDS type 0x{:02X} of length {}", info.id, info.length))
            }
        };
        Ok(match info.id {
            NULL => R::AlwaysNull,
            BIT => R::Bit,
            INT1 => R::U8,
            INT2 => R::I16,
            INT4 => R::I32,
            INT8 => R::I64,
            FLT4 => R::F32,
            FLT8 => R::F64,
            MONEY4 => R::Money4,
            MONEY => R::Money8,
            DATETIM4 => R::DateTime4,
            DATETIME => R::DateTime8,
            BITN => R::BitN,
            INTN => match info.length {
                1 => R::U8N,
                2 => R::I16N,
                4 => R::I32N,
                8 => R::I64N,
                other => return Err(format!("an integer of {other} bytes")),
            },
            FLTN => match info.length {
                4 => R::F32N,
                8 => R::F64N,
                other => return Err(format!("a float of {other} bytes")),
            },
            MONEYN => match info.length {
                4 => R::Money4N,
                8 => R::Money8N,
                other => return Err(format!("money of {other} bytes")),
            },
            DATETIMN => match info.length {
                4 => R::DateTime4N,
                8 => R::DateTime8N,
                other => return Err(format!("a datetime of {other} bytes")),
            },
            GUID => {
                fixed_width(16)?;
                R::GuidN
            }
            DECIMALN | NUMERICN => R::DecimalN { limit: 10u128.pow(u32::from(info.precision.min(38))) },
            DATEN => R::DateN,
            TIMEN => R::TimeN { scale: info.scale },
            DATETIME2N => R::DateTime2N { scale: info.scale },
            DATETIMEOFFSETN => R::DateTimeOffsetN { scale: info.scale },
            BIGVARBIN | BIGVARCHR | NVARCHAR | BIGBINARY | BIGCHAR | NCHAR | XML | UDT => {
                if info.is_plp() {
                    R::Plp(text(info)?)
                } else {
                    R::Short(text(info)?)
                }
            }
            TEXT | NTEXT | IMAGE => R::Long(text(info)?),
            SSVARIANT => R::Variant(code_pages),
            other => return Err(format!("TDS type 0x{other:02X}")),
        })
    }

    /// Reads the value at the front of `bytes` into `writer`. Inlined into
    /// each call site: the reader's row loop relies on it (see `row`).
    #[inline(always)]
    pub(crate) fn read<W: ColumnWriter>(self, bytes: &[u8], writer: &mut W) -> Result<Read, Box<Fault>> {
        use ValueReader as R;
        /// A not-null fixed-width value of N bytes.
        macro_rules! fixed {
            ($n:literal, |$b:ident| $push:expr) => {{
                let Some($b) = bytes.first_chunk::<$n>() else {
                    return Ok(Read::Incomplete);
                };
                $push;
                Ok(Read::Done($n))
            }};
        }
        /// A nullable fixed-width value: a length of 0 or N, then N bytes.
        macro_rules! nullable {
            ($n:literal, |$b:ident| $push:expr) => {{
                match bytes.first() {
                    None => Ok(Read::Incomplete),
                    Some(0) => {
                        writer.push_null();
                        Ok(Read::Done(1))
                    }
                    Some(&$n) => {
                        let Some($b) = bytes[1..].first_chunk::<$n>() else {
                            return Ok(Read::Incomplete);
                        };
                        $push;
                        Ok(Read::Done(1 + $n))
                    }
                    Some(&other) => Err(malformed(format!("a value of {other} bytes in a column of {} bytes", $n))),
                }
            }};
        }
        match self {
            R::AlwaysNull => {
                writer.push_null();
                Ok(Read::Done(0))
            }
            R::Bit => fixed!(1, |b| writer.push_bool(b[0] != 0)),
            R::U8 => fixed!(1, |b| writer.push_u8(b[0])),
            R::I16 => fixed!(2, |b| writer.push_i16(i16::from_le_bytes(*b))),
            R::I32 => fixed!(4, |b| writer.push_i32(i32::from_le_bytes(*b))),
            R::I64 => fixed!(8, |b| writer.push_i64(i64::from_le_bytes(*b))),
            R::F32 => fixed!(4, |b| writer.push_f32(f32::from_le_bytes(*b))),
            R::F64 => fixed!(8, |b| writer.push_f64(f64::from_le_bytes(*b))),
            R::Money4 => fixed!(4, |b| writer.push_i128(money4(b))),
            R::Money8 => fixed!(8, |b| writer.push_i128(money8(b))),
            R::DateTime4 => fixed!(4, |b| writer.push_i64(smalldatetime(b))),
            R::DateTime8 => fixed!(8, |b| writer.push_i64(datetime(b)?)),
            R::BitN => nullable!(1, |b| writer.push_bool(b[0] != 0)),
            R::U8N => nullable!(1, |b| writer.push_u8(b[0])),
            R::I16N => nullable!(2, |b| writer.push_i16(i16::from_le_bytes(*b))),
            R::I32N => nullable!(4, |b| writer.push_i32(i32::from_le_bytes(*b))),
            R::I64N => nullable!(8, |b| writer.push_i64(i64::from_le_bytes(*b))),
            R::F32N => nullable!(4, |b| writer.push_f32(f32::from_le_bytes(*b))),
            R::F64N => nullable!(8, |b| writer.push_f64(f64::from_le_bytes(*b))),
            R::Money4N => nullable!(4, |b| writer.push_i128(money4(b))),
            R::Money8N => nullable!(8, |b| writer.push_i128(money8(b))),
            R::DateTime4N => nullable!(4, |b| writer.push_i64(smalldatetime(b))),
            R::DateTime8N => nullable!(8, |b| writer.push_i64(datetime(b)?)),
            R::GuidN => nullable!(16, |b| writer.push_uuid(guid_to_rfc4122(b))),
            R::DecimalN { limit } => with_length(bytes, writer, |data, writer| {
                let value = decimal(data)?;
                if value.unsigned_abs() >= limit {
                    return Err(format!(
                        "a decimal value of {} digits or more, beyond its column's precision",
                        limit.ilog10() + 1
                    ));
                }
                writer.push_i128(value);
                Ok(())
            }),
            R::DateN => with_length(bytes, writer, |data, writer| {
                writer.push_i32(date_days(date_value(data)?));
                Ok(())
            }),
            R::TimeN { scale } => with_length(bytes, writer, |data, writer| {
                writer.push_i64(time_nanos(time_increments(data, scale)?, scale));
                Ok(())
            }),
            R::DateTime2N { scale } => with_length(bytes, writer, |data, writer| {
                writer.push_i64(datetime2(data, scale)?);
                Ok(())
            }),
            // The wire value of a datetimeoffset is already UTC; the offset
            // (the last two bytes) only says where it was written.
            R::DateTimeOffsetN { scale } => with_length(bytes, writer, |data, writer| {
                let (instant, _offset) = data.split_at_checked(data.len().saturating_sub(2)).ok_or("no offset")?;
                writer.push_i64(datetime2(instant, scale)?);
                Ok(())
            }),
            R::Short(content) => {
                let Some(length) = bytes.first_chunk::<2>().map(|b| u16::from_le_bytes(*b)) else {
                    return Ok(Read::Incomplete);
                };
                if length == SHORT_NULL {
                    writer.push_null();
                    return Ok(Read::Done(2));
                }
                let length = usize::from(length);
                if length > MAX_SHORT_LENGTH {
                    return Err(malformed(format!(
                        "a value of {length} bytes where at most {MAX_SHORT_LENGTH} are allowed"
                    )));
                }
                let Some(data) = bytes.get(2..2 + length) else {
                    return Ok(Read::Incomplete);
                };
                let outcome = match content {
                    // The row's next bytes follow the value: its last block is read whole.
                    Content::Utf16 => utf16_to_utf8(&bytes[2..], length, writer.value_bytes()),
                    Content::Bytes => {
                        writer.value_bytes().extend_from_slice(data);
                        Ok(())
                    }
                    Content::CodePage(encoding) => {
                        let mut decoder = CodePageDecoder::new(encoding);
                        let out = writer.value_bytes();
                        decoder.push(data, out).and_then(|()| decoder.finish(out))
                    }
                };
                end_value(writer, outcome.map_err(|e| e.0), 2 + length)
            }
            R::Plp(content) => {
                let Some(total) = bytes.first_chunk::<8>().map(|b| u64::from_le_bytes(*b)) else {
                    return Ok(Read::Incomplete);
                };
                if total == PLP_NULL {
                    writer.push_null();
                    return Ok(Read::Done(8));
                }
                if total != PLP_UNKNOWN {
                    writer.value_bytes().reserve(total.min(MAX_RESERVE_AHEAD) as usize);
                }
                Ok(Read::Streams(Box::new(StreamStart {
                    header: 8,
                    value: StreamedValue::new(content, Chunks::Plp { left_in_chunk: None }),
                })))
            }
            R::Long(content) => {
                let Some(&pointer_length) = bytes.first() else {
                    return Ok(Read::Incomplete);
                };
                if pointer_length == 0 {
                    writer.push_null();
                    return Ok(Read::Done(1));
                }
                // Text pointer, eight-byte timestamp, four-byte length.
                let header = 1 + usize::from(pointer_length) + 8 + 4;
                let Some(length) = bytes.get(header - 4..header) else {
                    return Ok(Read::Incomplete);
                };
                let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
                writer.value_bytes().reserve(u64::from(length).min(MAX_RESERVE_AHEAD) as usize);
                Ok(Read::Streams(Box::new(StreamStart {
                    header,
                    value: StreamedValue::new(content, Chunks::Single { left: length }),
                })))
            }
            R::Variant(code_pages) => {
                let Some(length) = bytes.first_chunk::<4>().map(|b| u32::from_le_bytes(*b)) else {
                    return Ok(Read::Incomplete);
                };
                if length == 0 {
                    writer.push_null();
                    return Ok(Read::Done(4));
                }
                let length = length as usize;
                if length > MAX_SHORT_LENGTH + 16 {
                    return Err(malformed(format!("a sql_variant of {length} bytes")));
                }
                let Some(data) = bytes.get(4..4 + length) else {
                    return Ok(Read::Incomplete);
                };
                match read_variant(data, code_pages) {
                    Ok((base_type, text)) => {
                        writer.push_variant(&base_type, &text);
                        Ok(Read::Done(4 + length))
                    }
                    Err(why) => {
                        writer.push_null();
                        Err(Box::new(Fault::Value(4 + length, why)))
                    }
                }
            }
        }
    }
}

/// A value whose one-byte length may say NULL (0); `push` gets its bytes.
#[inline]
fn with_length<W: ColumnWriter>(
    bytes: &[u8],
    writer: &mut W,
    push: impl FnOnce(&[u8], &mut W) -> Result<(), String>,
) -> Result<Read, Box<Fault>> {
    let Some(&length) = bytes.first() else {
        return Ok(Read::Incomplete);
    };
    if length == 0 {
        writer.push_null();
        return Ok(Read::Done(1));
    }
    let length = usize::from(length);
    let Some(data) = bytes.get(1..1 + length) else {
        return Ok(Read::Incomplete);
    };
    match push(data, writer) {
        Ok(()) => Ok(Read::Done(1 + length)),
        Err(why) => Err(malformed(why)),
    }
}

/// Ends a variable-width value appended to `writer.value_bytes()`; a value
/// that did not decode, or cannot be held, becomes NULL and a value fault.
fn end_value<W: ColumnWriter>(
    writer: &mut W,
    decoded: Result<(), String>,
    consumed: usize,
) -> Result<Read, Box<Fault>> {
    match decoded.and_then(|()| writer.end_value()) {
        Ok(()) => Ok(Read::Done(consumed)),
        Err(why) => {
            writer.abandon_value();
            writer.push_null();
            Err(Box::new(Fault::Value(consumed, why)))
        }
    }
}

fn money4(b: &[u8; 4]) -> i128 {
    i128::from(i32::from_le_bytes(*b))
}

/// money: the high four bytes first, each half little-endian.
fn money8(b: &[u8; 8]) -> i128 {
    let high = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let low = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    i128::from((i64::from(high) << 32) | i64::from(low))
}

fn smalldatetime(b: &[u8; 4]) -> i64 {
    smalldatetime_micros(u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]))
}

fn datetime(b: &[u8; 8]) -> Result<i64, Box<Fault>> {
    let (days, ticks) = (i32::from_le_bytes([b[0], b[1], b[2], b[3]]), u32::from_le_bytes([b[4], b[5], b[6], b[7]]));
    datetime_micros(days, ticks)
        .ok_or_else(|| malformed(format!("a datetime of day {days} and tick {ticks}, outside datetime's range")))
}

/// The wire's mixed-endian GUID (three little-endian groups) in RFC 4122 order.
pub(crate) fn guid_to_rfc4122(b: &[u8; 16]) -> [u8; 16] {
    [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]
}

/// Sign byte (1 positive, 0 negative) and a little-endian magnitude.
pub(crate) fn decimal(data: &[u8]) -> Result<i128, String> {
    let (&sign, magnitude) = data.split_first().ok_or("an empty decimal")?;
    // Whole loads by length: a copy into a zeroed buffer called memcpy, and
    // reading it back stalled on the copy's byte stores.
    let word = |at: usize| magnitude[at..].first_chunk::<8>().map(|b| u128::from(u64::from_le_bytes(*b)));
    let magnitude = match magnitude.len() {
        4 => magnitude.first_chunk::<4>().map(|b| u128::from(u32::from_le_bytes(*b))),
        8 => word(0),
        12 => word(0)
            .zip(magnitude[8..].first_chunk::<4>())
            .map(|(low, high)| low | u128::from(u32::from_le_bytes(*high)) << 64),
        16 => word(0).zip(word(8)).map(|(low, high)| low | high << 64),
        _ => None,
    }
    .ok_or_else(|| format!("a decimal of {} bytes", data.len()))?;
    let magnitude = i128::try_from(magnitude).map_err(|_| "a decimal beyond 38 digits".to_string())?;
    Ok(if sign == 0 { -magnitude } else { magnitude })
}

/// A date: three little-endian bytes of days since 0001-01-01.
pub(crate) fn date_value(data: &[u8]) -> Result<u32, String> {
    match data {
        [a, b, c] => Ok(u32::from_le_bytes([*a, *b, *c, 0])),
        _ => Err(format!("a date of {} bytes", data.len())),
    }
}

/// Bytes of a time(scale) value: 3 for scales 0-2, 4 for 3-4, 5 for 5-7.
pub(crate) fn time_length(scale: u8) -> usize {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// A time value's increments; its length must match the scale.
pub(crate) fn time_increments(data: &[u8], scale: u8) -> Result<u64, String> {
    // Whole loads by length: a copy into a zeroed buffer called memcpy, and
    // reading it back stalled on the copy's byte stores.
    match *data {
        [a, b, c] if data.len() == time_length(scale) => Ok(u64::from(u32::from_le_bytes([a, b, c, 0]))),
        [a, b, c, d] if data.len() == time_length(scale) => Ok(u64::from(u32::from_le_bytes([a, b, c, d]))),
        [a, b, c, d, e] if data.len() == time_length(scale) => {
            Ok(u64::from(u32::from_le_bytes([a, b, c, d])) | u64::from(e) << 32)
        }
        _ => Err(format!("a time({scale}) of {} bytes", data.len())),
    }
}

/// A datetime2(scale): the time, then three bytes of days since 0001-01-01.
pub(crate) fn datetime2(data: &[u8], scale: u8) -> Result<i64, String> {
    let (time, date) = data.split_at_checked(time_length(scale)).ok_or("a short datetime2")?;
    Ok(datetime2_micros(date_value(date)?, time_increments(time, scale)?, scale))
}

/// How the data of a streamed value is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunks {
    /// PLP chunks; `None` when the next four bytes are a chunk length.
    Plp { left_in_chunk: Option<u32> },
    /// text/ntext/image: one run of bytes.
    Single { left: u32 },
}

/// A value whose data arrives in pieces, across chunks and packets.
#[derive(Debug)]
pub(crate) struct StreamedValue {
    chunks: Chunks,
    decoder: Decoder,
}

#[derive(Debug)]
enum Decoder {
    Utf16(Utf16Transcoder),
    CodePage(CodePageDecoder),
    Bytes,
    /// The value already failed to decode: its bytes are skipped.
    Failed(String),
}

impl std::fmt::Debug for CodePageDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodePageDecoder")
    }
}

/// What continuing a streamed value found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Streamed {
    /// These bytes were consumed and the value goes on after them.
    More(usize),
    /// The value ended after this many bytes.
    Ended(usize),
}

impl StreamedValue {
    fn new(content: Content, chunks: Chunks) -> Self {
        let decoder = match content {
            Content::Utf16 => Decoder::Utf16(Utf16Transcoder::default()),
            Content::CodePage(encoding) => Decoder::CodePage(CodePageDecoder::new(encoding)),
            Content::Bytes => Decoder::Bytes,
        };
        Self { chunks, decoder }
    }

    /// Consumes as much of the value as `bytes` holds. A value that does not
    /// decode is skipped to its end, then reported as a value fault (its
    /// column gets a NULL).
    pub(crate) fn resume<W: ColumnWriter>(&mut self, bytes: &[u8], writer: &mut W) -> Result<Streamed, Box<Fault>> {
        let mut at = 0;
        loop {
            let left = match &mut self.chunks {
                Chunks::Plp { left_in_chunk: None } => {
                    let Some(length) = bytes[at..].first_chunk::<4>().map(|b| u32::from_le_bytes(*b)) else {
                        return Ok(Streamed::More(at));
                    };
                    at += 4;
                    if length == 0 {
                        return self.finish(writer, at);
                    }
                    self.chunks = Chunks::Plp { left_in_chunk: Some(length) };
                    continue;
                }
                Chunks::Plp { left_in_chunk: Some(left) } | Chunks::Single { left } => left,
            };
            if *left == 0 {
                match self.chunks {
                    Chunks::Single { .. } => return self.finish(writer, at),
                    Chunks::Plp { .. } => {
                        self.chunks = Chunks::Plp { left_in_chunk: None };
                        continue;
                    }
                }
            }
            let piece = &bytes[at..bytes.len().min(at + *left as usize)];
            if piece.is_empty() {
                return Ok(Streamed::More(at));
            }
            *left -= piece.len() as u32;
            at += piece.len();
            let decoded = match &mut self.decoder {
                Decoder::Utf16(transcoder) => transcoder.push(piece, writer.value_bytes()),
                Decoder::CodePage(decoder) => decoder.push(piece, writer.value_bytes()),
                Decoder::Bytes => {
                    writer.value_bytes().extend_from_slice(piece);
                    Ok(())
                }
                Decoder::Failed(_) => Ok(()),
            };
            if let Err(InvalidText(why)) = decoded {
                self.decoder = Decoder::Failed(why);
            }
        }
    }

    fn finish<W: ColumnWriter>(&mut self, writer: &mut W, consumed: usize) -> Result<Streamed, Box<Fault>> {
        let decoded = match &mut self.decoder {
            Decoder::Utf16(transcoder) => transcoder.finish().map_err(|e| e.0),
            Decoder::CodePage(decoder) => decoder.finish(writer.value_bytes()).map_err(|e| e.0),
            Decoder::Bytes => Ok(()),
            Decoder::Failed(why) => Err(why.clone()),
        };
        end_value(writer, decoded, consumed).map(|_| Streamed::Ended(consumed))
    }

    /// Drops the part of the value written so far (the response broke off).
    pub(crate) fn abandon<W: ColumnWriter>(self, writer: &mut W) {
        writer.abandon_value();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A writer that records what it was given, for the reader's tests.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub(crate) struct Recorder {
        pub(crate) values: Vec<String>,
        pending: Vec<u8>,
    }

    impl ColumnWriter for Recorder {
        fn push_null(&mut self) {
            self.values.push("NULL".into());
        }
        fn push_bool(&mut self, value: bool) {
            self.values.push(format!("{value}"));
        }
        fn push_u8(&mut self, value: u8) {
            self.values.push(format!("{value}u8"));
        }
        fn push_i16(&mut self, value: i16) {
            self.values.push(format!("{value}i16"));
        }
        fn push_i32(&mut self, value: i32) {
            self.values.push(format!("{value}i32"));
        }
        fn push_i64(&mut self, value: i64) {
            self.values.push(format!("{value}i64"));
        }
        fn push_f32(&mut self, value: f32) {
            self.values.push(format!("{value}f32"));
        }
        fn push_f64(&mut self, value: f64) {
            self.values.push(format!("{value}f64"));
        }
        fn push_i128(&mut self, value: i128) {
            self.values.push(format!("{value}i128"));
        }
        fn push_uuid(&mut self, value: [u8; 16]) {
            self.values.push(format!("uuid{value:02x?}"));
        }
        fn value_bytes(&mut self) -> &mut Vec<u8> {
            &mut self.pending
        }
        fn end_value(&mut self) -> Result<(), String> {
            let value = String::from_utf8_lossy(&self.pending).into_owned();
            self.values.push(format!("'{value}'"));
            self.pending.clear();
            Ok(())
        }
        fn abandon_value(&mut self) {
            self.pending.clear();
        }
        fn push_variant(&mut self, base_type: &str, text: &str) {
            self.values.push(format!("{base_type}:{text}"));
        }
    }

    fn latin1(_: Collation) -> Result<&'static Encoding, String> {
        Ok(encoding_rs::WINDOWS_1252)
    }

    fn reader(info: TypeInfo) -> ValueReader {
        ValueReader::for_type(&info, latin1).unwrap()
    }

    /// Reads one complete value; every proper prefix must be incomplete.
    fn read_one(reader: ValueReader, bytes: &[u8]) -> String {
        for cut in 0..bytes.len() {
            let mut writer = Recorder::default();
            assert!(matches!(reader.read(&bytes[..cut], &mut writer), Ok(Read::Incomplete)), "{reader:?} cut at {cut}");
        }
        let mut writer = Recorder::default();
        assert!(matches!(reader.read(bytes, &mut writer), Ok(Read::Done(n)) if n == bytes.len()), "{reader:?}");
        assert_eq!(writer.values.len(), 1);
        writer.values.remove(0)
    }

    #[test]
    fn fixed_and_nullable_numbers() {
        assert_eq!(read_one(reader(TypeInfo::fixed(INT4)), &(-7i32).to_le_bytes()), "-7i32");
        assert_eq!(
            read_one(reader(TypeInfo::sized(INTN, 8)), &[8, 1, 0, 0, 0, 0, 0, 0, 0x80]),
            format!("{}i64", i64::MIN + 1)
        );
        assert_eq!(read_one(reader(TypeInfo::sized(INTN, 2)), &[0]), "NULL");
        assert_eq!(read_one(reader(TypeInfo::sized(FLTN, 8)), &[8, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F]), "1.5f64");
        assert_eq!(read_one(reader(TypeInfo::sized(BITN, 1)), &[1, 2]), "true");
        // money: high half first; -1.0000 is -10000 in units of 10^-4.
        let money = (-10_000i64).to_le_bytes();
        let wire = [&money[4..8], &money[0..4]].concat();
        assert_eq!(read_one(reader(TypeInfo::fixed(MONEY)), &wire), "-10000i128");
        assert_eq!(read_one(reader(TypeInfo::sized(MONEYN, 4)), &[4, 1, 0, 0, 0]), "1i128");
    }

    #[test]
    fn a_length_other_than_the_column_width_breaks_the_protocol() {
        let mut writer = Recorder::default();
        assert!(matches!(
            reader(TypeInfo::sized(INTN, 4)).read(&[2, 1, 0], &mut writer).map_err(|f| *f),
            Err(Fault::Protocol(_))
        ));
    }

    #[test]
    fn decimals_dates_and_guids() {
        let decimal = TypeInfo { precision: 5, scale: 2, ..TypeInfo::sized(DECIMALN, 5) };
        assert_eq!(read_one(reader(decimal.clone()), &[5, 0, 0x39, 0x30, 0, 0]), "-12345i128");
        let mut writer = Recorder::default();
        let beyond = [5, 1, 0xA0, 0x86, 0x01, 0];
        let outcome = reader(decimal).read(&beyond, &mut writer).map_err(|f| *f);
        assert!(matches!(outcome, Err(Fault::Protocol(_))), "100000 has 6 digits");
        // 1970-01-01 is day 719162 since 0001-01-01.
        let date = 719_162u32.to_le_bytes();
        assert_eq!(read_one(reader(TypeInfo::fixed(DATEN)), &[3, date[0], date[1], date[2]]), "0i32");
        let datetime2 = TypeInfo { scale: 7, ..TypeInfo::fixed(DATETIME2N) };
        let time = 1_234_567u64.to_le_bytes();
        let wire = [8, time[0], time[1], time[2], time[3], time[4], date[0], date[1], date[2]];
        assert_eq!(read_one(reader(datetime2), &wire), "123456i64");
        let offset = TypeInfo { scale: 0, ..TypeInfo::fixed(DATETIMEOFFSETN) };
        assert_eq!(read_one(reader(offset), &[8, 1, 0, 0, date[0], date[1], date[2], 0x78, 0]), "1000000i64");
        let guid: Vec<u8> = (1..=16).collect();
        let wire = [&[16u8][..], &guid].concat();
        assert_eq!(
            read_one(reader(TypeInfo::sized(GUID, 16)), &wire),
            format!("uuid{:02x?}", [4u8, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16])
        );
    }

    #[test]
    fn decimal_magnitudes_of_every_length() {
        let bytes: Vec<u8> = (1..=16).map(|b| b * 7).collect();
        for length in [4, 8, 12, 16] {
            let mut padded = [0u8; 16];
            padded[..length].copy_from_slice(&bytes[..length]);
            let expected = u128::from_le_bytes(padded);
            for (sign, signed) in [(1u8, 1i128), (0, -1)] {
                let data = [&[sign][..], &bytes[..length]].concat();
                let expected = i128::try_from(expected).map(|magnitude| signed * magnitude).ok();
                assert_eq!(decimal(&data).ok(), expected, "{length} bytes, sign {sign}");
            }
        }
        for wrong in [0, 1, 4, 6, 10, 18] {
            assert!(decimal(&vec![1; wrong]).is_err(), "{wrong} bytes");
        }
    }

    #[test]
    fn time_increments_take_every_byte_of_their_scale_length() {
        let wire = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
        for scale in 0..=7u8 {
            let length = time_length(scale);
            let expected = wire[..length].iter().rev().fold(0u64, |value, &byte| value << 8 | u64::from(byte));
            assert_eq!(time_increments(&wire[..length], scale), Ok(expected), "scale {scale}");
            for wrong in (2..=6).filter(|&other| other != length) {
                assert!(time_increments(&wire[..wrong], scale).is_err(), "scale {scale}, {wrong} bytes");
            }
        }
    }

    #[test]
    fn short_text_and_binary() {
        let nvarchar =
            TypeInfo { collation: Some(Collation { info: 0x409, sort_id: 0 }), ..TypeInfo::sized(NVARCHAR, 20) };
        assert_eq!(read_one(reader(nvarchar.clone()), &[4, 0, b'h', 0, 0xE9, 0]), "'hé'");
        assert_eq!(read_one(reader(nvarchar.clone()), &[0xFF, 0xFF]), "NULL");
        let varchar =
            TypeInfo { collation: Some(Collation { info: 0x409, sort_id: 0 }), ..TypeInfo::sized(BIGVARCHR, 20) };
        assert_eq!(read_one(reader(varchar), &[2, 0, b'h', 0xE9]), "'hé'");
        assert_eq!(read_one(reader(TypeInfo::sized(BIGVARBIN, 20)), &[2, 0, b'a', b'b']), "'ab'");
        // An unpaired surrogate is this value's problem, not the connection's.
        let mut writer = Recorder::default();
        let outcome = reader(nvarchar).read(&[2, 0, 0x00, 0xD8], &mut writer).map_err(|f| *f);
        assert!(matches!(outcome, Err(Fault::Value(4, _))), "{outcome:?}");
        assert_eq!(writer.values, ["NULL"]);
    }

    fn stream_all(reader: ValueReader, bytes: &[u8], cut: usize) -> (Recorder, Result<(), Fault>) {
        let mut writer = Recorder::default();
        let Read::Streams(start) = reader.read(bytes, &mut writer).unwrap() else {
            panic!("a streamed value");
        };
        let StreamStart { header, mut value } = *start;
        let mut at = header;
        let mut end = cut.max(at);
        loop {
            match value.resume(&bytes[at..end.min(bytes.len())], &mut writer) {
                Ok(Streamed::More(n)) => {
                    at += n;
                    end = (end + cut.max(1)).min(bytes.len());
                }
                Ok(Streamed::Ended(n)) => {
                    assert_eq!(at + n, bytes.len());
                    return (writer, Ok(()));
                }
                Err(fault) => return (writer, Err(*fault)),
            }
        }
    }

    #[test]
    fn plp_values_stream_across_any_cut() {
        let text: String = "plp é 🎉 ".repeat(20);
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut wire = (utf16.len() as u64).to_le_bytes().to_vec();
        for chunk in utf16.chunks(37) {
            wire.extend((chunk.len() as u32).to_le_bytes());
            wire.extend(chunk);
        }
        wire.extend(0u32.to_le_bytes());
        let nvarchar_max = reader(TypeInfo {
            collation: Some(Collation { info: 0, sort_id: 0 }),
            ..TypeInfo::sized(NVARCHAR, 0xFFFF)
        });
        for cut in [1, 2, 3, 5, 13, 64, 10_000] {
            let (writer, outcome) = stream_all(nvarchar_max, &wire, cut);
            assert_eq!(outcome, Ok(()));
            assert_eq!(writer.values, [format!("'{text}'")], "cut {cut}");
        }
        let mut writer = Recorder::default();
        assert!(matches!(nvarchar_max.read(&u64::MAX.to_le_bytes(), &mut writer), Ok(Read::Done(n)) if n == 8));
        assert_eq!(writer.values, ["NULL"]);
    }

    #[test]
    fn a_plp_value_that_does_not_decode_is_skipped_to_its_end() {
        let mut wire = u64::MAX.wrapping_sub(1).to_le_bytes().to_vec();
        wire.extend(4u32.to_le_bytes());
        wire.extend([0x41, 0, 0x00, 0xDC]);
        wire.extend(2u32.to_le_bytes());
        wire.extend([0x42, 0]);
        wire.extend(0u32.to_le_bytes());
        let nvarchar_max = reader(TypeInfo::sized(NVARCHAR, 0xFFFF));
        let (writer, outcome) = stream_all(nvarchar_max, &wire, 3);
        assert!(matches!(outcome, Err(Fault::Value(_, _))), "{outcome:?}");
        assert_eq!(writer.values, ["NULL"]);
    }

    #[test]
    fn text_image_values_have_a_pointer_then_one_run() {
        let mut wire = vec![16];
        wire.extend([7u8; 16]);
        wire.extend([0u8; 8]);
        wire.extend(3u32.to_le_bytes());
        wire.extend(b"abc");
        let image = reader(TypeInfo::sized(IMAGE, 0x7FFF_FFFF));
        let (writer, outcome) = stream_all(image, &wire, 2);
        assert_eq!((outcome, writer.values), (Ok(()), vec!["'abc'".to_string()]));
        let mut writer = Recorder::default();
        assert!(matches!(image.read(&[0], &mut writer), Ok(Read::Done(n)) if n == 1));
        assert_eq!(writer.values, ["NULL"]);
    }
}
