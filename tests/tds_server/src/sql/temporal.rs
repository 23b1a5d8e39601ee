//! Date and time conversions: parsing ISO strings, SQL Server's rounding to each
//! type's precision, and formatting as SQL Server's CAST to string does.

use crate::calendar::{civil_from_days, days_from_civil, days_in_month, DAYS_TO_1900, MAX_DAYS, TICKS_PER_DAY};
use crate::types::SqlType;
use crate::value::Value;

/// A local date and time (days since 0001-01-01, 100 ns ticks since midnight) with an
/// optional UTC offset in minutes; the common form of every date/time type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalDateTime {
    pub days: i64,
    pub ticks: u64,
    pub offset: Option<i16>,
}

/// A failure converting into a date/time type.
#[derive(Debug, PartialEq)]
pub enum TemporalError {
    /// Malformed input (SQL Server 241)
    Syntax,
    /// Valid input outside the target type's range (SQL Server 242 / 517)
    OutOfRange,
}

const TICKS_PER_SECOND: u64 = 10_000_000;
const TICKS_PER_MINUTE: u64 = 60 * TICKS_PER_SECOND;

/// A parsed date/time string: the fraction keeps its digits so each target type can
/// apply its own precision rules.
#[derive(Debug, PartialEq)]
pub struct ParsedDateTime {
    pub date: Option<(i64, u32, u32)>,
    /// hour, minute, second, fractional digits
    pub time: Option<(u32, u32, u32, String)>,
    pub offset: Option<i16>,
}

/// Parses the ISO-like forms SQL Server accepts for every date/time type:
/// `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`, `MM/DD/YYYY`, then optionally ` ` or `T` and
/// `hh:mm[:ss[.fffffff]]` with optional AM/PM, then optionally `Z` or `+hh:mm`.
pub fn parse(s: &str) -> Result<ParsedDateTime, TemporalError> {
    let s = s.trim();
    let b = s.as_bytes();
    let mut i = 0;
    let mut date = None;
    let digits = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let num = |from: usize, len: usize| -> i64 { s[from..from + len].parse().expect("digits") };

    let n = digits(0);
    let next = b.get(n).copied();
    if n == 8 && next.is_none_or(|c| c == b' ' || c == b'T') {
        date = Some((num(0, 4), num(4, 2) as u32, num(6, 2) as u32));
        i = 8;
    } else if n == 4 && matches!(next, Some(b'-' | b'/' | b'.')) {
        let sep = b[4];
        let m = digits(5);
        if !(1..=2).contains(&m) || b.get(5 + m) != Some(&sep) {
            return Err(TemporalError::Syntax);
        }
        let d = digits(6 + m);
        if !(1..=2).contains(&d) {
            return Err(TemporalError::Syntax);
        }
        date = Some((num(0, 4), num(5, m) as u32, num(6 + m, d) as u32));
        i = 6 + m + d;
    } else if (1..=2).contains(&n) && matches!(next, Some(b'/' | b'-' | b'.')) {
        // month/day/year (us_english's mdy)
        let sep = b[n];
        let d = digits(n + 1);
        if !(1..=2).contains(&d) || b.get(n + 1 + d) != Some(&sep) {
            return Err(TemporalError::Syntax);
        }
        let y = digits(n + 2 + d);
        if y != 4 {
            return Err(TemporalError::Syntax);
        }
        date = Some((num(n + 2 + d, 4), num(0, n) as u32, num(n + 1, d) as u32));
        i = n + 2 + d + 4;
    }
    if let Some((y, m, d)) = date {
        if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return Err(TemporalError::Syntax);
        }
    }
    // separator
    if date.is_some() && i < b.len() {
        if b[i] == b'T' {
            i += 1;
        } else if b[i] == b' ' {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
        } else {
            return Err(TemporalError::Syntax);
        }
    }
    let mut time = None;
    if i < b.len() && b[i].is_ascii_digit() {
        let h = digits(i);
        if !(1..=2).contains(&h) || b.get(i + h) != Some(&b':') {
            return Err(TemporalError::Syntax);
        }
        let hour = num(i, h) as u32;
        i += h + 1;
        let mi = digits(i);
        if mi != 2 {
            return Err(TemporalError::Syntax);
        }
        let minute = num(i, 2) as u32;
        i += 2;
        let mut second = 0;
        let mut frac = String::new();
        if b.get(i) == Some(&b':') {
            let sd = digits(i + 1);
            if sd != 2 {
                return Err(TemporalError::Syntax);
            }
            second = num(i + 1, 2) as u32;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let fd = digits(i + 1);
                frac = s[i + 1..i + 1 + fd].to_string();
                i += 1 + fd;
            }
        }
        let rest = s[i..].trim_start();
        let mut hour = hour;
        let meridiem = rest.get(..2).filter(|m| m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM"));
        let consumed_ampm = if let Some(m) = meridiem {
            if hour == 0 || hour > 12 {
                return Err(TemporalError::Syntax);
            }
            let pm = m.eq_ignore_ascii_case("PM");
            hour = match (hour, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, true) => h + 12,
                (h, false) => h,
            };
            true
        } else {
            false
        };
        if consumed_ampm {
            i = s.len() - rest.len() + 2;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TemporalError::Syntax);
        }
        time = Some((hour, minute, second, frac));
    }
    if date.is_none() && time.is_none() {
        return Err(TemporalError::Syntax);
    }
    // offset
    let rest = s[i..].trim_start();
    let offset = if rest.is_empty() {
        None
    } else if rest == "Z" || rest == "z" {
        Some(0)
    } else {
        let rb = rest.as_bytes();
        let sign: i16 = match rb[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(TemporalError::Syntax),
        };
        if rb.len() != 6 || rb[3] != b':' || !rb[1..3].iter().chain(&rb[4..6]).all(u8::is_ascii_digit) {
            return Err(TemporalError::Syntax);
        }
        let hh: i16 = rest[1..3].parse().expect("digits");
        let mm: i16 = rest[4..6].parse().expect("digits");
        if hh > 14 || mm > 59 || hh * 60 + mm > 840 {
            return Err(TemporalError::Syntax);
        }
        Some(sign * (hh * 60 + mm))
    };
    Ok(ParsedDateTime { date, time, offset })
}

