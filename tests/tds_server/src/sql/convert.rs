//! CAST/CONVERT between SQL Server types with SQL Server's exact rules (rounding,
//! padding, truncation, overflow and conversion errors with its message numbers).

use super::parser::SqlError;
use super::temporal;
use crate::calendar::{MAX_DAYS, TICKS_PER_DAY};
use crate::types::{
    decode_cp1252, decode_utf16, encode_cp1252, encode_utf16, fits_precision, guid_from_wire, guid_to_wire, SqlType,
};
use crate::value::Value;

const MONEY_MAX: i128 = i64::MAX as i128;
const MONEY_MIN: i128 = i64::MIN as i128;
const SMALLMONEY_MAX: i128 = i32::MAX as i128;
const SMALLMONEY_MIN: i128 = i32::MIN as i128;

fn not_allowed(from: &SqlType, to: &SqlType) -> SqlError {
    SqlError::new(529, format!("Explicit conversion from data type {} to {} is not allowed.", from.name(), to.name()))
}

fn overflow(from: &SqlType, to: &SqlType) -> SqlError {
    // SQL Server names the source type only for conversions to decimal/numeric
    let from = if to.is_decimal() && (from.is_string() || from.is_integer() || from.is_decimal()) {
        from.name()
    } else {
        "expression"
    };
    // and calls decimal "numeric" in this message
    let to = if to.is_decimal() { "numeric" } else { to.name() };
    SqlError::new(8115, format!("Arithmetic overflow error converting {from} to data type {to}."))
}

