//! Arbitrary type names and values: `SqlType::parse` and forcing a value to
//! the type must succeed or refuse with an error, never panic, and what they
//! accept must fit the type.
#![no_main]

use fastmssql::params::{checked_datetimeoffset, checked_decimal, checked_float, BoundParam, ParamValue, SqlType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, u8, i64, i64, u8)| {
    let (type_name, kind, a, b, small) = input;
    let Ok(sql_type) = SqlType::parse(type_name) else { return };
    assert!(SqlType::parse(&sql_type.declaration()).is_ok_and(|again| again == sql_type));
    let value = match kind % 6 {
        0 => Ok(ParamValue::Int(a)),
        1 => checked_float(f64::from_bits(a as u64)),
        2 => checked_decimal(i128::from(a) * i128::from(b), small),
        3 => checked_datetimeoffset(a, b as i16),
        4 => Ok(ParamValue::DateTime(a)),
        _ => Ok(ParamValue::Date(a as i32)),
    };
    if let Ok(value) = value {
        let _ = BoundParam::forced(value, sql_type);
    }
});
