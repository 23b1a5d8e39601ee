//! tiberius column metadata and cell values into Arrow column sinks.

use crate::arrow::{ColumnSink, KindHint, SinkError, ValueKind};
use crate::error::DriverError;
use crate::temporal::{MICROS_PER_DAY, UNIX_EPOCH_DAYS_FROM_1900, UNIX_EPOCH_DAYS_FROM_YEAR_1};
use tiberius::time::{DateTime2, Time};
use tiberius::{ColumnData, ColumnType};

const DECIMAL: ValueKind = ValueKind::Decimal { precision: 38, scale: None };

/// The Arrow kind a column's metadata implies. tiberius exposes neither the
/// precision/scale of decimals nor the byte width of nullable int/float
/// columns; those come from the values.
pub(crate) fn kind_hint(name: &str, column_type: ColumnType) -> Result<KindHint, DriverError> {
    use ColumnType as C;
    use KindHint::Known;
    Ok(match column_type {
        C::Bit | C::Bitn => Known(ValueKind::Bool, "bit"),
        C::Int1 => Known(ValueKind::UInt8, "tinyint"),
        C::Int2 => Known(ValueKind::Int16, "smallint"),
        C::Int4 => Known(ValueKind::Int32, "int"),
        C::Int8 => Known(ValueKind::Int64, "bigint"),
        C::Intn | C::Null => KindHint::FromValues { fallback: ValueKind::Int64, fallback_sql_type: "bigint" },
        C::Float4 => Known(ValueKind::Float32, "real"),
        C::Float8 => Known(ValueKind::Float64, "float"),
        C::Floatn => KindHint::FromValues { fallback: ValueKind::Float64, fallback_sql_type: "float" },
        C::Money => Known(ValueKind::Decimal { precision: 19, scale: Some(4) }, "money"),
        C::Money4 => Known(ValueKind::Decimal { precision: 10, scale: Some(4) }, "smallmoney"),
        C::Decimaln => Known(DECIMAL, "decimal"),
        C::Numericn => Known(DECIMAL, "numeric"),
        C::Datetime => Known(ValueKind::Timestamp, "datetime"),
        C::Datetime4 => Known(ValueKind::Timestamp, "smalldatetime"),
        C::Datetimen => KindHint::FromValues { fallback: ValueKind::Timestamp, fallback_sql_type: "datetime" },
        C::Datetime2 => Known(ValueKind::Timestamp, "datetime2"),
        C::Daten => Known(ValueKind::Date, "date"),
        C::Timen => Known(ValueKind::Time, "time"),
        C::DatetimeOffsetn => Known(ValueKind::TimestampUtc, "datetimeoffset"),
        C::Guid => Known(ValueKind::Uuid, "uniqueidentifier"),
        C::BigVarChar => Known(ValueKind::Utf8, "varchar"),
        C::BigChar => Known(ValueKind::Utf8, "char"),
        C::NVarchar => Known(ValueKind::Utf8, "nvarchar"),
        C::NChar => Known(ValueKind::Utf8, "nchar"),
        C::Text => Known(ValueKind::Utf8, "text"),
        C::NText => Known(ValueKind::Utf8, "ntext"),
        C::Xml => Known(ValueKind::Utf8, "xml"),
        C::BigVarBin => Known(ValueKind::Binary, "varbinary"),
        C::BigBinary => Known(ValueKind::Binary, "binary"),
        C::Image => Known(ValueKind::Binary, "image"),
        C::Udt => Known(ValueKind::Binary, "udt"),
        C::SSVariant => {
            return Err(DriverError::not_supported(format!(
                "column '{name}' is a sql_variant, which fastmssql does not support; CAST it to a concrete type"
            )))
        }
    })
}

