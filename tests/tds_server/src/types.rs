//! SQL Server's type system on the wire: TYPE_INFO and value encodings for
//! COLMETADATA / ROW / NBCROW / RETURNVALUE, and their decoding for RPC parameters
//! (MS-TDS 2.2.5.4 - 2.2.5.6, 2.2.7.4, 2.2.7.17, 2.2.7.19).

use std::fmt;

use crate::value::Value;

/// A declared SQL Server type. `None` length on the var types means `(max)`.
/// Lengths are in characters for char/varchar/nchar/nvarchar and bytes for binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Numeric {
        precision: u8,
        scale: u8,
    },
    Money,
    SmallMoney,
    Char(u16),
    VarChar(Option<u16>),
    NChar(u16),
    NVarChar(Option<u16>),
    Text,
    NText,
    Binary(u16),
    VarBinary(Option<u16>),
    Image,
    Date,
    Time(u8),
    DateTime,
    SmallDateTime,
    DateTime2(u8),
    DateTimeOffset(u8),
    UniqueIdentifier,
    Xml,
    SqlVariant,
    /// NULLTYPE (0x1F): an untyped NULL a client may send as an RPC parameter (2.2.5.4.1);
    /// never a column's type, SQL Server never sends it
    Null,
}

impl SqlType {
    /// The type's name as SQL Server spells it in messages.
    pub fn name(&self) -> &'static str {
        match self {
            SqlType::Bit => "bit",
            SqlType::TinyInt => "tinyint",
            SqlType::SmallInt => "smallint",
            SqlType::Int => "int",
            SqlType::BigInt => "bigint",
            SqlType::Real => "real",
            SqlType::Float => "float",
            SqlType::Decimal { .. } => "decimal",
            SqlType::Numeric { .. } => "numeric",
            SqlType::Money => "money",
            SqlType::SmallMoney => "smallmoney",
            SqlType::Char(_) => "char",
            SqlType::VarChar(_) => "varchar",
            SqlType::NChar(_) => "nchar",
            SqlType::NVarChar(_) => "nvarchar",
            SqlType::Text => "text",
            SqlType::NText => "ntext",
            SqlType::Binary(_) => "binary",
            SqlType::VarBinary(_) => "varbinary",
            SqlType::Image => "image",
            SqlType::Date => "date",
            SqlType::Time(_) => "time",
            SqlType::DateTime => "datetime",
            SqlType::SmallDateTime => "smalldatetime",
            SqlType::DateTime2(_) => "datetime2",
            SqlType::DateTimeOffset(_) => "datetimeoffset",
            SqlType::UniqueIdentifier => "uniqueidentifier",
            SqlType::Xml => "xml",
            SqlType::SqlVariant => "sql_variant",
            SqlType::Null => "NULL",
        }
    }

    /// char, varchar, nchar, nvarchar, text, ntext
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::Char(_)
                | SqlType::VarChar(_)
                | SqlType::NChar(_)
                | SqlType::NVarChar(_)
                | SqlType::Text
                | SqlType::NText
        )
    }

    /// Types whose text is UTF-16 on the wire.
    pub fn is_unicode(&self) -> bool {
        matches!(self, SqlType::NChar(_) | SqlType::NVarChar(_) | SqlType::NText | SqlType::Xml)
    }

    pub fn is_binary(&self) -> bool {
        matches!(self, SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Image)
    }

    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            SqlType::Date
                | SqlType::Time(_)
                | SqlType::DateTime
                | SqlType::SmallDateTime
                | SqlType::DateTime2(_)
                | SqlType::DateTimeOffset(_)
        )
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt)
    }

    pub fn is_decimal(&self) -> bool {
        matches!(self, SqlType::Decimal { .. } | SqlType::Numeric { .. })
    }

    pub fn is_money(&self) -> bool {
        matches!(self, SqlType::Money | SqlType::SmallMoney)
    }

    /// bit, the integers, decimal/numeric, money, real and float
    pub fn is_number(&self) -> bool {
        self.is_integer()
            || self.is_decimal()
            || self.is_money()
            || matches!(self, SqlType::Real | SqlType::Float | SqlType::Bit)
    }

    /// The full declaration, e.g. `decimal(10,2)`, `nvarchar(max)`.
    pub fn declaration(&self) -> String {
        let len = |n: &Option<u16>| n.map_or("max".to_string(), |n| n.to_string());
        match self {
            SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
                format!("{}({precision},{scale})", self.name())
            }
            SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => format!("{}({n})", self.name()),
            SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => {
                format!("{}({})", self.name(), len(n))
            }
            SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => format!("{}({s})", self.name()),
            _ => self.name().to_string(),
        }
    }
}

/// One result column as COLMETADATA describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    pub updatable: bool,
    pub identity: bool,
    /// fComputed: the column is an expression, as every column of a table-less SELECT is
    pub computed: bool,
}

/// The server's default collation SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags
/// case-insensitive/accent-sensitive, SortId 52 (a SQL collation), code page 1252.
pub const DEFAULT_COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// Size of the PLP chunks the server writes, as SQL Server does for (max) values.
pub const PLP_CHUNK_SIZE: usize = 8000;

const PLP_NULL: u64 = 0xFFFF_FFFF_FFFF_FFFF;
const UNKNOWN_PLP_LEN: u64 = 0xFFFF_FFFF_FFFF_FFFE;
const CHARBIN_NULL: u16 = 0xFFFF;
const TEXT_NULL: u32 = 0xFFFF_FFFF;
/// Max lengths SQL Server announces for text/image and ntext columns.
const TEXT_MAX_LEN: u32 = 0x7FFF_FFFF;
const NTEXT_MAX_LEN: u32 = 0x7FFF_FFFE;
/// sql_variant's announced max length (2.2.5.4.3).
const VARIANT_MAX_LEN: u32 = 8009;
/// Text pointer and timestamp SQL Server puts before each non-NULL text/ntext/image value.
const TEXT_POINTER: [u8; 16] =
    [0x64, 0x75, 0x6d, 0x6d, 0x79, 0x20, 0x74, 0x65, 0x78, 0x74, 0x70, 0x74, 0x72, 0x00, 0x00, 0x00];
