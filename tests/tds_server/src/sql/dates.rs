//! Date and time functions, typed as SQL Server types them: the clock (GETDATE, SYSDATETIME,
//! SYSDATETIMEOFFSET and their UTC forms, CURRENT_TIMESTAMP), DATEADD, DATEDIFF, DATEDIFF_BIG,
//! DATEPART, DATENAME, YEAR, MONTH, DAY, EOMONTH and DATEFROMPARTS. Weeks start on Sunday
//! (@@DATEFIRST 7, us_english); the server's clock is UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use super::convert::convert;
use super::eval::Typed;
use super::functions::{arguments, integer};
use super::parser::{SqlError, DATE_PARTS};
use super::temporal::{from_value, to_value, LocalDateTime, TemporalError};
use crate::calendar::{civil_from_days, days_from_civil, days_in_month, TICKS_PER_DAY};
use crate::types::SqlType;
use crate::value::Value;

/// The functions of this module without a date part argument.
pub const NAMES: &[&str] = &[
    "GETDATE",
    "GETUTCDATE",
    "SYSDATETIME",
    "SYSUTCDATETIME",
    "SYSDATETIMEOFFSET",
    "CURRENT_TIMESTAMP",
    "YEAR",
    "MONTH",
    "DAY",
    "EOMONTH",
    "DATEFROMPARTS",
];

const TICKS_PER_HOUR: i128 = 36_000_000_000;
const TICKS_PER_MINUTE: i128 = 600_000_000;
const TICKS_PER_SECOND: i128 = 10_000_000;
pub(super) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Day names from Sunday.
pub(super) const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// The current time (UTC) in 100 ns ticks.
fn now() -> LocalDateTime {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ticks = since_epoch.as_nanos() as u64 / 100;
    LocalDateTime {
        days: days_from_civil(1970, 1, 1) + (ticks / TICKS_PER_DAY) as i64,
        ticks: ticks % TICKS_PER_DAY,
        offset: None,
    }
}

fn one(args: Vec<Typed>) -> Typed {
    args.into_iter().next().expect("one argument, checked")
}

/// The type and local value (`None` for NULL) of argument `position` of `function`, a date/time
/// one; a string converts to `text_as`.
fn temporal(
    a: Typed,
    text_as: &SqlType,
    function: &str,
    position: usize,
) -> Result<(SqlType, Result<Option<LocalDateTime>, SqlError>), SqlError> {
    let ty = if a.ty.is_string() {
        text_as.clone()
    } else if a.ty.is_temporal() {
        a.ty.clone()
    } else {
        return Err(SqlError::new(
            8116,
            format!("Argument data type {} is invalid for argument {position} of {function} function.", a.ty.name()),
        ));
    };
    let from = a.ty.clone();
    let target = ty.clone();
    let value = a.value.and_then(|v| {
        if v.is_null() {
            return Ok(None);
        }
        let v = convert(&v, &from, &target)?;
        Ok(from_value(&v))
    });
    Ok((ty, value))
}

/// The canonical name of a date part (`dd` -> `day`), or SQL Server's 155 for an unknown one.
fn date_part(part: &str, function: &str) -> Result<&'static str, SqlError> {
    DATE_PARTS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(part))
        .map(|(_, canonical)| *canonical)
        .ok_or_else(|| SqlError::new(155, format!("'{part}' is not a recognized {function} option.")))
}

/// Whether a value of `ty` has the date part `part` (9810 otherwise).
fn check_part(part: &str, ty: &SqlType, function: &str) -> Result<(), SqlError> {
    let date_only =
        matches!(part, "year" | "quarter" | "month" | "dayofyear" | "day" | "week" | "weekday" | "iso_week");
    let ok = match ty {
        SqlType::Date => date_only,
        SqlType::Time(_) => !date_only,
        SqlType::DateTimeOffset(_) => true,
        _ => part != "tzoffset",
    };
    if ok {
        return Ok(());
    }
    Err(SqlError::new(
        9810,
        format!("The datepart {part} is not supported by date function {function} for data type {}.", ty.name()),
    ))
}