fn frac_to_ticks(frac: &str, digits: usize) -> u64 {
    // first `digits` fraction digits, zero-padded, as a count of 10^-digits seconds
    let mut f: String = frac.chars().take(digits).collect();
    while f.len() < digits {
        f.push('0');
    }
    if f.is_empty() {
        0
    } else {
        f.parse().expect("digits")
    }
}

/// Days of 1900-01-01, the default date of a time-only string.
fn default_date() -> i64 {
    DAYS_TO_1900
}

/// Converts a parsed string to a value of the date/time type `ty`, with that type's
/// precision and range rules.
pub fn from_parsed(p: &ParsedDateTime, ty: &SqlType) -> Result<Value, TemporalError> {
    let days = p.date.map(|(y, m, d)| days_from_civil(y, m, d)).unwrap_or_else(default_date);
    let (h, mi, s, frac) = p.time.clone().unwrap_or((0, 0, 0, String::new()));
    let whole_ticks = (h as u64 * 3600 + mi as u64 * 60 + s as u64) * TICKS_PER_SECOND;
    match ty {
        SqlType::DateTime | SqlType::SmallDateTime => {
            if frac.len() > 3 || p.offset.is_some() {
                return Err(TemporalError::Syntax);
            }
            let ms = frac_to_ticks(&frac, 3);
            let local = LocalDateTime { days, ticks: whole_ticks + ms * 10_000, offset: None };
            if *ty == SqlType::DateTime {
                // ms -> 1/300 s rounds half up: .001 -> .000, .002 -> .003, .005 -> .007, .999 -> next second
                let secs = whole_ticks / TICKS_PER_SECOND;
                let total300 = secs * 300 + (ms * 3 + 5) / 10;
                datetime_from_300ths(days, total300)
            } else {
                to_value(&local, ty)
            }
        }
        SqlType::Date | SqlType::Time(_) | SqlType::DateTime2(_) | SqlType::DateTimeOffset(_) => {
            if frac.len() > 7 {
                return Err(TemporalError::Syntax);
            }
            let ticks = whole_ticks + frac_to_ticks(&frac, 7);
            let local = LocalDateTime { days, ticks, offset: p.offset };
            to_value(&local, ty)
        }
        _ => Err(TemporalError::Syntax),
    }
}