const TEXT_TIMESTAMP: [u8; 8] = [0x64, 0x75, 0x6d, 0x6d, 0x79, 0x54, 0x53, 0x00];

// TDS data type tokens (2.2.5.4) of the types this server sends and reads; the legacy
// pre-7.x ones (CHAR, VARCHAR, ...) are left out, TDS 7.4 clients do not send them.
pub mod token {
    pub const NULLTYPE: u8 = 0x1F;
    pub const INT1: u8 = 0x30;
    pub const BIT: u8 = 0x32;
    pub const INT2: u8 = 0x34;
    pub const INT4: u8 = 0x38;
    pub const DATETIM4: u8 = 0x3A;
    pub const FLT4: u8 = 0x3B;
    pub const MONEY: u8 = 0x3C;
    pub const DATETIME: u8 = 0x3D;
    pub const FLT8: u8 = 0x3E;
    pub const MONEY4: u8 = 0x7A;
    pub const INT8: u8 = 0x7F;
    pub const GUID: u8 = 0x24;
    pub const INTN: u8 = 0x26;
    pub const BITN: u8 = 0x68;
    pub const DECIMALN: u8 = 0x6A;
    pub const NUMERICN: u8 = 0x6C;
    pub const FLTN: u8 = 0x6D;
    pub const MONEYN: u8 = 0x6E;
    pub const DATETIMN: u8 = 0x6F;
    pub const DATEN: u8 = 0x28;
    pub const TIMEN: u8 = 0x29;
    pub const DATETIME2N: u8 = 0x2A;
    pub const DATETIMEOFFSETN: u8 = 0x2B;
    pub const BIGVARBINARY: u8 = 0xA5;
    pub const BIGVARCHAR: u8 = 0xA7;
    pub const BIGBINARY: u8 = 0xAD;
    pub const BIGCHAR: u8 = 0xAF;
    pub const NVARCHAR: u8 = 0xE7;
    pub const NCHAR: u8 = 0xEF;
    pub const XML: u8 = 0xF1;
    pub const TEXT: u8 = 0x23;
    pub const IMAGE: u8 = 0x22;
    pub const NTEXT: u8 = 0x63;
    pub const SSVARIANT: u8 = 0x62;
}

/// Column flag bits of COLMETADATA (2.2.7.4).
pub const FLAG_NULLABLE: u16 = 0x0001;
pub const FLAG_CASE_SENSITIVE: u16 = 0x0002;
/// usUpdateable = 2 ("unknown").
pub const FLAG_UPDATABLE: u16 = 0x0008;
pub const FLAG_IDENTITY: u16 = 0x0010;
pub const FLAG_COMPUTED: u16 = 0x0020;

/// Appends a COLMETADATA token (0x81) for `cols`.
pub fn write_colmetadata(out: &mut Vec<u8>, cols: &[ColumnDef]) {
    out.push(0x81);
    out.extend_from_slice(&(cols.len() as u16).to_le_bytes());
    for col in cols {
        out.extend_from_slice(&0u32.to_le_bytes()); // UserType
        out.extend_from_slice(&column_flags(col).to_le_bytes());
        write_type_info(out, &col.ty, col.nullable);
        if matches!(col.ty, SqlType::Text | SqlType::NText | SqlType::Image) {
            out.push(0); // TableName: no parts for an expression column
        }
        write_b_varchar(out, &col.name);
    }
}

fn column_flags(col: &ColumnDef) -> u16 {
    let mut flags = 0;
    if col.nullable {
        flags |= FLAG_NULLABLE;
    }
    if col.ty == SqlType::Xml {
        flags |= FLAG_CASE_SENSITIVE; // 2.2.7.4: always set for xml
    }
    if col.updatable {
        flags |= FLAG_UPDATABLE;
    }
    if col.identity {
        flags |= FLAG_IDENTITY;
    }
    if col.computed {
        flags |= FLAG_COMPUTED;
    }
    flags
}

/// Appends a B_VARCHAR (length in UTF-16 code units, then UTF-16LE).
pub fn write_b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    out.push(units.len() as u8);
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

/// Appends one ROW (0xD1) or NBCROW (0xD2) token, whichever is shorter, as SQL Server does.
pub fn write_row(out: &mut Vec<u8>, cols: &[ColumnDef], row: &[Value]) -> Result<(), String> {
    if cols.len() != row.len() {
        return Err(format!("row has {} values for {} columns", row.len(), cols.len()));
    }
    let mut all = Vec::new();
    let mut non_null = Vec::new();
    let mut bitmap = vec![0u8; cols.len().div_ceil(8)];
    for (i, (col, v)) in cols.iter().zip(row).enumerate() {
        let start = all.len();
        write_column_data(&mut all, &col.ty, col.nullable, v)?;
        if v.is_null() {
            bitmap[i / 8] |= 1 << (i % 8);
        } else {
            non_null.extend_from_slice(&all[start..]);
        }
    }
    if bitmap.len() + non_null.len() < all.len() {
        out.push(0xD2);
        out.extend_from_slice(&bitmap);
        out.extend_from_slice(&non_null);
    } else {
        out.push(0xD1);
        out.extend_from_slice(&all);
    }
    Ok(())
}

/// ColumnData of a ROW: the value, preceded by text pointer and timestamp for
/// non-NULL text/ntext/image.
fn write_column_data(out: &mut Vec<u8>, ty: &SqlType, nullable: bool, v: &Value) -> Result<(), String> {
    if matches!(ty, SqlType::Text | SqlType::NText | SqlType::Image) {
        if v.is_null() {
            if !nullable {
                return Err(null_in_not_null(ty));
            }
            out.push(0); // TextPointer of length 0, nothing else
            return Ok(());
        }
        out.push(TEXT_POINTER.len() as u8);
        out.extend_from_slice(&TEXT_POINTER);
        out.extend_from_slice(&TEXT_TIMESTAMP);
    }
    write_value(out, ty, nullable, v)
}