/// Evaluates a function of `NAMES`.
pub fn call(name: &str, args: Vec<Typed>) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Typed { ty, nullable, value });
    let clock_error = |_| SqlError::not_supported("A clock outside SQL Server's range");
    match name {
        "GETDATE" | "GETUTCDATE" | "SYSDATETIME" | "SYSUTCDATETIME" | "CURRENT_TIMESTAMP" => {
            arguments(name, &args, 0, 0)?;
            let ty = if name.starts_with("SYS") { SqlType::DateTime2(7) } else { SqlType::DateTime };
            typed(ty.clone(), false, to_value(&now(), &ty).map_err(clock_error))
        }
        "SYSDATETIMEOFFSET" => {
            arguments(name, &args, 0, 0)?;
            let ty = SqlType::DateTimeOffset(7);
            let at = LocalDateTime { offset: Some(0), ..now() };
            typed(ty.clone(), false, to_value(&at, &ty).map_err(clock_error))
        }
        "YEAR" | "MONTH" | "DAY" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            let nullable = a.nullable;
            // YEAR(0) is 1900: an integer counts days from 1900-01-01
            let a = if a.ty.is_number() {
                let value = a.value.and_then(|v| convert(&v, &a.ty, &SqlType::DateTime));
                Typed { ty: SqlType::DateTime, nullable, value }
            } else {
                a
            };
            let (_, local) = temporal(a, &SqlType::DateTime2(7), &name.to_lowercase(), 1)?;
            let value = local.map(|l| match l {
                None => Value::Null,
                Some(l) => {
                    let (y, m, d) = civil_from_days(l.days);
                    Value::Int(match name {
                        "YEAR" => y,
                        "MONTH" => m as i64,
                        _ => d as i64,
                    })
                }
            });
            typed(SqlType::Int, nullable, value)
        }
        "EOMONTH" => {
            arguments(name, &args, 1, 2)?;
            let nullable = args.iter().any(|a| a.nullable);
            let mut args = args.into_iter();
            let (_, local) = temporal(args.next().expect("one"), &SqlType::Date, "eomonth", 1)?;
            let months = args.next();
            let value = (|| {
                let Some(l) = local? else {
                    return Ok(Value::Null);
                };
                let months = match months {
                    None => 0,
                    Some(m) => match integer(m)? {
                        Some(m) => m,
                        None => return Ok(Value::Null),
                    },
                };
                let (y, m, _) = civil_from_days(l.days);
                let index = y * 12 + (m as i64 - 1) + months;
                let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
                if !(1..=9999).contains(&y) {
                    return Err(SqlError::new(517, "Adding a value to a 'date' column caused an overflow."));
                }
                Ok(Value::Date(days_from_civil(y, m, days_in_month(y, m)) as u32))
            })();
            typed(SqlType::Date, nullable, value)
        }
        "DATEFROMPARTS" => {
            arguments(name, &args, 3, 3)?;
            let nullable = args.iter().any(|a| a.nullable);
            let value = (|| {
                let mut parts = Vec::new();
                for a in args {
                    match integer(a)? {
                        Some(n) => parts.push(n),
                        None => return Ok(Value::Null),
                    }
                }
                let (y, m, d) = (parts[0], parts[1], parts[2]);
                if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m as u32) as i64
                {
                    return Err(SqlError::new(
                        289,
                        "Cannot construct data type date, some of the arguments have values which are not valid.",
                    ));
                }
                Ok(Value::Date(days_from_civil(y, m as u32, d as u32) as u32))
            })();
            typed(SqlType::Date, nullable, value)
        }
        _ => unreachable!("not a date function: {name}"),
    }
}