/// Integer range of an integer type (for others, i64's).
pub fn int_range(t: &SqlType) -> (i64, i64) {
    match t {
        SqlType::TinyInt => (0, 255),
        SqlType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Int => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// Converts a non-NULL `value` of type `from` to type `to`.
pub fn convert(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if let Value::Variant(base, inner) = value {
        if *to == SqlType::SqlVariant {
            return Ok(value.clone());
        }
        return convert(inner, base, to);
    }
    if *to == SqlType::SqlVariant {
        return to_variant(value, from);
    }
    if from.is_string() || *from == SqlType::Xml {
        let Value::Str(s) = value else { return Err(internal(value, from)) };
        return from_string(s, from, to);
    }
    if to.is_string() {
        let text = to_text(value, from, to)?;
        return string_to_string_type(text, to, value_is_exact_text(from));
    }
    if *to == SqlType::Xml {
        return Err(not_allowed(from, to));
    }
    if from.is_binary() {
        let Value::Bytes(b) = value else { return Err(internal(value, from)) };
        return from_binary(b, from, to);
    }
    if to.is_binary() {
        return to_binary(value, from, to);
    }
    if from.is_temporal() || to.is_temporal() {
        return temporal_convert(value, from, to);
    }
    if *from == SqlType::UniqueIdentifier || *to == SqlType::UniqueIdentifier {
        if from == to {
            return Ok(value.clone());
        }
        return Err(SqlError::new(
            206,
            format!("Operand type clash: {} is incompatible with {}", from.name(), to.name()),
        ));
    }
    numeric_convert(value, from, to)
}

/// Whether `convert(value, from, to)` is `value` itself: a value already of type `to`, within
/// its range, precision and length. Lets a bulk load skip converting most of its values.
pub fn converts_unchanged(value: &Value, from: &SqlType, to: &SqlType) -> bool {
    match (value, to) {
        (Value::Str(s), SqlType::VarChar(limit) | SqlType::NVarChar(limit)) if from.is_string() => {
            let fits = |units: usize| limit.is_none_or(|n| units <= n as usize);
            if to.is_unicode() {
                // UTF-8 has at least as many bytes as UTF-16 has units
                fits(s.len()) || fits(s.encode_utf16().count())
            } else {
                // ASCII is code page 1252's, a byte per character
                s.is_ascii() && fits(s.len())
            }
        }
        _ if from != to => false,
        (Value::Int(i), _) if to.is_integer() => {
            let (lo, hi) = int_range(to);
            (lo..=hi).contains(i)
        }
        (Value::Bool(_), SqlType::Bit) | (Value::Guid(_), SqlType::UniqueIdentifier) => true,
        (Value::Float(f), SqlType::Float) => !f.is_infinite(),
        (Value::Decimal(u, s), SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale }) => {
            s == scale && fits_precision(*u, *precision)
        }
        (Value::Date(days), SqlType::Date) => *days as i64 <= MAX_DAYS,
        (Value::DateTime2 { days, ticks }, SqlType::DateTime2(scale)) => {
            *days as i64 <= MAX_DAYS && *ticks < TICKS_PER_DAY && *ticks % 10u64.pow(7 - *scale as u32) == 0
        }
        _ => false,
    }
}

fn internal(v: &Value, t: &SqlType) -> SqlError {
    SqlError::not_supported(format!("Converting the value {v:?} held as {}", t.name()))
}

/// Whether cutting a value's text to a shorter string type is refused: numbers are (SQL
/// Server raises an error or shows '*'), while binary and date/time text is cut silently
/// (the CONVERT(varchar(10), d, 120) idiom keeps the date part).
fn value_is_exact_text(from: &SqlType) -> bool {
    !from.is_binary() && !from.is_temporal()
}

fn to_variant(value: &Value, from: &SqlType) -> Result<Value, SqlError> {
    match from {
        SqlType::VarChar(None)
        | SqlType::NVarChar(None)
        | SqlType::VarBinary(None)
        | SqlType::Text
        | SqlType::NText
        | SqlType::Image
        | SqlType::Xml => Err(SqlError::new(
            206,
            format!("Operand type clash: {} is incompatible with sql_variant", from.declaration()),
        )),
        _ => Ok(Value::Variant(Box::new(from.clone()), Box::new(value.clone()))),
    }
}

// ---------------------------------------------------------------------------
// strings
// ---------------------------------------------------------------------------

fn conversion_failed(s: &str, from: &SqlType, to: &SqlType) -> SqlError {
    SqlError::new(
        245,
        format!("Conversion failed when converting the {} value '{s}' to data type {}.", from.name(), to.name()),
    )
}

fn from_string(s: &str, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    match to {
        _ if to.is_string() || *to == SqlType::Xml => {
            if *to == SqlType::Xml {
                return Ok(Value::Str(check_xml(s)?));
            }
            string_to_string_type(s.to_string(), to, false)
        }
        _ if to.is_binary() => {
            let bytes =
                if from.is_unicode() { encode_utf16(s) } else { encode_cp1252(s).map_err(SqlError::not_supported)? };
            fit_binary(bytes, to)
        }
        SqlType::Bit => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                return Ok(Value::Bool(true));
            }
            if t.eq_ignore_ascii_case("false") {
                return Ok(Value::Bool(false));
            }
            if t.is_empty() {
                return Err(SqlError::not_supported("Converting an empty string to bit"));
            }
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(conversion_failed(s, from, to));
            }
            Ok(Value::Bool(digits.bytes().any(|b| b != b'0')))
        }
        _ if to.is_integer() => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(Value::Int(0)); // SQL Server converts '' to 0
            }
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(conversion_failed(s, from, to));
            }
            let (lo, hi) = int_range(to);
            match t.parse::<i128>() {
                Ok(v) if v >= lo as i128 && v <= hi as i128 => Ok(Value::Int(v as i64)),
                _ => Err(SqlError::new(
                    248,
                    format!("The conversion of the {} value '{s}' overflowed an {} column.", from.name(), to.name()),
                )),
            }
        }
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            let Some(parsed) = parse_decimal_text(s.trim()) else {
                return Err(SqlError::new(
                    8114,
                    format!("Error converting data type {} to {}.", from.name(), to.name()),
                ));
            };
            let u =
                parsed.round_to(*scale).filter(|u| fits_precision(*u, *precision)).ok_or_else(|| overflow(from, to))?;
            Ok(Value::Decimal(u, *scale))
        }
        SqlType::Money | SqlType::SmallMoney => {
            if s.trim().is_empty() {
                return Ok(Value::Money(0)); // SQL Server converts '' to 0
            }
            let Some(parsed) = parse_money_text(s.trim()) else {
                return Err(SqlError::new(
                    235,
                    format!(
                        "Cannot convert a {} value to money. The {} value has incorrect syntax.",
                        from.name(),
                        from.name()
                    ),
                ));
            };
            let u = parsed.round_to(4).ok_or_else(|| overflow(from, to))?;
            money_value(u, to).ok_or_else(|| overflow(from, to))
        }
        SqlType::Float | SqlType::Real => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(Value::Float(0.0)); // SQL Server converts '' to 0
            }
            let valid = !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
                && t.bytes().any(|b| b.is_ascii_digit());
            let err = || SqlError::new(8114, format!("Error converting data type {} to {}.", from.name(), to.name()));
            if !valid {
                return Err(err());
            }
            let t = if t.ends_with(['e', 'E']) { format!("{t}0") } else { t.to_string() };
            // strings convert through float (double precision), then narrow to real
            let f: f64 = t.parse().map_err(|_| err())?;
            let f = if *to == SqlType::Real { f as f32 as f64 } else { f };
            if f.is_infinite() {
                return Err(overflow(from, to));
            }
            Ok(Value::Float(f))
        }
        _ if to.is_temporal() => {
            let failed =
                || SqlError::new(241, "Conversion failed when converting date and/or time from character string.");
            // SQL Server reads '' as 1900-01-01 00:00:00
            let parsed = if s.trim().is_empty() {
                temporal::ParsedDateTime { date: None, time: None, offset: None }
            } else {
                temporal::parse(s).map_err(|_| failed())?
            };
            temporal::from_parsed(&parsed, to).map_err(|e| match e {
                temporal::TemporalError::Syntax => failed(),
                temporal::TemporalError::OutOfRange => SqlError::new(
                    242,
                    format!(
                        "The conversion of a {} data type to a {} data type resulted in an out-of-range value.",
                        from.name(),
                        to.name()
                    ),
                ),
            })
        }
        SqlType::UniqueIdentifier => parse_guid(s).map(Value::Guid).ok_or_else(|| {
            SqlError::new(8169, "Conversion failed when converting from a character string to uniqueidentifier.")
        }),
        _ => Err(not_allowed(from, to)),
    }
}