/// Appends TYPE_INFO for `ty` (as used in COLMETADATA and RETURNVALUE).
pub fn write_type_info(out: &mut Vec<u8>, ty: &SqlType, nullable: bool) {
    use token::*;
    match ty {
        SqlType::Bit => fixed_or_n(out, nullable, BIT, BITN, 1),
        SqlType::TinyInt => fixed_or_n(out, nullable, INT1, INTN, 1),
        SqlType::SmallInt => fixed_or_n(out, nullable, INT2, INTN, 2),
        SqlType::Int => fixed_or_n(out, nullable, INT4, INTN, 4),
        SqlType::BigInt => fixed_or_n(out, nullable, INT8, INTN, 8),
        SqlType::Real => fixed_or_n(out, nullable, FLT4, FLTN, 4),
        SqlType::Float => fixed_or_n(out, nullable, FLT8, FLTN, 8),
        SqlType::Money => fixed_or_n(out, nullable, MONEY, MONEYN, 8),
        SqlType::SmallMoney => fixed_or_n(out, nullable, MONEY4, MONEYN, 4),
        SqlType::DateTime => fixed_or_n(out, nullable, DATETIME, DATETIMN, 8),
        SqlType::SmallDateTime => fixed_or_n(out, nullable, DATETIM4, DATETIMN, 4),
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            let tok = if matches!(ty, SqlType::Decimal { .. }) { DECIMALN } else { NUMERICN };
            out.extend_from_slice(&[tok, 1 + decimal_magnitude_len(*precision) as u8, *precision, *scale]);
        }
        SqlType::Char(n) => ushort_type(out, BIGCHAR, *n, true),
        SqlType::VarChar(n) => ushort_type(out, BIGVARCHAR, n.unwrap_or(0xFFFF), true),
        SqlType::NChar(n) => ushort_type(out, NCHAR, n.saturating_mul(2), true),
        SqlType::NVarChar(n) => ushort_type(out, NVARCHAR, n.map_or(0xFFFF, |n| n.saturating_mul(2)), true),
        SqlType::Binary(n) => ushort_type(out, BIGBINARY, *n, false),
        SqlType::VarBinary(n) => ushort_type(out, BIGVARBINARY, n.unwrap_or(0xFFFF), false),
        SqlType::Text => long_type(out, TEXT, TEXT_MAX_LEN, true),
        SqlType::NText => long_type(out, NTEXT, NTEXT_MAX_LEN, true),
        SqlType::Image => long_type(out, IMAGE, TEXT_MAX_LEN, false),
        SqlType::SqlVariant => long_type(out, SSVARIANT, VARIANT_MAX_LEN, false),
        SqlType::Date => out.push(DATEN),
        SqlType::Time(s) => out.extend_from_slice(&[TIMEN, *s]),
        SqlType::DateTime2(s) => out.extend_from_slice(&[DATETIME2N, *s]),
        SqlType::DateTimeOffset(s) => out.extend_from_slice(&[DATETIMEOFFSETN, *s]),
        SqlType::UniqueIdentifier => out.extend_from_slice(&[GUID, 16]),
        SqlType::Xml => out.extend_from_slice(&[XML, 0]), // no schema collection
        SqlType::Null => out.push(NULLTYPE),
    }
}

fn fixed_or_n(out: &mut Vec<u8>, nullable: bool, fixed: u8, n_type: u8, len: u8) {
    if nullable {
        out.extend_from_slice(&[n_type, len]);
    } else {
        out.push(fixed);
    }
}

fn ushort_type(out: &mut Vec<u8>, tok: u8, len: u16, collation: bool) {
    out.push(tok);
    out.extend_from_slice(&len.to_le_bytes());
    if collation {
        out.extend_from_slice(&DEFAULT_COLLATION);
    }
}

fn long_type(out: &mut Vec<u8>, tok: u8, len: u32, collation: bool) {
    out.push(tok);
    out.extend_from_slice(&len.to_le_bytes());
    if collation {
        out.extend_from_slice(&DEFAULT_COLLATION);
    }
}

/// Bytes of the magnitude of a decimal of precision `p` (2.2.5.5.1.6).
pub fn decimal_magnitude_len(precision: u8) -> usize {
    match precision {
        0..=9 => 4,
        10..=19 => 8,
        20..=28 => 12,
        _ => 16,
    }
}

/// Whether an unscaled decimal has at most `precision` (1-38) digits.
pub fn fits_precision(u: i128, precision: u8) -> bool {
    precision <= 38 && 10u128.checked_pow(precision as u32).is_some_and(|limit| u.unsigned_abs() < limit)
}

