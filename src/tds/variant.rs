//! sql_variant values (MS-TDS 2.2.5.5.4): each carries its own base type.
//! A value becomes its base type's declared name and a canonical text that
//! loses nothing, from which `rows()` rebuilds the base type's value:
//!
//! | base types                           | text                                         |
//! |--------------------------------------|----------------------------------------------|
//! | tinyint, smallint, int, bigint, bit  | decimal digits (bit: `0`/`1`)                |
//! | real, float                          | shortest round-trip text of the (f64) value  |
//! | decimal, numeric, money, smallmoney  | exact digits with the type's scale           |
//! | date, time, datetime*, smalldatetime | `YYYY-MM-DD`, `HH:MM:SS[.f]`, both with a space |
//! | datetimeoffset                       | local date and time, a space, `+HH:MM`       |
//! | uniqueidentifier                     | lowercase 8-4-4-4-12                         |
//! | char, varchar, nchar, nvarchar       | the text                                     |
//! | binary, varbinary                    | `0x` and uppercase hex digits                |

use super::text::{utf16_to_utf8, CodePageDecoder};
use super::values::{date_value, decimal, guid_to_rfc4122, time_increments, time_length, CodePageResolver};
use crate::decimal::decimal_text;
use crate::temporal::{
    date_days, date_text, datetime_micros, datetime_text, offset_text, smalldatetime_micros, split_micros, time_nanos,
    time_text, NANOS_PER_DAY,
};
use crate::types::{type_id::*, uuid_text, Collation};

