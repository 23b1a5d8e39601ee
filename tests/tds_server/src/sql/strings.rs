//! String functions, typed as SQL Server types them: LEN, DATALENGTH, SUBSTRING, LEFT, RIGHT,
//! CHARINDEX, PATINDEX, UPPER, LOWER, LTRIM, RTRIM, TRIM, REPLACE, REPLICATE, CONCAT, CONCAT_WS,
//! QUOTENAME, REVERSE, STUFF, SPACE, CHAR, NCHAR, ASCII, UNICODE and STR. Positions and lengths
//! count characters of varchar and UTF-16 code units of nvarchar (the default collation is not a
//! supplementary-character one); searches ignore case, as SQL_Latin1_General_CP1_CI_AS does.

use super::convert::convert;
use super::eval::Typed;
use super::functions::{arguments, integer, text};
use super::like;
use super::parser::SqlError;
use crate::types::SqlType;
use crate::value::Value;

/// The functions of this module.
pub const NAMES: &[&str] = &[
    "LEN",
    "DATALENGTH",
    "SUBSTRING",
    "LEFT",
    "RIGHT",
    "CHARINDEX",
    "PATINDEX",
    "UPPER",
    "LOWER",
    "LTRIM",
    "RTRIM",
    "TRIM",
    "REPLACE",
    "REPLICATE",
    "CONCAT",
    "CONCAT_WS",
    "QUOTENAME",
    "REVERSE",
    "STUFF",
    "SPACE",
    "CHAR",
    "NCHAR",
    "ASCII",
    "UNICODE",
    "STR",
];

/// A string as the units a function counts: UTF-16 code units for Unicode types, else characters.
#[derive(Clone)]
struct Units {
    unicode: bool,
    units: Vec<u16>,
    chars: Vec<char>,
}

impl Units {
    fn new(s: &str, unicode: bool) -> Units {
        if unicode {
            Units { unicode, units: s.encode_utf16().collect(), chars: Vec::new() }
        } else {
            Units { unicode, units: Vec::new(), chars: s.chars().collect() }
        }
    }

    fn len(&self) -> usize {
        if self.unicode {
            self.units.len()
        } else {
            self.chars.len()
        }
    }

    /// Units `[from, to)` (clamped) as text; a surrogate pair cut in two becomes U+FFFD.
    fn slice(&self, from: usize, to: usize) -> String {
        let to = to.min(self.len());
        let from = from.min(to);
        if self.unicode {
            String::from_utf16_lossy(&self.units[from..to])
        } else {
            self.chars[from..to].iter().collect()
        }
    }
}

/// The length a value of a non-string type takes when SQL Server converts it to a string implicitly.
pub fn string_length(ty: &SqlType) -> Option<u16> {
    Some(match ty {
        SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => *n,
        SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => return *n,
        SqlType::Text | SqlType::NText | SqlType::Image | SqlType::Xml => return None,
        SqlType::Bit => 1,
        SqlType::TinyInt => 3,
        SqlType::SmallInt => 6,
        SqlType::Int => 12,
        SqlType::BigInt => 24,
        SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. } => *precision as u16 + 2,
        SqlType::Money | SqlType::SmallMoney => 22,
        SqlType::Real => 14,
        SqlType::Float => 23,
        SqlType::Date => 10,
        SqlType::Time(s) => 8 + if *s > 0 { *s as u16 + 1 } else { 0 },
        SqlType::DateTime => 23,
        SqlType::SmallDateTime => 19,
        SqlType::DateTime2(s) => 19 + if *s > 0 { *s as u16 + 1 } else { 0 },
        SqlType::DateTimeOffset(s) => 26 + if *s > 0 { *s as u16 + 1 } else { 0 },
        SqlType::UniqueIdentifier => 36,
        SqlType::SqlVariant => 8000,
        SqlType::Null => 1,
    })
}

