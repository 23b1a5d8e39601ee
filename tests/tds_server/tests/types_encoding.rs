//! Wire encodings of every SQL Server type, checked against bytes derived by hand from
//! MS-TDS 2.2.5 and against a capture of real SQL Server traffic.

use tds_server::types::{
    decode_utf16, encode_utf16, read_type_info, read_value, write_colmetadata, write_row, write_type_info, write_value,
    ColumnDef, SqlType, PLP_CHUNK_SIZE,
};
use tds_server::value::Value;

const COLL: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn type_info(ty: &SqlType, nullable: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_type_info(&mut out, ty, nullable);
    out
}

fn value(ty: &SqlType, nullable: bool, v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, ty, nullable, v).unwrap();
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn col(name: &str, ty: SqlType, nullable: bool) -> ColumnDef {
    ColumnDef { name: name.into(), ty, nullable, updatable: true, identity: false, computed: false }
}

/// Decoding what was encoded as an RPC parameter (nullable form) gives the value back.
fn round_trip(ty: SqlType, v: Value) {
    let mut wire = type_info(&ty, true);
    wire.extend(value(&ty, true, &v));
    let mut buf = &wire[..];
    let decoded_ty = read_type_info(&mut buf).unwrap();
    assert_eq!(decoded_ty, ty);
    assert_eq!(read_value(&mut buf, &decoded_ty).unwrap(), v, "{ty:?}");
    assert!(buf.is_empty(), "{ty:?} left {} bytes", buf.len());
}

