//! Every date and time conversion: calendar arithmetic, SQL Server's wire
//! forms to Arrow's epoch units, and the canonical texts of temporal
//! sql_variant values. Dates are counted in days since 1970-01-01 (the Arrow
//! `date32` epoch), timestamps in microseconds, times of day in nanoseconds.

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

pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// date: days since 0001-01-01 to days since 1970-01-01.
pub fn date_days(days_since_year_1: u32) -> i32 {
    // At most 2^24 days: the difference fits an i32.
    (i64::from(days_since_year_1) - UNIX_EPOCH_DAYS_FROM_YEAR_1) as i32
}

/// time(scale): increments of 10^-scale s since midnight to nanoseconds.
pub fn time_nanos(increments: u64, scale: u8) -> i64 {
    // Scales are 0..=7 and increments at most 2^40, so this cannot overflow.
    increments as i64 * NANOS_PER_INCREMENT[usize::from(scale.min(7))]
}

/// 10^(9 - scale): a table, as `pow` with a variable exponent loops per value.
const NANOS_PER_INCREMENT: [i64; 8] = [1_000_000_000, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100];

/// datetime2(scale) (and the UTC instant of a datetimeoffset) to
/// microseconds since 1970-01-01; the 100 ns digit of scale 7 is cut off.
pub fn datetime2_micros(days_since_year_1: u32, increments: u64, scale: u8) -> i64 {
    i64::from(date_days(days_since_year_1)) * MICROS_PER_DAY + time_nanos(increments, scale) / 1000
}

/// datetime: days since 1900-01-01 and 1/300 s ticks to microseconds since
/// 1970-01-01, the ticks rounded to the millisecond as SQL Server presents them;
/// `None` outside datetime's 1753-01-01 to 9999-12-31 (a malformed value, whose
/// microseconds could overflow).
pub fn datetime_micros(days_since_1900: i32, ticks: u32) -> Option<i64> {
    if !(-53_690..=2_958_463).contains(&days_since_1900) || ticks >= 300 * 86_400 {
        return None;
    }
    let millis = (i64::from(ticks) * 10 + 1) / 3;
    Some((i64::from(days_since_1900) - UNIX_EPOCH_DAYS_FROM_1900) * MICROS_PER_DAY + millis * 1000)
}

/// smalldatetime: days since 1900-01-01 and minutes of the day.
pub fn smalldatetime_micros(days_since_1900: u16, minutes: u16) -> i64 {
    (i64::from(days_since_1900) - UNIX_EPOCH_DAYS_FROM_1900) * MICROS_PER_DAY + i64::from(minutes) * 60_000_000
}

/// `YYYY-MM-DD`.
pub fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM:SS` and, for a positive scale, that many fractional digits.
pub fn time_text(nanos: i64, scale: u8) -> String {
    let seconds = nanos / 1_000_000_000;
    let mut text = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    if scale > 0 {
        let fraction = format!("{:09}", nanos % 1_000_000_000);
        text.push('.');
        text.push_str(&fraction[..usize::from(scale.min(7))]);
    }
    text
}

/// `YYYY-MM-DD HH:MM:SS[.fraction]` of a day count and nanoseconds of that day.
pub fn datetime_text(days: i64, nanos_of_day: i64, scale: u8) -> String {
    format!("{} {}", date_text(days), time_text(nanos_of_day, scale))
}

/// `+HH:MM` / `-HH:MM`.
pub fn offset_text(minutes: i16) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let minutes = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The parts of a text written by [`date_text`], [`time_text`],
/// [`datetime_text`] (optionally followed by ` ` and [`offset_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporalParts {
    pub date: Option<(i32, u32, u32)>,
    /// Hour, minute, second, nanosecond.
    pub time: Option<(u32, u32, u32, u32)>,
    pub offset_minutes: Option<i16>,
}