/// Whether a type is one of the large (max, text) types, for which these functions return bigint lengths.
fn is_large(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::VarChar(None)
            | SqlType::NVarChar(None)
            | SqlType::VarBinary(None)
            | SqlType::Text
            | SqlType::NText
            | SqlType::Image
    )
}

/// The varying string type a function returns for an argument of type `ty` (char(n) gives varchar(n);
/// other types are converted to varchar of their string length).
fn varying(ty: &SqlType) -> SqlType {
    match ty {
        SqlType::Char(n) | SqlType::VarChar(Some(n)) => SqlType::VarChar(Some(*n)),
        SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => SqlType::NVarChar(Some(*n)),
        SqlType::VarChar(None) | SqlType::Text => SqlType::VarChar(None),
        SqlType::NVarChar(None) | SqlType::NText | SqlType::Xml => SqlType::NVarChar(None),
        SqlType::Binary(n) | SqlType::VarBinary(Some(n)) => SqlType::VarBinary(Some(*n)),
        SqlType::VarBinary(None) | SqlType::Image => SqlType::VarBinary(None),
        other => SqlType::VarChar(string_length(other)),
    }
}

/// nvarchar when any of `types` is Unicode, else varchar; of `length` units, max beyond the type's limit.
fn string_type(types: &[&SqlType], length: Option<u32>) -> SqlType {
    let unicode = types.iter().any(|t| t.is_unicode() || matches!(t, SqlType::Xml));
    let limit = if unicode { 4000 } else { 8000 };
    let length = length.filter(|n| *n <= limit).map(|n| n.max(1) as u16);
    if unicode {
        SqlType::NVarChar(length)
    } else {
        SqlType::VarChar(length)
    }
}

fn length_type(ty: &SqlType) -> SqlType {
    if is_large(ty) {
        SqlType::BigInt
    } else {
        SqlType::Int
    }
}

