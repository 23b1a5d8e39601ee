//! Typed values held by the server. The representation is exact: decimals as
//! scaled integers, date/time as days and 100 ns ticks, GUIDs as their 16 bytes.

/// A value of some `SqlType`; the owning column's type says how to read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// unscaled integer and scale (decimal, numeric, money, smallmoney)
    Decimal(i128, u8),
    Str(String),
    Bytes(Vec<u8>),
}
