//! The local server's own serving rate in replay mode: a TestServer in this process, the table of
//! benchmark scenario 1 (`bench_mixed`: 1,000,000 rows of 10 mixed columns, filled with multi-row
//! INSERTs like the Python harness's), and a raw TDS client over loopback that reads every packet
//! of `SELECT * FROM bench_mixed` up to the final DONE without decoding rows. Prints JSON: the
//! first (executed) response and the replayed ones, in rows/s and MB/s of TDS bytes.
//!
//! `cargo bench -p tds_server --bench replay_rate [-- ROWS]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use support::{all_headers, utf16, Client};
use tds_server::{TestServer, TestServerConfig};

const DEFAULT_ROWS: u64 = 1_000_000;
const ROWS_PER_INSERT: u64 = 1000;
const REPLAYS: usize = 5;
/// The packet size clients usually ask for (ODBC, tiberius, pytds) and the largest one.
const PACKET_SIZES: [u32; 2] = [4096, 32767];

const CREATE_TABLE: &str = "CREATE TABLE bench_mixed (id int NOT NULL PRIMARY KEY, big bigint, f float, \
amount decimal(18,4), name nvarchar(50), code varchar(20), ts datetime2, d date, flag bit, guid uniqueidentifier)";
const WORDS: [&str; 12] =
    ["alpha", "Bravo", "charlie", "délta", "echo", "Foxtrot", "golf", "hôtel", "india", "Juliett", "kilo", "straße"];

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("ROWS must be a number"))
        .unwrap_or(DEFAULT_ROWS);
    let server = TestServer::start(TestServerConfig { replay: true, ..TestServerConfig::default() }).expect("server");

    let mut loader = Client::logged_in(server.addr());
    let load_started = Instant::now();
    execute(&mut loader, CREATE_TABLE);
    for start in (1..=rows).step_by(ROWS_PER_INSERT as usize) {
        let values: Vec<String> = (start..(start + ROWS_PER_INSERT).min(rows + 1)).map(row_literal).collect();
        execute(&mut loader, &format!("INSERT INTO bench_mixed VALUES {}", values.join(",")));
    }
    let load_secs = load_started.elapsed().as_secs_f64();

    let mut results = Vec::new();
    for (i, packet_size) in PACKET_SIZES.into_iter().enumerate() {
        let mut client = connect(server.addr(), packet_size);
        // Only the first read of the first connection executes; all others are replays.
        let first = (i == 0).then(|| read_all(&mut client, rows));
        let replays: Vec<Reading> = (0..REPLAYS).map(|_| read_all(&mut client, rows)).collect();
        results.push((packet_size, first, replays));
    }
    println!("{}", report(rows, load_secs, &results));
}

/// One read of the whole result.
struct Reading {
    secs: f64,
    bytes: usize,
}

fn connect(addr: std::net::SocketAddr, packet_size: u32) -> Client {
    let mut client = Client::connect(addr);
    client.stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    assert_eq!(client.prelogin(0x02), 0x02, "no encryption");
    let tokens = client.login("sa", "FastMssql!Test1", "", packet_size);
    assert!(tokens.iter().any(|t| t.ty == 0xAD), "login failed: {tokens:?}");
    client.packet_size = packet_size as usize;
    client
}

fn execute(client: &mut Client, sql: &str) {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(sql));
    client.send(0x01, 0, &payload);
    let response = client.receive();
    let done = &response.payload[response.payload.len() - 13..];
    let ok = done[0] == 0xFD && done[1] & 0x02 == 0;
    assert!(ok, "{sql:.80}... failed: {:?}", support::split_tokens(&response.payload));
}