fn datetime_from_300ths(days: i64, total300: u64) -> Result<Value, TemporalError> {
    let per_day = 300 * 86_400;
    let days = days + (total300 / per_day) as i64;
    let ticks = (total300 % per_day) as u32;
    let rel = days - DAYS_TO_1900;
    // 1753-01-01 .. 9999-12-31
    if days < days_from_civil(1753, 1, 1) || days > MAX_DAYS {
        return Err(TemporalError::OutOfRange);
    }
    Ok(Value::DateTime { days: rel as i32, ticks })
}

/// Rounds `ticks` half up to `scale` fractional digits.
fn round_ticks(ticks: u64, scale: u8) -> u64 {
    let unit = 10u64.pow(7 - scale as u32);
    (ticks + unit / 2) / unit * unit
}

/// Converts the common form to a value of date/time type `ty` (rounding to its precision).
pub fn to_value(v: &LocalDateTime, ty: &SqlType) -> Result<Value, TemporalError> {
    let in_range = |d: i64| (0..=MAX_DAYS).contains(&d);
    match ty {
        SqlType::Date => {
            if !in_range(v.days) {
                return Err(TemporalError::OutOfRange);
            }
            Ok(Value::Date(v.days as u32))
        }
        SqlType::Time(s) => Ok(Value::Time(round_ticks(v.ticks, *s) % TICKS_PER_DAY)),
        SqlType::DateTime2(s) => {
            let t = round_ticks(v.ticks, *s);
            let days = v.days + (t / TICKS_PER_DAY) as i64;
            if !in_range(days) {
                return Err(TemporalError::OutOfRange);
            }
            Ok(Value::DateTime2 { days: days as u32, ticks: t % TICKS_PER_DAY })
        }
        SqlType::DateTimeOffset(s) => {
            let offset = v.offset.unwrap_or(0);
            let t = round_ticks(v.ticks, *s);
            let local_days = v.days + (t / TICKS_PER_DAY) as i64;
            let local_ticks = (t % TICKS_PER_DAY) as i64;
            // UTC = local - offset
            let utc_total = local_days as i128 * TICKS_PER_DAY as i128 + local_ticks as i128
                - offset as i128 * TICKS_PER_MINUTE as i128;
            let utc_days = utc_total.div_euclid(TICKS_PER_DAY as i128) as i64;
            let utc_ticks = utc_total.rem_euclid(TICKS_PER_DAY as i128) as u64;
            if !in_range(local_days) || !in_range(utc_days) {
                return Err(TemporalError::OutOfRange);
            }
            Ok(Value::DateTimeOffset { days: utc_days as u32, ticks: utc_ticks, offset_minutes: offset })
        }
        SqlType::DateTime => {
            // 100 ns -> 1/300 s, half up
            let t300 = (v.ticks * 3 + 50_000) / 100_000;
            datetime_from_300ths(v.days, t300)
        }
        SqlType::SmallDateTime => {
            // 29.998 s or less rounds down, 29.999 s or more rounds up
            let minutes = v.ticks / TICKS_PER_MINUTE;
            let rem = v.ticks % TICKS_PER_MINUTE;
            let minutes = minutes + u64::from(rem >= 299_990_000);
            let days = v.days + (minutes / 1440) as i64;
            let rel = days - DAYS_TO_1900;
            let minutes = (minutes % 1440) as u16;
            let last = days_from_civil(2079, 6, 6) - DAYS_TO_1900;
            if rel < 0 || rel > last {
                return Err(TemporalError::OutOfRange);
            }
            Ok(Value::SmallDateTime { days: rel as u16, minutes })
        }
        _ => Err(TemporalError::Syntax),
    }
}