/// Evaluates DATEADD, DATEDIFF, DATEDIFF_BIG, DATEPART or DATENAME of date part `part`.
pub fn call_with_part(name: &str, part: &str, args: Vec<Typed>) -> Result<Typed, SqlError> {
    let function = name.to_lowercase();
    let part = date_part(part, &function)?;
    let nullable = args.iter().any(|a| a.nullable);
    match name {
        "DATEADD" => {
            if args.len() != 2 {
                return Err(SqlError::new(174, "The dateadd function requires 3 argument(s)."));
            }
            let mut args = args.into_iter();
            let number = args.next().expect("two");
            let (ty, local) = temporal(args.next().expect("two"), &SqlType::DateTime, &function, 3)?;
            check_part(part, &ty, &function)?;
            let overflow =
                || SqlError::new(517, format!("Adding a value to a '{}' column caused an overflow.", ty.name()));
            let value = (|| {
                let n = match convert(&number.value?, &number.ty, &SqlType::Int)? {
                    Value::Int(n) => n,
                    _ => return Ok(Value::Null),
                };
                let Some(l) = local? else {
                    return Ok(Value::Null);
                };
                let added = add(&l, part, n, &ty).ok_or_else(overflow)?;
                to_value(&added, &ty).map_err(|e| match e {
                    TemporalError::OutOfRange => overflow(),
                    TemporalError::Syntax => SqlError::not_supported(format!("DATEADD on {}", ty.name())),
                })
            })();
            Ok(Typed { ty, nullable, value })
        }
        "DATEDIFF" | "DATEDIFF_BIG" => {
            if args.len() != 2 {
                return Err(SqlError::new(174, format!("The {function} function requires 3 argument(s).")));
            }
            let mut args = args.into_iter();
            let (start_ty, start) = temporal(args.next().expect("two"), &SqlType::DateTime2(7), &function, 2)?;
            let (end_ty, end) = temporal(args.next().expect("two"), &SqlType::DateTime2(7), &function, 3)?;
            check_part(part, &start_ty, &function)?;
            check_part(part, &end_ty, &function)?;
            let big = name == "DATEDIFF_BIG";
            let value = (|| {
                let (Some(start), Some(end)) = (start?, end?) else {
                    return Ok(Value::Null);
                };
                let n = difference(&utc(&start), &utc(&end), part);
                let fits = if big { i64::try_from(n).is_ok() } else { i32::try_from(n).is_ok() };
                if !fits {
                    return Err(SqlError::new(
                        if big { 1535 } else { 535 },
                        format!("The {function} function resulted in an overflow. The number of dateparts separating two date/time instances is too large. Try to use {function} with a less precise datepart."),
                    ));
                }
                Ok(Value::Int(n as i64))
            })();
            Ok(Typed { ty: if big { SqlType::BigInt } else { SqlType::Int }, nullable, value })
        }
        "DATEPART" | "DATENAME" => {
            if args.len() != 1 {
                return Err(SqlError::new(174, format!("The {function} function requires 2 argument(s).")));
            }
            let (ty, local) = temporal(one(args), &SqlType::DateTimeOffset(7), &function, 2)?;
            check_part(part, &ty, &function)?;
            let value = local.map(|l| match l {
                None => Value::Null,
                Some(l) => {
                    let n = part_of(&l, part, &ty);
                    if name == "DATEPART" {
                        Value::Int(n)
                    } else {
                        Value::Str(match part {
                            "month" => MONTH_NAMES[n as usize - 1].to_string(),
                            "weekday" => DAY_NAMES[n as usize - 1].to_string(),
                            "tzoffset" => {
                                let sign = if n < 0 { '-' } else { '+' };
                                format!("{sign}{:02}:{:02}", n.abs() / 60, n.abs() % 60)
                            }
                            _ => n.to_string(),
                        })
                    }
                }
            });
            let result = if name == "DATEPART" { SqlType::Int } else { SqlType::NVarChar(Some(30)) };
            Ok(Typed { ty: result, nullable, value })
        }
        _ => Err(SqlError::not_supported(format!("The function '{name}'"))),
    }
}

/// A datetimeoffset as UTC (its offset dropped); other values as they are.
fn utc(l: &LocalDateTime) -> LocalDateTime {
    match l.offset {
        None => *l,
        Some(offset) => {
            let total = l.days as i128 * TICKS_PER_DAY as i128 + l.ticks as i128 - offset as i128 * TICKS_PER_MINUTE;
            LocalDateTime {
                days: total.div_euclid(TICKS_PER_DAY as i128) as i64,
                ticks: total.rem_euclid(TICKS_PER_DAY as i128) as u64,
                offset: None,
            }
        }
    }
}

/// `l` moved by `n` units of `part`; `None` outside the calendar. Months keep the day, or the
/// month's last day when it has fewer.
fn add(l: &LocalDateTime, part: &str, n: i64, ty: &SqlType) -> Option<LocalDateTime> {
    let months = match part {
        "year" => Some(n.checked_mul(12)?),
        "quarter" => Some(n.checked_mul(3)?),
        "month" => Some(n),
        _ => None,
    };
    if let Some(months) = months {
        let (y, m, d) = civil_from_days(l.days);
        let index = (y * 12 + m as i64 - 1).checked_add(months)?;
        let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        if !(1..=9999).contains(&y) {
            return None;
        }
        let d = d.min(days_in_month(y, m));
        return Some(LocalDateTime { days: days_from_civil(y, m, d), ..*l });
    }
    let unit: i128 = match part {
        "dayofyear" | "day" | "weekday" => TICKS_PER_DAY as i128,
        "week" => 7 * TICKS_PER_DAY as i128,
        "hour" => TICKS_PER_HOUR,
        "minute" => TICKS_PER_MINUTE,
        "second" => TICKS_PER_SECOND,
        "millisecond" => 10_000,
        "microsecond" => 10,
        // below the 100 ns tick: rounded to whole ticks
        "nanosecond" => return add_ticks(l, (n as f64 / 100.0).round() as i128, ty),
        _ => return None,
    };
    add_ticks(l, unit.checked_mul(n as i128)?, ty)
}

