//! Scenario 1 of the benchmark issue: `bench_mixed`, ten mixed columns with
//! deterministic values, about 5% NULLs per nullable column and strings of
//! varied length (some non-ASCII and surrogate pairs in the nvarchar).

use fastmssql::temporal::civil_from_days;

/// Rows in the captured response; enough for stable rates.
pub const ROWS: usize = 100_000;

pub const CREATE_TABLE: &str = "CREATE TABLE bench_mixed (id int PRIMARY KEY, big bigint, f float, \
     amount decimal(18,4), name nvarchar(50), code varchar(20), ts datetime2, d date, flag bit, \
     guid uniqueidentifier)";

pub const SELECT: &str = "SELECT * FROM bench_mixed";

/// SQL Server accepts at most 1000 rows in one VALUES list.
const ROWS_PER_INSERT: usize = 1000;

/// Characters of the nvarchar values: mostly ASCII, some outside Latin-1 and
/// one outside the BMP (two UTF-16 units).
const NAME_CHARS: [&str; 16] = ["a", "b", "c", "d", "e", "k", "m", "s", "t", "z", " ", "é", "ß", "ж", "中", "😀"];
const CODE_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-";

/// splitmix64: a fixed, well-mixed value per (row, column).
fn mix(row: usize, column: u64) -> u64 {
    let mut z = (row as u64).wrapping_mul(16).wrapping_add(column).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn date_text(days_since_1970: i64) -> String {
    let (year, month, day) = civil_from_days(days_since_1970);
    format!("{year:04}-{month:02}-{day:02}")
}

fn name_text(h: u64) -> String {
    let target_units = (h % 51) as usize;
    let mut text = String::new();
    let mut units = 0;
    let mut state = h;
    loop {
        state = state.rotate_left(5) ^ 0x5DEE_CE66;
        // Non-ASCII for one character in eight.
        let pick = if state.is_multiple_of(8) { 11 + (state >> 8) % 5 } else { (state >> 8) % 11 } as usize;
        let ch = NAME_CHARS[pick];
        let width = ch.encode_utf16().count();
        if units + width > target_units {
            break;
        }
        units += width;
        text.push_str(ch);
    }
    text
}

fn code_text(h: u64) -> String {
    let len = (h % 21) as usize;
    (0..len).map(|k| CODE_CHARS[((h >> (k % 8 * 8)) as usize + k) % CODE_CHARS.len()] as char).collect()
}

/// One row as a SQL VALUES tuple.
fn row_tuple(row: usize) -> String {
    let is_null = |column: u64| mix(row, column + 100).is_multiple_of(20);
    let mut values = vec![row.to_string()];
    let mut nullable = |column: u64, text: String| values.push(if is_null(column) { "NULL".into() } else { text });
    let h = |column: u64| mix(row, column);
    nullable(1, ((h(1) >> 1) as i64 - (1 << 62)).to_string());
    // Binary fractions, so the literal is the exact double.
    nullable(2, format!("{:?}", ((h(2) % 2_000_000_000) as f64 - 1e9) / 64.0));
    let unscaled = (h(3) % 1_000_000_000_000_000_000) as i64 * if h(3) & (1 << 63) == 0 { 1 } else { -1 };
    nullable(
        3,
        format!("{}{}.{:04}", if unscaled < 0 { "-" } else { "" }, unscaled.abs() / 10_000, unscaled.abs() % 10_000),
    );
    nullable(4, format!("N'{}'", name_text(h(4))));
    nullable(5, format!("'{}'", code_text(h(5))));
    let ticks = h(6) % 864_000_000_000;
    let seconds = ticks / 10_000_000;
    nullable(
        6,
        format!(
            "'{} {:02}:{:02}:{:02}.{:07}'",
            date_text(7305 + (h(6) >> 40) as i64 % 15_000),
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            ticks % 10_000_000
        ),
    );
    nullable(7, format!("'{}'", date_text((h(7) % 73_000) as i64 - 25_567)));
    nullable(8, (h(8) & 1).to_string());
    let (a, b) = (h(9), mix(row, 10));
    nullable(
        9,
        format!(
            "'{:08X}-{:04X}-{:04X}-{:04X}-{:012X}'",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        ),
    );
    format!("({})", values.join(", "))
}

/// INSERT statements filling the table with rows 1..=ROWS.
pub fn insert_batches() -> impl Iterator<Item = String> {
    (1..=ROWS).step_by(ROWS_PER_INSERT).map(|first| {
        let mut sql = String::from("INSERT INTO bench_mixed VALUES ");
        for row in first..(first + ROWS_PER_INSERT).min(ROWS + 1) {
            if row != first {
                sql.push_str(", ");
            }
            sql.push_str(&row_tuple(row));
        }
        sql
    })
}