/// Fits text into a string type: char/nchar pad with spaces, shorter lengths truncate
/// (an error instead when `exact` and the text is a number or date).
fn string_to_string_type(text: String, to: &SqlType, exact: bool) -> Result<Value, SqlError> {
    let (limit, pad) = match to {
        SqlType::Char(n) | SqlType::NChar(n) => (Some(*n as usize), true),
        SqlType::VarChar(Some(n)) | SqlType::NVarChar(Some(n)) => (Some(*n as usize), false),
        _ => (None, false),
    };
    let unicode = to.is_unicode();
    if !unicode {
        encode_cp1252(&text)
            .map_err(|e| SqlError::not_supported(format!("{e} (SQL Server would substitute '?'); this")))?;
    }
    let Some(limit) = limit else { return Ok(Value::Str(text)) };
    // lengths count bytes for varchar (1 per char in code page 1252) and UTF-16 units for nvarchar
    let len_of = |c: char| if unicode { c.len_utf16() } else { 1 };
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + len_of(c) > limit {
            if exact {
                return Err(SqlError::not_supported(format!(
                    "Converting the text '{text}' into the shorter {}",
                    to.declaration()
                )));
            }
            break;
        }
        used += len_of(c);
        out.push(c);
    }
    if pad {
        out.extend(std::iter::repeat_n(' ', limit - used));
    }
    Ok(Value::Str(out))
}

/// XML is passed through unchanged when SQL Server's parser would keep it as written:
/// well-formed elements with double-quoted attributes, no declarations, comments,
/// empty-element forms, character references or whitespace-only text (all of which
/// SQL Server rewrites). Anything else is refused rather than answered differently.
fn check_xml(s: &str) -> Result<String, SqlError> {
    let refuse = |why: &str| Err(SqlError::not_supported(format!("XML with {why} (SQL Server would rewrite it)")));
    let mut open: Vec<&str> = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if let Some(why) = check_xml_text(rest) {
                return refuse(why);
            }
            break;
        };
        if let Some(why) = check_xml_text(&rest[..lt]) {
            return refuse(why);
        }
        let Some(gt) = rest[lt..].find('>') else { return refuse("an unterminated tag") };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            return refuse("a declaration, processing instruction or comment");
        }
        if tag.ends_with('/') {
            return refuse("an empty-element tag");
        }
        if tag.contains('\'') || tag.contains("  ") || tag.contains(['\n', '\r', '\t', '&']) || tag.ends_with(' ') {
            return refuse("attribute quoting or spacing");
        }
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop() != Some(name) {
                return refuse("mismatched tags");
            }
        } else {
            let name = tag.split(' ').next().unwrap_or_default();
            if name.is_empty() {
                return refuse("an unnamed tag");
            }
            if rest.starts_with(&format!("</{name}>")) {
                return refuse("an empty element");
            }
            open.push(name);
        }
    }
    if !open.is_empty() {
        return refuse("unclosed elements");
    }
    Ok(s.to_string())
}

/// Why SQL Server would rewrite a text node, if it would.
fn check_xml_text(text: &str) -> Option<&'static str> {
    if !text.is_empty() && text.chars().all(char::is_whitespace) {
        return Some("whitespace-only text");
    }
    if text.contains(['>', '\r']) {
        return Some("characters it escapes or normalizes");
    }
    let mut amp = text.split('&').skip(1);
    if amp.any(|after| !["lt;", "amp;", "gt;"].iter().any(|e| after.starts_with(e))) {
        return Some("character references");
    }
    None
}

fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let t = s.trim();
    let t = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(t);
    let groups: Vec<&str> = t.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if groups.len() != 5
        || groups.iter().zip(lens).any(|(g, l)| g.len() != l || !g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    let hex: String = groups.concat();
    let mut g = [0u8; 16];
    for (i, b) in g.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(g)
}