fn add_ticks(l: &LocalDateTime, ticks: i128, ty: &SqlType) -> Option<LocalDateTime> {
    let total = l.days as i128 * TICKS_PER_DAY as i128 + l.ticks as i128 + ticks;
    let days = total.div_euclid(TICKS_PER_DAY as i128) as i64;
    let ticks = total.rem_euclid(TICKS_PER_DAY as i128) as u64;
    // time wraps around midnight
    let days = if matches!(ty, SqlType::Time(_)) { l.days } else { days };
    if days < 0 {
        return None;
    }
    Some(LocalDateTime { days, ticks, offset: l.offset })
}

/// DATEDIFF: the number of `part` boundaries crossed from `start` to `end`.
fn difference(start: &LocalDateTime, end: &LocalDateTime, part: &str) -> i128 {
    let (y1, m1, _) = civil_from_days(start.days);
    let (y2, m2, _) = civil_from_days(end.days);
    let total = |l: &LocalDateTime| l.days as i128 * TICKS_PER_DAY as i128 + l.ticks as i128;
    let boundaries = |unit: i128| total(end).div_euclid(unit) - total(start).div_euclid(unit);
    match part {
        "year" => (y2 - y1) as i128,
        "quarter" => ((y2 * 4 + (m2 as i64 - 1) / 3) - (y1 * 4 + (m1 as i64 - 1) / 3)) as i128,
        "month" => ((y2 * 12 + m2 as i64) - (y1 * 12 + m1 as i64)) as i128,
        "dayofyear" | "day" | "weekday" => (end.days - start.days) as i128,
        // weeks start on Sunday; 0001-01-01 was a Monday
        "week" | "iso_week" => ((end.days + 1).div_euclid(7) - (start.days + 1).div_euclid(7)) as i128,
        "hour" => boundaries(TICKS_PER_HOUR),
        "minute" => boundaries(TICKS_PER_MINUTE),
        "second" => boundaries(TICKS_PER_SECOND),
        "millisecond" => boundaries(10_000),
        "microsecond" => boundaries(10),
        "nanosecond" => (total(end) - total(start)) * 100,
        _ => 0,
    }
}

/// DATEPART of a local value of type `ty`.
fn part_of(l: &LocalDateTime, part: &str, ty: &SqlType) -> i64 {
    let (y, m, d) = civil_from_days(l.days);
    let day_of_year = l.days - days_from_civil(y, 1, 1) + 1;
    // Sunday = 1 ... Saturday = 7 (0001-01-01 was a Monday)
    let weekday = |days: i64| (days + 1).rem_euclid(7) + 1;
    let fraction = (l.ticks % TICKS_PER_SECOND as u64) as i64;
    match part {
        "year" => y,
        "quarter" => (m as i64 - 1) / 3 + 1,
        "month" => m as i64,
        "dayofyear" => day_of_year,
        "day" => d as i64,
        "week" => (day_of_year + weekday(days_from_civil(y, 1, 1)) - 2) / 7 + 1,
        "weekday" => weekday(l.days),
        "hour" => (l.ticks / TICKS_PER_HOUR as u64) as i64,
        "minute" => (l.ticks / TICKS_PER_MINUTE as u64 % 60) as i64,
        "second" => (l.ticks / TICKS_PER_SECOND as u64 % 60) as i64,
        // datetime's 1/300 s ticks read as milliseconds the way SQL Server shows them
        "millisecond" if *ty == SqlType::DateTime => (fraction + 5_000) / 10_000 % 1000,
        "millisecond" => fraction / 10_000,
        "microsecond" => fraction / 10,
        "nanosecond" => fraction * 100,
        "tzoffset" => l.offset.unwrap_or(0) as i64,
        "iso_week" => iso_week(l.days),
        _ => 0,
    }
}

/// The ISO 8601 week number: weeks start on Monday, week 1 holds the year's first Thursday.
fn iso_week(days: i64) -> i64 {
    // Monday = 0 ... Sunday = 6
    let weekday = days.rem_euclid(7);
    let thursday = days - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    (thursday - days_from_civil(year, 1, 1)) / 7 + 1
}
