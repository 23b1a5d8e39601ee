"""Shared by the harness (run.py) and every client driver (clients/*.py).

The drivers run inside their own virtual environments and import this module by path, so it
uses the standard library only. It holds the data set (deterministic, generated on both sides),
the timing rules and the driver protocol: a driver gets one JSON task as argv[1] and prints one
JSON object as the last line of stdout.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import inspect
import json
import statistics
import sys
import threading
import time
import traceback
import uuid
from decimal import Decimal
from importlib import metadata

# --- the data set -------------------------------------------------------------------------------

MIXED_TABLE = "bench_mixed"
STRINGS_TABLE = "bench_strings"
WRITE_TABLE = "bench_write"
# The OLTP lookups read a 10,000-row table of bench_mixed's shape and data: the local server answers a
# key it has not seen by scanning (no index pushdown), which on 1,000,000 rows would measure the server.
OLTP_TABLE = "bench_oltp"
OLTP_ROWS = 10_000

MIXED_COLUMNS = (
    ("id", "int NOT NULL PRIMARY KEY"),
    ("big", "bigint"),
    ("f", "float"),
    ("amount", "decimal(18,4)"),
    ("name", "nvarchar(50)"),
    ("code", "varchar(20)"),
    ("ts", "datetime2"),
    ("d", "date"),
    ("flag", "bit"),
    ("guid", "uniqueidentifier"),
)
STRING_COLUMNS = (
    ("id", "int NOT NULL PRIMARY KEY"),
    ("a", "nvarchar(max)"),
    ("b", "nvarchar(max)"),
    ("c", "nvarchar(max)"),
)
# Strings of the string-heavy table are 100..1000 characters (mean 550), some non-ASCII.
STRING_MIN_CHARS = 100
STRING_MAX_CHARS = 1000

# Each nullable column is NULL for one residue of id mod NULL_PERIOD, a different one per column (5 %).
NULL_PERIOD = 20
_NULL_RESIDUE = {"big": 3, "f": 7, "amount": 11, "name": 13, "code": 17, "ts": 5, "guid": 19}
_WORDS = ("alpha", "Bravo", "charlie", "délta", "echo", "Foxtrot", "golf", "hôtel", "india", "Juliett", "kilo", "straße")
_TS_BASE = datetime.datetime(2020, 1, 1)
_DATE_BASE = datetime.date(2000, 1, 1)
_TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 éüßñ中文 "


def create_table_sql(table: str, columns) -> str:
    return f"CREATE TABLE {table} (" + ", ".join(f"{name} {decl}" for name, decl in columns) + ")"


def _null(column: str, i: int) -> bool:
    return _NULL_RESIDUE.get(column) == i % NULL_PERIOD


def mixed_row(i: int) -> tuple:
    """Row `i` (1-based) of bench_mixed as Python values (None for NULL)."""
    h = (i * 2654435761) % 2**32
    name = " ".join(_WORDS[(h >> s) % len(_WORDS)] for s in range(0, 4 + (h % 5) * 3, 3))[:50]
    values = {
        "big": (i * 6364136223846793005) % 2**62 - 2**61,
        "f": round((h % 2_000_000) / 1000 - 1000, 3),
        "amount": Decimal(h % 10**12).scaleb(-4),
        "name": f"{name} {i}"[:50],
        "code": f"C{i:07d}"[: 4 + h % 9],
        "ts": _TS_BASE + datetime.timedelta(seconds=i * 37, microseconds=h % 1_000_000),
    }
    row = (
        i,
        *(None if _null(c, i) else values[c] for c in ("big", "f", "amount", "name", "code", "ts")),
        _DATE_BASE + datetime.timedelta(days=i % 10_000),
        i % 3 == 0,
        None if _null("guid", i) else uuid.UUID(int=(i * 0x9E3779B97F4A7C15F39CC0605CEDC835) % 2**128),
    )
    return row


def _text(i: int, salt: int) -> str:
    h = ((i * 40503 + salt * 2246822519) * 2654435761) % 2**32
    length = STRING_MIN_CHARS + h % (STRING_MAX_CHARS - STRING_MIN_CHARS + 1)
    start = h % len(_TEXT_ALPHABET)
    pattern = _TEXT_ALPHABET[start:] + _TEXT_ALPHABET[:start]
    return (pattern * (length // len(pattern) + 1))[:length]


def strings_row(i: int) -> tuple:
    """Row `i` (1-based) of bench_strings: three nvarchar(max) of 100..1000 characters."""
    return (i, _text(i, 1), _text(i, 2), _text(i, 3))


def mixed_arrow_table(rows, guid_as_bytes: bool):
    """bench_mixed rows as a pyarrow.Table, the input of the Arrow bulk writers: guid as its 16 RFC 4122
    bytes (the arrow.uuid extension type, as this package reads it) or as its canonical string. pyarrow is
    imported here because only those writers' environments have it."""
    import pyarrow

    columns = list(zip(*rows))
    arrays = [pyarrow.array(values) for values in columns[:9]]
    if guid_as_bytes:
        storage = pyarrow.array([None if g is None else g.bytes for g in columns[9]], pyarrow.binary(16))
        arrays.append(pyarrow.ExtensionArray.from_storage(pyarrow.uuid(), storage))
    else:
        arrays.append(pyarrow.array([None if g is None else str(g) for g in columns[9]], pyarrow.string()))
    return pyarrow.table(arrays, names=[name for name, _ in MIXED_COLUMNS])