/// For columns whose width only the values tell: the kind of this cell.
fn kind_of(data: &ColumnData<'_>) -> Option<(ValueKind, &'static str)> {
    Some(match data {
        ColumnData::U8(_) => (ValueKind::UInt8, "tinyint"),
        ColumnData::I16(_) => (ValueKind::Int16, "smallint"),
        ColumnData::I32(_) => (ValueKind::Int32, "int"),
        ColumnData::I64(_) => (ValueKind::Int64, "bigint"),
        ColumnData::F32(_) => (ValueKind::Float32, "real"),
        ColumnData::F64(_) => (ValueKind::Float64, "float"),
        ColumnData::DateTime(_) => (ValueKind::Timestamp, "datetime"),
        ColumnData::SmallDateTime(_) => (ValueKind::Timestamp, "smalldatetime"),
        _ => return None,
    })
}

fn time_nanos(time: Time) -> i64 {
    // SQL Server scales are 0..=7, so 10^(9 - scale) is at least 100.
    time.increments() as i64 * 10i64.pow(9u32.saturating_sub(u32::from(time.scale())))
}

fn datetime2_micros(value: DateTime2) -> i64 {
    let days = i64::from(value.date().days()) - UNIX_EPOCH_DAYS_FROM_YEAR_1;
    days * MICROS_PER_DAY + time_nanos(value.time()) / 1000
}

/// Money arrives from tiberius as `ten_thousandths as f64 / 1e4`. The
/// neighbour of the nearest candidate that reproduces that division exactly is
/// the original, unique for amounts below about 4.5e11; beyond that the f64
/// no longer determines the last digits.
fn money_unscaled(value: f64) -> i128 {
    let nearest = (value * 10_000.0).round() as i64;
    [0, -1, 1, -2, 2]
        .into_iter()
        .map(|delta| nearest.saturating_add(delta))
        .find(|candidate| *candidate as f64 / 10_000.0 == value)
        .unwrap_or(nearest)
        .into()
}

