//! Typed values held by the server. The representation is exact: decimals as
//! scaled integers, date/time as days and 100 ns ticks, GUIDs as their 16 bytes.

use crate::types::SqlType;

/// A value of some `SqlType`; the owning column's type says how to read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// bit
    Bool(bool),
    /// tinyint, smallint, int, bigint
    Int(i64),
    /// real (always an exactly representable f32) and float
    Float(f64),
    /// decimal and numeric: unscaled integer and scale
    Decimal(i128, u8),
    /// money and smallmoney, scaled by 10^4
    Money(i64),
    /// char, varchar, nchar, nvarchar, text, ntext, xml
    Str(String),
    /// binary, varbinary, image
    Bytes(Vec<u8>),
    /// date: days since 0001-01-01
    Date(u32),
    /// time: 100 ns ticks since midnight (already rounded to the column's scale)
    Time(u64),
    /// datetime: days since 1900-01-01 (negative back to 1753) and 1/300 s ticks since midnight
    DateTime {
        days: i32,
        ticks: u32,
    },
    /// smalldatetime: days since 1900-01-01 and minutes since midnight
    SmallDateTime {
        days: u16,
        minutes: u16,
    },
    /// datetime2: days since 0001-01-01 and 100 ns ticks since midnight
    DateTime2 {
        days: u32,
        ticks: u64,
    },
    /// datetimeoffset: the UTC instant (days since 0001-01-01, 100 ns ticks) and the
    /// offset in minutes, as the wire carries it
    DateTimeOffset {
        days: u32,
        ticks: u64,
        offset_minutes: i16,
    },
    /// uniqueidentifier in textual (RFC 4122) byte order; the wire form swaps the first three groups
    Guid([u8; 16]),
    /// sql_variant: the base type and a non-NULL value of it
    Variant(Box<SqlType>, Box<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
