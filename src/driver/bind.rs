//! Our parameters as tiberius `ColumnData`, plus the statement rewrite that
//! gives forced-type parameters their exact declared type.

use crate::params::{BoundParam, ParamValue, SqlType};
use crate::statement::{positional_name, rename_variables};
use crate::temporal::{split_micros, NANOS_PER_DAY, UNIX_EPOCH_DAYS_FROM_YEAR_1};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime2, DateTimeOffset, Time};
use tiberius::{ColumnData, ToSql, Uuid};

fn date(days_since_epoch: i64) -> Date {
    Date::new((days_since_epoch + UNIX_EPOCH_DAYS_FROM_YEAR_1) as u32)
}

/// Nanoseconds since midnight as a `time(7)` (100 ns increments).
fn time(nanos: i64) -> Time {
    Time::new((nanos / 100) as u64, 7)
}

/// Days since 1970-01-01 as a `date`, or why it is outside 0001-01-01..9999-12-31.
pub(super) fn date_checked(days_since_epoch: i64) -> Result<Date, String> {
    const LAST_DAY_FROM_YEAR_1: i64 = 3_652_058;
    let days = days_since_epoch + UNIX_EPOCH_DAYS_FROM_YEAR_1;
    if (0..=LAST_DAY_FROM_YEAR_1).contains(&days) {
        Ok(Date::new(days as u32))
    } else {
        Err("is outside SQL Server's date range (0001-01-01 to 9999-12-31)".into())
    }
}

/// Nanoseconds since midnight as a time of `scale` fractional digits, or why
/// digits would be lost or it is not a time of day (an Arrow time64 can hold any i64).
pub(super) fn time_at(nanos: i64, scale: u8) -> Result<Time, String> {
    if !(0..NANOS_PER_DAY).contains(&nanos) {
        return Err("is not a time of day (00:00:00 to 23:59:59.9999999)".into());
    }
    let unit = 10i64.pow(9 - u32::from(scale.min(7)));
    if nanos % unit != 0 {
        return Err(format!("has digits beyond the {scale} fractional digits of the column"));
    }
    Ok(Time::new((nanos / unit) as u64, scale))
}

/// Naive microseconds as a datetime2 of `scale` fractional digits.
pub(super) fn datetime2_at(micros: i64, scale: u8) -> Result<DateTime2, String> {
    let (days, micros_of_day) = split_micros(micros);
    Ok(DateTime2::new(date_checked(days)?, time_at(micros_of_day * 1000, scale)?))
}

fn datetime2(micros: i64) -> DateTime2 {
    let (days, micros_of_day) = split_micros(micros);
    DateTime2::new(date(days), time(micros_of_day * 1000))
}

/// A NULL for a forced type. The CAST in the statement gives the type, so
/// the wire value only has to be explicitly convertible to it; tiberius
/// encodes NULL strings, binaries, decimals and dates as the untyped NULLTYPE,
/// so a typed integer NULL is used wherever SQL Server converts it.
fn typed_null(forced: Option<SqlType>) -> ColumnData<'static> {
    match forced {
        Some(SqlType::Bit) => ColumnData::Bit(None),
        Some(SqlType::TinyInt) => ColumnData::U8(None),
        Some(SqlType::SmallInt) => ColumnData::I16(None),
        Some(SqlType::Int) => ColumnData::I32(None),
        Some(SqlType::Real) => ColumnData::F32(None),
        Some(SqlType::Float) => ColumnData::F64(None),
        Some(SqlType::UniqueIdentifier) => ColumnData::Guid(None),
        Some(
            SqlType::BigInt
            | SqlType::Decimal { .. }
            | SqlType::Money
            | SqlType::SmallMoney
            | SqlType::Char(_)
            | SqlType::VarChar(_)
            | SqlType::NChar(_)
            | SqlType::NVarChar(_)
            | SqlType::Binary(_)
            | SqlType::VarBinary(_)
            | SqlType::DateTime
            | SqlType::SmallDateTime,
        ) => ColumnData::I64(None),
        // No typed NULL of tiberius converts to these: an nvarchar NULL does.
        Some(SqlType::Date | SqlType::Time(_) | SqlType::DateTime2(_) | SqlType::DateTimeOffset(_) | SqlType::Xml)
        | None => ColumnData::String(None),
    }
}

/// Wraps a [`BoundParam`] for tiberius.
pub(crate) struct TdsParam<'a>(pub &'a BoundParam);