/// Bytes of a time(n) value (2.2.5.5.1.8).
pub fn time_len(scale: u8) -> usize {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

fn is_plp(ty: &SqlType) -> bool {
    matches!(ty, SqlType::VarChar(None) | SqlType::NVarChar(None) | SqlType::VarBinary(None) | SqlType::Xml)
}

fn null_in_not_null(ty: &SqlType) -> String {
    format!("NULL value for a NOT NULL column of type {ty:?}")
}

fn mismatch(ty: &SqlType, v: &Value) -> String {
    format!("value {v:?} does not fit a column of type {ty:?}")
}

/// Appends the value encoding of `v` for a column of type `ty` (TYPE_VARBYTE / PLP / fixed).
/// For text/ntext/image this is the length and data only; ROW adds the text pointer.
pub fn write_value(out: &mut Vec<u8>, ty: &SqlType, nullable: bool, v: &Value) -> Result<(), String> {
    if v.is_null() {
        if !nullable {
            return Err(null_in_not_null(ty));
        }
        write_null(out, ty);
        return Ok(());
    }
    let fixed = !nullable && fixed_len(ty).is_some();
    let data = encode_data(ty, v)?;
    if is_plp(ty) {
        write_plp(out, &data);
        return Ok(());
    }
    match ty {
        SqlType::Char(_)
        | SqlType::VarChar(_)
        | SqlType::NChar(_)
        | SqlType::NVarChar(_)
        | SqlType::Binary(_)
        | SqlType::VarBinary(_) => {
            let max = ushort_max_bytes(ty);
            if data.len() > max {
                return Err(format!("{} bytes exceed the column length of {ty:?}", data.len()));
            }
            out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        }
        SqlType::Text | SqlType::NText | SqlType::Image | SqlType::SqlVariant => {
            let len = u32::try_from(data.len()).map_err(|_| format!("value too long for {ty:?}"))?;
            out.extend_from_slice(&len.to_le_bytes());
        }
        _ if fixed => {}
        _ => out.push(data.len() as u8),
    }
    out.extend_from_slice(&data);
    Ok(())
}

/// Byte capacity of a USHORTLEN type's declared length.
fn ushort_max_bytes(ty: &SqlType) -> usize {
    match ty {
        SqlType::Char(n) | SqlType::Binary(n) | SqlType::VarChar(Some(n)) | SqlType::VarBinary(Some(n)) => *n as usize,
        SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => *n as usize * 2,
        _ => usize::MAX,
    }
}

/// Length of the fixed-length wire types (the NOT NULL forms).
fn fixed_len(ty: &SqlType) -> Option<usize> {
    Some(match ty {
        SqlType::Bit | SqlType::TinyInt => 1,
        SqlType::SmallInt => 2,
        SqlType::Int | SqlType::Real | SqlType::SmallMoney | SqlType::SmallDateTime => 4,
        SqlType::BigInt | SqlType::Float | SqlType::Money | SqlType::DateTime => 8,
        _ => return None,
    })
}

fn write_null(out: &mut Vec<u8>, ty: &SqlType) {
    if is_plp(ty) {
        out.extend_from_slice(&PLP_NULL.to_le_bytes());
        return;
    }
    match ty {
        SqlType::Char(_)
        | SqlType::VarChar(_)
        | SqlType::NChar(_)
        | SqlType::NVarChar(_)
        | SqlType::Binary(_)
        | SqlType::VarBinary(_) => out.extend_from_slice(&CHARBIN_NULL.to_le_bytes()),
        SqlType::Text | SqlType::NText | SqlType::Image => out.extend_from_slice(&TEXT_NULL.to_le_bytes()),
        SqlType::SqlVariant => out.extend_from_slice(&0u32.to_le_bytes()),
        SqlType::Null => {} // NULLTYPE has no data
        _ => out.push(0),
    }
}

/// PLP_BODY with known total length, in chunks of `PLP_CHUNK_SIZE`.
fn write_plp(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for chunk in data.chunks(PLP_CHUNK_SIZE) {
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
}

/// Encodes a varchar/char/text value in the default collation's code page (1252).
pub fn encode_cp1252(s: &str) -> Result<Vec<u8>, String> {
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_1252.encode(s);
    if had_errors {
        let bad = s.chars().find(|c| encoding_rs::WINDOWS_1252.encode(&c.to_string()).2).unwrap_or('\u{FFFD}');
        return Err(format!("character {bad:?} (U+{:04X}) is not representable in code page 1252", bad as u32));
    }
    Ok(bytes.into_owned())
}

/// Decodes code page 1252 bytes; every byte maps to a character.
pub fn decode_cp1252(bytes: &[u8]) -> String {
    encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned()
}

pub fn encode_utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// UTF-16LE text, decoded by encoding_rs (SIMD over ASCII runs): a bulk load decodes a million
/// strings, which `String::from_utf16` of a collected `Vec<u16>` did at twice the cost.
pub fn decode_utf16(bytes: &[u8]) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err("UTF-16 data has an odd number of bytes".into());
    }
    match encoding_rs::UTF_16LE.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(text.into_owned()),
        None => Err("invalid UTF-16 data (unpaired surrogate)".to_string()),
    }
}

/// Wire order of a GUID: the first three groups little-endian (SQL Server's layout).
pub fn guid_to_wire(g: &[u8; 16]) -> [u8; 16] {
    let mut w = *g;
    w[0..4].reverse();
    w[4..6].reverse();
    w[6..8].reverse();
    w
}

/// Inverse of `guid_to_wire` (the swap is its own inverse).
pub fn guid_from_wire(w: &[u8; 16]) -> [u8; 16] {
    guid_to_wire(w)
}

