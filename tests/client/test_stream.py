"""`Connection.stream()`: the first result set in bounded record batches while the server sends it."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import bounded

ROWS = 1000


@pytest.fixture
async def numbers(conn: fastmssql.Connection) -> AsyncIterator[str]:
    """A table of ROWS rows: id 1..ROWS, a string, and a NULL in every tenth row."""
    name = f"fm_stream_{uuid.uuid4().hex[:12]}"
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, label nvarchar(20), half decimal(9,1))"))
    for start in range(1, ROWS + 1, 500):
        values = ", ".join(
            f"({i}, {'NULL' if i % 10 == 0 else f'N{chr(39)}row {i}{chr(39)}'}, {i / 2})" for i in range(start, start + 500)
        )
        await bounded(conn.execute(f"INSERT INTO {name} VALUES {values}"))
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


async def collect(stream: fastmssql.ResultStream) -> list[pa.RecordBatch]:
    batches = []
    async for chunk in stream:
        table = chunk.to_arrow()
        batches.extend(table.to_batches())
    return batches


async def test_batches_are_bounded_and_add_up_to_the_whole_result(conn: fastmssql.Connection, numbers: str) -> None:
    sql = f"SELECT id, label, half FROM {numbers} WHERE id > @P1 ORDER BY id"
    whole = (await bounded(conn.query(sql, [0]))).to_arrow()
    stream = await bounded(conn.stream(sql, [0], batch_size=128))
    assert stream.columns == ["id", "label", "half"]
    sizes = []
    pieces = []
    async for chunk in stream:
        sizes.append(len(chunk))
        pieces.append(chunk.to_arrow())
    assert sizes == [128] * 7 + [ROWS - 7 * 128]
    streamed = pa.concat_tables(pieces)
    assert streamed.schema == whole.schema
    assert streamed.schema.field("half").metadata == whole.schema.field("half").metadata
    assert streamed.equals(whole)
    assert streamed.column("label")[9].as_py() is None
    assert streamed.column("half")[0].as_py() == Decimal("0.5")


async def test_exported_as_an_arrow_stream_once(conn: fastmssql.Connection, numbers: str) -> None:
    sql = f"SELECT id, label FROM {numbers} ORDER BY id"
    stream = await bounded(conn.stream(sql, batch_size=300))
    schema = pa.schema(stream)
    assert schema.names == ["id", "label"]
    reader = pa.RecordBatchReader.from_stream(stream)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert pa.Table.from_batches(batches).equals((await bounded(conn.query(sql))).to_arrow())
    with pytest.raises(RuntimeError, match="read once"):
        pa.RecordBatchReader.from_stream(stream)
    with pytest.raises(RuntimeError, match="read once"):
        await stream.__anext__()


async def test_error_before_the_result_raises_from_the_call(conn: fastmssql.Connection) -> None:
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await bounded(conn.stream("SELECT * FROM fm_no_such_table_at_all"))
    assert info.value.number == 208


async def test_error_after_some_rows_raises_after_the_batches_before_it(conn: fastmssql.Connection) -> None:
    name = f"fm_stream_late_{uuid.uuid4().hex[:12]}"
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v varchar(10))"))
    try:
        values = ", ".join(f"({i}, '{i}')" for i in range(1, 11))
        await bounded(conn.execute(f"INSERT INTO {name} VALUES {values}, (11, 'eleven')"))
        stream = await bounded(conn.stream(f"SELECT id, CAST(v AS int) AS n FROM {name} ORDER BY id", batch_size=4))
        received = []
        with pytest.raises(fastmssql.DataError) as info:
            async for chunk in stream:
                received.extend(row["n"] for row in chunk.rows())
        assert info.value.number == 245
        assert received == [1, 2, 3, 4, 5, 6, 7, 8]
        assert (await bounded(conn.query(f"SELECT count(*) AS n FROM {name}"))).rows()[0]["n"] == 11
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


async def test_a_second_result_set_is_refused_after_the_first(conn: fastmssql.Connection) -> None:
    stream = await bounded(conn.stream("SELECT 1 AS a; SELECT 2 AS b"))
    first = await bounded(stream.__anext__())
    assert first.rows()[0]["a"] == 1
    with pytest.raises(fastmssql.NotSupportedError, match="one result set"):
        await bounded(stream.__anext__())


async def test_a_batch_without_a_result_set_streams_nothing(conn: fastmssql.Connection) -> None:
    stream = await bounded(conn.stream("SET NOCOUNT ON"))
    assert stream.columns == []
    assert await collect(stream) == []


async def test_zero_rows_keep_the_columns(conn: fastmssql.Connection, numbers: str) -> None:
    stream = await bounded(conn.stream(f"SELECT id, label FROM {numbers} WHERE id < 0"))
    assert stream.columns == ["id", "label"]
    assert pa.schema(stream).field("id").type == pa.int32()
    assert await collect(stream) == []


async def test_batch_size_zero_is_refused_before_sending(conn: fastmssql.Connection) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        conn.stream("SELECT 1", batch_size=0)


async def test_abandoned_stream_is_cancelled_and_its_connection_reused(
    single_connection: fastmssql.Connection, numbers: str
) -> None:
    conn = single_connection
    stream = await bounded(conn.stream(f"SELECT id FROM {numbers}", batch_size=10))
    first = await bounded(stream.__anext__())
    assert len(first) == 10
    del stream, first
    gc.collect()
    result = await bounded(conn.query(f"SELECT count(*) AS n FROM {numbers}"))
    assert result.rows()[0]["n"] == ROWS
    stats = conn.pool_stats()
    assert (stats["connections_created"], stats["connections_closed_broken"]) == (1, 0)


async def test_async_for_directly_on_the_call(conn: fastmssql.Connection, numbers: str) -> None:
    ids = []
    async for chunk in conn.stream(f"SELECT id FROM {numbers} ORDER BY id", batch_size=300):
        assert len(chunk) <= 300
        ids.extend(chunk.to_arrow().column("id").to_pylist())
    assert ids == list(range(1, ROWS + 1))
    # Inside a transaction too.
    async with conn.transaction() as tx:
        sizes = [len(chunk) async for chunk in tx.stream(f"SELECT id FROM {numbers}", batch_size=400)]
    assert sizes == [400, 400, 200]


async def test_batch_bytes_bounds_batches_of_large_values(conn: fastmssql.Connection) -> None:
    name = f"fm_stream_big_{uuid.uuid4().hex[:12]}"
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, body nvarchar(max), note nvarchar(10))"))
    try:
        size = 10 * 1024 * 1024
        bodies = [chr(ord("a") + i) * (size - i) + "é" for i in range(3)]
        data = pa.table({"id": pa.array(range(3), pa.int32()), "body": bodies, "note": ["n"] * 3})
        assert await bounded(conn.bulk_insert(name, data), timeout=120) == 3
        sizes = []
        received = []
        async for chunk in conn.stream(f"SELECT id, body, note FROM {name} ORDER BY id", batch_bytes=16 * 1024 * 1024):
            sizes.append(len(chunk))
            received.extend(chunk.to_arrow().column("body").to_pylist())
        # A batch ends once its strings reach 16 MiB: two 10 MiB values each.
        assert sizes == [2, 1]
        assert received == bodies
        with pytest.raises(ValueError, match="batch_bytes"):
            conn.stream("SELECT 1 AS a", batch_bytes=0)
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


# A result far bigger than any batch: WIDE_ROWS rows of ten typed columns, each repeated for every
# one of NARROW_ROWS rows (a CROSS JOIN), streamed by a process of its own whose memory is measured.
WIDE_ROWS = 1000
NARROW_ROWS = 5000
STREAMED_ROWS = WIDE_ROWS * NARROW_ROWS
RSS_GROWTH_LIMIT_KIB = 200 * 1024
STREAM_CHILD_TIMEOUT_SECS = 1800

STREAM_SCRIPT = """
import asyncio, datetime, decimal, json, os, sys, uuid

