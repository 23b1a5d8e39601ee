"""Writes the markdown table (NAME.md) and the chart (NAME.png) of a results file written by run.py.

    python benches/report.py benches/results/latest.json

Needs matplotlib (run.py runs it in the harness environment). Ratios compare with this package
("ours" = 1.00): for the timed scenarios the client's median time over ours (above 1 is slower),
for OLTP the client's requests per second over ours (below 1 is slower).
"""

from __future__ import annotations

import json
import pathlib
import sys

TITLES = {
    ("arrow", "mixed"): "1. Read {mixed_rows:,} rows x 10 mixed columns to Arrow",
    ("arrow", "strings"): "1b. Read {strings_rows:,} rows x 3 nvarchar(max) (100-1000 chars) to Arrow",
    ("arrow", "mixed-tls"): "1c. Read {mixed_rows:,} rows x 10 mixed columns to Arrow over TLS (Encrypt=yes)",
    ("rows", "mixed"): "2. Read {mixed_rows:,} rows x 10 mixed columns into Python rows (every value read)",
    ("rows", "strings"): "2b. Read {strings_rows:,} rows x 3 nvarchar(max) into Python rows",
    ("oltp", "mixed"): "3. OLTP: one-row primary-key lookup with a parameter (keys from a pool of {key_pool:,})",
    ("write", "mixed"): "4. Bulk write of {write_rows:,} rows of scenario 1's table",
}

