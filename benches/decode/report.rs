//! Reads criterion's estimates of this run and writes
//! benches/results/decode.json and decode.md.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A benchmark's median time per iteration and its 95% confidence interval.
pub struct Measured {
    pub median_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
}

/// Where criterion keeps the estimates of `group/id`.
pub fn estimates_path(criterion_dir: &Path, group: &str, id: &str) -> PathBuf {
    criterion_dir.join(group).join(id).join("new").join("estimates.json")
}

pub fn read(criterion_dir: &Path, group: &str, id: &str) -> Result<Measured, String> {
    let path = estimates_path(criterion_dir, group, id);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let estimates: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let median = &estimates["median"];
    let number = |value: &Value| value.as_f64().ok_or_else(|| format!("{}: no median estimate", path.display()));
    Ok(Measured {
        median_ns: number(&median["point_estimate"])?,
        low_ns: number(&median["confidence_interval"]["lower_bound"])?,
        high_ns: number(&median["confidence_interval"]["upper_bound"])?,
    })
}

/// The CPU model and core count, as /proc/cpuinfo says.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    // Other work on the machine during the run inflates and spreads the times.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_1min = load.split_whitespace().next().unwrap_or("unknown").to_string();
    json!({ "cpu": model, "cores_available": cores, "os": std::env::consts::OS, "load_average_1min_at_end": load_1min })
}

fn round(value: f64, digits: i32) -> f64 {
    let factor = 10f64.powi(digits);
    (value * factor).round() / factor
}

/// Rows per second of a decode of `rows` rows taking `measured`.
pub fn decoder(measured: &Measured, rows: usize, response_bytes: usize, memcpy_rows_per_s: f64) -> Value {
    let rows_per_s = rows as f64 / (measured.median_ns * 1e-9);
    json!({
        "median_ms": round(measured.median_ns / 1e6, 3),
        "median_ms_95ci": [round(measured.low_ns / 1e6, 3), round(measured.high_ns / 1e6, 3)],
        "rows_per_s": rows_per_s.round() as u64,
        "ns_per_row": round(measured.median_ns / rows as f64, 1),
        "response_mb_per_s": round(response_bytes as f64 / (measured.median_ns * 1e-9) / 1e6, 1),
        "fraction_of_memcpy_rate": round(rows_per_s / memcpy_rows_per_s, 4),
    })
}

/// A short markdown rendering of the JSON.
pub fn markdown(results: &Value) -> String {
    let scenario = &results["scenario"];
    let limit = &results["limit"];
    let phases = &results["phases_ns_per_row"];
    let mut md = String::new();
    md.push_str("# Decoding scenario 1 from memory (criterion, `benches/decode/main.rs`)\n\n");
    md.push_str(&format!(
        "Command: `{}`  \nMachine: {} ({} cores available; 1-minute load average {} at the end of the run)\n\n",
        results["command"].as_str().unwrap_or(""),
        results["machine"]["cpu"].as_str().unwrap_or(""),
        results["machine"]["cores_available"],
        results["machine"]["load_average_1min_at_end"].as_str().unwrap_or("")
    ));
    md.push_str(&format!(
        "Captured response: `{}`, {} rows x 10 columns, {} bytes of TDS ({} bytes/row), {} nvarchar values.\n\n",
        results["sql"].as_str().unwrap_or(""),
        scenario["rows"],
        scenario["response_bytes"],
        scenario["response_bytes_per_row"],
        scenario["nvarchar_values"]
    ));
    md.push_str(
        "| path | rows/s | ns/row | response MB/s | fraction of the memcpy rate |\n|---|---:|---:|---:|---:|\n",
    );
    for (name, key) in [
        ("product: replayed connection (tiberius raw read -> our reader -> Arrow)", "product_replay"),
        ("product decode without I/O (`driver::decode_response`)", "decode_in_memory"),
    ] {
        let figures = &results["decoders"][key];
        md.push_str(&format!(
            "| {name} | {} | {} | {} | {} |\n",
            figures["rows_per_s"],
            figures["ns_per_row"],
            figures["response_mb_per_s"],
            figures["fraction_of_memcpy_rate"]
        ));
    }
    md.push_str(&format!(
        "| limit: memcpy of the response | {} | {} | {} | 1 |\n\n",
        limit["memcpy_rows_per_s"], limit["memcpy_ns_per_row"], limit["memcpy_mb_per_s"]
    ));
    md.push_str(&format!(
        "Bare UTF-16 -> UTF-8 of the nvarchar values with the standard library: {} MB/s of UTF-16, {} strings/s ({} ns per row of this scenario).\n\n",
        limit["utf16_to_utf8_mb_per_s"], limit["utf16_to_utf8_strings_per_s"], limit["utf16_to_utf8_ns_per_row"]
    ));
    md.push_str("Per row, by phase (differences of measured passes, ns/row):\n\n| phase | ns/row |\n|---|---:|\n");
    for key in ["deframe", "tokens_values_and_text", "arrow_buffers_and_batch", "transport_and_async"] {
        md.push_str(&format!("| {key} | {} |\n", phases[key]));
    }
    md.push_str(&format!("\n{}\n", phases["note"].as_str().unwrap_or("")));
    md
}
