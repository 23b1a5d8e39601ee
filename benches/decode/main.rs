//! Decoding a captured TDS response of scenario 1 from memory: the product
//! over a replayed connection (tiberius hands the bytes to our reader), the
//! same decode without I/O and its phases, and the machine's limits (memcpy
//! of the response, bare UTF-16 -> UTF-8 of its strings).
//!
//! `cargo bench --features mimalloc --bench decode` writes benches/results/decode.json and .md
//! when every benchmark ran (no filter, no --profile-time).

mod capture;
mod limit;
mod report;
mod scenario;
mod transport;

use arrow_array::RecordBatch;
use capture::Capture;
use criterion::{Criterion, Throughput};
use fastmssql::driver::{
    decode_response, open_over, DecodedResponse, DriverConnection, QueryOutcome, QUERY_BATCH_LIMITS,
};
use fastmssql::error::DriverError;
use fastmssql::tds::{ColumnMetadata, ColumnWriter, Deframer, Event, ProtocolError, ResponseReader, ResponseSink};
use fastmssql::types::Collation;
use scenario::{ROWS, SELECT};
use serde_json::json;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use transport::{Replay, ReplayQueue};

const DECODE_GROUP: &str = "decode";
const LIMIT_GROUP: &str = "limit";
const DECODE_BENCHMARKS: [&str; 4] = ["product_replay", "decode_in_memory", "read_discarding", "deframe_only"];
const LIMIT_BENCHMARKS: [&str; 2] = ["memcpy", "utf16_to_utf8"];

/// The product's session over a stream replaying the captured server bytes.
struct ProductPath {
    runtime: tokio::runtime::Runtime,
    queue: ReplayQueue,
    connection: DriverConnection<Replay>,
    response: std::sync::Arc<[u8]>,
}

impl ProductPath {
    fn log_in(capture: &Capture) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
        let queue = ReplayQueue::default();
        queue.push(capture.prelogin.clone());
        queue.push(capture.login.clone());
        let settings = capture::settings(1433)?;
        let connection =
            runtime.block_on(open_over(&settings, Replay::new(queue.clone()))).map_err(|e| e.to_string())?;
        Ok(Self { runtime, queue, connection, response: capture.query.clone() })
    }

    fn query(&mut self) -> Result<QueryOutcome, DriverError> {
        self.queue.push(self.response.clone());
        self.runtime.block_on(self.connection.query(SELECT, &[]))
    }
}

/// Column writers that only hand each value to `black_box`: the reader's
/// parsing and text conversion without the Arrow buffers.
#[derive(Default)]
struct Discard {
    text: Vec<u8>,
}

impl ColumnWriter for Discard {
    fn push_null(&mut self) {
        black_box(());
    }
    fn push_bool(&mut self, value: bool) {
        black_box(value);
    }
    fn push_u8(&mut self, value: u8) {
        black_box(value);
    }
    fn push_i16(&mut self, value: i16) {
        black_box(value);
    }
    fn push_i32(&mut self, value: i32) {
        black_box(value);
    }
    fn push_i64(&mut self, value: i64) {
        black_box(value);
    }
    fn push_f32(&mut self, value: f32) {
        black_box(value);
    }
    fn push_f64(&mut self, value: f64) {
        black_box(value);
    }
    fn push_i128(&mut self, value: i128) {
        black_box(value);
    }
    fn push_uuid(&mut self, value: [u8; 16]) {
        black_box(value);
    }
    fn value_bytes(&mut self) -> &mut Vec<u8> {
        &mut self.text
    }
    fn end_value(&mut self) -> Result<(), String> {
        black_box(&self.text);
        self.text.clear();
        Ok(())
    }
    fn abandon_value(&mut self) {
        self.text.clear();
    }
    fn push_variant(&mut self, base_type: &str, text: &str) {
        black_box((base_type, text));
    }
}

#[derive(Default)]
struct DiscardRows {
    columns: Vec<Discard>,
    rows: usize,
}

impl ResponseSink for DiscardRows {
    type Writer = Discard;
    fn start_result(&mut self, columns: &[ColumnMetadata]) -> Result<(), String> {
        self.columns = columns.iter().map(|_| Discard::default()).collect();
        Ok(())
    }
    fn writers(&mut self) -> &mut [Discard] {
        &mut self.columns
    }
    fn end_row(&mut self) {
        self.rows += 1;
    }
    fn start_return_value(&mut self, _parameter: &ColumnMetadata) -> Result<(), String> {
        Ok(())
    }
    fn return_value_writer(&mut self) -> Option<&mut Discard> {
        self.columns.first_mut()
    }
    fn value_error(&mut self, _column: Option<usize>, message: String) {
        black_box(message);
    }
    fn event(&mut self, event: Event) {
        black_box(event);
    }
}

