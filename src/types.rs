//! The type table: for every SQL Server type a result column can have, its
//! TDS wire form (`TypeInfo`), the Arrow kind we build (`ValueKind`), the
//! Python value `rows()` gives, and the declared name. The wire reader, the
//! Arrow writers and the Python conversion all read it from here.
//!
//! | SQL Server type                         | wire (TYPE_INFO)               | Arrow (`ValueKind`)              | Python value             |
//! |-----------------------------------------|--------------------------------|----------------------------------|--------------------------|
//! | bit                                     | BIT, BITN                      | bool                             | `bool`                   |
//! | tinyint                                 | INT1, INTN(1)                  | uint8                            | `int`                    |
//! | smallint, int, bigint                   | INT2/4/8, INTN(2/4/8)          | int16, int32, int64              | `int`                    |
//! | real, float                             | FLT4, FLT8, FLTN(4/8)          | float32, float64                 | `float`                  |
//! | decimal(p,s), numeric(p,s)              | DECIMALN, NUMERICN             | decimal128(p,s)                  | `Decimal`                |
//! | money, smallmoney                       | MONEY, MONEY4, MONEYN(8/4)     | decimal128(19,4), decimal128(10,4) | `Decimal`              |
//! | char, varchar, text (code page or UTF-8)| BIGCHAR, BIGVARCHR, TEXT       | utf8                             | `str`                    |
//! | nchar, nvarchar, ntext, xml             | NCHAR, NVARCHAR, NTEXT, XML    | utf8                             | `str`                    |
//! | binary, varbinary, image, CLR UDTs      | BIGBINARY, BIGVARBIN, IMAGE, UDT | binary                         | `bytes`                  |
//! | uniqueidentifier                        | GUID                           | fixed_size_binary(16), `arrow.uuid` | `str` (canonical)     |
//! | date                                    | DATEN                          | date32                           | `datetime.date`          |
//! | time(n)                                 | TIMEN                          | time64[ns]                       | `datetime.time`          |
//! | datetime, smalldatetime, datetime2(n)   | DATETIME, DATETIM4, DATETIMN, DATETIME2N | timestamp[us]          | naive `datetime.datetime`|
//! | datetimeoffset(n)                       | DATETIMEOFFSETN                | timestamp[us, UTC]               | aware `datetime.datetime` (UTC) |
//! | sql_variant                             | SSVARIANT                      | struct<type: utf8, value: utf8>  | the value in its base type |
//!
//! `sql_variant` values differ in type from row to row; Arrow keeps each one
//! exactly as its base type's declared name and a canonical text of the
//! value (see [`crate::tds`]'s variant reader for the forms), from which
//! `rows()` rebuilds the base type's Python value.

use crate::decimal::MAX_DIGITS;

/// TDS data type identifiers (MS-TDS 2.2.5.4).
pub mod type_id {
    pub const NULL: u8 = 0x1F;
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
    pub const BIGVARBIN: u8 = 0xA5;
    pub const BIGVARCHR: u8 = 0xA7;
    pub const BIGBINARY: u8 = 0xAD;
    pub const BIGCHAR: u8 = 0xAF;
    pub const NVARCHAR: u8 = 0xE7;
    pub const NCHAR: u8 = 0xEF;
    pub const XML: u8 = 0xF1;
    pub const UDT: u8 = 0xF0;
    pub const TEXT: u8 = 0x23;
    pub const IMAGE: u8 = 0x22;
    pub const NTEXT: u8 = 0x63;
    pub const SSVARIANT: u8 = 0x62;
}

/// TYPE_INFO length of a `(max)` type, whose values travel as PLP chunks.
pub const PLP_MAX_LENGTH: u32 = 0xFFFF;

/// A character column's collation (MS-TDS 2.2.5.1.2): LCID, flags and
/// version in `info`, then the SQL sort id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collation {
    pub info: u32,
    pub sort_id: u8,
}

impl Collation {
    /// The fUTF8 flag: the data is UTF-8, whatever the LCID says.
    const UTF8_FLAG: u32 = 1 << 26;

    pub fn is_utf8(self) -> bool {
        self.info & Self::UTF8_FLAG != 0
    }
}