impl ToSql for TdsParam<'_> {
    fn to_sql(&self) -> ColumnData<'_> {
        let forced = self.0.forced;
        match &self.0.value {
            ParamValue::Null => typed_null(forced),
            ParamValue::Bool(b) => ColumnData::Bit(Some(*b)),
            ParamValue::Int(v) => match forced {
                Some(SqlType::TinyInt) => ColumnData::U8(Some(*v as u8)),
                Some(SqlType::SmallInt) => ColumnData::I16(Some(*v as i16)),
                Some(SqlType::Int) => ColumnData::I32(Some(*v as i32)),
                Some(SqlType::BigInt) => ColumnData::I64(Some(*v)),
                _ => match i32::try_from(*v) {
                    Ok(small) => ColumnData::I32(Some(small)),
                    Err(_) => ColumnData::I64(Some(*v)),
                },
            },
            ParamValue::Float(f) => match forced {
                Some(SqlType::Real) => ColumnData::F32(Some(*f as f32)),
                _ => ColumnData::F64(Some(*f)),
            },
            ParamValue::String(s) => ColumnData::String(Some(s.as_str().into())),
            ParamValue::Bytes(b) => ColumnData::Binary(Some(b.as_slice().into())),
            ParamValue::Decimal { unscaled, scale } => {
                ColumnData::Numeric(Some(Numeric::new_with_scale(*unscaled, *scale)))
            }
            ParamValue::Date(days) => ColumnData::Date(Some(date(i64::from(*days)))),
            ParamValue::Time(nanos) => ColumnData::Time(Some(time(*nanos))),
            ParamValue::DateTime(micros) => ColumnData::DateTime2(Some(datetime2(*micros))),
            ParamValue::DateTimeOffset { utc_micros, offset_minutes } => {
                ColumnData::DateTimeOffset(Some(DateTimeOffset::new(datetime2(*utc_micros), *offset_minutes)))
            }
            ParamValue::Uuid(bytes) => ColumnData::Guid(Some(Uuid::from_bytes(*bytes))),
        }
    }
}