fn latin1(_: Collation) -> Result<&'static encoding_rs::Encoding, String> {
    Ok(encoding_rs::WINDOWS_1252)
}

/// The reader's pass over the response into writers that discard: rows read.
fn read_discarding(response: &[u8]) -> Result<usize, ProtocolError> {
    let mut reader = ResponseReader::new(latin1);
    let mut sink = DiscardRows::default();
    Deframer::new().split(response, |payload| reader.feed(payload, &mut sink))?;
    reader.end_of_message(&mut sink)?;
    Ok(sink.rows)
}

/// Only the packet headers: the payload bytes handed over.
fn deframe_only(response: &[u8]) -> Result<usize, ProtocolError> {
    let mut payload_bytes = 0;
    Deframer::new().split::<ProtocolError>(response, |payload| {
        payload_bytes += black_box(payload).len();
        Ok(())
    })?;
    Ok(payload_bytes)
}

/// The batches of the response's only result set (a query's batches end at
/// QUERY_BATCH_LIMITS' row count, so 100,000 rows come as two).
fn only_result_set(result_sets: Vec<fastmssql::arrow::ResultSet>) -> Result<Vec<RecordBatch>, String> {
    let mut sets = result_sets.into_iter();
    match (sets.next(), sets.next()) {
        (Some(set), None) => Ok(set.batches),
        _ => Err("expected exactly one result set".into()),
    }
}

fn decode_in_memory(response: &[u8]) -> Result<DecodedResponse, DriverError> {
    decode_response(response, QUERY_BATCH_LIMITS)
}

/// The cargo target directory: the bench binary is target/<profile>/deps/decode-<hash>.
fn target_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.ancestors().nth(3).map(Path::to_path_buf).ok_or_else(|| format!("unexpected bench path {}", exe.display()))
}