OURS_COLOR = "C3"
# This package's clients, asyncio and DB-API: compared with the others, not with each other
OUR_CLIENTS = ("ours", "ours-sync")
OTHER_COLORS = ("C0", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C9")


def status_text(cell: dict) -> str:
    return "n/a: " + cell["reason"] if cell["status"] == "n/a" else "failed: " + cell["reason"]


def fmt(value, pattern="{:.3f}") -> str:
    return "" if value is None else pattern.format(value)


def reference(cells: list[dict], scenario: str, dataset: str, concurrency=None) -> dict | None:
    """Our cell that the others are compared with (the first mode of ours in that scenario)."""
    for cell in cells:
        if (cell["client"], cell["scenario"], cell["dataset"], cell.get("concurrency")) == (
                "ours", scenario, dataset, concurrency) and cell.get("status") == "ok":
            return cell
    return None


def timed_table(cells: list[dict], scenario: str, dataset: str) -> list[str]:
    ours = reference(cells, scenario, dataset)
    lines = ["| client | mode | median s | min-max s | rows/s | peak RSS MB | time ÷ ours | note |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    rows = [c for c in cells if c["scenario"] == scenario and c["dataset"] == dataset]
    for cell in sorted(rows, key=lambda c: (c.get("status") != "ok", c.get("median_s", 0))):
        if cell.get("status") != "ok":
            lines.append(f"| {cell['client']} | {cell['mode']} | | | | | | {status_text(cell)} |")
            continue
        ratio = fmt(cell["median_s"] / ours["median_s"], "{:.2f}") if ours else ""
        spread = f"{cell['min_s']:.3f}-{cell['max_s']:.3f}" if len(cell["times_s"]) > 1 else "(1 run)"
        lines.append(f"| {cell['client']} | {cell['mode']} | {cell['median_s']:.3f} | {spread} | "
                     f"{cell['rows_per_s']:,.0f} | {fmt(cell.get('peak_rss_mb'), '{:.0f}')} | {ratio} | "
                     f"{cell.get('note', '')} |")
    return lines


def oltp_table(cells: list[dict]) -> list[str]:
    lines = ["| client | mode | concurrency | requests/s | p50 ms | p99 ms | req/s ÷ ours | note |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    rows = [c for c in cells if c["scenario"] == "oltp"]
    for cell in sorted(rows, key=lambda c: (c.get("concurrency") or 0, c.get("status") != "ok",
                                            -c.get("requests_per_s", 0))):
        concurrency = cell.get("concurrency", "")
        if cell.get("status") != "ok":
            lines.append(f"| {cell['client']} | {cell['mode']} | {concurrency} | | | | | {status_text(cell)} |")
            continue
        ours = reference(cells, "oltp", "mixed", cell["concurrency"])
        ratio = fmt(cell["requests_per_s"] / ours["requests_per_s"], "{:.2f}") if ours and ours["requests_per_s"] else ""
        note = f"{cell['errors']} error(s), first: {cell['first_error']}" if cell.get("errors") else ""
        lines.append(f"| {cell['client']} | {cell['mode']} | {concurrency} | {cell['requests_per_s']:,.0f} | "
                     f"{cell['p50_ms']:.2f} | {cell['p99_ms']:.2f} | {ratio} | {note} |")
    return lines


def memory_table(cells: list[dict], clients: dict) -> list[str]:
    lines = ["| client | mode | RSS at start MB | RSS before the read MB | peak RSS MB | growth MB | note |",
             "|---|---|---:|---:|---:|---:|---|"]
    for cell in cells:
        if cell["scenario"] != "memory":
            continue
        if cell.get("status") != "ok":
            lines.append(f"| {cell['client']} | {cell['mode']} | | | | | {status_text(cell)} |")
            continue
        lines.append(f"| {cell['client']} | {cell['mode']} | {cell['rss_before_warmup_mb']:.0f} | "
                     f"{cell['baseline_rss_mb']:.0f} | {cell['peak_rss_mb']:.0f} | {cell['growth_mb']:.0f} | |")
    for name, description in clients.items():
        reason = description.get("not_available", {}).get("stream")
        if reason:
            lines.append(f"| {name} | streaming | | | | {reason} |")
    return lines


def summary_table(cells: list[dict]) -> list[str]:
    """Per scenario and per client of this package (asyncio `ours`, DB-API `ours-sync`): its best mode's rank among
    all (client, mode) results and its ratio to the best client that is not this package."""
    lines = ["| scenario | ours (best mode) | rank | best other client | ours ÷ best other |", "|---|---|---:|---|---:|"]
    groups = [(s, d, None) for (s, d) in TITLES if s != "oltp"]
    groups += [("oltp", "mixed", c) for c in sorted({c["concurrency"] for c in cells if c.get("concurrency")})]
    for scenario, dataset, concurrency in groups:
        ok = [c for c in cells if (c["scenario"], c["dataset"], c.get("concurrency")) == (scenario, dataset, concurrency)
              and c.get("status") == "ok"]
        # rows/s or requests/s: higher is better in both
        rate = "requests_per_s" if scenario == "oltp" else "rows_per_s"
        ranked = sorted(ok, key=lambda c: -c[rate])
        others = [c for c in ranked if c["client"] not in OUR_CLIENTS]
        label = f"oltp, concurrency {concurrency}" if concurrency else f"{scenario}, {dataset}"
        unit = "req/s" if scenario == "oltp" else "rows/s"
        for client in OUR_CLIENTS:
            ours = next((c for c in ranked if c["client"] == client), None)
            if ours is None or not others:
                continue
            best = others[0]
            lines.append(f"| {label} | {client} {ours['mode']}: {ours[rate]:,.0f} {unit} | "
                         f"{ranked.index(ours) + 1} of {len(ranked)} | "
                         f"{best['client']} {best['mode']}: {best[rate]:,.0f} {unit} | {ours[rate] / best[rate]:.2f} |")
    return lines


def markdown(results: dict) -> str:
    m, sizes, cells = results["machine"], results["sizes"], results["cells"]
    versions = ", ".join(f"{name} {d.get('version', '(' + d.get('reason', '?') + ')')}"
                         for name, d in results["clients"].items())
    load = results["load"]
    load_text = "; ".join(f"{table} {t['rows']:,} rows in {t['seconds']:.1f} s" for table, t in load["tables"].items())
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in results["phases_s"].items())
    replay = ("yes (`--replay`: read-only responses served from memory)" if results["server"]["replay"]
              else "**not available** in this server build: every read is executed by the server's SQLite engine")
    out = [
        f"# Benchmark results ({'quick smoke run' if results['quick'] else 'full run'})",
        "",
        f"- Command: `{results['command']}` at {results['generated_at']} on revision {results['revision']}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; load average {m['loadavg_at_start'][0]:.1f} at start, {m['loadavg_at_end'][0]:.1f} at end",
        f"- Clients: {versions}",
        f"- Server: the local TDS server (tests/tds_server) on loopback, no TLS; replay mode: {replay}",
        f"- Repetitions: {sizes['warmup']} warm-up + up to {sizes['reps']} measured per cell, each cell capped at "
        f"about {sizes['cell_cap_s']:.0f} s (fewer repetitions are noted); OLTP: {sizes['oltp_warmup_s']} s warm-up + "
        f"{sizes['oltp_duration_s']} s measured per concurrency",
        f"- Data load (not a result): {load_text} ({load['method']} through this package)",
        f"- Wall time: {phases}",
    ]
    out += [f"- Note: {note}" for note in results["notes"]]
    out += ["", "## Summary: this package against the best other client (throughput, higher is better)", ""]
    out += summary_table(cells)
    for (scenario, dataset), title in TITLES.items():
        if not any(c["scenario"] == scenario and c["dataset"] == dataset for c in cells):
            continue
        out += ["", "## " + title.format(**sizes), ""]
        out += oltp_table(cells) if scenario == "oltp" else timed_table(cells, scenario, dataset)
    if any(c["scenario"] == "memory" for c in cells):
        out += ["", f"## 5. Memory: growth of the process while reading scenario 1 ({sizes['mixed_rows']:,} rows) "
                "to Arrow", "",
                "One read in a fresh process, after a read of the first 1,000 rows by the same call (client and "
                "pyarrow initialized): peak RSS during the read minus the RSS before it.", ""]
        out += memory_table(cells, results["clients"])
    return "\n".join(out) + "\n"


def chart(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in results["cells"] if c.get("status") == "ok"]
    panels = [(s, d, t.format(**results["sizes"])) for (s, d), t in TITLES.items()
              if any(c["scenario"] == s and c["dataset"] == d for c in cells)]
    if any(c["scenario"] == "memory" for c in cells):
        panels.append(("memory", "mixed", "5. RSS growth while reading scenario 1 to Arrow"))
    if not panels:
        return
    columns = 2
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(16, 4.2 * rows), squeeze=False)
    for ax, (scenario, dataset, title) in zip(axes.flat, panels):
        ax.set_title(title, fontsize=9)
        if scenario == "oltp":
            oltp = [c for c in cells if c["scenario"] == "oltp"]
            labels = sorted({c["client"] for c in oltp}, key=lambda name: name != "ours")
            levels = sorted({c["concurrency"] for c in oltp})
            width = 0.8 / len(labels)
            for k, client in enumerate(labels):
                mine = [c for c in oltp if c["client"] == client]
                color = OURS_COLOR if client in OUR_CLIENTS else OTHER_COLORS[k % len(OTHER_COLORS)]
                ax.bar([levels.index(c["concurrency"]) + k * width for c in mine], [c["requests_per_s"] for c in mine],
                       width, label=client, color=color)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(levels))], [f"concurrency {c}" for c in levels])
            ax.set_ylabel("requests/s (higher is better)")
            ax.legend(fontsize=7)
            continue
        if scenario == "memory":
            chosen = [c for c in cells if c["scenario"] == "memory"]
            values = [c["growth_mb"] for c in chosen]
            xlabel = "RSS growth MB (lower is better)"
        else:
            chosen = [c for c in cells if c["scenario"] == scenario and c["dataset"] == dataset]
            values = [c["rows_per_s"] for c in chosen]
            xlabel = "rows/s (higher is better)"
        labels = [f"{c['client']}\n{c['mode']}" for c in chosen]
        colors = [OURS_COLOR if c["client"] in OUR_CLIENTS else OTHER_COLORS[0] for c in chosen]
        ax.barh(labels, values, color=colors)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel(xlabel)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    m = results["machine"]
    fig.suptitle(f"fastmssql side by side ({'quick' if results['quick'] else 'full'} run, {results['generated_at']}, "
                 f"{m['cpu']}, {m['cores']} cores; server replay: {'yes' if results['server']['replay'] else 'no'})",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=90)


def main() -> None:
    json_path = pathlib.Path(sys.argv[1])
    results = json.loads(json_path.read_text())
    json_path.with_suffix(".md").write_text(markdown(results))
    chart(results, json_path.with_suffix(".png"))


if __name__ == "__main__":
    main()
