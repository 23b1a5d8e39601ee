"""Tables through fastmssql (issue 4's acceptance): a column of every SQL Server type written with
parameters and read back exactly, update and delete counts, transactions that commit and roll back
(also after an error), duplicate keys, an error after rows of a result, and a cancelled wait.

Expected values are SQL Server's: the declared type decides the Arrow type and the stored value
(char padding, datetime ticks, datetimeoffset normalised to UTC).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import fastmssql

from .support import ARROW_UUID, Cell, DecimalType, bounded, check_cell

UTC = timezone.utc
GUID = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
LONG_VARCHAR = "x" * 10_000
LONG_NVARCHAR = "a😀" * 5_000
BIG_BYTES = bytes(range(256)) * 400

# (column, declared type, parameter value, what the column reads back as)
TYPED_COLUMNS: list[tuple[str, str, Any, Cell]] = [
    ("c_bit", "bit", True, Cell(pa.bool_(), True, mssql="bit")),
    ("c_tinyint", "tinyint", 255, Cell(pa.uint8(), 255, mssql="tinyint")),
    ("c_smallint", "smallint", -32768, Cell(pa.int16(), -32768, mssql="smallint")),
    ("c_int", "int", -(2**31), Cell(pa.int32(), -(2**31), mssql="int")),
    ("c_bigint", "bigint", 2**63 - 1, Cell(pa.int64(), 2**63 - 1, mssql="bigint")),
    ("c_real", "real", 1.5, Cell(pa.float32(), 1.5, mssql="real")),
    ("c_float", "float", 0.1, Cell(pa.float64(), 0.1, mssql="float")),
    ("c_decimal", "decimal(38,10)", Decimal("-1234567890123456789012345678.0123456789"),
     Cell(DecimalType(38, 10), Decimal("-1234567890123456789012345678.0123456789"), mssql=r"decimal\(38,10\)")),
    ("c_numeric", "numeric(10,4)", Decimal("123456.7891"),
     Cell(DecimalType(10, 4), Decimal("123456.7891"), mssql=r"numeric\(10,4\)")),
    ("c_money", "money", Decimal("922337203685477.5807"),
     Cell(pa.decimal128(19, 4), Decimal("922337203685477.5807"), mssql="money")),
    ("c_smallmoney", "smallmoney", Decimal("-214748.3648"),
     Cell(pa.decimal128(10, 4), Decimal("-214748.3648"), mssql="smallmoney")),
    ("c_char", "char(5)", "ab", Cell(pa.string(), "ab   ", mssql=r"char\(5\)")),
    ("c_varchar", "varchar(20)", "plain", Cell(pa.string(), "plain", mssql=r"varchar\(20\)")),
    ("c_varchar_max", "varchar(max)", LONG_VARCHAR, Cell(pa.string(), LONG_VARCHAR, mssql=r"varchar\(max\)")),
    ("c_nchar", "nchar(3)", "é", Cell(pa.string(), "é  ", mssql=r"nchar\(3\)")),
    ("c_nvarchar", "nvarchar(50)", "héllo wörld 😀", Cell(pa.string(), "héllo wörld 😀", mssql=r"nvarchar\(50\)")),
    ("c_nvarchar_max", "nvarchar(max)", LONG_NVARCHAR, Cell(pa.string(), LONG_NVARCHAR, mssql=r"nvarchar\(max\)")),
    ("c_text", "text", "abc", Cell(pa.string(), "abc", mssql="text")),
    ("c_ntext", "ntext", "ab😀", Cell(pa.string(), "ab😀", mssql="ntext")),
    ("c_xml", "xml", "<a>x</a>", Cell(pa.string(), "<a>x</a>", mssql="xml")),
    ("c_binary", "binary(4)", b"\x01\x02", Cell(pa.binary(), b"\x01\x02\x00\x00", mssql=r"binary\(4\)")),
    ("c_varbinary", "varbinary(10)", b"\x00\xff", Cell(pa.binary(), b"\x00\xff", mssql=r"varbinary\(10\)")),
    ("c_varbinary_max", "varbinary(max)", BIG_BYTES, Cell(pa.binary(), BIG_BYTES, mssql=r"varbinary\(max\)")),
    ("c_image", "image", b"\xff", Cell(pa.binary(), b"\xff", mssql="image")),
    ("c_guid", "uniqueidentifier", GUID,
     Cell(ARROW_UUID, str(GUID), arrow_value=GUID.bytes, mssql="uniqueidentifier")),
    ("c_date", "date", date(9999, 12, 31), Cell(pa.date32(), date(9999, 12, 31), mssql="date")),
    ("c_time", "time(7)", time(23, 59, 59, 999999),
     Cell(pa.time64("ns"), time(23, 59, 59, 999999), arrow_value=86_399_999_999_000, mssql=r"time\(7\)")),
    # 3 ms is one datetime tick (1/300 s) exactly.
    ("c_datetime", "datetime", datetime(2024, 1, 2, 3, 4, 5, 3000),
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5, 3000), mssql="datetime")),
    ("c_smalldatetime", "smalldatetime", datetime(2079, 6, 6, 23, 59),
     Cell(pa.timestamp("us"), datetime(2079, 6, 6, 23, 59), mssql="smalldatetime")),
    ("c_datetime2", "datetime2(7)", datetime(1, 1, 1, 0, 0, 0, 1),
     Cell(pa.timestamp("us"), datetime(1, 1, 1, 0, 0, 0, 1), mssql=r"datetime2\(7\)")),
    ("c_dto", "datetimeoffset(7)", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC),
          mssql=r"datetimeoffset\(7\)")),
]


def _unique(prefix: str) -> str:
    """A table name of this test only, so the tests also run against a shared real server."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def table(conn: fastmssql.Connection) -> AsyncIterator[str]:
    """A fresh table name, dropped after the test."""
    name = _unique("fm_tables")
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