/// The common form of a date/time value of type `ty`; `None` for non-temporal values.
/// datetimeoffset yields its local time with the offset.
pub fn from_value(v: &Value) -> Option<LocalDateTime> {
    Some(match *v {
        Value::Date(d) => LocalDateTime { days: d as i64, ticks: 0, offset: None },
        Value::Time(t) => LocalDateTime { days: DAYS_TO_1900, ticks: t, offset: None },
        Value::DateTime { days, ticks } => LocalDateTime {
            days: days as i64 + DAYS_TO_1900,
            // 1/300 s -> 100 ns, half up (.003 -> .0033333, .007 -> .0066667)
            ticks: (ticks as u64 * 100_000 + 1) / 3,
            offset: None,
        },
        Value::SmallDateTime { days, minutes } => {
            LocalDateTime { days: days as i64 + DAYS_TO_1900, ticks: minutes as u64 * TICKS_PER_MINUTE, offset: None }
        }
        Value::DateTime2 { days, ticks } => LocalDateTime { days: days as i64, ticks, offset: None },
        Value::DateTimeOffset { days, ticks, offset_minutes } => {
            let local = days as i128 * TICKS_PER_DAY as i128
                + ticks as i128
                + offset_minutes as i128 * TICKS_PER_MINUTE as i128;
            LocalDateTime {
                days: local.div_euclid(TICKS_PER_DAY as i128) as i64,
                ticks: local.rem_euclid(TICKS_PER_DAY as i128) as u64,
                offset: Some(offset_minutes),
            }
        }
        _ => return None,
    })
}

fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_time(ticks: u64, scale: u8) -> String {
    let secs = ticks / TICKS_PER_SECOND;
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if scale > 0 {
        let frac = format!("{:07}", ticks % TICKS_PER_SECOND);
        s.push('.');
        s.push_str(&frac[..scale as usize]);
    }
    s
}

/// The text CAST(value AS varchar) gives for a date/time value (style 0 for datetime and
/// smalldatetime, ISO for the others).
pub fn format(v: &Value, ty: &SqlType) -> Option<String> {
    let local = from_value(v)?;
    Some(match ty {
        SqlType::Date => format_date(local.days),
        SqlType::Time(s) => format_time(local.ticks, *s),
        SqlType::DateTime2(s) => format!("{} {}", format_date(local.days), format_time(local.ticks, *s)),
        SqlType::DateTimeOffset(s) => {
            let off = local.offset.unwrap_or(0);
            let sign = if off < 0 { '-' } else { '+' };
            let a = off.unsigned_abs();
            format!("{} {} {sign}{:02}:{:02}", format_date(local.days), format_time(local.ticks, *s), a / 60, a % 60)
        }
        SqlType::DateTime | SqlType::SmallDateTime => {
            // style 0: "mon dd yyyy hh:miAM"
            const MONTHS: [&str; 12] =
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let (y, m, d) = civil_from_days(local.days);
            let minutes = match v {
                Value::DateTime { ticks, .. } => *ticks as u64 / 300 / 60,
                _ => local.ticks / TICKS_PER_MINUTE,
            };
            let (h, mi) = (minutes / 60, minutes % 60);
            let (h12, ampm) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            format!("{} {d:>2} {y} {h12:>2}:{mi:02}{ampm}", MONTHS[m as usize - 1])
        }
        _ => return None,
    })
}

/// The text of CONVERT(varchar, value, style) for the styles with four-digit years and
/// whole seconds; `None` for other styles (and for date styles of a time value).
pub fn format_style(v: &Value, ty: &SqlType, style: i64) -> Option<String> {
    format_local_style(&from_value(v)?, ty, style)
}

/// Whether `format_style` knows `style` for values of `ty`.
pub fn supports_style(ty: &SqlType, style: i64) -> bool {
    format_local_style(&LocalDateTime { days: 0, ticks: 0, offset: None }, ty, style).is_some()
}