pub fn format_guid(g: &[u8; 16]) -> String {
    let h: String = g.iter().map(|b| format!("{b:02X}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The text CAST(value AS varchar/nvarchar) gives.
fn to_text(value: &Value, from: &SqlType, to: &SqlType) -> Result<String, SqlError> {
    Ok(match (from, value) {
        (SqlType::Bit, Value::Bool(b)) => (if *b { "1" } else { "0" }).to_string(),
        (_, Value::Int(i)) => {
            let text = i.to_string();
            // char/varchar too short for an int show '*'; nchar/nvarchar raise 8115
            let limit = match to {
                SqlType::Char(n) | SqlType::VarChar(Some(n)) | SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => {
                    *n as usize
                }
                _ => usize::MAX,
            };
            if text.len() > limit {
                if to.is_unicode() {
                    return Err(SqlError::new(
                        8115,
                        format!("Arithmetic overflow error converting expression to data type {}.", to.name()),
                    ));
                }
                return Ok("*".to_string());
            }
            text
        }
        (_, Value::Decimal(u, s)) => format_decimal(*u, *s),
        (_, Value::Money(m)) => {
            // style 0: two decimals, rounded half away from zero
            format_decimal(round_scaled(*m as i128, 4, 2).unwrap_or(0), 2)
        }
        (SqlType::UniqueIdentifier, Value::Guid(g)) => {
            let limit = match to {
                SqlType::Char(n) | SqlType::VarChar(Some(n)) | SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => {
                    *n as usize
                }
                _ => usize::MAX,
            };
            if limit < 36 {
                return Err(SqlError::new(
                    8170,
                    format!("Insufficient result space to convert uniqueidentifier value to {}.", to.name()),
                ));
            }
            format_guid(g)
        }
        (_, Value::Bytes(b)) => {
            if to.is_unicode() {
                let mut b = b.clone();
                if b.len() % 2 == 1 {
                    b.push(0);
                }
                decode_utf16(&b).map_err(SqlError::not_supported)?
            } else {
                decode_cp1252(b)
            }
        }
        _ if from.is_temporal() => temporal::format(value, from).ok_or_else(|| internal(value, from))?,
        (SqlType::Real | SqlType::Float, Value::Float(f)) => format_float_style0(*f)?,
        _ => return Err(internal(value, from)),
    })
}

/// CONVERT style 0 of float and real: at most 6 significant digits, scientific notation
/// (with a three-digit exponent, as SQL Server prints it) below 1e-4 or from 1e6 on.
fn format_float_style0(f: f64) -> Result<String, SqlError> {
    if f == 0.0 && f.is_sign_negative() {
        return Err(SqlError::not_supported("Converting a negative zero float to a string"));
    }
    if f == 0.0 {
        return Ok("0".to_string());
    }
    let sci = format!("{f:.5e}"); // d.ddddde[-]x, rounded to 6 significant digits
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return Ok(format!("{}e{sign}{:03}", trim(mantissa), exp.abs()));
    }
    Ok(trim(&format!("{f:.*}", (5 - exp) as usize)))
}

// ---------------------------------------------------------------------------
// binary
// ---------------------------------------------------------------------------

fn fit_binary(mut bytes: Vec<u8>, to: &SqlType) -> Result<Value, SqlError> {
    match to {
        SqlType::Binary(n) => bytes.resize(*n as usize, 0),
        SqlType::VarBinary(Some(n)) => bytes.truncate(*n as usize),
        _ => {}
    }
    Ok(Value::Bytes(bytes))
}

fn from_binary(b: &[u8], from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    match to {
        _ if to.is_binary() => fit_binary(b.to_vec(), to),
        SqlType::UniqueIdentifier => {
            let mut w = [0u8; 16];
            let n = b.len().min(16);
            w[..n].copy_from_slice(&b[..n]);
            Ok(Value::Guid(guid_from_wire(&w)))
        }
        _ if to.is_integer() || *to == SqlType::Bit => {
            // the rightmost bytes, big-endian
            let size = match to {
                SqlType::Bit | SqlType::TinyInt => 1,
                SqlType::SmallInt => 2,
                SqlType::Int => 4,
                _ => 8,
            };
            let tail = &b[b.len().saturating_sub(size)..];
            let mut raw = tail.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64);
            if tail.len() == size && size < 8 && size > 1 && (tail[0] & 0x80) != 0 {
                raw |= u64::MAX << (size * 8); // sign-extend
            }
            let v = raw as i64;
            Ok(if *to == SqlType::Bit { Value::Bool(v != 0) } else { Value::Int(v) })
        }
        _ => Err(SqlError::not_supported(format!("Converting {} to {}", from.name(), to.name()))),
    }
}

fn to_binary(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    let bytes = match (from, value) {
        (SqlType::UniqueIdentifier, Value::Guid(g)) => guid_to_wire(g).to_vec(),
        (SqlType::Bit, Value::Bool(b)) => vec![*b as u8],
        (SqlType::TinyInt, Value::Int(i)) => vec![*i as u8],
        (SqlType::SmallInt, Value::Int(i)) => (*i as i16).to_be_bytes().to_vec(),
        (SqlType::Int, Value::Int(i)) => (*i as i32).to_be_bytes().to_vec(),
        (SqlType::BigInt, Value::Int(i)) => i.to_be_bytes().to_vec(),
        _ => return Err(SqlError::not_supported(format!("Converting {} to {}", from.name(), to.name()))),
    };
    // numbers keep their rightmost bytes and pad on the left
    let bytes = if *from == SqlType::UniqueIdentifier {
        bytes
    } else {
        let n = match to {
            SqlType::Binary(n) | SqlType::VarBinary(Some(n)) => *n as usize,
            _ => bytes.len(),
        };
        if n < bytes.len() {
            bytes[bytes.len() - n..].to_vec()
        } else if matches!(to, SqlType::Binary(_)) {
            let mut p = vec![0; n - bytes.len()];
            p.extend(bytes);
            p
        } else {
            bytes
        }
    };
    fit_binary(bytes, to)
}

// ---------------------------------------------------------------------------
// date/time
// ---------------------------------------------------------------------------

fn temporal_convert(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    if !from.is_temporal() {
        // int -> datetime counts days from 1900-01-01
        if let (Value::Int(days), SqlType::DateTime | SqlType::SmallDateTime) = (value, to) {
            let local = temporal::LocalDateTime { days: days + crate::calendar::DAYS_TO_1900, ticks: 0, offset: None };
            return temporal::to_value(&local, to).map_err(|_| overflow(from, to));
        }
        if matches!(to, SqlType::DateTime | SqlType::SmallDateTime) && from.is_number() {
            return Err(SqlError::not_supported(format!("Converting {} to {}", from.name(), to.name())));
        }
        return Err(not_allowed(from, to));
    }
    if !to.is_temporal() {
        if matches!(from, SqlType::DateTime | SqlType::SmallDateTime) && to.is_number() {
            return Err(SqlError::not_supported(format!("Converting {} to {}", from.name(), to.name())));
        }
        return Err(not_allowed(from, to));
    }
    if (*from == SqlType::Time(0) || matches!(from, SqlType::Time(_))) && *to == SqlType::Date {
        return Err(not_allowed(from, to));
    }
    if matches!(from, SqlType::Date) && matches!(to, SqlType::Time(_)) {
        return Err(not_allowed(from, to));
    }
    let mut local = temporal::from_value(value).ok_or_else(|| internal(value, from))?;
    if !matches!(to, SqlType::DateTimeOffset(_)) {
        local.offset = None;
    }
    temporal::to_value(&local, to).map_err(|_| {
        SqlError::new(
            242,
            format!(
                "The conversion of a {} data type to a {} data type resulted in an out-of-range value.",
                from.name(),
                to.name()
            ),
        )
    })
}

// ---------------------------------------------------------------------------
// numbers
// ---------------------------------------------------------------------------

/// A number's exact decimal digits: sign, integer digits and fraction digits.
#[derive(Debug)]
pub struct DecimalText {
    negative: bool,
    int_digits: String,
    frac_digits: String,
}

impl DecimalText {
    /// The unscaled value at `scale`, rounded half away from zero; `None` beyond i128/38 digits.
    pub fn round_to(&self, scale: u8) -> Option<i128> {
        let scale = scale as usize;
        let mut digits = self.int_digits.trim_start_matches('0').to_string();
        let frac: String = self.frac_digits.chars().chain(std::iter::repeat('0')).take(scale).collect();
        digits.push_str(&frac);
        if digits.len() > 38 {
            return None;
        }
        let mut u: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        if self.frac_digits.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
            u += 1;
        }
        Some(if self.negative { -u } else { u })
    }

    /// Digits before the point (without leading zeros) and after it, for literal typing.
    pub fn precision_scale(&self) -> (usize, usize) {
        (self.int_digits.trim_start_matches('0').len(), self.frac_digits.len())
    }
}