/// Sends `SELECT * FROM bench_mixed` and reads packets until the one with EOM, checking only
/// that the response ends with a DONE carrying the row count.
fn read_all(client: &mut Client, rows: u64) -> Reading {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16("SELECT * FROM bench_mixed"));
    let started = Instant::now();
    client.send(0x01, 0, &payload);
    let mut reader = BufReader::with_capacity(1 << 20, &client.stream);
    let mut header = [0u8; 8];
    let mut data = vec![0u8; 32768];
    let mut bytes = 0;
    let mut tail = Vec::new();
    loop {
        reader.read_exact(&mut header).expect("packet header");
        let len = u16::from_be_bytes([header[2], header[3]]) as usize;
        reader.read_exact(&mut data[..len - 8]).expect("packet data");
        bytes += len;
        if header[1] & 0x01 != 0 {
            tail.extend_from_slice(&data[..len - 8]);
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert!(tail.len() >= 13, "final packet holds the final DONE");
    let done = &tail[tail.len() - 13..];
    assert_eq!(done[0], 0xFD, "response ends with DONE");
    assert_eq!(u64::from_le_bytes(done[5..13].try_into().unwrap()), rows, "DONE row count");
    Reading { secs, bytes }
}

fn report(rows: u64, load_secs: f64, results: &[(u32, Option<Reading>, Vec<Reading>)]) -> String {
    let rate = |r: &Reading| {
        format!(
            "{{\"secs\": {:.4}, \"rows_per_sec\": {:.0}, \"mb_per_sec\": {:.1}, \"bytes\": {}}}",
            r.secs,
            rows as f64 / r.secs,
            r.bytes as f64 / r.secs / 1e6,
            r.bytes
        )
    };
    let per_size: Vec<String> = results
        .iter()
        .map(|(packet_size, first, replays)| {
            let mut sorted: Vec<&Reading> = replays.iter().collect();
            sorted.sort_by(|a, b| a.secs.total_cmp(&b.secs));
            format!(
                "{{\"packet_size\": {packet_size}, \"first\": {}, \"replay_median\": {}, \"replay_best\": {}, \"replays\": [{}]}}",
                first.as_ref().map_or("null".to_string(), rate),
                rate(sorted[sorted.len() / 2]),
                rate(sorted[0]),
                replays.iter().map(rate).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    format!(
        "{{\"rows\": {rows}, \"columns\": 10, \"load_secs\": {load_secs:.2}, \"peak_rss_mb\": {:.0}, \"results\": [{}]}}",
        peak_rss_mb(),
        per_size.join(", ")
    )
}

/// VmHWM of this process (server and client together).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Row `i` of bench_mixed as a VALUES tuple, in the shape of benches/common.py's `mixed_row`:
/// each nullable column NULL for one residue of i mod 20, names with non-ASCII words.
fn row_literal(i: u64) -> String {
    let h = (i * 2_654_435_761) % (1 << 32);
    let null = |residue: u64, literal: String| if i % 20 == residue { "NULL".to_string() } else { literal };
    let words: Vec<&str> = (0..4 + (h % 5) * 3).step_by(3).map(|s| WORDS[((h >> s) % 12) as usize]).collect();
    let name: String = format!("{} {i}", words.join(" ")).chars().take(50).collect();
    let big = ((i as u128 * 6_364_136_223_846_793_005) % (1 << 62)) as i64 - (1 << 61);
    let f = (h % 2_000_000) as f64 / 1000.0 - 1000.0;
    let amount = format!("{}.{:04}", (h % 1_000_000_000_000) / 10_000, (h % 1_000_000_000_000) % 10_000);
    let code: String = format!("C{i:07}").chars().take(4 + (h % 9) as usize).collect();
    let seconds = i * 37;
    let (y, m, d) = civil_from_days(days_from_civil(2020, 1, 1) + (seconds / 86_400) as i64);
    let ts = format!(
        "'{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}'",
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        h % 1_000_000
    );
    let (y, m, dd) = civil_from_days(days_from_civil(2000, 1, 1) + (i % 10_000) as i64);
    let guid = format!("{:032x}", (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
    let guid = format!("'{}-{}-{}-{}-{}'", &guid[..8], &guid[8..12], &guid[12..16], &guid[16..20], &guid[20..]);
    format!(
        "({i},{},{},{},{},{},{},'{y:04}-{m:02}-{dd:02}',{},{})",
        null(3, big.to_string()),
        null(7, format!("{f:?}")),
        null(11, amount),
        null(13, format!("N'{name}'")),
        null(17, format!("'{code}'")),
        null(5, ts),
        i.is_multiple_of(3) as u8,
        null(19, guid)
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}