/// Evaluates one of `NAMES` on evaluated arguments.
pub fn call(name: &str, args: Vec<Typed>) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Typed { ty, nullable, value });
    let nullable = args.iter().any(|a| a.nullable);
    match name {
        "LEN" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            let ty = length_type(&a.ty);
            let unicode = a.ty.is_unicode();
            let binary = a.ty.is_binary();
            let value = a.value.and_then(|v| match &v {
                Value::Null => Ok(Value::Null),
                Value::Bytes(b) if binary => Ok(Value::Int(b.len() as i64)),
                _ => Ok(match text(&v, &a.ty)? {
                    Some(s) => Value::Int(Units::new(s.trim_end_matches(' '), unicode).len() as i64),
                    None => Value::Null,
                }),
            });
            typed(ty, a.nullable, value)
        }
        "DATALENGTH" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            let ty = length_type(&a.ty);
            let value = a.value.and_then(|v| data_length(&v, &a.ty));
            typed(ty, a.nullable, value)
        }
        "SUBSTRING" | "LEFT" | "RIGHT" => {
            let count = if name == "SUBSTRING" { 3 } else { 2 };
            arguments(name, &args, count, count)?;
            let mut args = args.into_iter();
            let s = args.next().expect("checked");
            let ty = varying(&s.ty);
            let rest: Vec<Typed> = args.collect();
            let value = (|| {
                let Some(input) = units_or_bytes(s.value?, &s.ty)? else {
                    return Ok(Value::Null);
                };
                let mut numbers = Vec::new();
                for r in rest {
                    match integer(r)? {
                        Some(n) => numbers.push(n),
                        None => return Ok(Value::Null),
                    }
                }
                let len = input.len() as i64;
                let (from, count) = match name {
                    "LEFT" => (1, numbers[0]),
                    "RIGHT" => ((len - numbers[0] + 1).max(1), numbers[0]),
                    _ => (numbers[0], numbers[1]),
                };
                if count < 0 {
                    return Err(if name == "RIGHT" {
                        SqlError::new(536, "Invalid length parameter passed to the RIGHT function.")
                    } else {
                        SqlError::new(537, "Invalid length parameter passed to the LEFT or SUBSTRING function.")
                    });
                }
                let end = from.saturating_add(count).clamp(1, len + 1);
                let start = from.clamp(1, end);
                Ok(input.slice((start - 1) as usize, (end - 1) as usize))
            })();
            typed(ty, nullable, value)
        }
        "CHARINDEX" | "PATINDEX" => {
            let max = if name == "CHARINDEX" { 3 } else { 2 };
            arguments(name, &args, 2, max)?;
            let ty = length_type(&args[1].ty);
            let unicode = args[0].ty.is_unicode() || args[1].ty.is_unicode();
            let mut args = args.into_iter();
            let (find, search) = (args.next().expect("checked"), args.next().expect("checked"));
            let start = args.next();
            let value = (|| {
                let (Some(find), Some(search)) = (text_arg(find)?, text_arg(search)?) else {
                    return Ok(Value::Null);
                };
                let start = match start {
                    None => 1,
                    Some(s) => match integer(s)? {
                        Some(s) => s.max(1),
                        None => return Ok(Value::Null),
                    },
                };
                let position = if name == "CHARINDEX" {
                    char_index(&find, &search, start as usize, unicode)
                } else {
                    pattern_index(&find, &search, unicode)
                };
                Ok(Value::Int(position as i64))
            })();
            typed(ty, nullable, value)
        }
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" | "REVERSE" => {
            arguments(name, &args, 1, 1)?;
            let a = one(args);
            let ty = varying(&a.ty);
            let unicode = ty.is_unicode();
            let value = text_arg(a).map(|s| match s {
                None => Value::Null,
                Some(s) => Value::Str(match name {
                    "UPPER" => s.to_uppercase(),
                    "LOWER" => s.to_lowercase(),
                    "LTRIM" => s.trim_start_matches(' ').to_string(),
                    "RTRIM" => s.trim_end_matches(' ').to_string(),
                    "TRIM" => s.trim_matches(' ').to_string(),
                    _ => {
                        let u = Units::new(&s, unicode);
                        if unicode {
                            String::from_utf16_lossy(&u.units.iter().rev().copied().collect::<Vec<_>>())
                        } else {
                            u.chars.iter().rev().collect()
                        }
                    }
                }),
            });
            typed(ty, nullable, value)
        }
        "REPLACE" => {
            arguments(name, &args, 3, 3)?;
            let large = args.iter().any(|a| is_large(&a.ty));
            let ty =
                string_type(&args.iter().map(|a| &a.ty).collect::<Vec<_>>(), if large { None } else { Some(8000) });
            let limit = ty_limit(&ty);
            let mut args = args.into_iter();
            let (s, find, with) = (args.next().expect("3"), args.next().expect("3"), args.next().expect("3"));
            let value = (|| {
                let (Some(s), Some(find), Some(with)) = (text_arg(s)?, text_arg(find)?, text_arg(with)?) else {
                    return Ok(Value::Null);
                };
                Ok(truncated(replace_folding_case(&s, &find, &with), limit, ty.is_unicode()))
            })();
            typed(ty, nullable, value)
        }
        "REPLICATE" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (s, n) = (args.next().expect("2"), args.next().expect("2"));
            let ty = string_type(&[&s.ty], if is_large(&s.ty) { None } else { Some(8000) });
            let limit = ty_limit(&ty);
            let value = (|| {
                let (Some(s), Some(n)) = (text_arg(s)?, integer(n)?) else {
                    return Ok(Value::Null);
                };
                if n < 0 {
                    return Ok(Value::Null);
                }
                // repeat no further than the result can hold
                let unit = s.encode_utf16().count().max(1);
                let times = (n as usize).min(limit.unwrap_or(usize::MAX / unit.max(1)) / unit + 1);
                Ok(truncated(s.repeat(times), limit, ty.is_unicode()))
            })();
            typed(ty, nullable, value)
        }
        "SPACE" => {
            arguments(name, &args, 1, 1)?;
            let n = one(args);
            let value = integer(n).map(|n| match n {
                Some(n) if n >= 0 => Value::Str(" ".repeat(n.min(8000) as usize)),
                _ => Value::Null,
            });
            typed(SqlType::VarChar(Some(8000)), true, value)
        }
        "CONCAT" | "CONCAT_WS" => {
            let min = if name == "CONCAT" { 2 } else { 3 };
            if !(min..=254).contains(&args.len()) {
                return Err(SqlError::new(
                    189,
                    format!("The {} function requires {min} to 254 arguments.", name.to_lowercase()),
                ));
            }
            let values = &args[usize::from(name == "CONCAT_WS")..];
            let mut length = values.iter().try_fold(0u32, |total, a| Some(total + string_length(&a.ty)? as u32));
            if name == "CONCAT_WS" {
                let separators = values.len() as u32 - 1;
                length = length.zip(string_length(&args[0].ty)).map(|(l, s)| l + s as u32 * separators);
            }
            let ty = string_type(&args.iter().map(|a| &a.ty).collect::<Vec<_>>(), length);
            let value = (|| {
                let mut texts = Vec::new();
                for a in args {
                    texts.push(text_arg(a)?);
                }
                Ok(Value::Str(if name == "CONCAT" {
                    texts.into_iter().flatten().collect()
                } else {
                    let separator = texts.remove(0).unwrap_or_default();
                    texts.into_iter().flatten().collect::<Vec<_>>().join(&separator)
                }))
            })();
            typed(ty, false, value)
        }
        "QUOTENAME" => {
            arguments(name, &args, 1, 2)?;
            let mut args = args.into_iter();
            let s = args.next().expect("1");
            let quote = args.next();
            let value = (|| {
                let Some(s) = text_arg(s)? else {
                    return Ok(Value::Null);
                };
                let quote = match quote {
                    None => Some("[".to_string()),
                    Some(q) => text_arg(q)?,
                };
                let (open, close) = match quote.as_deref() {
                    Some("[" | "]") => ('[', ']'),
                    Some("\"") => ('"', '"'),
                    Some("'") => ('\'', '\''),
                    Some("(" | ")") => ('(', ')'),
                    Some("<" | ">") => ('<', '>'),
                    Some("{" | "}") => ('{', '}'),
                    Some("`") => ('`', '`'),
                    _ => return Ok(Value::Null),
                };
                if s.encode_utf16().count() > 128 {
                    return Ok(Value::Null);
                }
                let inner = s.replace(close, &format!("{close}{close}"));
                Ok(Value::Str(format!("{open}{inner}{close}")))
            })();
            typed(SqlType::NVarChar(Some(258)), true, value)
        }
        "STUFF" => {
            arguments(name, &args, 4, 4)?;
            let large = is_large(&args[0].ty) || is_large(&args[3].ty);
            let ty = string_type(&[&args[0].ty, &args[3].ty], if large { None } else { Some(8000) });
            let limit = ty_limit(&ty);
            let unicode = ty.is_unicode();
            let mut args = args.into_iter();
            let (s, start, count, with) =
                (args.next().expect("4"), args.next().expect("4"), args.next().expect("4"), args.next().expect("4"));
            let value = (|| {
                let (Some(s), Some(start), Some(count)) = (text_arg(s)?, integer(start)?, integer(count)?) else {
                    return Ok(Value::Null);
                };
                let with = text_arg(with)?.unwrap_or_default();
                let units = Units::new(&s, unicode);
                let len = units.len() as i64;
                // a start outside the string or a negative length gives NULL
                if start < 1 || start > len || count < 0 {
                    return Ok(Value::Null);
                }
                let from = (start - 1) as usize;
                let to = (from as i64 + count).min(len) as usize;
                let joined = format!("{}{with}{}", units.slice(0, from), units.slice(to, units.len()));
                Ok(truncated(joined, limit, unicode))
            })();
            typed(ty, nullable, value)
        }
        "CHAR" | "NCHAR" => {
            arguments(name, &args, 1, 1)?;
            let ty = if name == "CHAR" { SqlType::Char(1) } else { SqlType::NChar(1) };
            let value = integer(one(args)).map(|code| {
                let c = match (name, code) {
                    ("CHAR", Some(code @ 0..=255)) => {
                        Some(crate::types::decode_cp1252(&[code as u8]).chars().next().unwrap_or('\0'))
                    }
                    ("NCHAR", Some(code @ 0..=0xFFFF)) => char::from_u32(code as u32),
                    _ => None,
                };
                c.map_or(Value::Null, |c| Value::Str(c.to_string()))
            });
            typed(ty, true, value)
        }
        "ASCII" | "UNICODE" => {
            arguments(name, &args, 1, 1)?;
            let value = text_arg(one(args)).map(|s| {
                let Some(c) = s.as_deref().and_then(|s| s.chars().next()) else {
                    return Value::Null;
                };
                if name == "UNICODE" {
                    Value::Int(c as i64)
                } else {
                    match crate::types::encode_cp1252(&c.to_string()) {
                        Ok(b) => Value::Int(b[0] as i64),
                        Err(_) => Value::Int(b'?' as i64),
                    }
                }
            });
            typed(SqlType::Int, true, value)
        }
        "STR" => {
            arguments(name, &args, 1, 3)?;
            let mut args = args.into_iter();
            let number = args.next().expect("1");
            let length = args.next();
            let decimals = args.next();
            let value = (|| {
                let value = number.value?;
                let f = match convert(&value, &number.ty, &SqlType::Float)? {
                    Value::Float(f) => f,
                    _ => return Ok(Value::Null),
                };
                let length = match length {
                    None => 10,
                    Some(l) => match integer(l)? {
                        Some(l) => l,
                        None => return Ok(Value::Null),
                    },
                };
                let decimals = match decimals {
                    None => 0,
                    Some(d) => match integer(d)? {
                        Some(d) => d.clamp(0, 16),
                        None => return Ok(Value::Null),
                    },
                };
                if !(1..=8000).contains(&length) {
                    return Ok(Value::Null);
                }
                Ok(Value::Str(str_of(f, length as usize, decimals as usize)))
            })();
            typed(SqlType::VarChar(Some(10)), true, value)
        }
        _ => unreachable!("not a string function: {name}"),
    }
}

