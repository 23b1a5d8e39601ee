//! Decoding a captured TDS response of scenario 1 from memory: the product's
//! path (tiberius -> driver decode -> Arrow builders) beside a direct decoder
//! spike into the same Arrow sink, and the machine's limits (memcpy of the
//! response, bare UTF-16 -> UTF-8 of its strings).
//!
//! `cargo bench --bench decode` writes benches/results/decode.json and .md
//! when every benchmark ran (no filter, no --profile-time).

mod capture;
mod limit;
mod report;
mod scenario;
mod spike;
mod transport;

use arrow_array::RecordBatch;
use capture::Capture;
use criterion::{BatchSize, Criterion, Throughput};
use fastmssql::arrow::{ColumnDescription, ColumnSink, SinkError};
use fastmssql::driver::{open_over, DriverConnection, QueryOutcome};
use fastmssql::error::DriverError;
use scenario::{ROWS, SELECT};
use serde_json::json;
use spike::RowSink;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use transport::{Replay, ReplayQueue};

const DECODE_GROUP: &str = "decode";
const LIMIT_GROUP: &str = "limit";
const DECODE_BENCHMARKS: [&str; 6] =
    ["product_tiberius", "spike_direct", "spike_join_packets", "spike_parse_only", "spike_into_builders", "finish_record_batch"];
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

/// A sink that only hands each value to `black_box`: the spike's parsing and
/// string conversion without the Arrow appends.
struct Discard;

impl ColumnSink for Discard {
    fn append_null(&mut self) {
        black_box(());
    }
    fn append_bool(&mut self, value: bool) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_u8(&mut self, value: u8) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_i16(&mut self, value: i16) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_i32(&mut self, value: i32) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_i64(&mut self, value: i64) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_f32(&mut self, value: f32) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_f64(&mut self, value: f64) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_str(&mut self, value: &str) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_bytes(&mut self, value: &[u8]) -> Result<(), SinkError> {
        black_box(value);
        Ok(())
    }
    fn append_decimal(&mut self, unscaled: i128, scale: u8) -> Result<(), SinkError> {
        black_box((unscaled, scale));
        Ok(())
    }
    fn append_date(&mut self, days_since_epoch: i32) -> Result<(), SinkError> {
        black_box(days_since_epoch);
        Ok(())
    }
    fn append_time(&mut self, nanos_since_midnight: i64) -> Result<(), SinkError> {
        black_box(nanos_since_midnight);
        Ok(())
    }
    fn append_timestamp(&mut self, micros_since_epoch: i64) -> Result<(), SinkError> {
        black_box(micros_since_epoch);
        Ok(())
    }
    fn append_timestamp_utc(&mut self, micros_since_epoch: i64) -> Result<(), SinkError> {
        black_box(micros_since_epoch);
        Ok(())
    }
    fn append_uuid(&mut self, bytes: [u8; 16]) -> Result<(), SinkError> {
        black_box(bytes);
        Ok(())
    }
}

struct DiscardRows {
    columns: Vec<Discard>,
    rows: usize,
}

impl RowSink for DiscardRows {
    type Column = Discard;

    fn columns(&mut self) -> &mut [Discard] {
        &mut self.columns
    }

    fn end_row(&mut self) {
        self.rows += 1;
    }
}

fn parse_only(tokens: &[u8]) -> Result<usize, String> {
    let open = |described: Vec<(String, ColumnDescription)>| {
        Ok(DiscardRows { columns: described.iter().map(|_| Discard).collect(), rows: 0 })
    };
    Ok(spike::decode_tokens(tokens, open)?.rows)
}