/// The data bytes of a non-NULL value, without any length prefix.
fn encode_data(ty: &SqlType, v: &Value) -> Result<Vec<u8>, String> {
    let err = || mismatch(ty, v);
    Ok(match (ty, v) {
        (SqlType::Bit, Value::Bool(b)) => vec![*b as u8],
        (SqlType::TinyInt, Value::Int(i)) => vec![u8::try_from(*i).map_err(|_| err())?],
        (SqlType::SmallInt, Value::Int(i)) => i16::try_from(*i).map_err(|_| err())?.to_le_bytes().to_vec(),
        (SqlType::Int, Value::Int(i)) => i32::try_from(*i).map_err(|_| err())?.to_le_bytes().to_vec(),
        (SqlType::BigInt, Value::Int(i)) => i.to_le_bytes().to_vec(),
        (SqlType::Real, Value::Float(f)) => (*f as f32).to_le_bytes().to_vec(),
        (SqlType::Float, Value::Float(f)) => f.to_le_bytes().to_vec(),
        (SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale }, Value::Decimal(u, s)) => {
            if s != scale || !fits_precision(*u, *precision) {
                return Err(err());
            }
            let mut d = vec![if *u < 0 { 0 } else { 1 }];
            d.extend_from_slice(&u.unsigned_abs().to_le_bytes()[..decimal_magnitude_len(*precision)]);
            d
        }
        (SqlType::Money, Value::Money(m)) => {
            let high = (*m >> 32) as i32;
            let low = *m as u32;
            let mut d = high.to_le_bytes().to_vec();
            d.extend_from_slice(&low.to_le_bytes());
            d
        }
        (SqlType::SmallMoney, Value::Money(m)) => i32::try_from(*m).map_err(|_| err())?.to_le_bytes().to_vec(),
        (SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text, Value::Str(s)) => encode_cp1252(s)?,
        (SqlType::NChar(_) | SqlType::NVarChar(_) | SqlType::NText | SqlType::Xml, Value::Str(s)) => encode_utf16(s),
        (SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Image, Value::Bytes(b)) => b.clone(),
        (SqlType::Date, Value::Date(d)) => encode_date(*d)?,
        (SqlType::Time(s), Value::Time(t)) => encode_time(*t, *s)?,
        (SqlType::DateTime2(s), Value::DateTime2 { days, ticks }) => {
            let mut d = encode_time(*ticks, *s)?;
            d.extend(encode_date(*days)?);
            d
        }
        (SqlType::DateTimeOffset(s), Value::DateTimeOffset { days, ticks, offset_minutes }) => {
            if !(-840..=840).contains(offset_minutes) {
                return Err(err());
            }
            let mut d = encode_time(*ticks, *s)?;
            d.extend(encode_date(*days)?);
            d.extend_from_slice(&offset_minutes.to_le_bytes());
            d
        }
        (SqlType::DateTime, Value::DateTime { days, ticks }) => {
            let mut d = days.to_le_bytes().to_vec();
            d.extend_from_slice(&ticks.to_le_bytes());
            d
        }
        (SqlType::SmallDateTime, Value::SmallDateTime { days, minutes }) => {
            let mut d = days.to_le_bytes().to_vec();
            d.extend_from_slice(&minutes.to_le_bytes());
            d
        }
        (SqlType::UniqueIdentifier, Value::Guid(g)) => guid_to_wire(g).to_vec(),
        (SqlType::SqlVariant, Value::Variant(base, inner)) => encode_variant(base, inner)?,
        _ => return Err(err()),
    })
}

fn encode_date(days: u32) -> Result<Vec<u8>, String> {
    if days as i64 > crate::calendar::MAX_DAYS {
        return Err(format!("date day count {days} is out of range"));
    }
    Ok(days.to_le_bytes()[..3].to_vec())
}

/// time(n): 100 ns ticks scaled down to 10^-n s units; the ticks must already be a multiple.
fn encode_time(ticks: u64, scale: u8) -> Result<Vec<u8>, String> {
    if scale > 7 || ticks >= crate::calendar::TICKS_PER_DAY {
        return Err(format!("time ticks {ticks} out of range for scale {scale}"));
    }
    let unit = 10u64.pow(7 - scale as u32);
    if !ticks.is_multiple_of(unit) {
        return Err(format!("time ticks {ticks} are not rounded to scale {scale}"));
    }
    Ok((ticks / unit).to_le_bytes()[..time_len(scale)].to_vec())
}

/// SSVARIANT_INSTANCE (2.2.5.5.4): base type, property bytes, data.
fn encode_variant(base: &SqlType, inner: &Value) -> Result<Vec<u8>, String> {
    use token::*;
    if inner.is_null() {
        return Err("a sql_variant cannot wrap a NULL".into());
    }
    let (tok, props): (u8, Vec<u8>) = match base {
        SqlType::Bit => (BIT, vec![]),
        SqlType::TinyInt => (INT1, vec![]),
        SqlType::SmallInt => (INT2, vec![]),
        SqlType::Int => (INT4, vec![]),
        SqlType::BigInt => (INT8, vec![]),
        SqlType::Real => (FLT4, vec![]),
        SqlType::Float => (FLT8, vec![]),
        SqlType::Money => (MONEY, vec![]),
        SqlType::SmallMoney => (MONEY4, vec![]),
        SqlType::DateTime => (DATETIME, vec![]),
        SqlType::SmallDateTime => (DATETIM4, vec![]),
        SqlType::UniqueIdentifier => (GUID, vec![]),
        SqlType::Date => (DATEN, vec![]),
        SqlType::Time(s) => (TIMEN, vec![*s]),
        SqlType::DateTime2(s) => (DATETIME2N, vec![*s]),
        SqlType::DateTimeOffset(s) => (DATETIMEOFFSETN, vec![*s]),
        SqlType::Decimal { precision, scale } => (DECIMALN, vec![*precision, *scale]),
        SqlType::Numeric { precision, scale } => (NUMERICN, vec![*precision, *scale]),
        SqlType::Binary(n) => (BIGBINARY, n.to_le_bytes().to_vec()),
        SqlType::VarBinary(Some(n)) => (BIGVARBINARY, n.to_le_bytes().to_vec()),
        SqlType::Char(n) | SqlType::VarChar(Some(n)) | SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => {
            let tok = match base {
                SqlType::Char(_) => BIGCHAR,
                SqlType::VarChar(_) => BIGVARCHAR,
                SqlType::NChar(_) => NCHAR,
                _ => NVARCHAR,
            };
            let bytes = if matches!(base, SqlType::NChar(_) | SqlType::NVarChar(_)) { n.saturating_mul(2) } else { *n };
            let mut p = DEFAULT_COLLATION.to_vec();
            p.extend_from_slice(&bytes.to_le_bytes());
            (tok, p)
        }
        _ => return Err(format!("type {base:?} cannot be stored in a sql_variant")),
    };
    let mut d = vec![tok, props.len() as u8];
    d.extend_from_slice(&props);
    d.extend(encode_data(base, inner)?);
    Ok(d)
}