/// Parses `[+-]digits[.digits]` (either side may be empty, not both).
pub fn parse_decimal_text(t: &str) -> Option<DecimalText> {
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (i, f) = rest.split_once('.').unwrap_or((rest, ""));
    if (i.is_empty() && f.is_empty()) || !i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(DecimalText { negative, int_digits: i.to_string(), frac_digits: f.to_string() })
}

/// Money text: optional currency sign and sign, digits with thousands separators.
fn parse_money_text(t: &str) -> Option<DecimalText> {
    let mut s = t.to_string();
    let mut negative = false;
    for _ in 0..2 {
        if let Some(r) = s.strip_prefix('-') {
            negative = !negative;
            s = r.trim_start().to_string();
        } else if let Some(r) = s.strip_prefix('+') {
            s = r.trim_start().to_string();
        }
        if let Some(r) = s.strip_prefix('$') {
            s = r.trim_start().to_string();
        }
    }
    let (i, f) = s.split_once('.').unwrap_or((&s, ""));
    let i: String = i.chars().filter(|c| *c != ',').collect();
    let mut d = parse_decimal_text(&format!("{i}.{f}"))?;
    d.negative = negative;
    Some(d)
}

/// Rescales an unscaled value, rounding half away from zero; `None` on i128 overflow.
pub fn round_scaled(u: i128, from: u8, to: u8) -> Option<i128> {
    if to >= from {
        return u.checked_mul(10i128.checked_pow((to - from) as u32)?);
    }
    let div = 10i128.pow((from - to) as u32);
    let q = u / div;
    let r = (u % div).abs();
    Some(if r * 2 >= div { q + u.signum() } else { q })
}

/// Truncates toward zero when dropping the scale (decimal -> int).
fn truncate_scaled(u: i128, from: u8) -> i128 {
    u / 10i128.pow(from as u32)
}

/// A decimal's text: `-0.05` for (-5, 2), digits before the point always.
pub fn format_decimal(u: i128, scale: u8) -> String {
    DecimalString::new(u, scale).as_str().to_string()
}

/// The longest decimal text: a sign, a point and up to 256 digits (a u128's 39, or the scale's
/// zeros and one before the point).
const DECIMAL_STRING_MAX: usize = 258;

/// `format_decimal`'s text, written on the stack: a bulk load stores a million of them, and
/// `format!` cost a thousand instructions each.
pub struct DecimalString {
    text: [u8; DECIMAL_STRING_MAX],
    /// Where the text starts: it is written from the end, last digit first
    start: usize,
}

impl DecimalString {
    pub fn new(u: i128, scale: u8) -> DecimalString {
        let scale = scale as usize;
        let mut text = DecimalString { text: [0; DECIMAL_STRING_MAX], start: DECIMAL_STRING_MAX };
        let mut written = 0;
        let mut magnitude = u.unsigned_abs();
        // u128 division is slow: it only takes the digits beyond a u64's
        while magnitude > u64::MAX as u128 {
            text.push_digit((magnitude % 10) as u8, &mut written, scale);
            magnitude /= 10;
        }
        let mut rest = magnitude as u64;
        loop {
            text.push_digit((rest % 10) as u8, &mut written, scale);
            rest /= 10;
            if rest == 0 && written > scale {
                break;
            }
        }
        if u < 0 {
            text.push(b'-');
        }
        text
    }