/// The base type's declared name and the value's canonical text.
pub(crate) fn read_variant(data: &[u8], code_pages: CodePageResolver) -> Result<(String, String), String> {
    let [base, prop_length, rest @ ..] = data else {
        return Err("a sql_variant without its base type".into());
    };
    let (props, value) = rest
        .split_at_checked(usize::from(*prop_length))
        .ok_or_else(|| format!("a sql_variant with {prop_length} property bytes"))?;
    let fixed = |width: usize| -> Result<&[u8], String> {
        if value.len() == width {
            Ok(value)
        } else {
            Err(format!("a sql_variant of base type 0x{base:02X} with {} bytes", value.len()))
        }
    };
    let integer = |width: usize| -> Result<i64, String> {
        let bytes = fixed(width)?;
        let mut padded = [0u8; 8];
        padded[..width].copy_from_slice(bytes);
        // Sign-extend all but tinyint, which is unsigned.
        let shift = 64 - 8 * width as u32;
        Ok(if *base == INT1 { i64::from(bytes[0]) } else { (i64::from_le_bytes(padded) << shift) >> shift })
    };
    let scale_prop = || props.first().copied().filter(|s| *s <= 7).ok_or("a sql_variant time without its scale");
    let micros_text = |micros: i64, scale: u8| {
        let (days, micros_of_day) = split_micros(micros);
        datetime_text(days, micros_of_day * 1000, scale)
    };
    Ok(match *base {
        INT1 => ("tinyint".into(), integer(1)?.to_string()),
        INT2 => ("smallint".into(), integer(2)?.to_string()),
        INT4 => ("int".into(), integer(4)?.to_string()),
        INT8 => ("bigint".into(), integer(8)?.to_string()),
        BIT => ("bit".into(), u8::from(fixed(1)?[0] != 0).to_string()),
        FLT4 => {
            let value = f32::from_le_bytes(fixed(4)?.try_into().map_err(|_| "real")?);
            ("real".into(), format!("{:?}", f64::from(value)))
        }
        FLT8 => ("float".into(), format!("{:?}", f64::from_le_bytes(fixed(8)?.try_into().map_err(|_| "float")?))),
        MONEY => {
            let b = fixed(8)?;
            let scaled = (i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) << 32)
                | i64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]]));
            ("money".into(), decimal_text(i128::from(scaled), 4))
        }
        MONEY4 => ("smallmoney".into(), decimal_text(i128::from(integer(4)?), 4)),
        DATETIME => {
            let b = fixed(8)?;
            let micros = datetime_micros(
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
            .ok_or("a datetime outside datetime's range")?;
            ("datetime".into(), micros_text(micros, 3))
        }
        DATETIM4 => {
            let b = fixed(4)?;
            let micros = smalldatetime_micros(u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]));
            ("smalldatetime".into(), micros_text(micros, 0))
        }
        GUID => {
            let bytes: &[u8; 16] = fixed(16)?.try_into().map_err(|_| "uniqueidentifier")?;
            ("uniqueidentifier".into(), uuid_text(&guid_to_rfc4122(bytes)))
        }
        DECIMALN | NUMERICN => {
            let [precision, scale] = props else {
                return Err("a sql_variant decimal without precision and scale".into());
            };
            let unscaled = decimal(value)?;
            let name = if *base == DECIMALN { "decimal" } else { "numeric" };
            (format!("{name}({precision},{scale})"), decimal_text(unscaled, *scale as i8))
        }
        DATEN => ("date".into(), date_text(i64::from(date_days(date_value(value)?)))),
        TIMEN => {
            let scale = scale_prop()?;
            (format!("time({scale})"), time_text(time_nanos(time_increments(value, scale)?, scale), scale))
        }
        DATETIME2N => {
            let scale = scale_prop()?;
            let (days, nanos) = days_and_nanos(value, scale)?;
            (format!("datetime2({scale})"), datetime_text(days, nanos, scale))
        }
        DATETIMEOFFSETN => {
            let scale = scale_prop()?;
            let split = value.len().checked_sub(2).ok_or("a datetimeoffset without its offset")?;
            let (instant, offset) = value.split_at(split);
            let offset = i16::from_le_bytes([offset[0], offset[1]]);
            // The wire holds UTC; SQL Server shows the local time at the offset.
            let (days, nanos) = days_and_nanos(instant, scale)?;
            let local = nanos + i64::from(offset) * 60_000_000_000;
            let text = datetime_text(days + local.div_euclid(NANOS_PER_DAY), local.rem_euclid(NANOS_PER_DAY), scale);
            (format!("datetimeoffset({scale})"), format!("{text} {}", offset_text(offset)))
        }
        BIGVARBIN | BIGBINARY => {
            let [low, high] = props else {
                return Err("a sql_variant binary without its length".into());
            };
            let name = if *base == BIGVARBIN { "varbinary" } else { "binary" };
            let hex: String = value.iter().map(|b| format!("{b:02X}")).collect();
            (format!("{name}({})", u16::from_le_bytes([*low, *high])), format!("0x{hex}"))
        }
        BIGVARCHR | BIGCHAR | NVARCHAR | NCHAR => {
            let [c0, c1, c2, c3, sort_id, low, high] = props else {
                return Err("a sql_variant string without its collation and length".into());
            };
            let collation = Collation { info: u32::from_le_bytes([*c0, *c1, *c2, *c3]), sort_id: *sort_id };
            let length = u16::from_le_bytes([*low, *high]);
            let mut text = Vec::with_capacity(value.len());
            let name = match *base {
                NVARCHAR | NCHAR => {
                    utf16_to_utf8(value, value.len(), &mut text).map_err(|e| e.0)?;
                    let name = if *base == NVARCHAR { "nvarchar" } else { "nchar" };
                    format!("{name}({})", length / 2)
                }
                _ => {
                    let encoding = if collation.is_utf8() { encoding_rs::UTF_8 } else { code_pages(collation)? };
                    let mut decoder = CodePageDecoder::new(encoding);
                    decoder.push(value, &mut text).and_then(|()| decoder.finish(&mut text)).map_err(|e| e.0)?;
                    let name = if *base == BIGVARCHR { "varchar" } else { "char" };
                    format!("{name}({length})")
                }
            };
            (name, String::from_utf8(text).map_err(|_| "text that is not UTF-8")?)
        }
        other => return Err(format!("a sql_variant of base type 0x{other:02X}")),
    })
}