def sql_literal(value) -> str:
    """A T-SQL literal for the values of mixed_row/strings_row (for the multi-row INSERTs of the load)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "N'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime.datetime):
        return "'" + value.strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
    if isinstance(value, datetime.date):
        return "'" + value.isoformat() + "'"
    if isinstance(value, uuid.UUID):
        return "'" + str(value) + "'"
    raise TypeError(f"no T-SQL literal for {type(value).__name__}")


def insert_statements(table: str, row_fn, n_rows: int, rows_per_statement: int = 1000):
    """Multi-row INSERT statements loading rows 1..n_rows."""
    for start in range(1, n_rows + 1, rows_per_statement):
        stop = min(start + rows_per_statement, n_rows + 1)
        yield f"INSERT INTO {table} VALUES " + ",".join(
            "(" + ",".join(sql_literal(v) for v in row_fn(i)) + ")" for i in range(start, stop)
        )


def select_all_sql(dataset: str) -> str:
    table = STRINGS_TABLE if dataset == "strings" else MIXED_TABLE
    return f"SELECT * FROM {table}"


def encryption(server: dict) -> str:
    """A connection string's encryption entries (ADO.NET and ODBC spell them alike): TLS for the whole session,
    trusting the local server's own certificate, when the cell reads over TLS; else none."""
    return "Encrypt=yes;TrustServerCertificate=yes" if server.get("encrypt") else "Encrypt=no"


LOOKUP_SQL = "SELECT * FROM " + OLTP_TABLE + " WHERE id = {}"


def touch_rows(rows, values=iter) -> int:
    """Reads every value of every row once (the rows scenario ends in Python values); returns the row count."""
    n = 0
    for row in rows:
        for _ in values(row):
            pass
        n += 1
    return n


def lookup_ids(n_rows: int, pool: int, count: int, seed: int) -> list[int]:
    """Primary keys for the OLTP lookups: a fixed pool of `pool` keys spread over 1..n_rows, visited
    in a per-worker order (so a replaying server has each key's response cached after warm-up)."""
    keys = [1 + (k * 7919) % n_rows for k in range(pool)]
    return [keys[(seed * 31 + j * 17) % pool] for j in range(count)]


# --- timing -------------------------------------------------------------------------------------


def summary(times: list[float]) -> dict:
    if not times:
        return {}
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def rss_now_mb() -> float:
    return _proc_status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _proc_status_kb("VmHWM") / 1024


