//! FORMAT(value, format [, culture]) for the en-US culture, as .NET formats: numbers with the
//! standard formats N, F, D, C and X (with a precision) and custom patterns of `0`, `#`, `,` and
//! `.`; dates and times with the standard formats d, D, t, T, g, G and custom patterns (yyyy, MM,
//! MMM, dd, ddd, HH, hh, mm, ss, fff, tt ...). Other formats and cultures are refused.

use super::convert::{convert, format_decimal};
use super::dates::{DAY_NAMES, MONTH_NAMES};
use super::eval::Typed;
use super::functions::{arguments, text};
use super::parser::SqlError;
use super::temporal::from_value;
use crate::calendar::civil_from_days;
use crate::types::SqlType;
use crate::value::Value;

/// FORMAT: nvarchar(4000), NULL for a NULL value or a format .NET rejects.
pub fn call(args: Vec<Typed>) -> Result<Typed, SqlError> {
    arguments("FORMAT", &args, 2, 3)?;
    let mut args = args.into_iter();
    let (value, format) = (args.next().expect("two"), args.next().expect("two"));
    let culture = args.next();
    let value = (|| {
        let v = value.value?;
        let Some(pattern) = text(&format.value?, &format.ty)? else { return Ok(Value::Null) };
        if let Some(c) = culture {
            let culture = text(&c.value?, &c.ty)?.unwrap_or_default();
            if !["en-US", "en", "", "iv", "invariant"].iter().any(|k| culture.eq_ignore_ascii_case(k)) {
                return Err(SqlError::not_supported(format!("FORMAT for the culture '{culture}'")));
            }
        }
        if v.is_null() {
            return Ok(Value::Null);
        }
        let formatted = if value.ty.is_temporal() {
            format_temporal(&v, &pattern)
        } else if value.ty.is_number() {
            format_number(&v, &value.ty, &pattern)?
        } else {
            return Err(SqlError::not_supported(format!("FORMAT of {}", value.ty.name())));
        };
        Ok(formatted.map_or(Value::Null, Value::Str))
    })();
    Ok(Typed { ty: SqlType::NVarChar(Some(4000)), nullable: true, value })
}

/// A number as an exact decimal string (`-1234.5`), and whether it is an integer type.
fn decimal_text(v: &Value, ty: &SqlType) -> Result<(String, bool), SqlError> {
    Ok(match v {
        Value::Int(i) => (i.to_string(), true),
        Value::Bool(b) => ((*b as i64).to_string(), true),
        Value::Decimal(u, s) => (format_decimal(*u, *s), false),
        Value::Money(m) => (format_decimal(*m as i128, 4), false),
        Value::Float(f) => (format!("{f}"), false),
        other => match convert(other, ty, &SqlType::Float)? {
            Value::Float(f) => (format!("{f}"), false),
            _ => (String::new(), false),
        },
    })
}

/// `digits` rounded half away from zero to `places` decimals (an exact decimal string in and out).
fn round_text(digits: &str, places: usize) -> String {
    let negative = digits.starts_with('-');
    let unsigned = digits.trim_start_matches('-');
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut kept: Vec<u8> = whole.bytes().chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(places)).collect();
    let next = fraction.as_bytes().get(places).copied().unwrap_or(b'0');
    if next >= b'5' {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - places;
    let (w, f) = kept.split_at(split);
    let w = String::from_utf8_lossy(w).trim_start_matches('0').to_string();
    let w = if w.is_empty() { "0".to_string() } else { w };
    let is_zero = w == "0" && f.iter().all(|b| *b == b'0');
    let sign = if negative && !is_zero { "-" } else { "" };
    if places == 0 {
        format!("{sign}{w}")
    } else {
        format!("{sign}{w}.{}", String::from_utf8_lossy(f))
    }
}

/// `1234567` as `1,234,567`.
fn grouped(whole: &str) -> String {
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    out
}