fn single_batch(outcome: QueryOutcome) -> Result<RecordBatch, String> {
    let mut sets = outcome.result_sets.into_iter();
    match (sets.next(), sets.next()) {
        (Some(set), None) if set.batches.len() == 1 => Ok(set.batches.into_iter().next().expect("one batch")),
        _ => Err("expected exactly one result set of one batch".into()),
    }
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

    // Both decoders must build the same RecordBatch before either is timed.
    let reference = single_batch(product.query().map_err(|e| e.to_string())?)?;
    if reference.num_rows() != ROWS {
        return Err(format!("the product decoded {} rows, expected {ROWS}", reference.num_rows()));
    }
    if let Some(over_tcp) = &capture.over_tcp {
        if over_tcp != &reference {
            return Err("replaying the capture gave another RecordBatch than the same query over TCP".into());
        }
    }
    let spiked = spike::decode(&capture.query)?.batches.into_iter().next().ok_or("the spike built no batch")?;
    if spiked != reference {
        return Err("the spike's RecordBatch differs from the product's".into());
    }
    let tokens = spike::token_stream(&capture.query)?;
    if parse_only(&tokens)? != ROWS {
        return Err("the spike's parse-only pass counted another number of rows".into());
    }
    let strings = limit::Utf16Strings::of_column(&reference, "name")?;
    eprintln!(
        "capture: {} rows, {} response bytes, {} nvarchar values ({} UTF-16 bytes); spike and product batches are equal",
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
    group.bench_function("product_tiberius", |b| {
        b.iter_with_large_drop(|| product.query().expect("checked before timing"))
    });
    group.bench_function("spike_direct", |b| {
        b.iter_with_large_drop(|| spike::decode(&capture.query).expect("checked before timing"))
    });
    group.bench_function("spike_join_packets", |b| {
        b.iter_with_large_drop(|| spike::token_stream(&capture.query).expect("checked before timing"))
    });
    group.bench_function("spike_parse_only", |b| b.iter(|| parse_only(&tokens).expect("checked before timing")));
    group.bench_function("spike_into_builders", |b| {
        b.iter_with_large_drop(|| spike::decode_into_builder(&tokens).expect("checked before timing"))
    });
    group.bench_function("finish_record_batch", |b| {
        b.iter_batched(
            || spike::decode_into_builder(&tokens).expect("checked before timing"),
            |builder| builder.finish().expect("checked before timing"),
            BatchSize::PerIteration,
        )
    });
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
    let benchmarks = DECODE_BENCHMARKS.iter().map(|id| (DECODE_GROUP, id)).chain(LIMIT_BENCHMARKS.iter().map(|id| (LIMIT_GROUP, id)));
    if !benchmarks.into_iter().all(|(group, id)| report::estimates_path(&criterion_dir, group, id).exists()) {
        eprintln!("not every benchmark ran (filter or --profile-time): benches/results/decode.* left as they were");
        return Ok(());
    }
    let response_bytes = capture.query.len();
    let memcpy = measured(LIMIT_GROUP, "memcpy")?;
    let memcpy_bytes_per_s = response_bytes as f64 / (memcpy.median_ns * 1e-9);
    let memcpy_rows_per_s = memcpy_bytes_per_s / (response_bytes as f64 / ROWS as f64);
    let utf16 = measured(LIMIT_GROUP, "utf16_to_utf8")?;
    let product = measured(DECODE_GROUP, "product_tiberius")?;
    let spike_total = measured(DECODE_GROUP, "spike_direct")?;
    let join = measured(DECODE_GROUP, "spike_join_packets")?;
    let parse = measured(DECODE_GROUP, "spike_parse_only")?;
    let into_builders = measured(DECODE_GROUP, "spike_into_builders")?;
    let finish = measured(DECODE_GROUP, "finish_record_batch")?;
    let per_row = |ns: f64| (ns / ROWS as f64 * 10.0).round() / 10.0;
    let sink_and_finish = into_builders.median_ns - parse.median_ns + finish.median_ns;
    let results = json!({
        "command": "CARGO_TARGET_DIR=/root/.cache/fastmssql/target-ext cargo bench -j 2 --bench decode",
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
            "product_tiberius": report::decoder(&product, ROWS, response_bytes, memcpy_rows_per_s),
            "spike_direct": report::decoder(&spike_total, ROWS, response_bytes, memcpy_rows_per_s),
            "spike_speedup_over_product": (product.median_ns / spike_total.median_ns * 100.0).round() / 100.0,
        },
        "spike_phases_ns_per_row": {
            "join_packets": report::ns_per_row(&join, ROWS),
            "parse_and_convert": report::ns_per_row(&parse, ROWS),
            "arrow_appends": per_row(into_builders.median_ns - parse.median_ns),
            "finish_record_batch": report::ns_per_row(&finish, ROWS),
            "note": "parse_and_convert: tokens to values, UTF-16 to UTF-8 included, into a sink that discards; arrow_appends: into_builders minus parse_and_convert",
        },
        "product_inferred_ns_per_row": {
            "sink_appends_and_finish": per_row(sink_and_finish),
            "before_the_sink": per_row(product.median_ns - sink_and_finish),
            "note": "the product makes the same ColumnBuilder appends and finish as the spike, so the rest of its time is tiberius (packets, tokens, ColumnData rows) and the driver's per-cell dispatch",
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