fn run() -> Result<(), String> {
    let target = target_dir()?;
    let capture = capture::load_or_record(&target.join("fastmssql-bench"))?;
    let mut product = ProductPath::log_in(&capture)?;

    // Every path must read the same rows before any is timed.
    let reference = only_result_set(product.query().map_err(|e| e.to_string())?.result_sets)?;
    let decoded_rows: usize = reference.iter().map(RecordBatch::num_rows).sum();
    if decoded_rows != ROWS {
        return Err(format!("the product decoded {decoded_rows} rows, expected {ROWS}"));
    }
    if let Some(over_tcp) = &capture.over_tcp {
        if over_tcp != &reference {
            return Err("replaying the capture gave other batches than the same query over TCP".into());
        }
    }
    let in_memory = only_result_set(decode_in_memory(&capture.query).map_err(|e| e.to_string())?.result_sets)?;
    if in_memory != reference {
        return Err("the in-memory decode's batches differ from the replayed product's".into());
    }
    if read_discarding(&capture.query).map_err(|e| e.to_string())? != ROWS {
        return Err("the discarding pass counted another number of rows".into());
    }
    let strings = limit::Utf16Strings::of_column(&reference, "name")?;
    eprintln!(
        "capture: {} rows, {} response bytes, {} nvarchar values ({} UTF-16 bytes); every path read the same rows",
        ROWS,
        capture.query.len(),
        strings.count(),
        strings.utf16_bytes()
    );

    let criterion_dir = target.join("criterion");
    for group in [DECODE_GROUP, LIMIT_GROUP] {
        // Only estimates written by this run may reach the results.
        let _ = std::fs::remove_dir_all(criterion_dir.join(group));
    }
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();

    let mut group = criterion.benchmark_group(DECODE_GROUP);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("product_replay", |b| {
        b.iter_with_large_drop(|| product.query().expect("checked before timing"))
    });
    group.bench_function("decode_in_memory", |b| {
        b.iter_with_large_drop(|| decode_in_memory(&capture.query).expect("checked before timing"))
    });
    group.bench_function("read_discarding", |b| {
        b.iter(|| read_discarding(&capture.query).expect("checked before timing"))
    });
    group.bench_function("deframe_only", |b| b.iter(|| deframe_only(&capture.query).expect("checked before timing")));
    group.finish();

    let mut group = criterion.benchmark_group(LIMIT_GROUP);
    group.throughput(Throughput::Bytes(capture.query.len() as u64));
    let mut copy = vec![0u8; capture.query.len()];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            copy.copy_from_slice(black_box(&capture.query));
            black_box(&copy);
        })
    });
    group.throughput(Throughput::Bytes(strings.utf16_bytes() as u64));
    let mut text = String::with_capacity(256);
    group.bench_function("utf16_to_utf8", |b| b.iter(|| strings.convert_all(&mut text)));
    group.finish();
    criterion.final_summary();

    let measured = |group: &str, id: &str| report::read(&criterion_dir, group, id);
    let benchmarks = DECODE_BENCHMARKS
        .iter()
        .map(|id| (DECODE_GROUP, id))
        .chain(LIMIT_BENCHMARKS.iter().map(|id| (LIMIT_GROUP, id)));
    if !benchmarks.into_iter().all(|(group, id)| report::estimates_path(&criterion_dir, group, id).exists()) {
        eprintln!("not every benchmark ran (filter or --profile-time): benches/results/decode.* left as they were");
        return Ok(());
    }
    let response_bytes = capture.query.len();
    let memcpy = measured(LIMIT_GROUP, "memcpy")?;
    let memcpy_bytes_per_s = response_bytes as f64 / (memcpy.median_ns * 1e-9);
    let memcpy_rows_per_s = memcpy_bytes_per_s / (response_bytes as f64 / ROWS as f64);
    let utf16 = measured(LIMIT_GROUP, "utf16_to_utf8")?;
    let product = measured(DECODE_GROUP, "product_replay")?;
    let in_memory = measured(DECODE_GROUP, "decode_in_memory")?;
    let discarding = measured(DECODE_GROUP, "read_discarding")?;
    let deframe = measured(DECODE_GROUP, "deframe_only")?;
    let per_row = |ns: f64| (ns / ROWS as f64 * 10.0).round() / 10.0;
    let results = json!({
        "command": "cargo bench -j 2 --features mimalloc --bench decode",
        "machine": report::machine(),
        "sql": SELECT,
        "scenario": {
            "rows": ROWS,
            "response_bytes": response_bytes,
            "response_bytes_per_row": (response_bytes as f64 / ROWS as f64 * 10.0).round() / 10.0,
            "nvarchar_values": strings.count(),
            "nvarchar_utf16_bytes": strings.utf16_bytes(),
        },
        "limit": {
            "memcpy_gb_per_s": (memcpy_bytes_per_s / 1e9 * 100.0).round() / 100.0,
            "memcpy_mb_per_s": (memcpy_bytes_per_s / 1e6).round() as u64,
            "memcpy_rows_per_s": memcpy_rows_per_s.round() as u64,
            "memcpy_ns_per_row": per_row(memcpy.median_ns),
            "utf16_to_utf8_mb_per_s": (strings.utf16_bytes() as f64 / (utf16.median_ns * 1e-9) / 1e6).round() as u64,
            "utf16_to_utf8_strings_per_s": (strings.count() as f64 / (utf16.median_ns * 1e-9)).round() as u64,
            "utf16_to_utf8_ns_per_row": per_row(utf16.median_ns),
        },
        "decoders": {
            "product_replay": report::decoder(&product, ROWS, response_bytes, memcpy_rows_per_s),
            "decode_in_memory": report::decoder(&in_memory, ROWS, response_bytes, memcpy_rows_per_s),
        },
        "phases_ns_per_row": {
            "deframe": per_row(deframe.median_ns),
            "tokens_values_and_text": per_row(discarding.median_ns - deframe.median_ns),
            "arrow_buffers_and_batch": per_row(in_memory.median_ns - discarding.median_ns),
            "transport_and_async": per_row(product.median_ns - in_memory.median_ns),
            "note": "deframe: packet headers only; tokens_values_and_text: the reader into writers that discard (read_discarding minus deframe), UTF-16 and code pages converted; arrow_buffers_and_batch: decode_in_memory minus read_discarding; transport_and_async: the replayed connection (tiberius's raw read, the read buffer, the async loop) minus decode_in_memory",
        },
    });
    let results_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("results");
    std::fs::create_dir_all(&results_dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(results_dir.join("decode.json"), text + "\n").map_err(|e| e.to_string())?;
    std::fs::write(results_dir.join("decode.md"), report::markdown(&results)).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", results_dir.join("decode.json").display());
    Ok(())
}

fn main() {
    if let Err(error) = run() {
        eprintln!("decode bench: {error}");
        std::process::exit(1);
    }
}