def reset_peak_rss() -> None:
    """Resets the kernel's peak-RSS mark of this process (Linux: clear_refs 5), so each repetition's
    peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _proc_status_kb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    return float("nan")


class Runner:
    """Runs sync or async callables on one event loop kept for the process (warm connections)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def call(self, fn, *args):
        result = fn(*args)
        if inspect.isawaitable(result):
            result = self.loop.run_until_complete(result)
        return result


def repeat(runner: Runner, fn, args: tuple, task: dict) -> dict:
    """1 warm-up then up to task['reps'] measured calls of fn(*args) -> rows. Stops early once the
    cell has used task['cell_cap_s'] (at least one measured repetition is always made)."""
    started = time.perf_counter()
    baseline = rss_now_mb()
    times: list[float] = []
    peaks: list[float] = []
    rows = None
    notes = []
    for rep in range(task["warmup"] + task["reps"]):
        measured = rep >= task["warmup"]
        reset_peak_rss()
        t0 = time.perf_counter()
        rows = runner.call(fn, *args)
        elapsed = time.perf_counter() - t0
        if measured:
            times.append(elapsed)
            peaks.append(peak_rss_mb())
        if rows != task.get("expect_rows", rows):
            raise RuntimeError(f"read {rows} rows, expected {task['expect_rows']}")
        if time.perf_counter() - started > task["cell_cap_s"] and rep + 1 < task["warmup"] + task["reps"]:
            if not times:
                times.append(elapsed)
                peaks.append(peak_rss_mb())
                notes.append("cold: the warm-up call is the one measured")
            notes.append(f"{len(times)} of {task['reps']} repetitions (cell time cap {task['cell_cap_s']:.0f} s)")
            break
    result = {"rows": rows, "times_s": times, **summary(times), "baseline_rss_mb": baseline}
    if peaks:
        result["peak_rss_mb"] = max(peaks)
    if rows and times:
        result["rows_per_s"] = rows / statistics.median(times)
    if notes:
        result["note"] = "; ".join(notes)
    return result


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def oltp_summary(latencies: list[float], elapsed: float, errors: list[str]) -> dict:
    latencies.sort()
    result = {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "elapsed_s": elapsed,
    }
    if errors:
        result["errors"] = len(errors)
        result["first_error"] = errors[0]
    return result


def oltp_threads(connect, lookup, task: dict) -> dict:
    """`concurrency` threads, each with its own connection, looking up keys for warmup_s + duration_s;
    only requests started in the measured window count."""
    concurrency, n = task["concurrency"], OLTP_ROWS
    conns = [connect() for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.05
    measure_from = start + task["warmup_s"]
    stop_at = measure_from + task["duration_s"]

    def worker(worker_id: int, conn) -> None:
        own: list[float] = []
        ids = lookup_ids(n, task["key_pool"], 100_000, worker_id)
        j = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            try:
                got = lookup(conn, ids[j % len(ids)])
                if got != 1:
                    raise RuntimeError(f"lookup returned {got} rows")
            except Exception as exc:  # noqa: BLE001 - reported as the cell's error
                with lock:
                    errors.append(_short(exc))
                break
            if t0 >= measure_from:
                own.append(time.perf_counter() - t0)
            j += 1
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=worker, args=(k, c)) for k, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return oltp_summary(latencies, task["duration_s"], errors)


async def oltp_tasks(pool, lookup, task: dict) -> dict:
    """`concurrency` asyncio tasks sharing one pool, looking up keys for warmup_s + duration_s."""
    concurrency, n = task["concurrency"], OLTP_ROWS
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    measure_from = start + task["warmup_s"]
    stop_at = measure_from + task["duration_s"]

    async def worker(worker_id: int) -> None:
        ids = lookup_ids(n, task["key_pool"], 100_000, worker_id)
        j = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            try:
                got = await lookup(pool, ids[j % len(ids)])
                if got != 1:
                    raise RuntimeError(f"lookup returned {got} rows")
            except Exception as exc:  # noqa: BLE001 - reported as the cell's error
                errors.append(_short(exc))
                return
            if t0 >= measure_from:
                latencies.append(time.perf_counter() - t0)
            j += 1

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return oltp_summary(latencies, task["duration_s"], errors)