#[test]
fn integers_fixed_when_not_null_and_intn_when_nullable() {
    assert_eq!(type_info(&SqlType::Int, false), [0x38]);
    assert_eq!(value(&SqlType::Int, false, &Value::Int(1)), [1, 0, 0, 0]);
    assert_eq!(type_info(&SqlType::Int, true), [0x26, 4]);
    assert_eq!(value(&SqlType::Int, true, &Value::Int(-1)), [4, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(value(&SqlType::Int, true, &Value::Null), [0]);
    assert_eq!(type_info(&SqlType::TinyInt, false), [0x30]);
    assert_eq!(value(&SqlType::TinyInt, false, &Value::Int(255)), [0xFF]);
    assert_eq!(type_info(&SqlType::SmallInt, true), [0x26, 2]);
    assert_eq!(value(&SqlType::SmallInt, false, &Value::Int(-32768)), [0x00, 0x80]);
    assert_eq!(type_info(&SqlType::BigInt, false), [0x7F]);
    assert_eq!(value(&SqlType::BigInt, false, &Value::Int(i64::MAX)), hex("FFFFFFFFFFFFFF7F"));
    assert_eq!(type_info(&SqlType::Bit, false), [0x32]);
    assert_eq!(type_info(&SqlType::Bit, true), [0x68, 1]);
    assert_eq!(value(&SqlType::Bit, true, &Value::Bool(true)), [1, 1]);
    // out of range for the column is an error, not a wrapped value
    assert!(write_value(&mut Vec::new(), &SqlType::TinyInt, false, &Value::Int(256)).is_err());
    // NULL in a NOT NULL column is an error
    assert!(write_value(&mut Vec::new(), &SqlType::Int, false, &Value::Null).is_err());
}

#[test]
fn floats() {
    assert_eq!(type_info(&SqlType::Real, false), [0x3B]);
    assert_eq!(value(&SqlType::Real, false, &Value::Float(1.5)), hex("0000C03F"));
    assert_eq!(type_info(&SqlType::Float, true), [0x6D, 8]);
    assert_eq!(value(&SqlType::Float, true, &Value::Float(-2.0)), hex("08 00000000000000C0"));
    assert_eq!(value(&SqlType::Float, false, &Value::Float(1.5e308)), hex("F0ACE1486DB3EA7F"));
}

#[test]
fn decimals_carry_precision_sized_magnitudes() {
    let d38 = SqlType::Decimal { precision: 38, scale: 0 };
    assert_eq!(type_info(&d38, false), [0x6A, 0x11, 38, 0]);
    let max = 10i128.pow(38) - 1;
    // 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF, little-endian after the sign byte
    assert_eq!(value(&d38, false, &Value::Decimal(max, 0)), hex("11 01 FFFFFFFF3F228A097AC4865AA84C3B4B"));
    assert_eq!(value(&d38, true, &Value::Decimal(-max, 0)), hex("11 00 FFFFFFFF3F228A097AC4865AA84C3B4B"));
    let n52 = SqlType::Numeric { precision: 5, scale: 2 };
    assert_eq!(type_info(&n52, true), [0x6C, 5, 5, 2]);
    assert_eq!(value(&n52, true, &Value::Decimal(-12345, 2)), hex("05 00 39300000"));
    let d19 = SqlType::Decimal { precision: 19, scale: 4 };
    assert_eq!(type_info(&d19, true), [0x6A, 9, 19, 4]);
    assert_eq!(value(&d19, true, &Value::Decimal(1, 4)), hex("09 01 0100000000000000"));
    assert_eq!(type_info(&SqlType::Decimal { precision: 28, scale: 0 }, true), [0x6A, 13, 28, 0]);
    // a value beyond the precision, or at another scale, is refused
    assert!(write_value(&mut Vec::new(), &n52, false, &Value::Decimal(100000, 2)).is_err());
    assert!(write_value(&mut Vec::new(), &n52, false, &Value::Decimal(1, 3)).is_err());
}

#[test]
fn money_is_high_half_then_low_half() {
    assert_eq!(type_info(&SqlType::Money, false), [0x3C]);
    assert_eq!(value(&SqlType::Money, false, &Value::Money(i64::MAX)), hex("FFFFFF7F FFFFFFFF"));
    // -1.0000 = -10000 = 0xFFFFFFFF_FFFFD8F0
    assert_eq!(value(&SqlType::Money, true, &Value::Money(-10000)), hex("08 FFFFFFFF F0D8FFFF"));
    assert_eq!(type_info(&SqlType::Money, true), [0x6E, 8]);
    assert_eq!(type_info(&SqlType::SmallMoney, false), [0x7A]);
    assert_eq!(type_info(&SqlType::SmallMoney, true), [0x6E, 4]);
    assert_eq!(value(&SqlType::SmallMoney, false, &Value::Money(10001)), hex("11270000"));
}

#[test]
fn datetime_and_smalldatetime() {
    assert_eq!(type_info(&SqlType::DateTime, false), [0x3D]);
    assert_eq!(type_info(&SqlType::DateTime, true), [0x6F, 8]);
    // 9999-12-31 23:59:59.997: 2958463 days after 1900-01-01, 25919999 ticks
    assert_eq!(
        value(&SqlType::DateTime, false, &Value::DateTime { days: 2958463, ticks: 25919999 }),
        hex("7F242D00 FF818B01")
    );
    // 1753-01-01 is day -53690
    assert_eq!(
        value(&SqlType::DateTime, true, &Value::DateTime { days: -53690, ticks: 0 }),
        hex("08 462EFFFF 00000000")
    );
    assert_eq!(type_info(&SqlType::SmallDateTime, false), [0x3A]);
    assert_eq!(type_info(&SqlType::SmallDateTime, true), [0x6F, 4]);
    assert_eq!(
        value(&SqlType::SmallDateTime, false, &Value::SmallDateTime { days: 65535, minutes: 1439 }),
        hex("FFFF 9F05")
    );
}

#[test]
fn date_time_datetime2_datetimeoffset() {
    assert_eq!(type_info(&SqlType::Date, false), [0x28]);
    assert_eq!(value(&SqlType::Date, false, &Value::Date(0)), hex("03 000000"));
    assert_eq!(value(&SqlType::Date, true, &Value::Date(3652058)), hex("03 DAB937"));
    assert_eq!(value(&SqlType::Date, true, &Value::Null), [0]);
    assert_eq!(type_info(&SqlType::Time(7), false), [0x29, 7]);
    assert_eq!(value(&SqlType::Time(7), false, &Value::Time(863_999_999_999)), hex("05 FFBF692AC9"));
    assert_eq!(value(&SqlType::Time(0), false, &Value::Time(86_399 * 10_000_000)), hex("03 7F5101"));
    assert_eq!(value(&SqlType::Time(3), false, &Value::Time(10_000)), hex("04 01000000"));
    // a value not rounded to the column's scale is refused
    assert!(write_value(&mut Vec::new(), &SqlType::Time(0), false, &Value::Time(1)).is_err());
    assert_eq!(type_info(&SqlType::DateTime2(7), true), [0x2A, 7]);
    assert_eq!(
        value(&SqlType::DateTime2(7), false, &Value::DateTime2 { days: 3652058, ticks: 863_999_999_999 }),
        hex("08 FFBF692AC9 DAB937")
    );
    assert_eq!(type_info(&SqlType::DateTimeOffset(7), false), [0x2B, 7]);
    // 2020-01-01 00:00 +14:00 is 2019-12-31 10:00 UTC (day 737423 = 0x0B408F)
    let ten_hours = 36_000_000_000u64 * 10;
    assert_eq!(
        value(
            &SqlType::DateTimeOffset(7),
            false,
            &Value::DateTimeOffset { days: 737423, ticks: ten_hours, offset_minutes: 840 }
        ),
        cat(&[&[0x0A], &ten_hours.to_le_bytes()[..5], &hex("8F400B"), &hex("4803")])
    );
    assert_eq!(
        value(
            &SqlType::DateTimeOffset(0),
            true,
            &Value::DateTimeOffset { days: 737424, ticks: 0, offset_minutes: -840 }
        ),
        hex("08 000000 90400B B8FC")
    );
}

#[test]
fn guid_uses_sql_servers_mixed_endian_order() {
    assert_eq!(type_info(&SqlType::UniqueIdentifier, false), [0x24, 0x10]);
    let g = hex("6F9619FF8B86D011B42D00C04FC964FF");
    let v = Value::Guid(g.try_into().unwrap());
    assert_eq!(value(&SqlType::UniqueIdentifier, false, &v), hex("10 FF19966F 868B 11D0 B42D00C04FC964FF"));
}

#[test]
fn strings_binary_and_collation() {
    assert_eq!(type_info(&SqlType::VarChar(Some(3)), false), cat(&[&[0xA7, 3, 0], &COLL]));
    assert_eq!(value(&SqlType::VarChar(Some(3)), false, &Value::Str("abc".into())), hex("0300 616263"));
    assert_eq!(value(&SqlType::VarChar(Some(3)), true, &Value::Str("é€".into())), hex("0200 E980"));
    assert_eq!(value(&SqlType::VarChar(Some(3)), true, &Value::Null), hex("FFFF"));
    // not representable in code page 1252: an error, never '?'
    assert!(write_value(&mut Vec::new(), &SqlType::VarChar(Some(3)), false, &Value::Str("ā".into())).is_err());
    assert!(write_value(&mut Vec::new(), &SqlType::VarChar(Some(2)), false, &Value::Str("abc".into())).is_err());
    assert_eq!(type_info(&SqlType::Char(5), false), cat(&[&[0xAF, 5, 0], &COLL]));
    assert_eq!(type_info(&SqlType::NChar(30), true), cat(&[&[0xEF, 60, 0], &COLL]));
    assert_eq!(type_info(&SqlType::NVarChar(Some(2)), false), cat(&[&[0xE7, 4, 0], &COLL]));
    assert_eq!(value(&SqlType::NVarChar(Some(2)), false, &Value::Str("😀".into())), hex("0400 3DD800DE"));
    assert_eq!(type_info(&SqlType::Binary(4), false), [0xAD, 4, 0]);
    assert_eq!(type_info(&SqlType::VarBinary(Some(8000)), true), [0xA5, 0x40, 0x1F]);
    assert_eq!(value(&SqlType::VarBinary(Some(8000)), true, &Value::Bytes(vec![1, 2])), hex("0200 0102"));
}

#[test]
fn max_types_are_plp_in_8000_byte_chunks() {
    assert_eq!(type_info(&SqlType::NVarChar(None), true), cat(&[&[0xE7, 0xFF, 0xFF], &COLL]));
    assert_eq!(type_info(&SqlType::VarChar(None), true), cat(&[&[0xA7, 0xFF, 0xFF], &COLL]));
    assert_eq!(type_info(&SqlType::VarBinary(None), true), [0xA5, 0xFF, 0xFF]);
    assert_eq!(value(&SqlType::NVarChar(None), true, &Value::Null), hex("FFFFFFFFFFFFFFFF"));
    assert_eq!(value(&SqlType::VarBinary(None), false, &Value::Bytes(vec![])), hex("0000000000000000 00000000"));
    assert_eq!(
        value(&SqlType::NVarChar(None), true, &Value::Str("ab".into())),
        hex("0400000000000000 04000000 61006200 00000000")
    );
    let big = vec![7u8; 20_000];
    let enc = value(&SqlType::VarBinary(None), true, &Value::Bytes(big.clone()));
    assert_eq!(PLP_CHUNK_SIZE, 8000);
    let mut expected = 20_000u64.to_le_bytes().to_vec();
    for n in [8000u32, 8000, 4000] {
        expected.extend(n.to_le_bytes());
        expected.extend(vec![7u8; n as usize]);
    }
    expected.extend(0u32.to_le_bytes());
    assert_eq!(enc, expected);
}

#[test]
fn xml_and_sql_variant() {
    assert_eq!(type_info(&SqlType::Xml, true), [0xF1, 0x00]);
    assert_eq!(
        value(&SqlType::Xml, true, &Value::Str("<a/>".into())),
        hex("0800000000000000 08000000 3C0061002F003E00 00000000")
    );
    assert_eq!(type_info(&SqlType::SqlVariant, true), hex("62 491F0000"));
    assert_eq!(value(&SqlType::SqlVariant, true, &Value::Null), hex("00000000"));
    let v = |ty: SqlType, inner: Value| Value::Variant(Box::new(ty), Box::new(inner));
    assert_eq!(value(&SqlType::SqlVariant, true, &v(SqlType::Int, Value::Int(5))), hex("06000000 38 00 05000000"));
    assert_eq!(
        value(&SqlType::SqlVariant, true, &v(SqlType::NVarChar(Some(3)), Value::Str("abc".into()))),
        cat(&[&hex("0F000000 E7 07"), &COLL, &hex("0600 610062006300")])
    );
    assert_eq!(
        value(&SqlType::SqlVariant, true, &v(SqlType::Decimal { precision: 5, scale: 2 }, Value::Decimal(123, 2))),
        hex("09000000 6A 02 05 02 01 7B000000")
    );
    assert_eq!(
        value(&SqlType::SqlVariant, true, &v(SqlType::DateTime2(3), Value::DateTime2 { days: 0, ticks: 10_000 })),
        hex("0A000000 2A 01 03 01000000 000000")
    );
}

#[test]
fn text_ntext_image_carry_text_pointer_in_rows_and_table_name_in_metadata() {
    let cols = [col("t", SqlType::Text, true), col("n", SqlType::NText, true), col("i", SqlType::Image, true)];
    let mut meta = Vec::new();
    write_colmetadata(&mut meta, &cols);
    let expected = cat(&[
        &hex("81 0300"),
        &hex("00000000 0900 23 FFFFFF7F"),
        &COLL,
        &hex("00 01 7400"),
        &hex("00000000 0900 63 FEFFFF7F"),
        &COLL,
        &hex("00 01 6E00"),
        &hex("00000000 0900 22 FFFFFF7F 00 01 6900"),
    ]);
    assert_eq!(meta, expected);
    let mut row = Vec::new();
    write_row(&mut row, &cols, &[Value::Str("ab".into()), Value::Null, Value::Bytes(vec![9])]).unwrap();
    // ROW: text pointer length 16, pointer, 8-byte timestamp, 4-byte length, data; NULL is a 0 pointer length
    assert_eq!(row[0], 0xD1);
    assert_eq!(row[1], 16);
    assert_eq!(&row[1 + 1 + 16 + 8..1 + 1 + 16 + 8 + 6], hex("02000000 6162"));
    assert_eq!(row[1 + 1 + 16 + 8 + 6], 0);
    assert_eq!(row[1 + 1 + 16 + 8 + 6 + 1], 16);
    assert_eq!(&row[row.len() - 5..], hex("01000000 09"));
    assert_eq!(row.len(), 1 + (1 + 16 + 8 + 4 + 2) + 1 + (1 + 16 + 8 + 4 + 1));
}

#[test]
fn nbcrow_only_when_shorter() {
    let ints = [col("a", SqlType::Int, true), col("b", SqlType::Int, true), col("c", SqlType::Int, true)];
    let mut out = Vec::new();
    write_row(&mut out, &ints, &[Value::Null, Value::Null, Value::Int(1)]).unwrap();
    // ROW would be D1 00 00 04 01000000 (8 bytes); NBCROW is 7
    assert_eq!(out, hex("D2 03 04 01000000"));
    let mut out = Vec::new();
    write_row(&mut out, &ints[..2], &[Value::Int(1), Value::Null]).unwrap();
    // a tie (bitmap byte = one GEN_NULL byte) stays ROW
    assert_eq!(out, hex("D1 04 01000000 00"));
    let mut out = Vec::new();
    let s = [col("s", SqlType::NVarChar(Some(1)), true)];
    write_row(&mut out, &s, &[Value::Null]).unwrap();
    assert_eq!(out, hex("D2 01"));
    let mut out = Vec::new();
    write_row(&mut out, &ints, &[Value::Int(1), Value::Int(2), Value::Int(3)]).unwrap();
    assert_eq!(out[0], 0xD1);
    // column 9 sits in the second bitmap byte's lowest bit
    let many: Vec<ColumnDef> = (0..9).map(|i| col(&format!("c{i}"), SqlType::BigInt, true)).collect();
    let mut vals = vec![Value::Int(1); 9];
    vals[8] = Value::Null;
    vals[0] = Value::Null;
    let mut out = Vec::new();
    write_row(&mut out, &many, &vals).unwrap();
    // two GEN_NULLs cost as much as the two-byte bitmap: ROW
    assert_eq!(out[0], 0xD1);
    vals[4] = Value::Null;
    let mut out = Vec::new();
    write_row(&mut out, &many, &vals).unwrap();
    assert_eq!(&out[..3], hex("D2 11 01"));
}

#[test]
fn reproduces_real_sql_server_colmetadata_and_rows() {
    // Frame 4 of real-sqlserver-2009-tds72.pcap (sp_prepexec of a SELECT): three nullable
    // nchar columns and an int NOT NULL, flags 0x0009 / 0x0008.
    let captured = hex(
        "810400000000000900ef3c000904d00034046e0061006d006500000000000900ef3c000904d00034077300750072006e0061006d006500000000000900ef50000904d00034046300690074007900000000000800380269006400",
    );
    let cols = [
        col("name", SqlType::NChar(30), true),
        col("surname", SqlType::NChar(30), true),
        col("city", SqlType::NChar(40), true),
        col("id", SqlType::Int, false),
    ];
    let mut out = Vec::new();
    write_colmetadata(&mut out, &cols);
    assert_eq!(out, captured);
    let pad = |s: &str, n: usize| format!("{s:<n$}");
    let mut row = Vec::new();
    write_row(
        &mut row,
        &cols,
        &[Value::Str(pad("zzz", 30)), Value::Str(pad("bbb", 30)), Value::Str(pad("Pcxxx", 40)), Value::Int(2)],
    )
    .unwrap();
    let mut expected = vec![0xD1];
    for (s, n) in [("zzz", 30), ("bbb", 30), ("Pcxxx", 40)] {
        expected.extend(((n * 2) as u16).to_le_bytes());
        expected.extend(pad(s, n).encode_utf16().flat_map(u16::to_le_bytes));
    }
    expected.extend(hex("02000000"));
    assert_eq!(row, expected);
    // Frame 19: char(30) NOT NULL and nullable, rows of space-padded values.
    let captured = hex(
        "810300000000000800af1e000904d000340763006f006c0075006d006e003100000000000900af1e000904d000340763006f006c0075006d006e003200000000000900af1e000904d000340763006f006c0075006d006e003300d11e006669727374202020202020202020202020202020202020202020202020201e007365636f6e642020202020202020202020202020202020202020202020201e00746869726420202020202020202020202020202020202020202020202020",
    );
    let cols = [
        col("column1", SqlType::Char(30), false),
        col("column2", SqlType::Char(30), true),
        col("column3", SqlType::Char(30), true),
    ];
    let mut out = Vec::new();
    write_colmetadata(&mut out, &cols);
    write_row(
        &mut out,
        &cols,
        &[Value::Str(pad("first", 30)), Value::Str(pad("second", 30)), Value::Str(pad("third", 30))],
    )
    .unwrap();
    assert_eq!(out, captured);
}

#[test]
fn rpc_parameters_round_trip() {
    round_trip(SqlType::Bit, Value::Bool(true));
    round_trip(SqlType::TinyInt, Value::Int(255));
    round_trip(SqlType::SmallInt, Value::Int(-32768));
    round_trip(SqlType::Int, Value::Int(i32::MIN as i64));
    round_trip(SqlType::BigInt, Value::Int(i64::MIN));
    round_trip(SqlType::Real, Value::Float(-3.5));
    round_trip(SqlType::Float, Value::Float(1.7976931348623157e308));
    round_trip(SqlType::Decimal { precision: 38, scale: 10 }, Value::Decimal(-(10i128.pow(38) - 1), 10));
    round_trip(SqlType::Numeric { precision: 9, scale: 0 }, Value::Decimal(999_999_999, 0));
    round_trip(SqlType::Money, Value::Money(i64::MIN));
    round_trip(SqlType::SmallMoney, Value::Money(i32::MIN as i64));
    round_trip(SqlType::Char(3), Value::Str("ab ".into()));
    round_trip(SqlType::VarChar(Some(10)), Value::Str("£€ÿ".into()));
    round_trip(SqlType::VarChar(None), Value::Str("x".repeat(9000)));
    round_trip(SqlType::NChar(2), Value::Str("😀".into()));
    round_trip(SqlType::NVarChar(Some(4000)), Value::Str("日本".into()));
    round_trip(SqlType::NVarChar(None), Value::Str("ü".repeat(70_000)));
    round_trip(SqlType::NVarChar(None), Value::Null);
    round_trip(SqlType::Binary(2), Value::Bytes(vec![0, 255]));
    round_trip(SqlType::VarBinary(Some(8000)), Value::Null);
    round_trip(SqlType::VarBinary(None), Value::Bytes(vec![1; 100_000]));
    round_trip(SqlType::Date, Value::Date(3652058));
    round_trip(SqlType::Time(7), Value::Time(863_999_999_999));
    round_trip(SqlType::Time(2), Value::Time(100_000));
    round_trip(SqlType::DateTime2(4), Value::DateTime2 { days: 1, ticks: 1000 });
    round_trip(SqlType::DateTimeOffset(7), Value::DateTimeOffset { days: 5, ticks: 1, offset_minutes: -840 });
    round_trip(SqlType::DateTime, Value::DateTime { days: -53690, ticks: 25919999 });
    round_trip(SqlType::SmallDateTime, Value::SmallDateTime { days: 65535, minutes: 1439 });
    round_trip(SqlType::UniqueIdentifier, Value::Guid(*b"0123456789abcdef"));
    round_trip(SqlType::Xml, Value::Str("<r>é</r>".into()));
    round_trip(
        SqlType::SqlVariant,
        Value::Variant(Box::new(SqlType::VarChar(Some(5))), Box::new(Value::Str("hi".into()))),
    );
    round_trip(SqlType::SqlVariant, Value::Variant(Box::new(SqlType::BigInt), Box::new(Value::Int(-7))));
    // NULLTYPE, which clients may send for a NULL parameter: the type byte alone
    round_trip(SqlType::Null, Value::Null);
    assert_eq!(type_info(&SqlType::Null, true), [0x1F]);
}

#[test]
fn rpc_decoding_of_client_forms() {
    // NVARCHAR(max) sent with unknown length in two chunks
    let mut wire = cat(&[&[0xE7, 0xFF, 0xFF], &COLL]);
    wire.extend(hex("FEFFFFFFFFFFFFFF 02000000 6100 02000000 6200 00000000"));
    let mut buf = &wire[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert_eq!(ty, SqlType::NVarChar(None));
    assert_eq!(read_value(&mut buf, &ty).unwrap(), Value::Str("ab".into()));
    // a PLP whose announced length disagrees with its chunks is rejected
    let mut bad = cat(&[&[0xA5, 0xFF, 0xFF]]);
    bad.extend(hex("0300000000000000 02000000 0102 00000000"));
    let mut buf = &bad[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert!(read_value(&mut buf, &ty).is_err());
    // DECIMALN with p,s; NULL
    let mut buf = &hex("6A 11 26 02 00")[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert_eq!(ty, SqlType::Decimal { precision: 38, scale: 2 });
    assert_eq!(read_value(&mut buf, &ty).unwrap(), Value::Null);
    // a 16-byte magnitude beyond 38 digits (all ones) is refused, not wrapped
    let mut buf = &hex("6A 11 26 00 11 01 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert!(read_value(&mut buf, &ty).is_err());
    // datetime before 1753-01-01 is refused
    let mut buf = &hex("6F 08 08 452EFFFF 00000000")[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert!(read_value(&mut buf, &ty).is_err());
    // truncated input is an error, not a panic
    let mut buf = &hex("26 04 04 0100")[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert!(read_value(&mut buf, &ty).is_err());
    // unknown types are reported as unsupported
    let mut buf = &hex("F0 00")[..];
    assert!(read_type_info(&mut buf).unwrap_err().contains("not supported by the local test server"));
    // varchar in another locale's or a UTF-8 collation would be misread as code page 1252: refused
    for collation in [[0x07, 0x04, 0xD0, 0x00, 0x34], [0x09, 0x04, 0xD0, 0x04, 0x00]] {
        let mut wire = vec![0xA7, 0x0A, 0x00];
        wire.extend(collation);
        assert!(read_type_info(&mut &wire[..]).unwrap_err().contains("not supported by the local test server"));
    }
    // ... while nvarchar in any collation is UTF-16 and accepted
    let mut buf = &hex("E7 0A00 0704D00034")[..];
    assert_eq!(read_type_info(&mut buf).unwrap(), SqlType::NVarChar(Some(5)));
    // invalid UTF-16 in NVARCHAR
    let mut wire = cat(&[&[0xE7, 0x08, 0x00], &COLL]);
    wire.extend(hex("0200 00D8"));
    let mut buf = &wire[..];
    let ty = read_type_info(&mut buf).unwrap();
    assert!(read_value(&mut buf, &ty).is_err());
}

#[test]
fn utf16_text_decodes_whatever_it_holds() {
    for text in ["", "plain ascii", "délta hôtel straße", "中文 and ascii", "emoji 😀 at the end😀"] {
        assert_eq!(decode_utf16(&encode_utf16(text)), Ok(text.to_string()), "{text}");
    }
    // an unpaired surrogate, alone or before ASCII, and an odd byte count are refused
    assert!(decode_utf16(&[0x00, 0xD8]).is_err());
    assert!(decode_utf16(&[0x00, 0xD8, b'a', 0]).is_err());
    assert!(decode_utf16(&[b'a', 0, b'b']).is_err());
}
