"""QueryResult and FastRow: the row API, the cursor, result sets, and the Arrow/polars/pandas hand-off."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import NETWORK_TIMEOUT_SECS, bounded

ROW_SQL = "SELECT 1 AS a, N'x' AS b, CAST(NULL AS int) AS c"
ROW_DICT = {"a": 1, "b": "x", "c": None}


@pytest.fixture
async def row(query) -> fastmssql.FastRow:
    result = await query(ROW_SQL)
    (only,) = result.rows()
    return only


# ---------------------------------------------------------------------------
# FastRow
# ---------------------------------------------------------------------------


async def test_row_getitem_by_name_index_and_negative_index(row) -> None:
    assert row["a"] == 1 and row["b"] == "x" and row["c"] is None
    assert row[0] == 1 and row[1] == "x" and row[2] is None
    assert row[-1] is None and row[-3] == 1


async def test_row_getitem_errors(row) -> None:
    with pytest.raises(KeyError):
        row["missing"]
    with pytest.raises(IndexError):
        row[3]
    with pytest.raises(IndexError):
        row[-4]
    with pytest.raises(TypeError):
        row[1.5]


async def test_row_mapping_methods(row) -> None:
    assert row.keys() == ["a", "b", "c"]
    assert row.values() == [1, "x", None]
    assert row.items() == [("a", 1), ("b", "x"), ("c", None)]
    assert row.get("a") == 1
    assert row.get("missing") is None
    assert row.get("missing", 5) == 5
    assert row.get("c", 5) is None  # a NULL cell is a value, not a missing key


async def test_row_contains_len_iter(row) -> None:
    assert "a" in row and "c" in row
    assert "missing" not in row
    assert len(row) == 3
    assert list(row) == [1, "x", None]


async def test_row_to_dict_and_to_tuple(row) -> None:
    as_dict = row.to_dict()
    assert as_dict == ROW_DICT
    assert list(as_dict) == ["a", "b", "c"]
    assert row.to_tuple() == (1, "x", None)


async def test_row_equality(row, query) -> None:
    assert row == ROW_DICT
    assert not (row != ROW_DICT)
    assert row != {"a": 2, "b": "x", "c": None}
    assert row != {"a": 1, "b": "x"}
    assert row != [1, "x", None]
    (same,) = (await query(ROW_SQL)).rows()
    assert row == same
    (other,) = (await query("SELECT 2 AS a, N'x' AS b, CAST(NULL AS int) AS c")).rows()
    assert row != other


async def test_row_repr(row) -> None:
    assert repr(row) == "FastRow({'a': 1, 'b': 'x', 'c': None})"


async def test_row_outlives_its_result(query) -> None:
    result = await query("SELECT N'kept' AS v, CAST(2.50 AS decimal(4,2)) AS d")
    (kept,) = result.rows()
    del result
    assert kept.to_dict() == {"v": "kept", "d": Decimal("2.50")}


# ---------------------------------------------------------------------------
# QueryResult: cursor, iteration, result sets
# ---------------------------------------------------------------------------


async def test_result_columns_len_rows(query) -> None:
    result = await query(ROW_SQL)
    assert result.columns == ["a", "b", "c"]
    assert len(result) == 1
    assert [r.to_dict() for r in result.rows()] == [ROW_DICT]
    assert result.rows() == result.rows()  # rows() does not consume the cursor


async def test_fetchone_then_exhausted(query) -> None:
    result = await query(ROW_SQL)
    assert result.fetchone() == ROW_DICT
    assert result.fetchone() is None
    assert result.fetchmany(3) == []
    assert result.fetchall() == []
    assert len(result.rows()) == 1


async def test_fetchmany(query) -> None:
    result = await query(ROW_SQL)
    assert result.fetchmany() == [ROW_DICT]
    assert result.fetchmany() == []
    result = await query(ROW_SQL)
    assert result.fetchmany(5) == [ROW_DICT]


async def test_fetchall(query) -> None:
    result = await query(ROW_SQL)
    assert result.fetchall() == [ROW_DICT]
    assert result.fetchall() == []


async def test_async_for(query) -> None:
    result = await query(ROW_SQL)
    seen = [row async for row in result]
    assert seen == [ROW_DICT]


async def test_async_for_reads_rows_in_memory_without_yielding_to_the_loop(query) -> None:
    """The rows are already here: `async for` must not suspend once per row (a task that counts
    the event loop's turns sees none while 100 rows are iterated)."""
    values = ", ".join(f"({i})" for i in range(100))
    result = await query(f"SET NOCOUNT ON; CREATE TABLE #r (i int); INSERT INTO #r VALUES {values}; SELECT i FROM #r ORDER BY i")
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    counter = asyncio.create_task(count_turns())
    await asyncio.sleep(0)  # the counter starts
    start = turns
    seen = [row["i"] async for row in result]
    during = turns - start
    counter.cancel()
    assert seen == list(range(100))
    assert during == 0


async def test_queries_from_event_loops_in_two_threads(test_url: str) -> None:
    """Each event loop gets its own results: two threads, each running its own loop and pool,
    query at the same time."""
    def run(marker: int) -> list[int]:
        async def body() -> list[int]:
            conn = fastmssql.Connection(test_url)
            try:
                return [(await conn.query("SELECT @P1 * 1000 + @P2 AS v", [marker, i])).rows()[0]["v"] for i in range(200)]
            finally:
                await conn.close()

        return asyncio.run(body())

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first, second = pool.map(run, [1, 2])
    assert first == [1000 + i for i in range(200)]
    assert second == [2000 + i for i in range(200)]


def test_a_forked_child_runs_its_own_event_loop(test_url: str) -> None:
    """After the parent used the asyncio API, a fork()ed child's queries complete on its own loop
    (it must not read the parent's wake-ups) and the parent's keep working."""
    script = textwrap.dedent(
        """
        import asyncio, os, sys, fastmssql
        async def one(v):
            conn = fastmssql.Connection(os.environ["URL"])
            try:
                return (await conn.query("SELECT @P1 AS v", [v])).rows()[0]["v"]
            finally:
                await conn.close()
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(one(1)) == 1
        pid = os.fork()
        if pid == 0:
            code = 0 if asyncio.run(one(2)) == 2 else 3
            os._exit(code)
        assert loop.run_until_complete(one(3)) == 3
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "URL": test_url},
                          capture_output=True, text=True, timeout=NETWORK_TIMEOUT_SECS * 4)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


async def test_for(query) -> None:
    result = await query(ROW_SQL)
    assert [row.to_dict() for row in result] == [ROW_DICT]


async def test_multiple_result_sets(query) -> None:
    result = await query("SELECT 1 AS a; SELECT N'x' AS b, CAST(2.5 AS decimal(3,1)) AS c; SELECT CAST(NULL AS bit) AS d")
    sets = result.result_sets
    assert [s.columns for s in sets] == [["a"], ["b", "c"], ["d"]]
    assert result.columns == ["a"]
    assert result.rows() == [{"a": 1}]
    assert sets[0].rows() == [{"a": 1}]
    assert sets[1].rows() == [{"b": "x", "c": Decimal("2.5")}]
    assert sets[2].rows() == [{"d": None}]
    assert sets[1].to_arrow().column_names == ["b", "c"]
    assert sets[2].to_arrow().schema.field("d").type == pa.bool_()


async def test_batch_without_result_set(query) -> None:
    result = await query("SET NOCOUNT ON")
    assert result.result_sets == []
    assert result.columns == []
    assert len(result) == 0
    assert result.rows() == []
    assert result.fetchone() is None


async def test_result_set_after_statement_without_one(query) -> None:
    result = await query("SET NOCOUNT ON; SELECT 7 AS seven")
    assert result.columns == ["seven"]
    assert result.rows() == [{"seven": 7}]
    assert len(result.result_sets) == 1


async def test_execute_returns_rows_affected(conn) -> None:
    assert await bounded(conn.execute("SET NOCOUNT ON")) == 0
    assert await bounded(conn.execute("SET ANSI_NULLS ON; SET QUOTED_IDENTIFIER ON")) == 0


ROWS_AFFECTED_BATCH = (
    "CREATE TABLE #counted (a int); INSERT INTO #counted (a) VALUES (1), (2), (3); "
    "UPDATE #counted SET a = 5 WHERE a > 1; SELECT a FROM #counted; DROP TABLE #counted"
)


async def test_query_rows_affected_counts_every_statement_as_execute_does(conn) -> None:
    """3 inserted + 2 updated + 3 selected: the DONE counts of the batch, not only the rows returned."""
    result = await bounded(conn.query(ROWS_AFFECTED_BATCH))
    assert len(result) == 3
    assert result.rows_affected == 8
    assert await bounded(conn.execute(ROWS_AFFECTED_BATCH)) == 8


# ---------------------------------------------------------------------------
# Arrow, polars, pandas
# ---------------------------------------------------------------------------

MIXED_SQL = (
    "SELECT 1 AS i, N'héllo 😀' AS s, CAST(12.34 AS decimal(10,2)) AS d, "
    "CAST('2024-01-02T03:04:05' AS datetime2(6)) AS ts, CAST('2024-01-02' AS date) AS dt, "
    "CAST(0x0102 AS varbinary(10)) AS bin, CAST(NULL AS float) AS f"
)


async def test_pyarrow_table_from_capsule_equals_to_arrow(query) -> None:
    result = await query(MIXED_SQL)
    table = pa.table(result)
    assert table.equals(result.to_arrow())
    assert table.column_names == ["i", "s", "d", "ts", "dt", "bin", "f"]
    assert table.to_pylist()[0]["s"] == "héllo 😀"
    assert pa.schema(result) == table.schema
    reader = pa.RecordBatchReader.from_stream(result)
    assert reader.read_all().equals(table)


def value_buffer_address(table: pa.Table) -> int:
    (chunk,) = table.column(0).chunks
    return chunk.buffers()[2].address  # binary: validity, offsets, values


async def test_pyarrow_shares_the_buffers(query) -> None:
    """Importing the same result twice yields the same memory, and pyarrow allocates nothing for the data."""
    payload = bytes(range(256)) * 8192  # 2 MiB
    result = await query("SELECT @P1 AS payload", [payload])
    first = pa.table(result)
    allocated_before = pa.total_allocated_bytes()
    second = pa.table(result)
    allocated = pa.total_allocated_bytes() - allocated_before
    assert value_buffer_address(first) == value_buffer_address(second)
    assert value_buffer_address(result.to_arrow()) == value_buffer_address(first)
    assert allocated < len(payload) // 16, f"pyarrow allocated {allocated} bytes importing {len(payload)}"
    assert second.column(0)[0].as_py() == payload


async def test_polars_dataframe_from_capsule(query) -> None:
    polars = pytest.importorskip("polars")
    result = await query(MIXED_SQL)
    frame = polars.DataFrame(result)
    assert frame.columns == ["i", "s", "d", "ts", "dt", "bin", "f"]
    assert frame.shape == (1, 7)
    assert frame.row(0, named=True)["s"] == "héllo 😀"
    assert frame.row(0, named=True)["d"] == Decimal("12.34")
    assert frame.equals(result.to_polars())


async def test_to_polars_gives_uniqueidentifiers_as_canonical_strings(query) -> None:
    polars = pytest.importorskip("polars")
    guid = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    result = await query(
        f"SELECT CAST('{guid}' AS uniqueidentifier) AS g, CAST(NULL AS uniqueidentifier) AS n, 7 AS i"
    )
    frame = result.to_polars()
    assert frame.schema["g"] == polars.String and frame.schema["n"] == polars.String
    assert frame.row(0) == (guid.lower(), None, 7)
    assert frame.row(0)[0] == result.rows()[0]["g"], "to_polars() and rows() agree"
    as_bytes = result.to_polars(uuid_as_bytes=True)
    assert as_bytes.schema["g"] == polars.Binary
    assert as_bytes.row(0)[0] == uuid.UUID(guid).bytes


async def test_to_pandas(query) -> None:
    pytest.importorskip("pandas")
    result = await query(MIXED_SQL)
    frame = result.to_pandas()
    assert list(frame.columns) == ["i", "s", "d", "ts", "dt", "bin", "f"]
    assert frame.shape == (1, 7)
    assert frame["i"].iloc[0] == 1
    assert frame["s"].iloc[0] == "héllo 😀"
    assert frame["bin"].iloc[0] == b"\x01\x02"


WITHOUT_PYARROW = textwrap.dedent(
    """
    import asyncio, json, os, sys
    sys.modules["pyarrow"] = None  # importing pyarrow now raises ImportError
    import fastmssql, polars

    async def main():
        async with fastmssql.Connection(os.environ["CLIENT_TEST_URL"]) as conn:
            result = await asyncio.wait_for(conn.query({sql!r}), {timeout})
            frame = polars.DataFrame(result)
            via_method = result.to_polars()
            errors = {{}}
            for name in ("to_arrow", "to_pandas"):
                try:
                    getattr(result, name)()
                    errors[name] = None
                except ImportError as exc:
                    errors[name] = str(exc)
            return {{
                "columns": frame.columns,
                "row": [str(v) for v in frame.row(0)],
                "same": frame.equals(via_method),
                "errors": errors,
                "pyarrow_loaded": any(m == "pyarrow" or m.startswith("pyarrow.") for m in sys.modules if sys.modules[m] is not None),
            }}

    print(json.dumps(asyncio.run(main())))
    """
)


def run_client_script(code: str, test_url: str) -> object:
    """Run `code` in a fresh interpreter (so sys.modules can block a library); return the JSON it prints last."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CLIENT_TEST_URL": test_url},
        capture_output=True,
        text=True,
        timeout=NETWORK_TIMEOUT_SECS * 2,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def test_polars_without_pyarrow(test_url: str) -> None:
    pytest.importorskip("polars")
    sql = "SELECT 1 AS i, N'x😀' AS s, CAST(1.50 AS decimal(5,2)) AS d"
    report = run_client_script(WITHOUT_PYARROW.format(sql=sql, timeout=NETWORK_TIMEOUT_SECS), test_url)
    assert isinstance(report, dict)
    assert report["columns"] == ["i", "s", "d"]
    assert report["row"] == ["1", "x😀", "1.50"]
    assert report["same"] is True
    assert report["pyarrow_loaded"] is False
    for name, message in report["errors"].items():
        assert message is not None, f"{name}() should raise ImportError without pyarrow"
        assert "pyarrow" in message, f"{name}(): {message}"


MISSING_LIBRARY = textwrap.dedent(
    """
    import asyncio, json, os, sys
    sys.modules[{blocked!r}] = None  # importing it now raises ImportError
    import fastmssql

    async def main():
        async with fastmssql.Connection(os.environ["CLIENT_TEST_URL"]) as conn:
            result = await asyncio.wait_for(conn.query("SELECT 1 AS i"), {timeout})
            try:
                getattr(result, {method!r})()
            except ImportError as exc:
                return str(exc)
            return None

    print(json.dumps(asyncio.run(main())))
    """
)


@pytest.mark.parametrize(("blocked", "method"), [("polars", "to_polars"), ("pandas", "to_pandas")])
async def test_missing_library_is_a_clear_import_error(test_url: str, blocked: str, method: str) -> None:
    code = MISSING_LIBRARY.format(blocked=blocked, method=method, timeout=NETWORK_TIMEOUT_SECS)
    message = run_client_script(code, test_url)
    assert isinstance(message, str), f"{method}() should raise ImportError without {blocked}"
    assert blocked in message, message
