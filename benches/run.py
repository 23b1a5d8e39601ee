"""The side-by-side benchmark of this package against the other Python SQL Server clients.

    python benches/run.py            # the whole comparison (under 30 min on 2 cores)
    python benches/run.py --quick    # a smoke run on small tables
    python benches/run.py --clients ours,pyodbc --scenarios arrow,oltp

Builds the local TDS server (tests/tds_server) and this package's wheel, creates one virtual
environment per client (cached under ~/.cache/fastmssql/bench-venvs, keyed by the pinned
requirements), starts the server (with --replay when the binary has it), loads the tables once,
runs every (scenario, client, mode) cell in a fresh process of the client's environment, and writes
benches/results/latest.json, latest.md and latest.png (through report.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import tempfile
import time

BENCHES = pathlib.Path(__file__).resolve().parent
REPO = BENCHES.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(BENCHES))
import common  # noqa: E402
from local_server import LocalServer, server_binary  # noqa: E402
from venvs import CACHE, VENV_CACHE, ensure_venv  # noqa: E402

DEFAULT_CARGO_TARGET = CACHE / "target-bench"

# client name -> (driver script in clients/, requirements file in requirements/)
CLIENTS = {
    "ours": ("ours.py", "ours.txt"),
    "ours-sync": ("ours_sync.py", "ours.txt"),
    "fastmssql-0.7.7": ("fastmssql_0_7_7.py", "fastmssql_0_7_7.txt"),
    "mssql-python": ("mssql_python_client.py", "mssql_python.txt"),
    "connectorx": ("connectorx_client.py", "connectorx.txt"),
    "arrow-odbc": ("arrow_odbc_client.py", "arrow_odbc.txt"),
    "pyodbc": ("pyodbc_client.py", "pyodbc.txt"),
    "pymssql": ("pymssql_client.py", "pymssql.txt"),
    "python-tds": ("pytds_client.py", "pytds.txt"),
}
# Reads first and writes last: a write ends the replaying server's cache.
SCENARIOS = ("arrow", "memory", "rows", "oltp", "write")
OLTP_CONCURRENCY = (1, 16, 64)
# The memory scenario's first read, which initializes the client and pyarrow before the baseline.
MEMORY_WARMUP_ROWS = 1000

FULL = dict(mixed_rows=1_000_000, strings_rows=100_000, write_rows=1_000_000, warmup=1, reps=3, cell_cap_s=60.0,
            oltp_warmup_s=2.0, oltp_duration_s=3.0, key_pool=100)
QUICK = dict(mixed_rows=20_000, strings_rows=5_000, write_rows=5_000, warmup=1, reps=2, cell_cap_s=20.0,
             oltp_warmup_s=1.0, oltp_duration_s=1.0, key_pool=50)
PROBE_TIMEOUT_S = 90


def log(message: str) -> None:
    print(f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def run_checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if proc.returncode != 0:
        raise SystemExit(f"`{shlex.join(cmd)}` failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    return proc


# --- environments -------------------------------------------------------------------------------


def build_wheel(harness_python: pathlib.Path, cargo_target: pathlib.Path) -> pathlib.Path:
    out = pathlib.Path(tempfile.mkdtemp(prefix="fastmssql-bench-wheel-"))
    env = {**os.environ, "CARGO_TARGET_DIR": str(cargo_target), "CARGO_BUILD_JOBS": "2"}
    run_checked([str(harness_python), "-m", "maturin", "build", "--release", "-o", str(out)], cwd=REPO, env=env)
    wheels = list(out.glob("fastmssql-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"maturin wrote {wheels} to {out}, expected one fastmssql wheel")
    return wheels[0]


def prepare_environments(clients: list[str], cargo_target: pathlib.Path,
                         venv_cache: pathlib.Path) -> tuple[dict, dict, pathlib.Path]:
    """Builds the server and our wheel and creates the venvs, in parallel; returns (pythons, phase times, server binary)."""
    phases: dict[str, float] = {}

    def timed(label, fn, *args):
        t0 = time.perf_counter()
        result = fn(*args)
        phases[label] = time.perf_counter() - t0
        log(f"{label}: {phases[label]:.0f} s")
        return result

    harness = timed("venv harness", ensure_venv, venv_cache, "harness", BENCHES / "requirements" / "harness.txt")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        server_future = pool.submit(timed, "build tds-server", server_binary)
        wheel_future = pool.submit(timed, "build wheel", build_wheel, harness, cargo_target)
        venv_futures = {
            name: pool.submit(timed, f"venv {name}", ensure_venv, venv_cache, name, BENCHES / "requirements" / CLIENTS[name][1])
            for name in clients
        }
        pythons = {name: future.result() for name, future in venv_futures.items()}
        wheel = wheel_future.result()
        binary = server_future.result()
    pythons["harness"] = harness
    # Every mode of this package (asyncio, DB-API) runs the wheel built from the work tree.
    for name in [name for name in pythons if name in CLIENTS and CLIENTS[name][1] == CLIENTS["ours"][1]]:
        run_checked([str(pythons[name]), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                     "--force-reinstall", "--no-deps", str(wheel)])
    return pythons, phases, binary


# --- the server ---------------------------------------------------------------------------------


def replay_binary(binary: pathlib.Path, workdir: pathlib.Path) -> tuple[pathlib.Path, bool]:
    """The server binary to start: a wrapper adding --replay when the binary knows that flag."""
    usage = subprocess.run([str(binary), "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30).stdout
    if "--replay" not in usage:
        return binary, False
    wrapper = workdir / "tds-server-replay"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(str(binary))} --replay \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper, True


# --- cells --------------------------------------------------------------------------------------


def run_driver(python: pathlib.Path, client: str, server: LocalServer, task: dict, timeout: float) -> dict:
    request = {
        "server": {"host": server.host, "port": server.port, "database": server.database, "user": server.user,
                   "password": server.password, "encrypt": task.get("encrypt", False)},
        "task": task,
    }
    cmd = [str(python), str(BENCHES / "clients" / CLIENTS[client][0]), json.dumps(request)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timeout: no result within {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if lines and lines[-1].startswith("{"):
        result = json.loads(lines[-1])
        if result.get("status") == "failed":
            result["stderr_tail"] = proc.stderr[-2000:]
        return result
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"status": "failed", "reason": f"exit code {proc.returncode}: {tail[:300]}",
            "stderr_tail": proc.stderr[-2000:]}


def plan_cells(selected: list[str], descriptions: dict, scenarios: list[str], sizes: dict) -> list[dict]:
    cells = []
    for scenario in [s for s in SCENARIOS if s in scenarios]:
        # mixed-tls: scenario 1's table read over TLS (Encrypt=yes, the default of SQL Server 2022 and ODBC Driver 18)
        datasets = {"arrow": ("mixed", "strings", "mixed-tls"), "rows": ("mixed", "strings")}.get(scenario, ("mixed",))
        for dataset in datasets:
            for client in selected:
                description = descriptions[client]
                base = {"scenario": scenario, "dataset": dataset, "client": client}
                if description.get("status") == "failed":
                    cells.append({**base, "mode": "", "status": "failed", "reason": description["reason"]})
                    continue
                if scenario == "oltp":
                    if description["oltp"] == "n/a":
                        cells.append({**base, "mode": "", "status": "n/a", "reason": description["not_available"]["oltp"]})
                    else:
                        mode = "asyncio tasks, one pool" if description["oltp"] == "async" else "threads, a connection each"
                        cells += [{**base, "mode": mode, "concurrency": c} for c in OLTP_CONCURRENCY]
                    continue
                # memory: each Arrow read mode once more, in a process of its own
                modes_of = "arrow" if scenario == "memory" else scenario
                modes = description["modes"].get(modes_of, {})
                if not modes:
                    cells.append({**base, "mode": "", "status": "n/a", "reason": description["not_available"][modes_of]})
                cells += [{**base, "mode": mode} for mode in modes]
    return cells


def cell_task(cell: dict, sizes: dict) -> dict:
    scenario = cell["scenario"]
    if scenario in ("arrow", "rows"):
        n = sizes["strings_rows"] if cell["dataset"] == "strings" else sizes["mixed_rows"]
        return {"kind": scenario, "mode": cell["mode"], "sql": common.select_all_sql(cell["dataset"]),
                "expect_rows": n, "warmup": sizes["warmup"], "reps": sizes["reps"], "cell_cap_s": sizes["cell_cap_s"],
                "encrypt": cell["dataset"] == "mixed-tls"}
    if scenario == "memory":
        return {"kind": "memory", "mode": cell["mode"], "sql": common.select_all_sql("mixed"),
                "warm_sql": common.select_all_sql("mixed").replace("SELECT", f"SELECT TOP {MEMORY_WARMUP_ROWS}", 1),
                "expect_rows": sizes["mixed_rows"]}
    if scenario == "oltp":
        return {"kind": "oltp", "concurrency": cell["concurrency"], "key_pool": sizes["key_pool"], "warmup_s": sizes["oltp_warmup_s"], "duration_s": sizes["oltp_duration_s"]}
    return {"kind": "write", "mode": cell["mode"], "n_rows": sizes["write_rows"], "reps": sizes["reps"],
            "cell_cap_s": sizes["cell_cap_s"]}


def machine_info() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 2**20, 1), "kernel": platform.release(),
        "python": platform.python_version(), "loadavg_at_start": os.getloadavg(),
    }


def git_revision() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    return proc.stdout.strip() + ("+uncommitted changes" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small tables and short measurements (smoke run)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of: " + ",".join(CLIENTS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of: " + ",".join(SCENARIOS))
    parser.add_argument("--output-dir", type=pathlib.Path, default=BENCHES / "results")
    parser.add_argument("--name", default="latest", help="file name stem of the results (default latest)")
    parser.add_argument("--venv-cache", type=pathlib.Path, default=VENV_CACHE,
                        help=f"where the virtual environments are kept (default {VENV_CACHE})")
    parser.add_argument("--note", action="append", default=[], help="a note to record with the results (repeatable)")
    args = parser.parse_args(argv)
    clients = [c for c in args.clients.split(",") if c]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [c for c in clients if c not in CLIENTS] + [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown client or scenario: {', '.join(unknown)}")
    if "ours" not in clients:
        clients.insert(0, "ours")  # it loads the data and is the reference of every ratio
    sizes = QUICK if args.quick else FULL

    started = time.perf_counter()
    os.environ.setdefault("CARGO_TARGET_DIR", str(DEFAULT_CARGO_TARGET))
    machine = machine_info()
    log(f"clients: {', '.join(clients)}; scenarios: {', '.join(scenarios)}; cargo target {os.environ['CARGO_TARGET_DIR']}")
    pythons, phases, binary = prepare_environments(clients, pathlib.Path(os.environ["CARGO_TARGET_DIR"]),
                                                   args.venv_cache)

    descriptions = {}
    for client in clients:
        proc = subprocess.run([str(pythons[client]), str(BENCHES / "clients" / CLIENTS[client][0]),
                               json.dumps({"server": {}, "task": {"kind": "describe"}})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        lines = proc.stdout.strip().splitlines()
        descriptions[client] = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {
            "status": "failed", "reason": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
        log(f"{client}: {descriptions[client].get('version', descriptions[client].get('reason'))}")

    cells = plan_cells(clients, descriptions, scenarios, sizes)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fastmssql-bench-"))
    binary, replay = replay_binary(binary, workdir)
    log(f"server {binary} (replay: {'yes' if replay else 'not available in this build'})")
    with LocalServer(binary=binary) as server:
        t0 = time.perf_counter()
        load = run_driver(pythons["ours"], "ours", server, {"kind": "load", "mixed_rows": sizes["mixed_rows"],
                          "strings_rows": sizes["strings_rows"], "rows_per_statement": 1000}, timeout=1800)
        phases["load"] = time.perf_counter() - t0
        log(f"load: {json.dumps(load)}")
        if load.get("status") != "ok":
            raise SystemExit(f"loading the tables failed: {load.get('reason')}\n{load.get('stderr_tail', '')}")
        for client in clients:
            # One connection and a COUNT(*) first: a client that cannot talk to the server fails all
            # its cells with that reason at once instead of timing out in each.
            probe = run_driver(pythons[client], client, server, {"kind": "probe"}, timeout=PROBE_TIMEOUT_S)
            if probe.get("status") != "ok":
                log(f"{client} cannot query the server: {probe['reason']}")
                for cell in cells:
                    if cell["client"] == client and "status" not in cell:
                        cell.update(status="failed", reason=probe["reason"])
        t0 = time.perf_counter()
        for index, cell in enumerate(cells, 1):
            if "status" in cell:
                continue
            task = cell_task(cell, sizes)
            timeout = sizes["cell_cap_s"] * 4 + 120
            cell.update(run_driver(pythons[cell["client"]], cell["client"], server, task, timeout))
            shown = {k: v for k, v in cell.items() if k not in ("times_s", "stderr_tail")}
            log(f"[{index}/{len(cells)}] {json.dumps(shown, default=str)}")
        phases["cells"] = time.perf_counter() - t0
        server_stderr = server.stderr()

    machine["loadavg_at_end"] = os.getloadavg()
    phases["total"] = time.perf_counter() - started
    results = {
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benches/run.py" + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "revision": git_revision(),
        "quick": args.quick,
        "notes": args.note,
        "machine": machine,
        "server": {"replay": replay, "binary": str(binary), "stderr_tail": server_stderr[-2000:]},
        "sizes": sizes,
        "load": load,
        "phases_s": phases,
        "clients": descriptions,
        "cells": cells,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.output_dir / f"{args.name}.json"
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    run_checked([str(pythons["harness"]), str(BENCHES / "report.py"), str(json_path)])
    log(f"wrote {json_path} and its .md/.png in {phases['total']:.0f} s")


if __name__ == "__main__":
    main()