fn one(args: Vec<Typed>) -> Typed {
    args.into_iter().next().expect("one argument, checked")
}

/// An argument as text (`None` for NULL).
fn text_arg(a: Typed) -> Result<Option<String>, SqlError> {
    let v = a.value?;
    text(&v, &a.ty)
}

/// A string argument as units, or a binary one as bytes (`None` for NULL).
fn units_or_bytes(v: Value, ty: &SqlType) -> Result<Option<Sliceable>, SqlError> {
    Ok(match v {
        Value::Null => None,
        Value::Bytes(b) => Some(Sliceable::Bytes(b)),
        v => text(&v, ty)?.map(|s| Sliceable::Units(Units::new(&s, ty.is_unicode()))),
    })
}

enum Sliceable {
    Units(Units),
    Bytes(Vec<u8>),
}

impl Sliceable {
    fn len(&self) -> usize {
        match self {
            Sliceable::Units(u) => u.len(),
            Sliceable::Bytes(b) => b.len(),
        }
    }

    fn slice(&self, from: usize, to: usize) -> Value {
        match self {
            Sliceable::Units(u) => Value::Str(u.slice(from, to)),
            Sliceable::Bytes(b) => Value::Bytes(b[from.min(b.len())..to.min(b.len())].to_vec()),
        }
    }
}

