//! The response reader against real responses of the local TDS server
//! (every type, NULLs, `(max)` values spanning many packets, several result
//! sets, an error after rows), recorded once and then replayed through the
//! product's driver:
//! - re-packetized at random sizes (512 to 32,767 bytes) and delivered in
//!   reads cut at random points, every response decodes to batches
//!   identical to the uncut one's;
//! - mutated at random (a fixed seed, thousands of cases), no response
//!   panics, hangs or makes the reader allocate far beyond what it was sent.

#[path = "../benches/decode/transport.rs"]
mod transport;

use fastmssql::config::{ConnectSettings, KeywordSettings};
use fastmssql::driver::{open_over, DriverConnection, QueryOutcome};
use fastmssql::error::DriverError;
use fastmssql::params::{BoundParam, ParamValue};
#[cfg(not(feature = "mimalloc"))]
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tds_server::server::{DEFAULT_PASSWORD, DEFAULT_USER};
use tds_server::{TestServer, TestServerConfig};
use tokio::net::TcpStream;
use transport::{Recording, Replay, ReplayQueue};

/// Counts the bytes allocated and not yet freed, and their peak. (Built
/// without the `mimalloc` feature, whose allocator the crate then installs;
/// `cargo test` builds without it.)
#[cfg(not(feature = "mimalloc"))]
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[cfg(not(feature = "mimalloc"))]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(not(feature = "mimalloc"))]
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A deterministic pseudo-random sequence (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every type of the type table as `CAST(literal AS type)`, plus NULLs.
const CASTS: &[(&str, &str)] = &[
    ("bit", "1"),
    ("tinyint", "255"),
    ("smallint", "-32768"),
    ("int", "2147483647"),
    ("bigint", "-9223372036854775808"),
    ("real", "1.5"),
    ("float", "-1.79E+308"),
    ("decimal(38,38)", "0.99999999999999999999999999999999999999"),
    ("numeric(10,4)", "-123456.7891"),
    ("money", "-922337203685477.5808"),
    ("smallmoney", "214748.3647"),
    ("char(5)", "'ab'"),
    ("varchar(10)", "'abc'"),
    ("varchar(max)", "'abc'"),
    ("nchar(3)", "N'é'"),
    ("nvarchar(20)", "N'héllo 😀'"),
    ("nvarchar(max)", "N'𝄞 clef'"),
    ("text", "'abc'"),
    ("ntext", "N'ab😀'"),
    ("xml", "N'<a>x</a>'"),
    ("binary(4)", "0x0102"),
    ("varbinary(max)", "0xDEADBEEF"),
    ("image", "0xFF"),
    ("uniqueidentifier", "'6F9619FF-8B86-D011-B42D-00C04FC964FF'"),
    ("date", "'9999-12-31'"),
    ("time(7)", "'23:59:59.9999999'"),
    ("datetime", "'2024-02-29 12:34:56.997'"),
    ("smalldatetime", "'2079-06-06 23:59'"),
    ("datetime2(3)", "'0001-01-01 00:00:00.123'"),
    ("datetimeoffset(7)", "'2024-01-01 10:00:00.1234567 +05:30'"),
    ("sql_variant", "N'16.0.1000.6'"),
];

fn settings(port: u16) -> ConnectSettings {
    let text = format!("Server=tcp:127.0.0.1,{port};User Id={DEFAULT_USER};Password={DEFAULT_PASSWORD};Encrypt=no");
    ConnectSettings::resolve(Some(&text), KeywordSettings::default(), None).expect("connection string")
}

async fn tcp(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// The server's bytes of logging in, and the responses to the queries.
struct Recorded {
    login: Vec<u8>,
    /// Each query with the raw response to it (TDS packets, headers included).
    responses: Vec<(String, Vec<u8>)>,
}

fn queries() -> Vec<String> {
    let casts: Vec<String> =
        CASTS.iter().enumerate().map(|(i, (ty, literal))| format!("CAST({literal} AS {ty}) AS c{i}")).collect();
    let nulls: Vec<String> =
        CASTS.iter().enumerate().map(|(i, (ty, _))| format!("CAST(NULL AS {ty}) AS n{i}")).collect();
    vec![
        format!("SELECT {}", casts.join(", ")),
        format!("SELECT {}", nulls.join(", ")),
        // Several result sets, rows counted between them.
        "SELECT id, note FROM #big ORDER BY id; SELECT COUNT(*) AS n FROM #big; SELECT id FROM #big WHERE id > 100"
            .to_string(),
        // (max) values of several packets each.
        "SELECT id, note, data FROM #big".to_string(),
        // An error after rows (245 converting 'eleven').
        "SELECT id, CAST(v AS int) AS n FROM #err ORDER BY id".to_string(),
    ]
}

fn record() -> Recorded {
    let server = TestServer::start(TestServerConfig::default()).expect("local server");
    let port = server.addr().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let recorded = runtime.block_on(async {
        let mut connection =
            open_over(&settings(port), Recording::new(tcp(port).await, log.clone())).await.expect("log in");
        let login = std::mem::take(&mut *log.lock().unwrap());
        connection
            .execute("CREATE TABLE #big (id int PRIMARY KEY, note nvarchar(max), data varbinary(max))", &[])
            .await
            .unwrap();
        for id in 0..6i64 {
            let text = format!("{id}: é€😀 ").repeat(2_000 * id as usize);
            let bytes: Vec<u8> = (0..5_000 * id).map(|i| i as u8).collect();
            let params = [
                BoundParam::new(ParamValue::Int(id)),
                BoundParam::new(if id == 3 { ParamValue::Null } else { ParamValue::String(text) }),
                BoundParam::new(ParamValue::Bytes(bytes)),
            ];
            connection.execute("INSERT INTO #big VALUES (@P1, @P2, @P3)", &params).await.unwrap();
        }
        connection.execute("CREATE TABLE #err (id int PRIMARY KEY, v varchar(10))", &[]).await.unwrap();
        let values: Vec<String> = (1..=10).map(|i| format!("({i}, '{i}')")).collect();
        connection
            .execute(&format!("INSERT INTO #err VALUES {}, (11, 'eleven')", values.join(", ")), &[])
            .await
            .unwrap();
        let mut responses = Vec::new();
        for query in queries() {
            log.lock().unwrap().clear();
            let _ = connection.query(&query, &[]).await;
            responses.push((query, std::mem::take(&mut *log.lock().unwrap())));
        }
        Recorded { login, responses }
    });
    server.stop();
    recorded
}

/// A session logged in over a replay of the recorded login.
fn replayed_session(runtime: &tokio::runtime::Runtime, login: &[u8]) -> (ReplayQueue, DriverConnection<Replay>) {
    let queue = ReplayQueue::default();
    let session = ConnectSettings::resolve(
        Some(&format!("Server=tcp:127.0.0.1,1;User Id={DEFAULT_USER};Password={DEFAULT_PASSWORD};Encrypt=no")),
        KeywordSettings::default(),
        None,
    )
    .unwrap();
    // PRELOGIN and LOGIN answers are separate messages; the replay serves
    // them as the client reads.
    queue.push(Arc::from(login));
    let connection = runtime.block_on(open_over(&session, Replay::new(queue.clone()))).expect("replayed login");
    (queue, connection)
}

/// The packets' payloads, joined.
fn payload_stream(response: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut at = 0;
    while at < response.len() {
        let length = usize::from(u16::from_be_bytes([response[at + 2], response[at + 3]]));
        payload.extend_from_slice(&response[at + 8..at + length]);
        at += length;
    }
    payload
}

/// The payload in new packets of random sizes, the last one EOM.
fn repacketized(payload: &[u8], random: &mut Random) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut at = 0;
    loop {
        let size = 512 + random.below(32_767 - 512 + 1);
        let end = (at + size - 8).min(payload.len());
        let length = (end - at + 8) as u16;
        let last = end == payload.len();
        bytes.extend([0x04, u8::from(last)]);
        bytes.extend(length.to_be_bytes());
        bytes.extend([0, 0, 1, 0]);
        bytes.extend_from_slice(&payload[at..end]);
        at = end;
        if last {
            return bytes;
        }
    }
}

/// Queues `response` as reads that end at random points.
fn queue_in_random_reads(queue: &ReplayQueue, response: &[u8], random: &mut Random) {
    let mut at = 0;
    while at < response.len() {
        let longest = if random.below(4) == 0 { 16 } else { 40_000 };
        let read = 1 + random.below(longest);
        let end = (at + read).min(response.len());
        queue.push(Arc::from(&response[at..end]));
        at = end;
    }
}

fn same_outcome(a: &Result<QueryOutcome, DriverError>, b: &Result<QueryOutcome, DriverError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            a.rows_affected == b.rows_affected
                && a.messages == b.messages
                && a.result_sets.len() == b.result_sets.len()
                && a.result_sets.iter().zip(&b.result_sets).all(|(x, y)| x.schema == y.schema && x.batches == y.batches)
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

#[test]
fn recorded_responses_cut_anywhere_decode_identically_and_hostile_ones_fail_cleanly() {
    let recorded = record();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut random = Random(0x005E_ED0F_F457_3155);

    // What each response decodes to, read as the server sent it.
    let mut uncut = Vec::new();
    for (query, response) in &recorded.responses {
        let (queue, mut connection) = replayed_session(&runtime, &recorded.login);
        queue.push(Arc::from(response.as_slice()));
        uncut.push(runtime.block_on(connection.query(query, &[])));
    }
    let kinds: Vec<&str> = uncut.iter().map(|o| if o.is_ok() { "ok" } else { "error" }).collect();
    assert_eq!(kinds, ["ok", "ok", "ok", "ok", "error"], "{uncut:?}");
    let every_type = &uncut[0].as_ref().unwrap().result_sets[0];
    assert_eq!(every_type.schema.fields().len(), CASTS.len());
    assert_eq!(uncut[2].as_ref().unwrap().result_sets.len(), 3);
    let big = &uncut[3].as_ref().unwrap().result_sets[0];
    assert_eq!(big.num_rows(), 6);
    assert!(recorded.responses[3].1.len() > 200_000, "the (max) values span many packets");
    assert_eq!(uncut[4].as_ref().unwrap_err().server.as_ref().map(|s| s.number), Some(245));

    // Re-packetized and read in random pieces: the same outcome.
    let mut checked = 0;
    for round in 0..25 {
        for ((query, response), expected) in recorded.responses.iter().zip(&uncut) {
            let (queue, mut connection) = replayed_session(&runtime, &recorded.login);
            queue_in_random_reads(&queue, &repacketized(&payload_stream(response), &mut random), &mut random);
            let outcome = runtime.block_on(connection.query(query, &[]));
            assert!(same_outcome(&outcome, expected), "round {round}, {query}: {outcome:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 25 * recorded.responses.len());

    // Hostile variations: bytes flipped, lengths overwritten with extremes,
    // tokens cut short; each must end in an error or a result, never a
    // panic, and never a large allocation beyond the response's size.
    let mut cases = 0;
    for _ in 0..3_000 {
        let (query, response) = &recorded.responses[random.below(recorded.responses.len())];
        let mut payload = payload_stream(response);
        match random.below(4) {
            0 => {
                for _ in 0..1 + random.below(4) {
                    let at = random.below(payload.len());
                    payload[at] = random.next() as u8;
                }
            }
            1 => {
                let at = random.below(payload.len().saturating_sub(8).max(1));
                let extreme = [u64::MAX, u64::MAX - 1, 0x7FFF_FFFF, 0xFFFF, 0][random.below(5)];
                let width = [2, 4, 8][random.below(3)].min(payload.len() - at);
                payload[at..at + width].copy_from_slice(&extreme.to_le_bytes()[..width]);
            }
            2 => payload.truncate(random.below(payload.len())),
            _ => payload.insert(random.below(payload.len()), random.next() as u8),
        }
        if payload.is_empty() {
            continue;
        }
        let (queue, mut connection) = replayed_session(&runtime, &recorded.login);
        queue_in_random_reads(&queue, &repacketized(&payload, &mut random), &mut random);
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(connection.query(query, &[])).map(drop)
        }));
        let grown = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        assert!(outcome.is_ok(), "a mutated response of {query} panicked");
        // Decoded values take at most about 4x their wire size (UTF-8 of
        // UTF-16, Arrow buffers doubling); 64 MiB leaves room for the
        // per-batch buffers and nothing for an allocation a hostile length asks for.
        if cfg!(not(feature = "mimalloc")) {
            assert!(grown < 64 << 20, "{grown} bytes allocated for a response of {} bytes", payload.len());
        }
        cases += 1;
    }
    assert!(cases > 2_900, "{cases} hostile cases ran");
}