import pyarrow.compute as pc

import fastmssql

WIDE_ROWS, NARROW_ROWS = int(sys.argv[1]), int(sys.argv[2])


def status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def expected(i):
    return {
        "id": i,
        "big": i * 1000003,
        "ratio": i * 0.25,
        "price": decimal.Decimal(i) + decimal.Decimal("0.50"),
        "label": f"label-{i}",
        "code": f"c{i}",
        "day": datetime.date(2020, 1, 1) + datetime.timedelta(days=i),
        "moment": datetime.datetime(2024, 5, 6, 7, 8, 9, i),
        "flag": i % 2 == 1,
        "guid": uuid.UUID(int=i),
    }


def literal(i):
    e = expected(i)
    return (
        f"({i}, {e['big']}, {e['ratio']!r}, {e['price']}, N'{e['label']}', '{e['code']}', "
        f"'{e['day'].isoformat()}', '{e['moment'].isoformat()}', {int(e['flag'])}, '{e['guid']}')"
    )


async def main():
    suffix = uuid.uuid4().hex[:12]
    wide, narrow = f"fm_big_wide_{suffix}", f"fm_big_narrow_{suffix}"
    async with fastmssql.Connection(os.environ["FASTMSSQL_STREAM_URL"]) as conn:
        try:
            await conn.execute(
                f"CREATE TABLE {wide} (id int PRIMARY KEY, big bigint, ratio float, price decimal(12,2), "
                "label nvarchar(40), code varchar(10), day date, moment datetime2(6), flag bit, guid uniqueidentifier)"
            )
            await conn.execute(f"CREATE TABLE {narrow} (n int PRIMARY KEY)")
            # at most 1000 rows per VALUES, as SQL Server allows
            for start in range(1, WIDE_ROWS + 1, 1000):
                rows = ", ".join(literal(i) for i in range(start, min(start + 1000, WIDE_ROWS + 1)))
                await conn.execute(f"INSERT INTO {wide} VALUES {rows}")
            for start in range(1, NARROW_ROWS + 1, 1000):
                rows = ", ".join(f"({n})" for n in range(start, min(start + 1000, NARROW_ROWS + 1)))
                await conn.execute(f"INSERT INTO {narrow} VALUES {rows}")
            rss_before = status_kib("VmRSS")
            count, id_sum, last = 0, 0, None
            sql = (
                "SELECT w.id, w.big, w.ratio, w.price, w.label, w.code, w.day, w.moment, w.flag, w.guid "
                f"FROM {wide} AS w CROSS JOIN {narrow} AS n"
            )
            async for chunk in conn.stream(sql):
                table = chunk.to_arrow()
                count += table.num_rows
                id_sum += pc.sum(table.column("id")).as_py()
                last = table
            # before the check below makes Python objects of the last batch's rows
            peak = status_kib("VmHWM")
            wrong = [row for row in last.to_pylist() if row != expected(row["id"])]
        finally:
            await conn.execute(f"DROP TABLE IF EXISTS {wide}; DROP TABLE IF EXISTS {narrow}")
    print(json.dumps({
        "rows": count,
        "id_sum": id_sum,
        "last_batch_rows": last.num_rows,
        "wrong": [repr(row) for row in wrong[:3]],
        "rss_before_kib": rss_before,
        "peak_kib": peak,
    }))


asyncio.run(main())
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS/VmHWM from /proc")
def test_five_million_rows_stream_in_bounded_memory(test_url: str) -> None:
    """Issue 14: a 5,000,000-row, ten-column result streams with the process's resident set growing
    by less than 200 MB (measured in a process of its own: the test runner's memory is not)."""
    child = subprocess.run(
        [sys.executable, "-c", STREAM_SCRIPT, str(WIDE_ROWS), str(NARROW_ROWS)],
        env={**os.environ, "FASTMSSQL_STREAM_URL": test_url},
        capture_output=True,
        text=True,
        timeout=STREAM_CHILD_TIMEOUT_SECS,
    )
    assert child.returncode == 0, child.stderr
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    assert figures["rows"] == STREAMED_ROWS
    assert figures["id_sum"] == NARROW_ROWS * WIDE_ROWS * (WIDE_ROWS + 1) // 2
    assert figures["last_batch_rows"] > 0
    assert figures["wrong"] == []
    growth = figures["peak_kib"] - figures["rss_before_kib"]
    assert growth < RSS_GROWTH_LIMIT_KIB, figures
