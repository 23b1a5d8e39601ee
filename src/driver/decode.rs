//! tiberius cell values into Arrow column sinks.

use crate::arrow::{ColumnSink, SinkError};
use crate::temporal::{MICROS_PER_DAY, UNIX_EPOCH_DAYS_FROM_1900, UNIX_EPOCH_DAYS_FROM_YEAR_1};
use tiberius::time::{DateTime2, Time};
use tiberius::ColumnData;

fn time_nanos(time: Time) -> i64 {
    // SQL Server scales are 0..=7, so 10^(9 - scale) is at least 100.
    time.increments() as i64 * 10i64.pow(9u32.saturating_sub(u32::from(time.scale())))
}

fn datetime2_micros(value: DateTime2) -> i64 {
    let days = i64::from(value.date().days()) - UNIX_EPOCH_DAYS_FROM_YEAR_1;
    days * MICROS_PER_DAY + time_nanos(value.time()) / 1000
}

/// Appends one cell to its column (described from the same TYPE_INFO the
/// cell was decoded with).
pub(crate) fn append_cell<S: ColumnSink>(sink: &mut S, data: &ColumnData<'_>) -> Result<(), SinkError> {
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
        ColumnData::F64(v) => put!(v, |v| sink.append_f64(*v)),
        ColumnData::Bit(v) => put!(v, |v| sink.append_bool(*v)),
        ColumnData::String(v) => put!(v, |v| sink.append_str(v)),
        ColumnData::Guid(v) => put!(v, |v| sink.append_uuid(*v.as_bytes())),
        ColumnData::Binary(v) => put!(v, |v| sink.append_bytes(v)),
        // decimal, numeric, and money (exact, by the vendored tiberius patch).
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
        ColumnData::Date(v) => {
            put!(v, |v| sink.append_date((i64::from(v.days()) - UNIX_EPOCH_DAYS_FROM_YEAR_1) as i32))
        }
        ColumnData::DateTime2(v) => put!(v, |v| sink.append_timestamp(datetime2_micros(*v))),
        // The wire value of a datetimeoffset is already UTC; the offset only
        // says where it was written.
        ColumnData::DateTimeOffset(v) => put!(v, |v| sink.append_timestamp_utc(datetime2_micros(v.datetime2()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::{ColumnBuilder, ColumnDescription, ValueKind};
    use crate::driver::describe::describe_column;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int16Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::DataType;
    use tiberius::numeric::Numeric;
    use tiberius::time::{Date, DateTime, DateTimeOffset};
    use tiberius::{FixedLenType, TypeInfo, VarLenContext, VarLenType};

    fn column(type_info: TypeInfo) -> ColumnBuilder {
        ColumnBuilder::new("c", describe_column("c", &type_info).unwrap()).unwrap()
    }

    fn nullable(ty: VarLenType, len: usize) -> ColumnBuilder {
        column(TypeInfo::VarLenSized(VarLenContext::new(ty, len, None)))
    }

    #[test]
    fn nullable_ints_have_their_declared_width_from_the_first_null() {
        let mut col = nullable(VarLenType::Intn, 2);
        append_cell(&mut col, &ColumnData::I16(None)).unwrap();
        append_cell(&mut col, &ColumnData::I16(Some(-7))).unwrap();
        let (field, array) = col.finish();
        assert_eq!(field.data_type(), &DataType::Int16);
        assert_eq!(array.as_primitive::<Int16Type>().value(1), -7);
        assert!(array.is_null(0));
    }

    #[test]
    fn money_extremes_and_a_null_smallmoney_are_exact_decimals() {
        let mut money = nullable(VarLenType::Money, 8);
        for scaled in [i64::MAX, i64::MIN] {
            append_cell(&mut money, &ColumnData::Numeric(Some(Numeric::new_with_scale(scaled.into(), 4)))).unwrap();
        }
        let (field, array) = money.finish();
        assert_eq!(field.data_type(), &DataType::Decimal128(19, 4));
        let values = array.as_primitive::<Decimal128Type>();
        assert_eq!((values.value(0), values.value(1)), (i64::MAX.into(), i64::MIN.into()));

        let mut smallmoney = nullable(VarLenType::Money, 4);
        append_cell(&mut smallmoney, &ColumnData::Numeric(None)).unwrap();
        let (field, array) = smallmoney.finish();
        assert_eq!(field.data_type(), &DataType::Decimal128(10, 4));
        assert_eq!(field.metadata()["mssql.type"], "smallmoney");
        assert!(array.is_null(0));
    }

    #[test]
    fn a_value_of_another_kind_than_described_is_an_error() {
        let mut col = column(TypeInfo::FixedLen(FixedLenType::Int4));
        assert!(append_cell(&mut col, &ColumnData::F64(Some(1.0))).is_err());
    }

    #[test]
    fn numeric_keeps_all_38_digits() {
        let max = 10i128.pow(38) - 1;
        let mut col = ColumnBuilder::new(
            "d",
            ColumnDescription::new(ValueKind::Decimal { precision: 38, scale: 5 }, "numeric(38,5)"),
        )
        .unwrap();
        append_cell(&mut col, &ColumnData::Numeric(Some(Numeric::new_with_scale(max, 5)))).unwrap();
        let (field, array) = col.finish();
        assert_eq!(field.data_type(), &DataType::Decimal128(38, 5));
        assert_eq!(array.as_primitive::<Decimal128Type>().value(0), max);
    }

    #[test]
    fn temporal_values_map_to_epoch_units() {
        // 1900-01-01 00:00:00.003 as datetime (1 tick of 1/300 s).
        let mut col = nullable(VarLenType::Datetimen, 8);
        append_cell(&mut col, &ColumnData::DateTime(Some(DateTime::new(0, 1)))).unwrap();
        let (field, array) = col.finish();
        assert_eq!(field.metadata()["mssql.type"], "datetime");
        let expected = -UNIX_EPOCH_DAYS_FROM_1900 * MICROS_PER_DAY + 3_000;
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), expected);

        // 1970-01-01 00:00:00.1234567 UTC +02:00 keeps the UTC instant, truncated to µs.
        let mut col = nullable(VarLenType::DatetimeOffsetn, 7);
        let dt2 = DateTime2::new(Date::new(UNIX_EPOCH_DAYS_FROM_YEAR_1 as u32), Time::new(1_234_567, 7));
        append_cell(&mut col, &ColumnData::DateTimeOffset(Some(DateTimeOffset::new(dt2, 120)))).unwrap();
        let (field, array) = col.finish();
        assert_eq!(field.metadata()["mssql.type"], "datetimeoffset(7)");
        assert_eq!(array.as_primitive::<TimestampMicrosecondType>().value(0), 123_456);
    }
}