# --- the driver protocol ------------------------------------------------------------------------


class Driver:
    """What a client driver defines. Subclasses set `dist` (the PyPI distribution whose version is
    reported) and fill the mode tables; a mode missing from a table is reported with the reason in
    `not_available`."""

    dist: str = ""
    # scenario ("arrow" | "rows" | "write") -> {mode name: method name}
    modes: dict[str, dict[str, str]] = {}
    # scenario -> reason why the client has no mode for it
    not_available: dict[str, str] = {}

    def __init__(self, server: dict) -> None:
        self.server = server

    # Connections for the read and write scenarios (one per process, reused: warm).
    def connect(self):
        raise NotImplementedError

    def execute(self, conn, sql: str) -> None:
        raise NotImplementedError

    def count(self, conn, table: str) -> int:
        raise NotImplementedError

    # OLTP: either sync `lookup(conn, key)` on per-thread connections, or async `lookup` on a pool.
    oltp_async = False

    def lookup(self, conn, key: int) -> int:
        raise NotImplementedError

    def open_pool(self, size: int):
        raise NotImplementedError

    def version(self) -> str:
        return metadata.version(self.dist)


def odbc_connection_string(server: dict) -> str:
    """An ODBC connection string naming the ODBC Driver 18 library that the mssql-python-odbc wheel
    bundles by its path, so no odbcinst.ini registration is needed."""
    import glob
    import importlib.util
    import os

    spec = importlib.util.find_spec("mssql_python_odbc")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mssql-python-odbc (the bundled ODBC Driver 18) is not installed")
    root = spec.submodule_search_locations[0]
    found = sorted(glob.glob(os.path.join(root, "libs", "linux", "debian_ubuntu", "x86_64", "lib", "libmsodbcsql-18.*.so*")))
    if not found:
        raise RuntimeError(f"no libmsodbcsql-18 library under {root}")
    return (f"DRIVER={{{found[-1]}}};SERVER={server['host']},{server['port']};DATABASE={server['database']};"
            f"UID={server['user']};PWD={{{server['password']}}};{encryption(server)}")


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


def run_task(driver: Driver, task: dict) -> dict:
    kind = task["kind"]
    runner = Runner()
    if kind == "describe":
        return {"version": driver.version(), "modes": driver.modes, "not_available": driver.not_available,
                "oltp": "n/a" if "oltp" in driver.not_available else ("async" if driver.oltp_async else "threads")}
    if kind in ("arrow", "rows"):
        conn = runner.call(driver.connect)
        fn = getattr(driver, driver.modes[kind][task["mode"]])
        return repeat(runner, fn, (conn, task["sql"]), task)
    if kind == "memory":
        return memory(runner, driver, task)
    if kind == "oltp":
        if driver.oltp_async:
            pool = runner.call(driver.open_pool, task["concurrency"])
            return runner.loop.run_until_complete(oltp_tasks(pool, driver.lookup, task))
        return oltp_threads(lambda: runner.call(driver.connect), driver.lookup, task)
    if kind == "write":
        return write(runner, driver, task)
    if kind == "load":
        return load(runner, driver, task)
    if kind == "probe":
        return {"rows": runner.call(driver.count, runner.call(driver.connect), OLTP_TABLE)}
    raise ValueError(f"unknown task kind {kind!r}")


def memory(runner: Runner, driver: Driver, task: dict) -> dict:
    """One whole read to Arrow in a fresh process, after a small read by the same call: the growth of the
    process while it reads, above a baseline where the client and pyarrow are already initialized
    (pyarrow's first table alone adds about 45 MB of RSS, the same for every client)."""
    cold = rss_now_mb()
    conn = runner.call(driver.connect)
    fn = getattr(driver, driver.modes["arrow"][task["mode"]])
    runner.call(fn, conn, task["warm_sql"])
    gc.collect()
    baseline = rss_now_mb()
    reset_peak_rss()
    t0 = time.perf_counter()
    rows = runner.call(fn, conn, task["sql"])
    elapsed = time.perf_counter() - t0
    peak = peak_rss_mb()
    if rows != task["expect_rows"]:
        raise RuntimeError(f"read {rows} rows, expected {task['expect_rows']}")
    return {"rows": rows, "times_s": [elapsed], "rss_before_warmup_mb": cold, "baseline_rss_mb": baseline,
            "peak_rss_mb": peak, "growth_mb": peak - baseline}