// ---------------------------------------------------------------------------
// Decoding (RPC parameters)
// ---------------------------------------------------------------------------

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if buf.len() < n {
        return Err(format!("truncated data: needed {n} bytes, {} left", buf.len()));
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

fn take_u8(buf: &mut &[u8]) -> Result<u8, String> {
    Ok(take(buf, 1)?[0])
}

fn take_u16(buf: &mut &[u8]) -> Result<u16, String> {
    let b = take(buf, 2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn take_u32(buf: &mut &[u8]) -> Result<u32, String> {
    let b = take(buf, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn take_u64(buf: &mut &[u8]) -> Result<u64, String> {
    let b = take(buf, 8)?;
    Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn le_uint(bytes: &[u8]) -> u128 {
    bytes.iter().rev().fold(0u128, |acc, b| (acc << 8) | *b as u128)
}

/// Reads a TYPE_INFO as sent in an RPC parameter, advancing `buf`.
/// Clients send the nullable (N) forms; a fixed-length form (whose value would carry no
/// length byte) is reported as unsupported.
pub fn read_type_info(buf: &mut &[u8]) -> Result<SqlType, String> {
    use token::*;
    let tok = take_u8(buf)?;
    let ty = match tok {
        NULLTYPE => SqlType::Null,
        INTN => match take_u8(buf)? {
            1 => SqlType::TinyInt,
            2 => SqlType::SmallInt,
            4 => SqlType::Int,
            8 => SqlType::BigInt,
            n => return Err(format!("invalid INTN length {n}")),
        },
        BITN => match take_u8(buf)? {
            1 => SqlType::Bit,
            n => return Err(format!("invalid BITN length {n}")),
        },
        FLTN => match take_u8(buf)? {
            4 => SqlType::Real,
            8 => SqlType::Float,
            n => return Err(format!("invalid FLTN length {n}")),
        },
        MONEYN => match take_u8(buf)? {
            4 => SqlType::SmallMoney,
            8 => SqlType::Money,
            n => return Err(format!("invalid MONEYN length {n}")),
        },
        DATETIMN => match take_u8(buf)? {
            4 => SqlType::SmallDateTime,
            8 => SqlType::DateTime,
            n => return Err(format!("invalid DATETIMN length {n}")),
        },
        DECIMALN | NUMERICN => {
            let _max_len = take_u8(buf)?;
            let precision = take_u8(buf)?;
            let scale = take_u8(buf)?;
            if precision == 0 || precision > 38 || scale > precision {
                return Err(format!("invalid decimal precision/scale {precision},{scale}"));
            }
            if tok == DECIMALN {
                SqlType::Decimal { precision, scale }
            } else {
                SqlType::Numeric { precision, scale }
            }
        }
        GUID => match take_u8(buf)? {
            16 => SqlType::UniqueIdentifier,
            n => return Err(format!("invalid GUID length {n}")),
        },
        DATEN => SqlType::Date,
        TIMEN | DATETIME2N | DATETIMEOFFSETN => {
            let s = take_u8(buf)?;
            if s > 7 {
                return Err(format!("invalid time scale {s}"));
            }
            match tok {
                TIMEN => SqlType::Time(s),
                DATETIME2N => SqlType::DateTime2(s),
                _ => SqlType::DateTimeOffset(s),
            }
        }
        BIGVARCHAR | BIGCHAR | NVARCHAR | NCHAR => {
            let len = take_u16(buf)?;
            read_collation(buf, tok == BIGVARCHAR || tok == BIGCHAR)?;
            let chars = |bytes: u16| if tok == NVARCHAR || tok == NCHAR { bytes / 2 } else { bytes };
            match (tok, len) {
                (BIGVARCHAR, 0xFFFF) => SqlType::VarChar(None),
                (NVARCHAR, 0xFFFF) => SqlType::NVarChar(None),
                (BIGVARCHAR, n) => SqlType::VarChar(Some(n)),
                (NVARCHAR, n) => SqlType::NVarChar(Some(chars(n))),
                (BIGCHAR, n) => SqlType::Char(n),
                (_, n) => SqlType::NChar(chars(n)),
            }
        }
        BIGVARBINARY | BIGBINARY => {
            let len = take_u16(buf)?;
            match (tok, len) {
                (BIGVARBINARY, 0xFFFF) => SqlType::VarBinary(None),
                (BIGVARBINARY, n) => SqlType::VarBinary(Some(n)),
                (_, n) => SqlType::Binary(n),
            }
        }
        TEXT | NTEXT => {
            take_u32(buf)?;
            read_collation(buf, tok == TEXT)?;
            if tok == TEXT {
                SqlType::Text
            } else {
                SqlType::NText
            }
        }
        IMAGE => {
            take_u32(buf)?;
            SqlType::Image
        }
        SSVARIANT => {
            take_u32(buf)?;
            SqlType::SqlVariant
        }
        XML => {
            if take_u8(buf)? != 0 {
                return Err(
                    "typed xml parameters (with a schema collection) are not supported by the local test server".into(),
                );
            }
            SqlType::Xml
        }
        other => return Err(format!("parameter TYPE_INFO 0x{other:02X} is not supported by the local test server")),
    };
    Ok(ty)
}

/// Reads a parameter's collation. Clients echo the server's default one; the bytes of
/// char/varchar/text values are decoded as its code page 1252, so for those (`single_byte`)
/// another locale or a UTF-8 collation is refused rather than misread.
fn read_collation(buf: &mut &[u8], single_byte: bool) -> Result<(), String> {
    let c = take(buf, 5)?;
    let lcid = u32::from_le_bytes([c[0], c[1], c[2] & 0x0F, 0]);
    let utf8 = c[3] & 0x04 != 0; // fUTF8 is bit 26 of the collation's first four bytes
    let default_lcid = u32::from_le_bytes([DEFAULT_COLLATION[0], DEFAULT_COLLATION[1], DEFAULT_COLLATION[2] & 0x0F, 0]);
    if single_byte && (lcid != default_lcid || utf8) {
        return Err(format!(
            "a char/varchar/text parameter in collation {c:02X?} (not code page 1252) is not supported by the local test server"
        ));
    }
    Ok(())
}

/// Why the bytes of a value could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueError {
    /// Bytes that are no value of the type: a wrong length, broken framing or encoding.
    Malformed(String),
    /// Well-formed bytes holding no valid instance of the type (SQL Server's 8023): a NaN or
    /// infinite float, a date, time or datetime outside the type's range, a decimal with more
    /// digits than its precision.
    Invalid(String),
}

impl From<String> for ValueError {
    fn from(detail: String) -> ValueError {
        ValueError::Malformed(detail)
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Malformed(detail) | ValueError::Invalid(detail) => f.write_str(detail),
        }
    }
}

/// Reads one value of type `ty` as sent in an RPC parameter (the nullable wire forms), advancing `buf`.
pub fn read_value(buf: &mut &[u8], ty: &SqlType) -> Result<Value, ValueError> {
    if *ty == SqlType::Null {
        return Ok(Value::Null); // NULLTYPE carries no data
    }
    if is_plp(ty) {
        return match read_plp(buf)? {
            None => Ok(Value::Null),
            Some(data) => decode_data(ty, &data),
        };
    }
    let data = match ty {
        SqlType::Char(_)
        | SqlType::VarChar(_)
        | SqlType::NChar(_)
        | SqlType::NVarChar(_)
        | SqlType::Binary(_)
        | SqlType::VarBinary(_) => match take_u16(buf)? {
            CHARBIN_NULL => return Ok(Value::Null),
            n => take(buf, n as usize)?,
        },
        SqlType::Text | SqlType::NText | SqlType::Image => match take_u32(buf)? {
            TEXT_NULL => return Ok(Value::Null),
            n => take(buf, n as usize)?,
        },
        SqlType::SqlVariant => match take_u32(buf)? {
            0 => return Ok(Value::Null),
            n => take(buf, n as usize)?,
        },
        _ => match take_u8(buf)? {
            0 => return Ok(Value::Null),
            n => take(buf, n as usize)?,
        },
    };
    decode_data(ty, data)
}

/// Reads a PLP_BODY; `None` for PLP_NULL.
fn read_plp(buf: &mut &[u8]) -> Result<Option<Vec<u8>>, String> {
    let total = take_u64(buf)?;
    if total == PLP_NULL {
        return Ok(None);
    }
    let mut data = Vec::new();
    loop {
        let n = take_u32(buf)? as usize;
        if n == 0 {
            break;
        }
        data.extend_from_slice(take(buf, n)?);
    }
    if total != UNKNOWN_PLP_LEN && total != data.len() as u64 {
        return Err(format!("PLP length {total} does not match the {} bytes sent", data.len()));
    }
    Ok(Some(data))
}

fn expect_len(ty: &SqlType, data: &[u8], len: usize) -> Result<(), String> {
    if data.len() != len {
        return Err(format!("invalid data length {} for {ty:?}", data.len()));
    }
    Ok(())
}

/// Decodes the data bytes of a non-NULL value of `ty`.
fn decode_data(ty: &SqlType, data: &[u8]) -> Result<Value, ValueError> {
    let int = |len: usize| -> Result<i64, String> {
        expect_len(ty, data, len)?;
        let mut b = [0u8; 8];
        b[..len].copy_from_slice(data);
        let raw = i64::from_le_bytes(b);
        // sign-extend all but tinyint, which is unsigned
        Ok(match len {
            2 => raw as i16 as i64,
            4 => raw as i32 as i64,
            _ => raw,
        })
    };
    Ok(match ty {
        SqlType::Bit => {
            expect_len(ty, data, 1)?;
            Value::Bool(data[0] != 0)
        }
        SqlType::TinyInt => Value::Int(int(1)?),
        SqlType::SmallInt => Value::Int(int(2)?),
        SqlType::Int => Value::Int(int(4)?),
        SqlType::BigInt => Value::Int(int(8)?),
        SqlType::Real => {
            expect_len(ty, data, 4)?;
            finite(f32::from_le_bytes(data.try_into().expect("4 bytes")) as f64)?
        }
        SqlType::Float => {
            expect_len(ty, data, 8)?;
            finite(f64::from_le_bytes(data.try_into().expect("8 bytes")))?
        }
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            if !matches!(data.len(), 5 | 9 | 13 | 17) {
                return Err(format!("invalid decimal data length {}", data.len()).into());
            }
            let magnitude = le_uint(&data[1..]);
            if magnitude > i128::MAX as u128 || !fits_precision(magnitude as i128, *precision) {
                return Err(ValueError::Invalid(format!("decimal value exceeds precision {precision}")));
            }
            let m = magnitude as i128;
            Value::Decimal(if data[0] == 0 { -m } else { m }, *scale)
        }
        SqlType::Money => {
            expect_len(ty, data, 8)?;
            let high = i32::from_le_bytes(data[0..4].try_into().expect("4 bytes")) as i64;
            let low = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes")) as i64;
            Value::Money((high << 32) | low)
        }
        SqlType::SmallMoney => Value::Money(int(4)?),
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text => Value::Str(decode_cp1252(data)),
        SqlType::NChar(_) | SqlType::NVarChar(_) | SqlType::NText => Value::Str(decode_utf16(data)?),
        SqlType::Xml => Value::Str(decode_xml(data)?),
        SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Image => Value::Bytes(data.to_vec()),
        SqlType::Date => {
            expect_len(ty, data, 3)?;
            Value::Date(decode_date(data)?)
        }
        SqlType::Time(s) => {
            expect_len(ty, data, time_len(*s))?;
            Value::Time(decode_time(data, *s)?)
        }
        SqlType::DateTime2(s) => {
            let tl = time_len(*s);
            expect_len(ty, data, tl + 3)?;
            Value::DateTime2 { ticks: decode_time(&data[..tl], *s)?, days: decode_date(&data[tl..])? }
        }
        SqlType::DateTimeOffset(s) => {
            let tl = time_len(*s);
            expect_len(ty, data, tl + 5)?;
            let offset_minutes = i16::from_le_bytes([data[tl + 3], data[tl + 4]]);
            if !(-840..=840).contains(&offset_minutes) {
                return Err(ValueError::Invalid(format!("datetimeoffset offset {offset_minutes} out of range")));
            }
            Value::DateTimeOffset {
                ticks: decode_time(&data[..tl], *s)?,
                days: decode_date(&data[tl..tl + 3])?,
                offset_minutes,
            }
        }
        SqlType::DateTime => {
            expect_len(ty, data, 8)?;
            let days = i32::from_le_bytes(data[0..4].try_into().expect("4 bytes"));
            let ticks = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes"));
            // 1753-01-01 .. 9999-12-31, and less than a day of 1/300 s ticks
            if !(-53_690..=2_958_463).contains(&days) || ticks >= 300 * 86_400 {
                return Err(ValueError::Invalid(format!("datetime value ({days} days, {ticks} ticks) out of range")));
            }
            Value::DateTime { days, ticks }
        }
        SqlType::SmallDateTime => {
            expect_len(ty, data, 4)?;
            let days = u16::from_le_bytes([data[0], data[1]]);
            let minutes = u16::from_le_bytes([data[2], data[3]]);
            if minutes >= 1440 {
                return Err(ValueError::Invalid(format!("smalldatetime minutes {minutes} out of range")));
            }
            Value::SmallDateTime { days, minutes }
        }
        SqlType::UniqueIdentifier => {
            expect_len(ty, data, 16)?;
            Value::Guid(guid_from_wire(data.try_into().expect("16 bytes")))
        }
        SqlType::SqlVariant => decode_variant(data)?,
        SqlType::Null => Value::Null,
    })
}

/// A float that is a number: SQL Server has no NaN or infinity.
fn finite(f: f64) -> Result<Value, ValueError> {
    if f.is_finite() {
        Ok(Value::Float(f))
    } else {
        Err(ValueError::Invalid(format!("{f} is not a float value")))
    }
}

fn decode_date(data: &[u8]) -> Result<u32, ValueError> {
    let days = le_uint(data) as u32;
    if days as i64 > crate::calendar::MAX_DAYS {
        return Err(ValueError::Invalid(format!("date day count {days} out of range")));
    }
    Ok(days)
}

fn decode_time(data: &[u8], scale: u8) -> Result<u64, ValueError> {
    let ticks = le_uint(data) as u64 * 10u64.pow(7 - scale as u32);
    if ticks >= crate::calendar::TICKS_PER_DAY {
        return Err(ValueError::Invalid(format!("time value {ticks} out of range")));
    }
    Ok(ticks)
}

/// XML parameter data is UTF-16LE, optionally with a byte order mark.
fn decode_xml(data: &[u8]) -> Result<String, String> {
    let data = data.strip_prefix(&[0xFF, 0xFE][..]).unwrap_or(data);
    decode_utf16(data)
}

fn decode_variant(data: &[u8]) -> Result<Value, ValueError> {
    use token::*;
    let mut buf = data;
    let tok = take_u8(&mut buf)?;
    let prop_len = take_u8(&mut buf)? as usize;
    let props = take(&mut buf, prop_len)?;
    let prop = |i: usize| props.get(i).copied().ok_or_else(|| "sql_variant properties too short".to_string());
    let len16 = |i: usize| -> Result<u16, String> { Ok(u16::from_le_bytes([prop(i)?, prop(i + 1)?])) };
    let base = match tok {
        BIT => SqlType::Bit,
        INT1 => SqlType::TinyInt,
        INT2 => SqlType::SmallInt,
        INT4 => SqlType::Int,
        INT8 => SqlType::BigInt,
        FLT4 => SqlType::Real,
        FLT8 => SqlType::Float,
        MONEY => SqlType::Money,
        MONEY4 => SqlType::SmallMoney,
        DATETIME => SqlType::DateTime,
        DATETIM4 => SqlType::SmallDateTime,
        GUID => SqlType::UniqueIdentifier,
        DATEN => SqlType::Date,
        TIMEN => SqlType::Time(prop(0)?.min(7)),
        DATETIME2N => SqlType::DateTime2(prop(0)?.min(7)),
        DATETIMEOFFSETN => SqlType::DateTimeOffset(prop(0)?.min(7)),
        DECIMALN | NUMERICN => {
            let (precision, scale) = (prop(0)?, prop(1)?);
            if precision == 0 || precision > 38 || scale > precision {
                return Err(format!("invalid decimal precision/scale {precision},{scale}").into());
            }
            if tok == DECIMALN {
                SqlType::Decimal { precision, scale }
            } else {
                SqlType::Numeric { precision, scale }
            }
        }
        BIGBINARY => SqlType::Binary(len16(0)?),
        BIGVARBINARY => SqlType::VarBinary(Some(len16(0)?)),
        BIGCHAR | BIGVARCHAR => {
            let len = len16(5)?;
            read_collation(&mut &props[..], true)?;
            if tok == BIGCHAR {
                SqlType::Char(len)
            } else {
                SqlType::VarChar(Some(len))
            }
        }
        NCHAR => SqlType::NChar(len16(5)? / 2),
        NVARCHAR => SqlType::NVarChar(Some(len16(5)? / 2)),
        other => {
            return Err(format!("sql_variant base type 0x{other:02X} is not supported by the local test server").into())
        }
    };
    let inner = decode_data(&base, buf)?;
    Ok(Value::Variant(Box::new(base), Box::new(inner)))
}