fn format_local_style(local: &LocalDateTime, ty: &SqlType, style: i64) -> Option<String> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, m, d) = civil_from_days(local.days);
    let secs = local.ticks / TICKS_PER_SECOND;
    // datetime's 1/300 s and any fraction are cut, not rounded, by these styles
    let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let has_date = !matches!(ty, SqlType::Time(_));
    Some(match style {
        108 | 8 | 24 => time,
        _ if !has_date => return None,
        23 => format!("{y:04}-{m:02}-{d:02}"),
        101 => format!("{m:02}/{d:02}/{y:04}"),
        102 => format!("{y:04}.{m:02}.{d:02}"),
        103 => format!("{d:02}/{m:02}/{y:04}"),
        104 => format!("{d:02}.{m:02}.{y:04}"),
        105 => format!("{d:02}-{m:02}-{y:04}"),
        106 => format!("{d:02} {} {y:04}", MONTHS[m as usize - 1]),
        107 => format!("{} {d:02}, {y:04}", MONTHS[m as usize - 1]),
        110 => format!("{m:02}-{d:02}-{y:04}"),
        111 => format!("{y:04}/{m:02}/{d:02}"),
        112 => format!("{y:04}{m:02}{d:02}"),
        20 | 120 => format!("{y:04}-{m:02}-{d:02} {time}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_forms() {
        let p = parse("2024-02-29T23:59:59.1234567+14:00").unwrap();
        assert_eq!(p.date, Some((2024, 2, 29)));
        assert_eq!(p.time, Some((23, 59, 59, "1234567".into())));
        assert_eq!(p.offset, Some(840));
        assert_eq!(parse("20240229").unwrap().date, Some((2024, 2, 29)));
        assert_eq!(parse("2023-02-29"), Err(TemporalError::Syntax));
        assert_eq!(parse("12/31/1999 11:30 PM").unwrap().time, Some((23, 30, 0, String::new())));
        assert_eq!(parse("10:00").unwrap().date, None);
        // a multi-byte character where AM/PM could be is a syntax error, not a panic
        assert_eq!(parse("10:00 😀"), Err(TemporalError::Syntax));
    }

    #[test]
    fn convert_styles() {
        let v = from_parsed(&parse("2024-02-09 13:04:05.997").unwrap(), &SqlType::DateTime).unwrap();
        let f = |style| format_style(&v, &SqlType::DateTime, style);
        assert_eq!(f(120).as_deref(), Some("2024-02-09 13:04:05"));
        assert_eq!(f(112).as_deref(), Some("20240209"));
        assert_eq!(f(103).as_deref(), Some("09/02/2024"));
        assert_eq!(f(107).as_deref(), Some("Feb 09, 2024"));
        assert_eq!(f(108).as_deref(), Some("13:04:05"));
        assert_eq!(f(121), None);
        let t = from_parsed(&parse("10:00").unwrap(), &SqlType::Time(0)).unwrap();
        assert_eq!(format_style(&t, &SqlType::Time(0), 23), None);
    }

    #[test]
    fn datetime_rounds_to_300ths() {
        let cases = [("000", 0), ("001", 0), ("002", 1), ("003", 1), ("004", 1), ("005", 2), ("007", 2), ("009", 3)];
        for (ms, ticks) in cases {
            let p = parse(&format!("1900-01-01 00:00:00.{ms}")).unwrap();
            assert_eq!(from_parsed(&p, &SqlType::DateTime).unwrap(), Value::DateTime { days: 0, ticks }, "{ms}");
        }
        let p = parse("2020-01-01 23:59:59.999").unwrap();
        let Value::DateTime { ticks, .. } = from_parsed(&p, &SqlType::DateTime).unwrap() else { panic!() };
        assert_eq!(ticks, 0);
        assert_eq!(
            from_parsed(&parse("9999-12-31 23:59:59.999").unwrap(), &SqlType::DateTime),
            Err(TemporalError::OutOfRange)
        );
    }
}