    /// Writes the next digit to the left, after the point once the scale's digits are written.
    fn push_digit(&mut self, digit: u8, written: &mut usize, scale: usize) {
        if *written == scale && scale > 0 {
            self.push(b'.');
        }
        self.push(b'0' + digit);
        *written += 1;
    }

    fn push(&mut self, byte: u8) {
        self.start -= 1;
        self.text[self.start] = byte;
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[self.start..]).expect("digits, a point and a sign are ASCII")
    }
}

fn money_value(u: i128, to: &SqlType) -> Option<Value> {
    let (lo, hi) = if *to == SqlType::SmallMoney { (SMALLMONEY_MIN, SMALLMONEY_MAX) } else { (MONEY_MIN, MONEY_MAX) };
    (lo..=hi).contains(&u).then_some(Value::Money(u as i64))
}

/// A number as (unscaled, scale), or a float.
enum Num {
    Exact(i128, u8),
    Approx(f64),
}

fn as_num(value: &Value) -> Option<Num> {
    Some(match value {
        Value::Bool(b) => Num::Exact(*b as i128, 0),
        Value::Int(i) => Num::Exact(*i as i128, 0),
        Value::Decimal(u, s) => Num::Exact(*u, *s),
        Value::Money(m) => Num::Exact(*m as i128, 4),
        Value::Float(f) => Num::Approx(*f),
        _ => return None,
    })
}