fn format_number(v: &Value, ty: &SqlType, pattern: &str) -> Result<Option<String>, SqlError> {
    let (digits, integer) = decimal_text(v, ty)?;
    let mut chars = pattern.chars();
    let standard = chars.next().map(|c| c.to_ascii_uppercase());
    let precision: Option<usize> = if pattern.len() > 1 { pattern[1..].parse().ok() } else { None };
    let is_standard = standard.is_some_and(|c| c.is_ascii_alphabetic())
        && (pattern.len() == 1 || (pattern.len() <= 3 && precision.is_some()));
    if is_standard {
        let with = |places: usize, group: bool| {
            let rounded = round_text(&digits, places);
            let negative = rounded.starts_with('-');
            let unsigned = rounded.trim_start_matches('-');
            let (w, f) = unsigned.split_once('.').map_or((unsigned, None), |(w, f)| (w, Some(f)));
            let w = if group { grouped(w) } else { w.to_string() };
            let body = f.map_or(w.clone(), |f| format!("{w}.{f}"));
            (negative, body)
        };
        return Ok(match standard {
            Some('N') => {
                let (negative, body) = with(precision.unwrap_or(2), true);
                Some(if negative { format!("-{body}") } else { body })
            }
            Some('F') => {
                let (negative, body) = with(precision.unwrap_or(2), false);
                Some(if negative { format!("-{body}") } else { body })
            }
            Some('C') => {
                let (negative, body) = with(precision.unwrap_or(2), true);
                Some(if negative { format!("(${body})") } else { format!("${body}") })
            }
            Some('D') if integer => {
                let negative = digits.starts_with('-');
                let unsigned = digits.trim_start_matches('-');
                let padded = format!("{unsigned:0>width$}", width = precision.unwrap_or(0));
                Some(if negative { format!("-{padded}") } else { padded })
            }
            Some('X') if integer => {
                let n: i64 = digits.parse().unwrap_or(0);
                let hex = if pattern.starts_with('x') { format!("{n:x}") } else { format!("{n:X}") };
                Some(format!("{hex:0>width$}", width = precision.unwrap_or(0)))
            }
            // D and X of a non-integer are errors in .NET: FORMAT returns NULL
            Some('D' | 'X') => None,
            _ => return Err(SqlError::not_supported(format!("FORMAT with the format '{pattern}'"))),
        });
    }
    custom_number(&digits, pattern).map(Some)
}

/// A custom numeric pattern of `0` (a digit), `#` (a digit if significant), `,` (grouping) and `.`.
fn custom_number(digits: &str, pattern: &str) -> Result<String, SqlError> {
    if pattern.chars().any(|c| !"0#,.".contains(c)) {
        return Err(SqlError::not_supported(format!("FORMAT with the format '{pattern}'")));
    }
    let (int_pattern, frac_pattern) = pattern.split_once('.').unwrap_or((pattern, ""));
    let rounded = round_text(digits, frac_pattern.len());
    let negative = rounded.starts_with('-');
    let unsigned = rounded.trim_start_matches('-');
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let min_int = int_pattern.chars().filter(|c| *c == '0').count();
    let whole = if whole == "0" && min_int == 0 { String::new() } else { whole.to_string() };
    let whole = format!("{whole:0>min_int$}");
    let whole = if int_pattern.contains(',') { grouped(&whole) } else { whole };
    // fraction: keep up to the last '0', drop trailing zeros where '#'
    let required = frac_pattern.rfind('0').map_or(0, |i| i + 1);
    let mut fraction: String = fraction.to_string();
    while fraction.len() > required && fraction.ends_with('0') {
        fraction.pop();
    }
    let body = if fraction.is_empty() { whole } else { format!("{whole}.{fraction}") };
    Ok(if negative && body.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("-{body}") } else { body })
}