def write(runner: Runner, driver: Driver, task: dict) -> dict:
    """Per repetition: a fresh bench_write table, then the timed bulk write of n rows, then a count."""
    conn = runner.call(driver.connect)
    rows = [mixed_row(i) for i in range(1, task["n_rows"] + 1)]
    method = driver.modes["write"][task["mode"]]
    fn = getattr(driver, method)
    prepare = getattr(driver, "prepare_" + method, None)
    # The client's input form (e.g. an Arrow table or a DataFrame) is built once, outside the timing.
    data = prepare(rows) if prepare else rows
    times: list[float] = []
    notes = []
    started = time.perf_counter()
    for rep in range(task["reps"]):
        runner.call(driver.execute, conn, f"DROP TABLE IF EXISTS {WRITE_TABLE}")
        runner.call(driver.execute, conn, create_table_sql(WRITE_TABLE, MIXED_COLUMNS))
        t0 = time.perf_counter()
        runner.call(fn, conn, WRITE_TABLE, data)
        times.append(time.perf_counter() - t0)
        written = runner.call(driver.count, conn, WRITE_TABLE)
        if written != len(rows):
            raise RuntimeError(f"wrote {written} rows, expected {len(rows)}")
        if time.perf_counter() - started > task["cell_cap_s"] and rep + 1 < task["reps"]:
            notes.append(f"{len(times)} of {task['reps']} repetitions (cell time cap {task['cell_cap_s']:.0f} s)")
            break
    runner.call(driver.execute, conn, f"DROP TABLE IF EXISTS {WRITE_TABLE}")
    result = {"rows": len(rows), "times_s": times, **summary(times), "peak_rss_mb": peak_rss_mb(),
              "rows_per_s": len(rows) / statistics.median(times)}
    if notes:
        result["note"] = "; ".join(notes)
    return result


def load(runner: Runner, driver: Driver, task: dict) -> dict:
    """Creates and fills bench_mixed and bench_strings with multi-row INSERTs (timed per table)."""
    conn = runner.call(driver.connect)
    timings = {}
    for table, columns, row_fn, n in (
        (MIXED_TABLE, MIXED_COLUMNS, mixed_row, task["mixed_rows"]),
        (STRINGS_TABLE, STRING_COLUMNS, strings_row, task["strings_rows"]),
        (OLTP_TABLE, MIXED_COLUMNS, mixed_row, OLTP_ROWS),
    ):
        t0 = time.perf_counter()
        runner.call(driver.execute, conn, f"DROP TABLE IF EXISTS {table}")
        runner.call(driver.execute, conn, create_table_sql(table, columns))
        for statement in insert_statements(table, row_fn, n, task["rows_per_statement"]):
            runner.call(driver.execute, conn, statement)
        count = runner.call(driver.count, conn, table)
        if count != n:
            raise RuntimeError(f"{table}: loaded {count} rows, expected {n}")
        timings[table] = {"rows": n, "seconds": time.perf_counter() - t0}
    return {"tables": timings, "method": f"multi-row INSERT of {task['rows_per_statement']} rows per statement"}


def main(driver_class) -> None:
    """Entry point of a driver script: argv[1] is {"server": {...}, "task": {...}}."""
    request = json.loads(sys.argv[1])
    try:
        result = {"status": "ok", **run_task(driver_class(request["server"]), request["task"])}
    except Exception as exc:  # noqa: BLE001 - the harness reports it as the cell's failure
        traceback.print_exc()
        result = {"status": "failed", "reason": _short(exc)}
    result.setdefault("process_peak_rss_mb", peak_rss_mb())
    sys.stdout.flush()
    print("\n" + json.dumps(result, default=str))