/// Appends one cell to its column.
pub(crate) fn append_cell<S: ColumnSink>(sink: &mut S, data: &ColumnData<'_>) -> Result<(), SinkError> {
    if !sink.is_declared() {
        if let Some((kind, sql_type)) = kind_of(data) {
            sink.declare(kind, sql_type)?;
        }
    }
    macro_rules! put {
        ($value:expr, |$v:ident| $append:expr) => {
            match $value {
                Some($v) => $append,
                None => {
                    sink.append_null();
                    Ok(())
                }
            }
        };
    }
    match data {
        ColumnData::U8(v) => put!(v, |v| sink.append_u8(*v)),
        ColumnData::I16(v) => put!(v, |v| sink.append_i16(*v)),
        ColumnData::I32(v) => put!(v, |v| sink.append_i32(*v)),
        ColumnData::I64(v) => put!(v, |v| sink.append_i64(*v)),
        ColumnData::F32(v) => put!(v, |v| sink.append_f32(*v)),
        // Money columns are decimal sinks; tiberius hands money over as f64.
        ColumnData::F64(v) => put!(v, |v| match sink.append_f64(*v) {
            Err(_) => sink.append_decimal(money_unscaled(*v), 4),
            ok => ok,
        }),
        ColumnData::Bit(v) => put!(v, |v| sink.append_bool(*v)),
        ColumnData::String(v) => put!(v, |v| sink.append_str(v)),
        ColumnData::Guid(v) => put!(v, |v| sink.append_uuid(*v.as_bytes())),
        ColumnData::Binary(v) => put!(v, |v| sink.append_bytes(v)),
        ColumnData::Numeric(v) => put!(v, |v| sink.append_decimal(v.value(), v.scale())),
        ColumnData::Xml(v) => put!(v, |v| sink.append_str(v.as_ref().as_ref())),
        ColumnData::DateTime(v) => put!(v, |v| {
            // 1/300 s ticks, rounded to the millisecond as SQL Server shows them.
            let millis = (i64::from(v.seconds_fragments()) * 10 + 1) / 3;
            let days = i64::from(v.days()) - UNIX_EPOCH_DAYS_FROM_1900;
            sink.append_timestamp(days * MICROS_PER_DAY + millis * 1000)
        }),
        ColumnData::SmallDateTime(v) => put!(v, |v| {
            let days = i64::from(v.days()) - UNIX_EPOCH_DAYS_FROM_1900;
            sink.append_timestamp(days * MICROS_PER_DAY + i64::from(v.seconds_fragments()) * 60_000_000)
        }),
        ColumnData::Time(v) => put!(v, |v| sink.append_time(time_nanos(*v))),
        ColumnData::Date(v) => put!(v, |v| sink.append_date((i64::from(v.days()) - UNIX_EPOCH_DAYS_FROM_YEAR_1) as i32)),
        ColumnData::DateTime2(v) => put!(v, |v| sink.append_timestamp(datetime2_micros(*v))),
        // The wire value of a datetimeoffset is already UTC; the offset only
        // says where it was written.
        ColumnData::DateTimeOffset(v) => put!(v, |v| sink.append_timestamp_utc(datetime2_micros(v.datetime2()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::ColumnBuilder;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int16Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::DataType;
    use tiberius::numeric::Numeric;
    use tiberius::time::{Date, DateTime, DateTimeOffset};

    fn column(name: &str, ty: ColumnType) -> ColumnBuilder {
        ColumnBuilder::new(name, kind_hint(name, ty).unwrap())
    }

    #[test]
    fn nullable_int_width_comes_from_the_first_cell_even_if_null() {
        let mut col = column("n", ColumnType::Intn);
        append_cell(&mut col, &ColumnData::I16(None)).unwrap();
        append_cell(&mut col, &ColumnData::I16(Some(-7))).unwrap();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Int16);
        assert_eq!(array.as_primitive::<Int16Type>().value(1), -7);
        assert!(array.is_null(0));
    }

    #[test]
    fn money_becomes_an_exact_decimal() {
        let mut col = column("m", ColumnType::Money);
        append_cell(&mut col, &ColumnData::F64(Some(-922_337_203.580_8))).unwrap();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Decimal128(19, 4));
        assert_eq!(array.as_primitive::<Decimal128Type>().value(0), -9_223_372_035_808);
    }

    #[test]
    fn large_money_is_recovered_exactly_from_the_f64() {
        for ten_thousandths in [3_961_435_819_265_051i64, -4_503_599_627_370_495, 1, -1, 2_147_483_647] {
            let as_tiberius_decodes = ten_thousandths as f64 / 1e4;
            assert_eq!(money_unscaled(as_tiberius_decodes), i128::from(ten_thousandths), "{ten_thousandths}");
        }
    }

    #[test]
    fn numeric_keeps_all_38_digits() {
        let max = 10i128.pow(38) - 1;
        let mut col = column("d", ColumnType::Numericn);
        append_cell(&mut col, &ColumnData::Numeric(Some(Numeric::new_with_scale(max, 5)))).unwrap();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.data_type(), &DataType::Decimal128(38, 5));
        assert_eq!(array.as_primitive::<Decimal128Type>().value(0), max);
    }

    #[test]
    fn temporal_values_map_to_epoch_units() {
        // 1900-01-01 00:00:00.003 as datetime (1 tick of 1/300 s).
        let mut col = column("t", ColumnType::Datetimen);
        append_cell(&mut col, &ColumnData::DateTime(Some(DateTime::new(0, 1)))).unwrap();
        let (field, array) = col.finish().unwrap();
        assert_eq!(field.metadata()["mssql.type"], "datetime");
        let expected = -UNIX_EPOCH_DAYS_FROM_1900 * MICROS_PER_DAY + 3_000;
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), expected);

        // 1970-01-01 00:00:00.1234567 UTC +02:00 keeps the UTC instant, truncated to µs.
        let mut col = column("o", ColumnType::DatetimeOffsetn);
        let dt2 = DateTime2::new(Date::new(UNIX_EPOCH_DAYS_FROM_YEAR_1 as u32), Time::new(1_234_567, 7));
        append_cell(&mut col, &ColumnData::DateTimeOffset(Some(DateTimeOffset::new(dt2, 120)))).unwrap();
        let (_, array) = col.finish().unwrap();
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), 123_456);
    }

    #[test]
    fn sql_variant_is_not_supported_and_names_the_column() {
        let err = kind_hint("v", ColumnType::SSVariant).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::NotSupported);
        assert!(err.message.contains("'v'"));
    }
}