fn format_temporal(v: &Value, pattern: &str) -> Option<String> {
    let local = from_value(v)?;
    let expanded = match pattern {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        p if p.len() == 1 => return None,
        p => p,
    };
    let (year, month, day) = civil_from_days(local.days);
    let seconds = local.ticks / 10_000_000;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = format!("{:07}", local.ticks % 10_000_000);
    let weekday = (local.days + 1).rem_euclid(7) as usize;
    let chars: Vec<char> = expanded.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|d| **d == c).count();
        match c {
            'y' => {
                out.push_str(&match run {
                    1 => (year % 100).to_string(),
                    2 => format!("{:02}", year % 100),
                    n => format!("{year:0n$}"),
                });
            }
            'M' => out.push_str(&match run {
                1 => month.to_string(),
                2 => format!("{month:02}"),
                3 => MONTH_NAMES[month as usize - 1][..3].to_string(),
                _ => MONTH_NAMES[month as usize - 1].to_string(),
            }),
            'd' => out.push_str(&match run {
                1 => day.to_string(),
                2 => format!("{day:02}"),
                3 => DAY_NAMES[weekday][..3].to_string(),
                _ => DAY_NAMES[weekday].to_string(),
            }),
            'H' => out.push_str(&if run == 1 { hour.to_string() } else { format!("{hour:02}") }),
            'h' => {
                let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
                out.push_str(&if run == 1 { h12.to_string() } else { format!("{h12:02}") });
            }
            'm' => out.push_str(&if run == 1 { minute.to_string() } else { format!("{minute:02}") }),
            's' => out.push_str(&if run == 1 { second.to_string() } else { format!("{second:02}") }),
            'f' | 'F' => {
                let digits = &fraction[..run.min(7)];
                out.push_str(if c == 'F' { digits.trim_end_matches('0') } else { digits });
            }
            't' => {
                let marker = if hour < 12 { "AM" } else { "PM" };
                out.push_str(if run == 1 { &marker[..1] } else { marker });
            }
            '\'' | '"' => {
                let close = chars[i + 1..].iter().position(|d| *d == c).map_or(chars.len(), |p| i + 1 + p);
                out.extend(&chars[i + 1..close]);
                i = close + 1;
                continue;
            }
            '\\' => {
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                }
                i += 2;
                continue;
            }
            other => {
                for _ in 0..run {
                    out.push(other);
                }
            }
        }
        i += run;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(v: Value, ty: SqlType, pattern: &str) -> Option<String> {
        format_number(&v, &ty, pattern).unwrap()
    }

    #[test]
    fn numbers_as_dotnet_formats_them() {
        assert_eq!(number(Value::Int(1234567), SqlType::Int, "N"), Some("1,234,567.00".into()));
        assert_eq!(
            number(Value::Decimal(-12345, 3), SqlType::Decimal { precision: 9, scale: 3 }, "N1"),
            Some("-12.3".into())
        );
        assert_eq!(number(Value::Float(2.5), SqlType::Float, "F0"), Some("3".into()));
        assert_eq!(number(Value::Int(42), SqlType::Int, "D5"), Some("00042".into()));
        assert_eq!(number(Value::Int(255), SqlType::Int, "X"), Some("FF".into()));
        assert_eq!(number(Value::Money(12_345_678), SqlType::Money, "C"), Some("$1,234.57".into()));
        assert_eq!(
            number(Value::Decimal(1234567, 4), SqlType::Decimal { precision: 9, scale: 4 }, "#,##0.00"),
            Some("123.46".into())
        );
        assert_eq!(number(Value::Int(5), SqlType::Int, "000"), Some("005".into()));
        assert_eq!(number(Value::Decimal(5, 1), SqlType::Decimal { precision: 9, scale: 1 }, "D"), None);
    }

    #[test]
    fn dates_as_dotnet_formats_them() {
        let days = crate::calendar::days_from_civil(2024, 2, 9) as u32;
        let v = Value::DateTime2 { days, ticks: (13 * 3600 + 4 * 60 + 5) * 10_000_000 + 1_230_000 };
        assert_eq!(format_temporal(&v, "yyyy-MM-dd HH:mm:ss.fff"), Some("2024-02-09 13:04:05.123".into()));
        assert_eq!(format_temporal(&v, "dddd, MMM d 'at' h tt"), Some("Friday, Feb 9 at 1 PM".into()));
        assert_eq!(format_temporal(&v, "d"), Some("2/9/2024".into()));
    }
}