async def test_every_type_written_with_parameters_reads_back_exactly(conn: fastmssql.Connection, table: str) -> None:
    columns = ", ".join(f"{name} {declared}" for name, declared, _, _ in TYPED_COLUMNS)
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, {columns})"))
    placeholders = ", ".join(f"@P{i}" for i in range(2, len(TYPED_COLUMNS) + 2))
    names = ", ".join(name for name, _, _, _ in TYPED_COLUMNS)
    insert = f"INSERT INTO {table} (id, {names}) VALUES (@P1, {placeholders})"

    assert await bounded(conn.execute(insert, [1, *(value for _, _, value, _ in TYPED_COLUMNS)])) == 1
    assert await bounded(conn.execute(insert, [2, *(None for _ in TYPED_COLUMNS)])) == 1

    result = await bounded(conn.query(f"SELECT * FROM {table} WHERE id = @P1", [1]))
    assert result.columns == ["id", *(name for name, _, _, _ in TYPED_COLUMNS)]
    for name, _, _, cell in TYPED_COLUMNS:
        check_cell(result, name, cell)

    nulls = await bounded(conn.query(f"SELECT * FROM {table} WHERE id = @P1", [2]))
    for name, _, _, cell in TYPED_COLUMNS:
        check_cell(nulls, name, Cell(cell.arrow_type, None, mssql=cell.mssql))


async def test_update_and_delete_report_their_counts(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int NOT NULL)"))
    inserted = await bounded(conn.execute(f"INSERT INTO {table} VALUES (1, 10), (2, 20), (3, 30), (4, 40)"))
    assert inserted == 4
    assert await bounded(conn.execute(f"UPDATE {table} SET v = -1 WHERE id >= @P1", [2])) == 3
    assert await bounded(conn.execute(f"UPDATE {table} SET v = 0 WHERE id = 99")) == 0
    assert await bounded(conn.execute(f"DELETE FROM {table} WHERE v = @P1", [-1])) == 3
    result = await bounded(conn.query(f"SELECT id, v FROM {table}"))
    assert [row.to_tuple() for row in result.rows()] == [(1, 10)]


async def test_transaction_rolls_back_and_commits_including_after_an_error(
    single_connection: fastmssql.Connection, table: str
) -> None:
    conn = single_connection
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v nvarchar(10))"))

    await bounded(conn.execute(f"BEGIN TRANSACTION; INSERT INTO {table} VALUES (1, N'gone'); ROLLBACK TRANSACTION"))
    assert len(await bounded(conn.query(f"SELECT * FROM {table}"))) == 0

    # A duplicate key aborts only its statement: the transaction goes on and its other rows commit.
    with pytest.raises(fastmssql.IntegrityError) as info:
        await bounded(conn.execute(
            f"BEGIN TRANSACTION; INSERT INTO {table} VALUES (1, N'kept'); "
            f"INSERT INTO {table} VALUES (1, N'duplicate'); INSERT INTO {table} VALUES (2, N'after'); "
            "COMMIT TRANSACTION"
        ))
    assert info.value.number == 2627
    rows = await bounded(conn.query(f"SELECT id, v FROM {table} ORDER BY id"))
    assert [row.to_tuple() for row in rows.rows()] == [(1, "kept"), (2, "after")]

    # Rolled back after the error: nothing of the transaction stays.
    with pytest.raises(fastmssql.IntegrityError):
        await bounded(conn.execute(
            f"BEGIN TRANSACTION; INSERT INTO {table} VALUES (3, N'rolled'); "
            f"INSERT INTO {table} VALUES (1, N'duplicate'); ROLLBACK TRANSACTION"
        ))
    assert (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"))).rows()[0]["n"] == 2
    assert (await bounded(conn.query("SELECT @@TRANCOUNT AS open_transactions"))).rows()[0]["open_transactions"] == 0


async def test_duplicate_key_raises_sql_server_error_2627(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (@P1)", [7]))
    with pytest.raises(fastmssql.IntegrityError) as info:
        await bounded(conn.execute(f"INSERT INTO {table} VALUES (@P1)", [7]))
    error = info.value
    assert error.number == 2627
    assert error.severity == 14
    assert "Violation of PRIMARY KEY constraint" in str(error)
    assert "(7)" in str(error), "SQL Server names the duplicate key value"


async def test_error_after_ten_rows_of_a_result_reaches_the_client(conn: fastmssql.Connection, table: str) -> None:
    """Ten rows convert, the eleventh fails with SQL Server's 245 while the result is being sent."""
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v varchar(10))"))
    values = ", ".join(f"({i}, '{i}')" for i in range(1, 11))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES {values}, (11, 'eleven')"))
    with pytest.raises(fastmssql.DatabaseError) as info:
        await bounded(conn.query(f"SELECT id, CAST(v AS int) AS n FROM {table} ORDER BY id"))
    assert info.value.number == 245
    assert "eleven" in str(info.value)
    # The connection is still usable after the failed result.
    assert (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"))).rows()[0]["n"] == 11


async def test_waitfor_cancelled_after_100ms_leaves_the_connection_usable(
    single_connection: fastmssql.Connection,
) -> None:
    conn = single_connection
    waiting = asyncio.ensure_future(conn.execute("WAITFOR DELAY '00:00:10'"))
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # Within a bound well under the 10 s wait: the next query does not queue behind it.
    result = await bounded(conn.query("SELECT 42 AS answer"), timeout=5.0)
    assert result.rows()[0]["answer"] == 42