/// The most units a result type holds (`None` for max).
fn ty_limit(ty: &SqlType) -> Option<usize> {
    match ty {
        SqlType::VarChar(Some(n)) | SqlType::NVarChar(Some(n)) => Some(*n as usize),
        _ => None,
    }
}

fn truncated(s: String, limit: Option<usize>, unicode: bool) -> Value {
    match limit {
        Some(limit) => Value::Str(Units::new(&s, unicode).slice(0, limit)),
        None => Value::Str(s),
    }
}

/// The bytes a value takes in storage (DATALENGTH): trailing spaces count, Unicode text takes two
/// bytes a code unit, fixed types their storage size.
fn data_length(v: &Value, ty: &SqlType) -> Result<Value, SqlError> {
    let n = match (v, ty) {
        (Value::Null, _) => return Ok(Value::Null),
        (Value::Str(s), ty) if ty.is_unicode() || matches!(ty, SqlType::Xml) => s.encode_utf16().count() * 2,
        (Value::Str(s), _) => s.chars().count(),
        (Value::Bytes(b), _) => b.len(),
        (_, SqlType::Bit | SqlType::TinyInt) => 1,
        (_, SqlType::SmallInt) => 2,
        (_, SqlType::Int | SqlType::Real | SqlType::SmallMoney | SqlType::SmallDateTime) => 4,
        (_, SqlType::BigInt | SqlType::Float | SqlType::Money | SqlType::DateTime) => 8,
        (_, SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. }) => match precision {
            1..=9 => 5,
            10..=19 => 9,
            20..=28 => 13,
            _ => 17,
        },
        (_, SqlType::Date) => 3,
        (_, SqlType::Time(s)) => time_bytes(*s),
        (_, SqlType::DateTime2(s)) => time_bytes(*s) + 3,
        (_, SqlType::DateTimeOffset(s)) => time_bytes(*s) + 5,
        (_, SqlType::UniqueIdentifier) => 16,
        (_, other) => return Err(SqlError::not_supported(format!("DATALENGTH of {}", other.name()))),
    };
    Ok(Value::Int(n as i64))
}

