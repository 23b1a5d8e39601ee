"""Where the decoders spend their time per row, by `perf record` of the decode bench.

Run after `cargo bench -j 2 --features mimalloc --bench decode` (which writes benches/results/decode.json):

    python3 benches/decode/profile.py

Profiles the replayed connection and the in-memory decode separately (criterion --profile-time),
groups the self time of their symbols into categories, converts each share
into ns/row with the medians of decode.json, and adds the result to
decode.json ("perf_profile") and decode.md.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benches" / "results"
PROFILE_SECONDS = 10
BENCHMARKS = {"product_replay": "decode/product_replay", "decode_in_memory": "decode/decode_in_memory"}

# First match wins; patterns are searched in the demangled symbol name.
CATEGORIES = [
    ("kernel", r"^\[k\]"),
    ("memcpy/memmove/memset", r"mem(cpy|move|set)|__memmove|__memcpy|__memset"),
    ("allocator (mimalloc)", r"\bmi_|mimalloc|_mi_|__rust_(alloc|dealloc|realloc)|\bmalloc\b|\bfree\b|realloc"),
    ("utf-16 -> utf-8", r"utf16|decode_utf16|from_utf16|char::|encode_utf8"),
    ("token reader and value decoding (fastmssql::tds)", r"fastmssql::tds"),
    ("Arrow writers and batch (fastmssql::arrow, arrow-*)", r"fastmssql::arrow|arrow_|arrow::"),
    ("transport (tiberius raw read, tokio, futures)", r"tiberius|tokio|futures_|asynchronous_codec|bytes::|BytesMut"),
    ("driver (session, response loop)", r"fastmssql::driver"),
    ("criterion/bench harness", r"criterion|decode::"),
]


def bench_executable():
    out = subprocess.run(
        ["cargo", "bench", "-j", "2", "--features", "mimalloc", "--bench", "decode", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable") and message["target"]["name"] == "decode":
            return message["executable"]
    sys.exit("profile.py: cargo did not report the decode bench executable")


def self_time_by_symbol(executable, benchmark, data):
    subprocess.run(
        ["perf", "record", "-q", "-F", "1999", "-o", data, "--", executable, "--bench",
         "--profile-time", str(PROFILE_SECONDS), f"^{benchmark}$"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )
    report = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol", "--percent-limit", "0"],
        check=True, capture_output=True, text=True,
    ).stdout
    shares = []
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(\[[.k]\])\s+(.*)$", line)
        if match:
            # perf pads the symbol column and may print "-" for empty trailing columns.
            kind, name = match.group(2), re.sub(r"(\s+-)+$", "", " ".join(match.group(3).split()))
            shares.append((float(match.group(1)), f"[k] {name}" if kind == "[k]" else name))
    return shares


def categorize(shares):
    totals = {name: 0.0 for name, _ in CATEGORIES}
    totals["other"] = 0.0
    for percent, symbol in shares:
        category = next((name for name, pattern in CATEGORIES if re.search(pattern, symbol)), "other")
        totals[category] += percent
    return {name: round(value, 1) for name, value in totals.items() if value >= 0.05}


def main():
    results_path = RESULTS / "decode.json"
    results = json.loads(results_path.read_text())
    executable = bench_executable()
    profile = {"command": "CARGO_TARGET_DIR=... python3 benches/decode/profile.py", "tool": "perf record -F 1999 (self time, no call graphs)"}
    for key, benchmark in BENCHMARKS.items():
        with tempfile.TemporaryDirectory() as tmp:
            shares = self_time_by_symbol(executable, benchmark, os.path.join(tmp, "perf.data"))
        ns_per_row = results["decoders"][key]["ns_per_row"]
        categories = categorize(shares)
        profile[key] = {
            "percent": categories,
            "ns_per_row": {name: round(percent / 100 * ns_per_row, 1) for name, percent in categories.items()},
            "top_symbols": [{"percent": p, "symbol": s[:160]} for p, s in shares[:15]],
        }
    results["perf_profile"] = profile
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    md_path = RESULTS / "decode.md"
    md = md_path.read_text().split("\n## perf profile")[0].rstrip("\n")
    md += "\n\n## perf profile (self time per category, ns/row = share x median ns/row)\n\n"
    md += "Command: `python3 benches/decode/profile.py`\n\n"
    names = list(dict.fromkeys(n for key in BENCHMARKS for n in profile[key]["percent"]))
    md += "| category | " + " | ".join(f"{key} % | {key} ns/row" for key in BENCHMARKS) + " |\n|---|---:|---:|---:|---:|\n"
    for name in names:
        cells = []
        for key in BENCHMARKS:
            cells += [str(profile[key]["percent"].get(name, 0)), str(profile[key]["ns_per_row"].get(name, 0))]
        md += f"| {name} | " + " | ".join(cells) + " |\n"
    for key in BENCHMARKS:
        md += f"\nTop symbols, {key}:\n\n"
        md += "".join(f"- {entry['percent']}% `{entry['symbol']}`\n" for entry in profile[key]["top_symbols"][:10])
    md_path.write_text(md)
    print(f"wrote perf_profile into {results_path} and {md_path}")


if __name__ == "__main__":
    main()