/// A column's (or an output parameter's) TYPE_INFO as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    pub id: u8,
    /// Maximum length in bytes from the TYPE_INFO (0 for the fixed types,
    /// `PLP_MAX_LENGTH` for `(max)`); for the time types, the scale.
    pub length: u32,
    pub precision: u8,
    pub scale: u8,
    pub collation: Option<Collation>,
    /// A CLR type's name (hierarchyid, geometry, ...).
    pub udt_name: Option<String>,
}

impl TypeInfo {
    pub fn fixed(id: u8) -> Self {
        Self { id, length: 0, precision: 0, scale: 0, collation: None, udt_name: None }
    }

    pub fn sized(id: u8, length: u32) -> Self {
        Self { length, ..Self::fixed(id) }
    }

    pub fn is_plp(&self) -> bool {
        use type_id::*;
        match self.id {
            BIGVARBIN | BIGVARCHR | NVARCHAR => self.length == PLP_MAX_LENGTH,
            XML | UDT => true,
            _ => false,
        }
    }
}

/// The Arrow representation of a column, and with it the Python value of
/// its cells (see the table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    UInt8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// decimal128(precision, scale).
    Decimal {
        precision: u8,
        scale: u8,
    },
    Utf8,
    Binary,
    /// 16 bytes in RFC 4122 (big-endian) order.
    Uuid,
    /// Days since 1970-01-01.
    Date,
    /// Nanoseconds since midnight.
    Time,
    /// Naive microseconds since 1970-01-01.
    Timestamp,
    /// Microseconds since 1970-01-01 UTC.
    TimestampUtc,
    /// A sql_variant: each value's base type name and canonical text.
    Variant,
}

impl ValueKind {
    /// Bytes per value of a fixed-width kind; `None` for variable width.
    pub fn width(self) -> Option<usize> {
        Some(match self {
            Self::Bool | Self::UInt8 => 1,
            Self::Int16 => 2,
            Self::Int32 | Self::Float32 | Self::Date => 4,
            Self::Int64 | Self::Float64 | Self::Time | Self::Timestamp | Self::TimestampUtc => 8,
            Self::Decimal { .. } | Self::Uuid => 16,
            Self::Utf8 | Self::Binary | Self::Variant => return None,
        })
    }
}

/// What the type table says about one column: its Arrow kind and declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub kind: ValueKind,
    /// The declared SQL Server type, e.g. "decimal(18,4)" or "nvarchar(max)".
    pub sql_type: String,
}

/// money and smallmoney are decimals of four fractional digits.
const MONEY_KIND: ValueKind = ValueKind::Decimal { precision: 19, scale: 4 };
const SMALLMONEY_KIND: ValueKind = ValueKind::Decimal { precision: 10, scale: 4 };