fn time_bytes(scale: u8) -> usize {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// CHARINDEX: the 1-based position of `find` in `search` at or after `start`, 0 when absent.
fn char_index(find: &str, search: &str, start: usize, unicode: bool) -> usize {
    let find = Units::new(&find.to_lowercase(), unicode);
    let search = Units::new(&search.to_lowercase(), unicode);
    if find.len() == 0 {
        return 0;
    }
    let (f, s): (Vec<u32>, Vec<u32>) = if unicode {
        (find.units.iter().map(|u| *u as u32).collect(), search.units.iter().map(|u| *u as u32).collect())
    } else {
        (find.chars.iter().map(|c| *c as u32).collect(), search.chars.iter().map(|c| *c as u32).collect())
    };
    (start - 1..s.len()).find(|&i| s[i..].starts_with(&f)).map_or(0, |i| i + 1)
}

/// PATINDEX: the 1-based position where `pattern` (LIKE syntax, `%...%` to search) first matches.
fn pattern_index(pattern: &str, search: &str, unicode: bool) -> usize {
    let units = Units::new(search, unicode);
    match pattern.strip_prefix('%') {
        None => usize::from(like::matches(search, pattern, None)),
        Some(rest) => {
            (0..units.len()).find(|&i| like::matches(&units.slice(i, units.len()), rest, None)).map_or(0, |i| i + 1)
        }
    }
}

/// REPLACE under a case-insensitive collation: every occurrence of `find`, whatever its case.
fn replace_folding_case(s: &str, find: &str, with: &str) -> String {
    if find.is_empty() {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let target: Vec<char> = find.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if folded[i..].starts_with(&target) {
            out.push_str(with);
            i += target.len();
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// STR(number, length, decimals): right-aligned, rounded to `decimals` places (fewer when the
/// length does not allow them), `*` when the integer part does not fit.
fn str_of(f: f64, length: usize, decimals: usize) -> String {
    let whole = format!("{:.0}", f);
    if whole.len() > length {
        return "*".repeat(length);
    }
    // the decimals that fit beside the integer part and the point
    let room = length.saturating_sub(whole.len() + 1);
    let text = format!("{:.*}", decimals.min(room), f);
    let text = if text.len() > length { whole } else { text };
    format!("{text:>length$}")
}
