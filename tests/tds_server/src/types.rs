//! SQL Server's type system on the wire: TYPE_INFO and value encodings for
//! COLMETADATA / ROW / NBCROW / RETURNVALUE, and their decoding for RPC parameters.

use crate::value::Value;

/// A declared SQL Server type. `None` length on the var types means `(max)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal { precision: u8, scale: u8 },
    Numeric { precision: u8, scale: u8 },
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
}

/// One result column as COLMETADATA describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    pub updatable: bool,
    pub identity: bool,
}

/// Appends a COLMETADATA token (0x81) for `cols`.
pub fn write_colmetadata(out: &mut Vec<u8>, cols: &[ColumnDef]) {
    let _ = (out, cols);
    todo!("types helper")
}

/// Appends one ROW (0xD1) or NBCROW (0xD2) token, whichever is shorter, as SQL Server does.
pub fn write_row(out: &mut Vec<u8>, cols: &[ColumnDef], row: &[Value]) {
    let _ = (out, cols, row);
    todo!("types helper")
}

/// Appends TYPE_INFO for `ty` (as used in COLMETADATA and RETURNVALUE).
pub fn write_type_info(out: &mut Vec<u8>, ty: &SqlType, nullable: bool) {
    let _ = (out, ty, nullable);
    todo!("types helper")
}

/// Appends the value encoding of `v` for a column of type `ty` (TYPE_VARBYTE / PLP / fixed).
pub fn write_value(out: &mut Vec<u8>, ty: &SqlType, nullable: bool, v: &Value) {
    let _ = (out, ty, nullable, v);
    todo!("types helper")
}

/// Reads a TYPE_INFO as sent in an RPC parameter, advancing `buf`.
pub fn read_type_info(buf: &mut &[u8]) -> Result<SqlType, String> {
    let _ = buf;
    todo!("types helper")
}

/// Reads one value of type `ty` as sent in an RPC parameter, advancing `buf`.
pub fn read_value(buf: &mut &[u8], ty: &SqlType) -> Result<Value, String> {
    let _ = (buf, ty);
    todo!("types helper")
}
