//! Exact decimal helpers: values are `unscaled / 10^scale` in an i128.

/// SQL Server's (and Arrow decimal128's) maximum number of digits.
pub const MAX_DIGITS: u8 = 38;

/// Number of decimal digits of `value` (at least 1).
pub fn digit_count(value: i128) -> u8 {
    // ilog10 compares with powers of ten; a loop of 128-bit divisions cost a
    // bulk load of decimals more than encoding them.
    value.unsigned_abs().checked_ilog10().map_or(1, |log| log as u8 + 1)
}

/// `unscaled / 10^scale` written with exactly `scale` fractional digits.
pub fn decimal_text(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat(scale.unsigned_abs() as usize));
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_counts() {
        assert_eq!(digit_count(0), 1);
        assert_eq!(digit_count(-99), 2);
        assert_eq!(digit_count(10i128.pow(38) - 1), 38);
        assert_eq!(digit_count(i128::MIN), 39);
    }

    #[test]
    fn text_keeps_exactly_the_scale() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 4), "-0.0005");
        assert_eq!(decimal_text(0, 3), "0.000");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(10i128.pow(38) - 1, 38), format!("0.{}", "9".repeat(38)));
    }
}