/// The type table's row for a TYPE_INFO; `Err` names what is not supported.
pub fn column_type(info: &TypeInfo) -> Result<ColumnType, String> {
    use type_id::*;
    use ValueKind as K;
    let named = |kind: ValueKind, sql_type: &str| Ok(ColumnType { kind, sql_type: sql_type.to_string() });
    let length = info.length;
    match (info.id, length) {
        // A column of the untyped NULL type holds only NULLs.
        (NULL, _) | (INT4, _) | (INTN, 4) => named(K::Int32, "int"),
        (INT1, _) | (INTN, 1) => named(K::UInt8, "tinyint"),
        (BIT, _) | (BITN, 1) => named(K::Bool, "bit"),
        (INT2, _) | (INTN, 2) => named(K::Int16, "smallint"),
        (INT8, _) | (INTN, 8) => named(K::Int64, "bigint"),
        (FLT4, _) | (FLTN, 4) => named(K::Float32, "real"),
        (FLT8, _) | (FLTN, 8) => named(K::Float64, "float"),
        (MONEY, _) | (MONEYN, 8) => named(MONEY_KIND, "money"),
        (MONEY4, _) | (MONEYN, 4) => named(SMALLMONEY_KIND, "smallmoney"),
        (DATETIME, _) | (DATETIMN, 8) => named(K::Timestamp, "datetime"),
        (DATETIM4, _) | (DATETIMN, 4) => named(K::Timestamp, "smalldatetime"),
        (GUID, 16) => named(K::Uuid, "uniqueidentifier"),
        (DATEN, _) => named(K::Date, "date"),
        (TIMEN, _) | (DATETIME2N, _) | (DATETIMEOFFSETN, _) if info.scale > 7 => {
            Err(format!("a fractional-second scale of {} (at most 7)", info.scale))
        }
        (TIMEN, _) => named(K::Time, &format!("time({})", info.scale)),
        (DATETIME2N, _) => named(K::Timestamp, &format!("datetime2({})", info.scale)),
        (DATETIMEOFFSETN, _) => named(K::TimestampUtc, &format!("datetimeoffset({})", info.scale)),
        (DECIMALN | NUMERICN, 5 | 9 | 13 | 17) => {
            let (precision, scale) = (info.precision, info.scale);
            if !(1..=MAX_DIGITS).contains(&precision) || scale > precision {
                return Err(format!("decimal precision {precision} and scale {scale}"));
            }
            let base = if info.id == DECIMALN { "decimal" } else { "numeric" };
            named(K::Decimal { precision, scale }, &format!("{base}({precision},{scale})"))
        }
        (BIGCHAR, _) => named(K::Utf8, &sized("char", length)),
        (BIGVARCHR, _) => named(K::Utf8, &sized("varchar", length)),
        // nchar/nvarchar lengths are in bytes, two per UTF-16 unit.
        (NCHAR, _) => named(K::Utf8, &sized_utf16("nchar", length)),
        (NVARCHAR, _) => named(K::Utf8, &sized_utf16("nvarchar", length)),
        (TEXT, _) => named(K::Utf8, "text"),
        (NTEXT, _) => named(K::Utf8, "ntext"),
        (XML, _) => named(K::Utf8, "xml"),
        (BIGBINARY, _) => named(K::Binary, &sized("binary", length)),
        (BIGVARBIN, _) => named(K::Binary, &sized("varbinary", length)),
        (IMAGE, _) => named(K::Binary, "image"),
        // A CLR type (hierarchyid, geometry, ...) reaches us as its bytes.
        (UDT, _) => named(K::Binary, info.udt_name.as_deref().unwrap_or("udt")),
        (SSVARIANT, _) => named(K::Variant, "sql_variant"),
        (id, length) => Err(format!("TDS type 0x{id:02X} of length {length}")),
    }
}

/// The canonical text of a uniqueidentifier (RFC 4122 byte order):
/// lowercase 8-4-4-4-12, as `str(uuid.UUID)`.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    text
}

/// `name(length)`, or `name(max)` for a PLP column.
fn sized(name: &str, length: u32) -> String {
    if length == PLP_MAX_LENGTH {
        format!("{name}(max)")
    } else {
        format!("{name}({length})")
    }
}