/// Reads back the texts this module writes; `None` for anything else.
pub fn parse_temporal_text(text: &str) -> Option<TemporalParts> {
    let number = |s: &str| s.parse::<u32>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
    let parse_date = |s: &str| -> Option<(i32, u32, u32)> {
        let mut parts = s.split('-');
        let date = (number(parts.next()?)? as i32, number(parts.next()?)?, number(parts.next()?)?);
        parts.next().is_none().then_some(date)
    };
    let parse_time = |s: &str| -> Option<(u32, u32, u32, u32)> {
        let (clock, fraction) = s.split_once('.').unwrap_or((s, ""));
        let mut parts = clock.split(':');
        let (h, m, sec) = (number(parts.next()?)?, number(parts.next()?)?, number(parts.next()?)?);
        if parts.next().is_some() || fraction.len() > 9 {
            return None;
        }
        let nanos = if fraction.is_empty() { 0 } else { number(&format!("{fraction:0<9}"))? };
        Some((h, m, sec, nanos))
    };
    let parse_offset = |s: &str| -> Option<i16> {
        let (sign, rest) = s.split_at_checked(1)?;
        let (h, m) = rest.split_once(':')?;
        let minutes = (number(h)? * 60 + number(m)?) as i16;
        match sign {
            "+" => Some(minutes),
            "-" => Some(-minutes),
            _ => None,
        }
    };
    let pieces: Vec<&str> = text.split(' ').collect();
    match pieces.as_slice() {
        [one] if one.contains(':') => {
            Some(TemporalParts { date: None, time: Some(parse_time(one)?), offset_minutes: None })
        }
        [one] => Some(TemporalParts { date: Some(parse_date(one)?), time: None, offset_minutes: None }),
        [date, time] => {
            Some(TemporalParts { date: Some(parse_date(date)?), time: Some(parse_time(time)?), offset_minutes: None })
        }
        [date, time, offset] => Some(TemporalParts {
            date: Some(parse_date(date)?),
            time: Some(parse_time(time)?),
            offset_minutes: Some(parse_offset(offset)?),
        }),
        _ => None,
    }
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

    #[test]
    fn wire_forms_to_epoch_units() {
        assert_eq!(date_days(UNIX_EPOCH_DAYS_FROM_YEAR_1 as u32), 0);
        assert_eq!(time_nanos(1_234_567, 7), 123_456_700);
        assert_eq!(time_nanos(86_399, 0), 86_399_000_000_000);
        // 1970-01-01 00:00:00.1234567 keeps whole microseconds.
        assert_eq!(datetime2_micros(UNIX_EPOCH_DAYS_FROM_YEAR_1 as u32, 1_234_567, 7), 123_456);
        // One tick of 1/300 s after 1900-01-01 shows as .003.
        assert_eq!(datetime_micros(0, 1), Some(-UNIX_EPOCH_DAYS_FROM_1900 * MICROS_PER_DAY + 3_000));
        assert_eq!(datetime_micros(25_567, 299), Some(997_000));
        // Found by the response_reader fuzz target: a far day overflowed the microseconds.
        assert_eq!(datetime_micros(i32::MAX, 0), None);
        assert_eq!(datetime_micros(-53_691, 0), None);
        assert_eq!(datetime_micros(2_958_463, 300 * 86_400), None);
        assert!(datetime_micros(2_958_463, 300 * 86_400 - 1).is_some());
        assert_eq!(smalldatetime_micros(25_567, 61), 3_660_000_000);
    }

    #[test]
    fn temporal_texts_read_back() {
        let text = datetime_text(-1, 3_723_100_000_000, 7);
        assert_eq!(text, "1969-12-31 01:02:03.1000000");
        let parts = parse_temporal_text(&format!("{text} {}", offset_text(-330))).unwrap();
        assert_eq!(parts.date, Some((1969, 12, 31)));
        assert_eq!(parts.time, Some((1, 2, 3, 100_000_000)));
        assert_eq!(parts.offset_minutes, Some(-330));
        assert_eq!(time_text(59_000_000_000, 0), "00:00:59");
        assert_eq!(parse_temporal_text("00:00:59").unwrap().time, Some((0, 0, 59, 0)));
        assert_eq!(parse_temporal_text(&date_text(0)).unwrap().date, Some((1970, 1, 1)));
        for bad in ["", "x", "2020-01", "10:00", "2020-01-01 10:00:00 0530", "2020-01-01 1:2:3.1234567890"] {
            assert_eq!(parse_temporal_text(bad), None, "{bad}");
        }
    }
}
