"""`Connection.stream()`: the first result set in bounded record batches while the server sends it."""

from __future__ import annotations

import gc
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
