"""`Connection.bulk_insert()`: Arrow data loaded with INSERT BULK and read back exactly; bad input
refused before anything is written, and a server error rejecting the whole load."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import bounded

UTC = timezone.utc
GUID = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")


@pytest.fixture
async def table(conn: fastmssql.Connection) -> AsyncIterator[str]:
    name = f"fm_bulk_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


async def count(conn: fastmssql.Connection, table: str) -> int:
    return (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"))).rows()[0]["n"]


TYPED = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int32()),
        "flag": pa.array([True, False, None]),
        "tiny": pa.array([0, 255, None], pa.uint8()),
        "small": pa.array([-32768, 32767, None], pa.int16()),
        "big": pa.array([-(2**63), 2**63 - 1, None], pa.int64()),
        "r": pa.array([1.5, -0.25, None], pa.float32()),
        "f": pa.array([0.1, 1e308, None], pa.float64()),
        "dec": pa.array([Decimal("-12345.6789"), Decimal("0.0001"), None], pa.decimal128(18, 4)),
        "cash": pa.array([Decimal("922337203685477.5807"), Decimal("-1.5"), None], pa.decimal128(19, 4)),
        "name": pa.array(["héllo 😀", "", None]),
        "code": pa.array(["plain", "x" * 20, None]),
        "data": pa.array([b"\x00\x01\xff", b"", None]),
        "guid": pa.array([GUID.bytes, bytes(16), None], pa.binary(16)),
        "d": pa.array([date(1, 1, 1), date(9999, 12, 31), None]),
        "t": pa.array([time(23, 59, 59, 999999), time(0), None], pa.time64("us")),
        "dt2": pa.array([datetime(2024, 2, 29, 12, 0, 0, 123456), datetime(1, 1, 1), None], pa.timestamp("us")),
        "dt": pa.array([datetime(2024, 1, 2, 3, 4, 5, 3000), datetime(1753, 1, 1), None], pa.timestamp("us")),
        "dto": pa.array(
            [datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), None],
            pa.timestamp("us", tz="UTC"),
        ),
    }
)
DECLARED = (
    "id int PRIMARY KEY, flag bit, tiny tinyint, small smallint, big bigint, r real, f float, dec decimal(18,4), "
    "cash money, name nvarchar(20), code varchar(20), data varbinary(max), guid uniqueidentifier, d date, "
    "t time(6), dt2 datetime2(7), dt datetime, dto datetimeoffset(7)"
)


async def test_every_type_loads_and_reads_back_exactly(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} ({DECLARED})"))
    assert await bounded(conn.bulk_insert(table, TYPED)) == 3
    back = (await bounded(conn.query(f"SELECT * FROM {table} ORDER BY id"))).to_arrow()
    for name in TYPED.column_names:
        column = back.column(name).combine_chunks()
        if isinstance(column.type, pa.BaseExtensionType):  # arrow.uuid: compare the 16 bytes
            column = column.storage
        assert column.to_pylist() == TYPED.column(name).to_pylist(), name


async def test_many_batches_from_polars_read_back(conn: fastmssql.Connection, table: str) -> None:
    polars = pytest.importorskip("polars")
    rows = 25_000
    frame = polars.DataFrame(
        {
            "id": polars.Series(range(rows), dtype=polars.Int64),
            "label": [f"row {i}" if i % 7 else None for i in range(rows)],
            "amount": polars.Series([Decimal(i) / 100 for i in range(rows)], dtype=polars.Decimal(12, 2)),
        }
    )
    await bounded(conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, label nvarchar(30), amount decimal(12,2))"))
    assert await bounded(conn.bulk_insert(table, frame)) == rows
    back = (await bounded(conn.query(f"SELECT id, label, amount FROM {table} ORDER BY id"))).to_polars()
    assert back["id"].to_list() == frame["id"].to_list()
    assert back["label"].to_list() == frame["label"].to_list()
    assert back["amount"].to_list() == frame["amount"].to_list()


async def test_columns_are_matched_by_name_and_identity_is_assigned(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, a nvarchar(5), b int)"))
    data = pa.table({"b": pa.array([10, 20], pa.int32()), "a": ["x", "y"]})
    assert await bounded(conn.bulk_insert(table, data)) == 2
    rows = (await bounded(conn.query(f"SELECT id, a, b FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(1, "x", 10), (2, "y", 20)]


@pytest.mark.parametrize(
    ("column", "values", "error", "says"),
    [
        ("tiny", pa.array([1] * 4999 + [300], pa.int32()), fastmssql.DataError, "row 4999"),
        ("dec", pa.array([Decimal("1.23456")] * 5000, pa.decimal128(10, 5)), fastmssql.DataError, "losing digits"),
        ("n", pa.array([1] * 4999 + [None], pa.int32()), fastmssql.IntegrityError, "does not allow NULLs"),
        ("tiny", pa.array(["seven"] * 5000), fastmssql.DataError, "cannot be written to a tinyint column"),
        ("tiny", pa.array([[1]] * 5000), fastmssql.DataError, "cannot be sent"),
    ],
    ids=["out-of-range", "lost-digits", "null-into-not-null", "string-into-int", "list-type"],
)
async def test_bad_input_is_refused_before_anything_is_written(
    conn: fastmssql.Connection, table: str, column: str, values: pa.Array, error: type, says: str
) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, tiny tinyint, dec decimal(10,2), n int NOT NULL)"))
    data = {"id": pa.array(range(5000), pa.int32()), column: values}
    if column != "n":
        data["n"] = pa.array([0] * 5000, pa.int32())
    with pytest.raises(error, match=says):
        await bounded(conn.bulk_insert(table, pa.table(data)))
    assert await count(conn, table) == 0


async def test_a_server_error_rejects_the_whole_load(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    data = pa.table({"id": pa.array(list(range(10_000)) + [5], pa.int32())})
    with pytest.raises(fastmssql.IntegrityError) as info:
        await bounded(conn.bulk_insert(table, data))
    assert info.value.number == 2627
    assert await count(conn, table) == 0
    # The pool goes on: the same data without the duplicate loads.
    assert await bounded(conn.bulk_insert(table, data.slice(0, 10_000))) == 10_000


async def test_unknown_table_or_column_raise_the_server_error(conn: fastmssql.Connection, table: str) -> None:
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await bounded(conn.bulk_insert(table, pa.table({"id": [1]})))
    assert info.value.number == 208
    await bounded(conn.execute(f"CREATE TABLE {table} (id int)"))
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await bounded(conn.bulk_insert(table, pa.table({"nope": [1]})))
    assert info.value.number == 207


@pytest.mark.parametrize("name", ["t; DROP TABLE x", "t--", "[t", "a b", ""])
async def test_table_names_are_checked_before_sending(conn: fastmssql.Connection, name: str) -> None:
    with pytest.raises(fastmssql.ProgrammingError, match="not a valid table name"):
        await bounded(conn.bulk_insert(name, pa.table({"id": [1]})))


async def test_non_arrow_data_is_a_type_error(conn: fastmssql.Connection) -> None:
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        conn.bulk_insert("t", [{"id": 1}])


async def test_zero_rows_store_nothing(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int)"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([], pa.int32())}))) == 0
    assert await count(conn, table) == 0


async def test_a_query_result_loads_into_another_table(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int, name nvarchar(10), g uniqueidentifier)"))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (1, N'one', @P1), (2, N'two', NULL)", [GUID]))
    source = await bounded(conn.query(f"SELECT id + 10 AS id, name, g FROM {table}"))
    assert await bounded(conn.bulk_insert(table, source)) == 2
    rows = (await bounded(conn.query(f"SELECT id, name, g FROM {table} WHERE id > 10 ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(11, "one", str(GUID)), (12, "two", None)]


async def test_identity_values_the_data_carries_are_kept_and_reseed(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, a nvarchar(5))"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([5, 9], pa.int32()), "a": ["x", "y"]}))) == 2
    await bounded(conn.execute(f"INSERT INTO {table} (a) VALUES (N'z')"))
    rows = (await bounded(conn.query(f"SELECT id, a FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(5, "x"), (9, "y"), (10, "z")]