/// The decimal text of a float's shortest round-trip representation.
fn float_text(f: f64) -> DecimalText {
    let e = format!("{:e}", f.abs()); // e.g. "1.5e308"
    let (mant, exp) = e.split_once('e').expect("exponent form");
    let exp: i64 = exp.parse().expect("exponent");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let point = 1 + exp; // position of the decimal point within `digits`
    let (int_digits, frac_digits) = if point <= 0 {
        (String::new(), format!("{}{digits}", "0".repeat((-point) as usize)))
    } else if point as usize >= digits.len() {
        (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
    } else {
        (digits[..point as usize].to_string(), digits[point as usize..].to_string())
    };
    DecimalText { negative: f < 0.0, int_digits, frac_digits }
}

/// Binary fraction digits of a finite float (its exact decimal expansion has as many).
fn binary_fraction_digits(f: f64) -> usize {
    let mut x = f.abs().fract();
    let mut n = 0;
    while x != 0.0 {
        x = (x * 2.0).fract(); // exact: doubling a float never rounds
        n += 1;
    }
    n
}

/// A float at `scale` decimals, rounded half away from zero. Where the float is not
/// exactly its shortest decimal form, the digits SQL Server derives from the binary
/// value could differ (beyond 15 significant digits, or at a rounding tie), so those
/// conversions are refused rather than guessed.
fn float_to_scaled(f: f64, scale: u8, from: &SqlType, to: &SqlType) -> Result<Option<i128>, SqlError> {
    let text = float_text(f);
    let exact = binary_fraction_digits(f) <= text.frac_digits.len();
    if !exact {
        let significant = text.int_digits.trim_start_matches('0').len() + scale as usize;
        let rest = text.frac_digits.get(scale as usize..).unwrap_or("");
        let tie = rest.starts_with('5') && rest[1..].bytes().all(|b| b == b'0');
        if significant > 15 || tie {
            return Err(SqlError::not_supported(format!(
                "Converting the {} value {f:e} to {} (its binary digits decide the result)",
                from.name(),
                to.declaration()
            )));
        }
    }
    Ok(text.round_to(scale))
}

fn numeric_convert(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    let num = as_num(value).ok_or_else(|| internal(value, from))?;
    match to {
        SqlType::Bit => Ok(Value::Bool(match num {
            Num::Exact(u, _) => u != 0,
            Num::Approx(f) => f != 0.0,
        })),
        _ if to.is_integer() => {
            let v: i128 = match num {
                // money rounds to the nearest integer, decimal truncates
                Num::Exact(u, 4) if from.is_money() => round_scaled(u, 4, 0).ok_or_else(|| overflow(from, to))?,
                Num::Exact(u, s) => truncate_scaled(u, s),
                Num::Approx(f) => {
                    let t = f.trunc();
                    if t.abs() >= 1.8e19 {
                        return Err(overflow(from, to));
                    }
                    t as i128
                }
            };
            let (lo, hi) = int_range(to);
            if v < lo as i128 || v > hi as i128 {
                if from.is_integer() || *from == SqlType::Bit {
                    return Err(SqlError::new(
                        220,
                        format!("Arithmetic overflow error for data type {}, value = {v}.", to.name()),
                    ));
                }
                return Err(overflow(from, to));
            }
            Ok(Value::Int(v as i64))
        }
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            let u = match num {
                Num::Exact(u, s) => round_scaled(u, s, *scale),
                Num::Approx(f) => float_to_scaled(f, *scale, from, to)?,
            };
            let u = u.filter(|u| fits_precision(*u, *precision)).ok_or_else(|| overflow(from, to))?;
            Ok(Value::Decimal(u, *scale))
        }
        SqlType::Money | SqlType::SmallMoney => {
            let u = match num {
                Num::Exact(u, s) => round_scaled(u, s, 4),
                Num::Approx(f) => float_to_scaled(f, 4, from, to)?,
            };
            u.and_then(|u| money_value(u, to)).ok_or_else(|| overflow(from, to))
        }
        SqlType::Float | SqlType::Real => {
            let f = match num {
                Num::Exact(u, s) => format_decimal(u, s).parse::<f64>().map_err(|_| internal(value, from))?,
                Num::Approx(f) => f,
            };
            // real narrows the float (double precision) value, as for strings
            let f = if *to == SqlType::Real { f as f32 as f64 } else { f };
            if f.is_infinite() {
                return Err(overflow(from, to));
            }
            Ok(Value::Float(f))
        }
        _ => Err(not_allowed(from, to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parser::NOT_SUPPORTED_NUMBER;

    fn cast(s: &str, to: SqlType) -> Result<Value, SqlError> {
        convert(&Value::Str(s.into()), &SqlType::VarChar(Some(100)), &to)
    }

    #[test]
    fn values_converted_unchanged_are_the_conversions_result() {
        use SqlType::*;
        let cases = [
            (Value::Str("abc".into()), VarChar(Some(3)), VarChar(Some(3)), true),
            (Value::Str("abcd".into()), VarChar(Some(3)), VarChar(Some(3)), false),
            (Value::Str("é".into()), NVarChar(Some(5)), VarChar(Some(5)), false),
            (Value::Str("😀é".into()), NVarChar(Some(3)), NVarChar(Some(3)), true),
            (Value::Str("😀😀".into()), NVarChar(Some(3)), NVarChar(Some(3)), false),
            (Value::Str("ab".into()), NVarChar(None), NChar(2), false),
            (Value::Int(255), TinyInt, TinyInt, true),
            (Value::Int(256), TinyInt, TinyInt, false),
            (Value::Int(7), Int, BigInt, false),
            (Value::Bool(true), Bit, Bit, true),
            (Value::Float(0.1), SqlType::Float, SqlType::Float, true),
            (Value::Float(f64::INFINITY), SqlType::Float, SqlType::Float, false),
            (Value::Decimal(99_999, 2), Decimal { precision: 5, scale: 2 }, Decimal { precision: 5, scale: 2 }, true),
            (Value::Decimal(100_000, 2), Decimal { precision: 5, scale: 2 }, Decimal { precision: 5, scale: 2 }, false),
            (Value::Date(MAX_DAYS as u32), Date, Date, true),
            (Value::Date(MAX_DAYS as u32 + 1), Date, Date, false),
            (Value::DateTime2 { days: 5, ticks: 1_230_000 }, DateTime2(3), DateTime2(3), true),
            (Value::DateTime2 { days: 5, ticks: 1_234_567 }, DateTime2(3), DateTime2(3), false),
            (Value::Guid([7; 16]), UniqueIdentifier, UniqueIdentifier, true),
        ];
        for (value, from, to, unchanged) in cases {
            assert_eq!(converts_unchanged(&value, &from, &to), unchanged, "{value:?} {from:?} -> {to:?}");
            if unchanged {
                assert_eq!(convert(&value, &from, &to), Ok(value.clone()), "{value:?} {from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn string_to_numbers() {
        assert_eq!(cast(" 42 ", SqlType::Int), Ok(Value::Int(42)));
        assert_eq!(cast("", SqlType::Int), Ok(Value::Int(0)));
        assert_eq!(cast("1.5", SqlType::Int).unwrap_err().number, 245);
        assert_eq!(cast("256", SqlType::TinyInt).unwrap_err().number, 248);
        assert_eq!(cast("1.005", SqlType::Decimal { precision: 5, scale: 2 }), Ok(Value::Decimal(101, 2)));
        assert_eq!(cast("-1.005", SqlType::Decimal { precision: 5, scale: 2 }), Ok(Value::Decimal(-101, 2)));
        assert_eq!(cast("1000", SqlType::Decimal { precision: 5, scale: 2 }).unwrap_err().number, 8115);
        assert_eq!(cast("$1,234.56785", SqlType::Money), Ok(Value::Money(12_345_679)));
        assert_eq!(cast("1.5E308", SqlType::Float), Ok(Value::Float(1.5e308)));
        assert_eq!(cast("abc", SqlType::Float).unwrap_err().number, 8114);
        assert_eq!(cast("", SqlType::Float), Ok(Value::Float(0.0)));
        assert_eq!(cast(" ", SqlType::Money), Ok(Value::Money(0)));
        assert_eq!(cast("", SqlType::DateTime), Ok(Value::DateTime { days: 0, ticks: 0 }));
        assert_eq!(cast(" 10 ", SqlType::Bit), Ok(Value::Bool(true)));
        assert_eq!(cast("1.5", SqlType::Bit).unwrap_err().number, 245);
    }

    #[test]
    fn numeric_conversions_round_as_sql_server() {
        let d = SqlType::Decimal { precision: 10, scale: 3 };
        assert_eq!(convert(&Value::Decimal(-2_5005, 3), &d, &SqlType::Int), Ok(Value::Int(-25)));
        assert_eq!(convert(&Value::Money(2_5000), &SqlType::Money, &SqlType::Int), Ok(Value::Int(3)));
        assert_eq!(convert(&Value::Int(300), &SqlType::Int, &SqlType::TinyInt).unwrap_err().number, 220);
        let d52 = SqlType::Decimal { precision: 5, scale: 2 };
        // 0.125 is exact in binary: the tie rounds away from zero
        assert_eq!(convert(&Value::Float(0.125), &SqlType::Float, &d52), Ok(Value::Decimal(13, 2)));
        assert_eq!(convert(&Value::Float(0.1), &SqlType::Float, &d52), Ok(Value::Decimal(10, 2)));
        // 2.675 is 2.67499999... in binary: a tie in its shortest form is refused, as are
        // scales reaching the binary expansion
        assert_eq!(convert(&Value::Float(2.675), &SqlType::Float, &d52).unwrap_err().number, NOT_SUPPORTED_NUMBER);
        let d38_30 = SqlType::Decimal { precision: 38, scale: 30 };
        assert_eq!(convert(&Value::Float(0.1), &SqlType::Float, &d38_30).unwrap_err().number, NOT_SUPPORTED_NUMBER);
        assert_eq!(convert(&Value::Float(1.5), &SqlType::Float, &d38_30), Ok(Value::Decimal(15 * 10i128.pow(29), 30)));
    }

    #[test]
    fn strings_pad_and_truncate() {
        assert_eq!(cast("ab", SqlType::Char(4)), Ok(Value::Str("ab  ".into())));
        assert_eq!(cast("abcdef", SqlType::VarChar(Some(3))), Ok(Value::Str("abc".into())));
        assert_eq!(cast("ab", SqlType::Binary(3)), Ok(Value::Bytes(vec![b'a', b'b', 0])));
        assert_eq!(convert(&Value::Int(12345), &SqlType::Int, &SqlType::VarChar(Some(3))), Ok(Value::Str("*".into())));
        assert_eq!(format_decimal(-5, 2), "-0.05");
    }

    #[test]
    fn decimals_format_with_their_scale() {
        let cases: [(i128, u8, &str); 9] = [
            (0, 0, "0"),
            (0, 3, "0.000"),
            (7, 0, "7"),
            (123_400, 4, "12.3400"),
            (-123_400, 4, "-12.3400"),
            (-5, 2, "-0.05"),
            (10i128.pow(38) - 1, 38, "0.99999999999999999999999999999999999999"),
            (-(10i128.pow(38) - 1), 0, "-99999999999999999999999999999999999999"),
            (i128::MIN, 2, "-1701411834604692317316873037158841057.28"),
        ];
        for (u, scale, text) in cases {
            assert_eq!(format_decimal(u, scale), text, "({u}, {scale})");
        }
        assert_eq!(format_decimal(1, 255), format!("0.{}1", "0".repeat(254)));
    }

    #[test]
    fn xml_passes_only_text_sql_server_keeps() {
        let xml = SqlType::Xml;
        let keep = ["", "<root><item id=\"1\">text</item></root>", "<a>x &lt; y</a>", "plain"];
        for k in keep {
            assert_eq!(cast(k, xml.clone()), Ok(Value::Str(k.into())), "{k}");
        }
        let rewritten = [
            "<a/>",
            "<a></a>",
            "<a x='1'>t</a>",
            "<?xml version=\"1.0\"?><a>t</a>",
            "<a> </a><b>t</b>",
            "<a>t</b>",
            "<a>t",
            "<a>&#65;</a>",
        ];
        for r in rewritten {
            assert_eq!(cast(r, xml.clone()).unwrap_err().number, NOT_SUPPORTED_NUMBER, "{r}");
        }
    }

    #[test]
    fn float_to_string_style_0() {
        let text = |f: f64| convert(&Value::Float(f), &SqlType::Float, &SqlType::VarChar(Some(30))).unwrap();
        let cases = [
            (123456789.0, "1.23457e+008"),
            (1495591.0, "1.49559e+006"),
            (4.76758527755737, "4.76759"),
            (1.5, "1.5"),
            (-2.0, "-2"),
            (100000.0, "100000"),
            (1000000.0, "1e+006"),
            (0.0001, "0.0001"),
            (0.00001234567, "1.23457e-005"),
            (1.79e308, "1.79e+308"),
            (0.0, "0"),
            (1.23456789, "1.23457"),
        ];
        for (f, expected) in cases {
            assert_eq!(text(f), Value::Str(expected.into()), "{f}");
        }
    }

    #[test]
    fn guid_text_round_trip() {
        let g = cast("6F9619FF-8B86-D011-B42D-00C04FC964FF", SqlType::UniqueIdentifier).unwrap();
        let Value::Guid(bytes) = g else { panic!("not a guid") };
        assert_eq!(format_guid(&bytes), "6F9619FF-8B86-D011-B42D-00C04FC964FF");
        assert_eq!(cast("nope", SqlType::UniqueIdentifier).unwrap_err().number, 8169);
    }
}