/// A datetime2's (or datetimeoffset's UTC instant's) days since 1970-01-01
/// and nanoseconds of the day, all digits kept.
fn days_and_nanos(data: &[u8], scale: u8) -> Result<(i64, i64), String> {
    let (time, date) = data.split_at_checked(time_length(scale)).ok_or("a short datetime2")?;
    Ok((i64::from(date_days(date_value(date)?)), time_nanos(time_increments(time, scale)?, scale)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temporal::UNIX_EPOCH_DAYS_FROM_YEAR_1;

    fn latin1(_: Collation) -> Result<&'static encoding_rs::Encoding, String> {
        Ok(encoding_rs::WINDOWS_1252)
    }

    fn variant(base: u8, props: &[u8], value: &[u8]) -> (String, String) {
        let mut data = vec![base, props.len() as u8];
        data.extend(props);
        data.extend(value);
        read_variant(&data, latin1).unwrap()
    }

    fn pair(name: &str, text: &str) -> (String, String) {
        (name.to_string(), text.to_string())
    }

    #[test]
    fn numbers() {
        assert_eq!(variant(INT1, &[], &[200]), pair("tinyint", "200"));
        assert_eq!(variant(INT2, &[], &(-2i16).to_le_bytes()), pair("smallint", "-2"));
        assert_eq!(variant(INT8, &[], &i64::MIN.to_le_bytes()), pair("bigint", &i64::MIN.to_string()));
        assert_eq!(variant(BIT, &[], &[1]), pair("bit", "1"));
        assert_eq!(variant(FLT4, &[], &0.1f32.to_le_bytes()), pair("real", "0.10000000149011612"));
        assert_eq!(variant(FLT8, &[], &1e300f64.to_le_bytes()), pair("float", "1e300"));
        assert_eq!(variant(DECIMALN, &[10, 2], &[0, 0x39, 0x30, 0, 0]), pair("decimal(10,2)", "-123.45"));
        assert_eq!(variant(MONEY4, &[], &15_000i32.to_le_bytes()), pair("smallmoney", "1.5000"));
    }

    #[test]
    fn temporal_values() {
        let day = (UNIX_EPOCH_DAYS_FROM_YEAR_1 as u32 + 1).to_le_bytes();
        assert_eq!(variant(DATEN, &[], &day[..3]), pair("date", "1970-01-02"));
        let time = 1_234_567u64.to_le_bytes();
        assert_eq!(variant(TIMEN, &[7], &time[..5]), pair("time(7)", "00:00:00.1234567"));
        let datetime2 = [&time[..5], &day[..3]].concat();
        assert_eq!(variant(DATETIME2N, &[7], &datetime2), pair("datetime2(7)", "1970-01-02 00:00:00.1234567"));
        // 00:00 UTC at +05:30 is 05:30 local.
        let offset = [&time[..5], &day[..3], &330i16.to_le_bytes()].concat();
        assert_eq!(
            variant(DATETIMEOFFSETN, &[7], &offset),
            pair("datetimeoffset(7)", "1970-01-02 05:30:00.1234567 +05:30")
        );
        let datetime = [25_568i32.to_le_bytes(), 300u32.to_le_bytes()].concat();
        assert_eq!(variant(DATETIME, &[], &datetime), pair("datetime", "1970-01-02 00:00:01.000"));
    }

    #[test]
    fn strings_binaries_and_guids() {
        let collation = [0x09, 0x04, 0xD0, 0x00, 0x34];
        let nvarchar: Vec<u8> = "16.0".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let props = [&collation[..], &256u16.to_le_bytes()].concat();
        assert_eq!(variant(NVARCHAR, &props, &nvarchar), pair("nvarchar(128)", "16.0"));
        assert_eq!(variant(BIGVARCHR, &props, &[b'c', 0xE9]), pair("varchar(256)", "cé"));
        assert_eq!(variant(BIGVARBIN, &8u16.to_le_bytes(), &[0x0A, 0xFF]), pair("varbinary(8)", "0x0AFF"));
        let guid: Vec<u8> = (0..16).collect();
        assert_eq!(variant(GUID, &[], &guid), pair("uniqueidentifier", "03020100-0504-0706-0809-0a0b0c0d0e0f"));
    }

    #[test]
    fn malformed_variants_are_errors() {
        for data in [&[][..], &[INT4], &[INT4, 0, 1, 2], &[DECIMALN, 5, 1], &[0x01, 0], &[TIMEN, 1, 9, 0, 0, 0, 0, 0]] {
            assert!(read_variant(data, latin1).is_err(), "{data:?}");
        }
    }
}