/// The statement to send: every reference to a forced-type parameter reads
/// `CAST(@Pn AS type)`, so the statement sees exactly the requested type
/// (tiberius declares parameters from their values). A CAST is an
/// expression, so forced parameters cannot be EXEC arguments or assignment
/// targets.
pub(crate) fn statement_with_forced_types(sql: &str, params: &[BoundParam]) -> String {
    let renames: Vec<(String, String)> = params
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.forced.map(|forced| {
                (positional_name(i), format!("CAST(@{} AS {})", positional_name(i), forced.declaration()))
            })
        })
        .collect();
    if renames.is_empty() {
        return sql.to_string();
    }
    rename_variables(sql, &renames)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/client/test_roundtrip_property.py: a time64 beyond a day reached the
    /// encoder and failed there as a protocol error, after the load had started.
    #[test]
    fn times_outside_a_day_are_refused() {
        assert!(time_at(NANOS_PER_DAY - 100, 7).is_ok());
        for nanos in [NANOS_PER_DAY, -100, i64::MAX / 100 * 100, i64::MIN / 100 * 100] {
            assert!(time_at(nanos, 7).unwrap_err().contains("time of day"), "{nanos}");
        }
    }

    #[test]
    fn ints_pick_the_narrowest_of_int_and_bigint() {
        let small = BoundParam::new(ParamValue::Int(5));
        let big = BoundParam::new(ParamValue::Int(1 << 40));
        assert_eq!(TdsParam(&small).to_sql(), ColumnData::I32(Some(5)));
        assert_eq!(TdsParam(&big).to_sql(), ColumnData::I64(Some(1 << 40)));
    }

    #[test]
    fn dates_count_from_year_one_and_times_in_100ns() {
        let d = BoundParam::new(ParamValue::Date(0));
        assert_eq!(TdsParam(&d).to_sql(), ColumnData::Date(Some(Date::new(719_162))));
        let t = BoundParam::new(ParamValue::Time(1_234_567_800));
        assert_eq!(TdsParam(&t).to_sql(), ColumnData::Time(Some(Time::new(12_345_678, 7))));
        let before_epoch = BoundParam::new(ParamValue::DateTime(-1));
        match TdsParam(&before_epoch).to_sql() {
            ColumnData::DateTime2(Some(dt)) => {
                assert_eq!(dt.date().days(), 719_161);
                assert_eq!(dt.time().increments(), 863_999_999_990);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn forced_parameters_are_cast_where_used() {
        let params = vec![
            BoundParam::new(ParamValue::Int(1)),
            BoundParam::forced(ParamValue::Null, SqlType::parse("decimal(18,4)").unwrap()).unwrap(),
        ];
        let sql = statement_with_forced_types("SELECT @P1, @P2", &params);
        assert_eq!(sql, "SELECT @P1, CAST(@P2 AS decimal(18,4))");
        assert_eq!(TdsParam(&params[1]).to_sql(), ColumnData::I64(None));
        assert_eq!(statement_with_forced_types("SELECT @P1", &params[..1]), "SELECT @P1");
    }

    /// A fixed-seed xorshift, so a failure reproduces.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    /// Values as the Python layer makes them: through the same checked constructors.
    fn random_value(random: &mut Random) -> Option<ParamValue> {
        use crate::params::{checked_datetimeoffset, checked_decimal, checked_float};
        let bits = random.next();
        let value = match random.next() % 9 {
            0 => ParamValue::Null,
            1 => ParamValue::Bool(bits & 1 == 1),
            2 => ParamValue::Int(random.pick(&[0, 1, -1, 255, 256, i64::from(i32::MAX) + 1, i64::MIN, bits as i64])),
            3 => checked_float(f64::from_bits(bits)).ok()?,
            4 => checked_decimal(i128::from(bits as i64) * i128::from(random.next() as i64), (bits % 40) as u8).ok()?,
            5 => ParamValue::Date((bits % 3_652_059) as i32 - 719_162),
            6 => ParamValue::DateTime((bits % (1 << 48)) as i64 - (1 << 47)),
            7 => checked_datetimeoffset((bits % (1 << 49)) as i64 - (1 << 48), (random.next() % 1681) as i16 - 840)
                .ok()?,
            _ => ParamValue::String("x".repeat((bits % 5000) as usize)),
        };
        Some(value)
    }

    #[test]
    fn random_values_forced_to_random_types_encode_without_panics_and_within_range() {
        let types = [
            "bit",
            "tinyint",
            "smallint",
            "int",
            "bigint",
            "real",
            "float",
            "decimal(38,0)",
            "decimal(18,4)",
            "decimal(5,5)",
            "money",
            "smallmoney",
            "nvarchar(10)",
            "varbinary(max)",
            "date",
            "time(3)",
            "datetime",
            "smalldatetime",
            "datetime2(7)",
            "datetimeoffset(7)",
            "uniqueidentifier",
        ]
        .map(|t| SqlType::parse(t).unwrap());
        let mut random = Random(0x2545_F491_4F6C_DD1D);
        let (mut encoded, mut refused) = (0, 0);
        for _ in 0..50_000 {
            let Some(value) = random_value(&mut random) else { continue };
            let ty = random.pick(&types);
            let forced = random.pick(&[None, Some(ty)]);
            let bound = match forced {
                None => BoundParam::new(value),
                Some(ty) => match BoundParam::forced(value, ty) {
                    Ok(bound) => bound,
                    Err(_) => {
                        refused += 1;
                        continue;
                    }
                },
            };
            encoded += 1;
            let statement = statement_with_forced_types("SELECT @P1 AS v", std::slice::from_ref(&bound));
            assert!(statement.starts_with("SELECT "), "{statement}");
            match (TdsParam(&bound).to_sql(), forced) {
                (ColumnData::Numeric(Some(n)), Some(SqlType::Decimal { precision, scale })) => {
                    assert!(n.precision() <= precision && n.scale() == scale, "{n:?} as {forced:?}");
                }
                (ColumnData::Numeric(Some(n)), _) => assert!(n.precision() <= 38, "{n:?}"),
                (ColumnData::F64(Some(f)), _) => assert!(f.is_finite()),
                (ColumnData::F32(Some(f)), _) => assert!(f.is_finite(), "{bound:?}"),
                (ColumnData::Date(Some(d)), _) => assert!(d.days() <= 3_652_058),
                (ColumnData::DateTime2(Some(dt)), _) => assert!(dt.date().days() <= 3_652_058, "{bound:?}"),
                (ColumnData::DateTimeOffset(Some(dto)), _) => {
                    assert!(dto.datetime2().date().days() <= 3_652_058, "{bound:?}")
                }
                _ => {}
            }
        }
        assert!(encoded > 10_000 && refused > 1_000, "{encoded} encoded, {refused} refused");
    }

    #[test]
    fn decimals_with_38_fractional_digits_are_declared_numeric_38_38() {
        let value = 10i128.pow(38) - 1;
        let params = vec![BoundParam::new(ParamValue::Decimal { unscaled: value, scale: 38 })];
        assert_eq!(statement_with_forced_types("SELECT @P1", &params), "SELECT @P1");
        match TdsParam(&params[0]).to_sql() {
            ColumnData::Numeric(Some(n)) => {
                assert_eq!((n.precision(), n.scale(), n.value()), (38, 38, value))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
