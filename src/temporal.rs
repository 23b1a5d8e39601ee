//! Calendar arithmetic shared by parameter binding and cell conversion.
//! Dates are counted in days since 1970-01-01 (the Arrow `date32` epoch).

/// Days from 0001-01-01 (proleptic Gregorian) to 1970-01-01.
pub const UNIX_EPOCH_DAYS_FROM_YEAR_1: i64 = 719_162;
/// Days from 1900-01-01 to 1970-01-01 (the `datetime` epoch).
pub const UNIX_EPOCH_DAYS_FROM_1900: i64 = 25_567;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// Splits microseconds since the epoch into (days, microseconds of that day).
pub fn split_micros(micros: i64) -> (i64, i64) {
    (micros.div_euclid(MICROS_PER_DAY), micros.rem_euclid(MICROS_PER_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_round_trip() {
        for (y, m, d, days) in [
            (1970, 1, 1, 0),
            (2000, 3, 1, 11_017),
            (1, 1, 1, -UNIX_EPOCH_DAYS_FROM_YEAR_1),
            (1900, 1, 1, -UNIX_EPOCH_DAYS_FROM_1900),
            (9999, 12, 31, 2_932_896),
        ] {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), (y, m, d));
        }
    }

    #[test]
    fn negative_micros_split_into_previous_day() {
        assert_eq!(split_micros(-1), (-1, MICROS_PER_DAY - 1));
    }
}