fn sized_utf16(name: &str, byte_length: u32) -> String {
    if byte_length == PLP_MAX_LENGTH {
        sized(name, byte_length)
    } else {
        sized(name, byte_length / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::type_id::*;
    use super::*;

    fn expect(info: TypeInfo, kind: ValueKind, sql_type: &str) {
        assert_eq!(column_type(&info), Ok(ColumnType { kind, sql_type: sql_type.into() }), "{info:?}");
    }

    #[test]
    fn fixed_and_nullable_types_take_their_width_from_the_length() {
        use ValueKind as K;
        for (id, length, kind, sql_type) in [
            (BIT, 0, K::Bool, "bit"),
            (INT1, 0, K::UInt8, "tinyint"),
            (INT2, 0, K::Int16, "smallint"),
            (INT4, 0, K::Int32, "int"),
            (INT8, 0, K::Int64, "bigint"),
            (FLT4, 0, K::Float32, "real"),
            (FLT8, 0, K::Float64, "float"),
            (MONEY, 0, MONEY_KIND, "money"),
            (MONEY4, 0, SMALLMONEY_KIND, "smallmoney"),
            (DATETIME, 0, K::Timestamp, "datetime"),
            (DATETIM4, 0, K::Timestamp, "smalldatetime"),
            (NULL, 0, K::Int32, "int"),
            (INTN, 1, K::UInt8, "tinyint"),
            (INTN, 2, K::Int16, "smallint"),
            (INTN, 4, K::Int32, "int"),
            (INTN, 8, K::Int64, "bigint"),
            (BITN, 1, K::Bool, "bit"),
            (FLTN, 4, K::Float32, "real"),
            (FLTN, 8, K::Float64, "float"),
            (MONEYN, 4, SMALLMONEY_KIND, "smallmoney"),
            (MONEYN, 8, MONEY_KIND, "money"),
            (DATETIMN, 4, K::Timestamp, "smalldatetime"),
            (DATETIMN, 8, K::Timestamp, "datetime"),
            (GUID, 16, K::Uuid, "uniqueidentifier"),
            (DATEN, 3, K::Date, "date"),
        ] {
            expect(TypeInfo::sized(id, length), kind, sql_type);
        }
    }

    #[test]
    fn time_types_carry_their_scale() {
        let scaled = |id, scale| TypeInfo { scale, ..TypeInfo::fixed(id) };
        expect(scaled(TIMEN, 3), ValueKind::Time, "time(3)");
        expect(scaled(DATETIME2N, 0), ValueKind::Timestamp, "datetime2(0)");
        expect(scaled(DATETIMEOFFSETN, 7), ValueKind::TimestampUtc, "datetimeoffset(7)");
        assert!(column_type(&scaled(TIMEN, 8)).is_err());
    }

    #[test]
    fn impossible_widths_are_refused() {
        for (id, length) in [(INTN, 3), (FLTN, 2), (MONEYN, 16), (GUID, 8), (0x01, 0)] {
            assert!(column_type(&TypeInfo::sized(id, length)).is_err(), "0x{id:02X}({length})");
        }
    }

    #[test]
    fn character_and_binary_types_carry_their_length_or_max() {
        use ValueKind as K;
        for (id, length, kind, sql_type) in [
            (BIGVARCHR, 50, K::Utf8, "varchar(50)"),
            (BIGVARCHR, 0xFFFF, K::Utf8, "varchar(max)"),
            (BIGCHAR, 10, K::Utf8, "char(10)"),
            (NVARCHAR, 100, K::Utf8, "nvarchar(50)"),
            (NVARCHAR, 0xFFFF, K::Utf8, "nvarchar(max)"),
            (NCHAR, 8, K::Utf8, "nchar(4)"),
            (TEXT, 0x7FFF_FFFF, K::Utf8, "text"),
            (NTEXT, 0x7FFF_FFFE, K::Utf8, "ntext"),
            (XML, 0, K::Utf8, "xml"),
            (BIGBINARY, 16, K::Binary, "binary(16)"),
            (BIGVARBIN, 8000, K::Binary, "varbinary(8000)"),
            (BIGVARBIN, 0xFFFF, K::Binary, "varbinary(max)"),
            (IMAGE, 0x7FFF_FFFF, K::Binary, "image"),
            (SSVARIANT, 8016, K::Variant, "sql_variant"),
        ] {
            expect(TypeInfo::sized(id, length), kind, sql_type);
        }
        let udt = TypeInfo { udt_name: Some("hierarchyid".into()), ..TypeInfo::sized(UDT, 892) };
        expect(udt, ValueKind::Binary, "hierarchyid");
    }

    #[test]
    fn decimals_keep_the_declared_precision_and_scale() {
        let decimal = |id, precision, scale| TypeInfo { precision, scale, ..TypeInfo::sized(id, 9) };
        expect(decimal(DECIMALN, 18, 4), ValueKind::Decimal { precision: 18, scale: 4 }, "decimal(18,4)");
        expect(decimal(NUMERICN, 38, 38), ValueKind::Decimal { precision: 38, scale: 38 }, "numeric(38,38)");
        for (precision, scale) in [(0, 0), (39, 0), (5, 6)] {
            assert!(column_type(&decimal(NUMERICN, precision, scale)).is_err());
        }
    }

    #[test]
    fn uuid_text_is_canonical() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(uuid_text(&bytes), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }

    #[test]
    fn the_utf8_flag_is_bit_26_of_the_collation_info() {
        assert!(Collation { info: 0x0400_0409, sort_id: 0 }.is_utf8());
        assert!(!Collation { info: 0x00D0_0409, sort_id: 52 }.is_utf8());
    }
}
