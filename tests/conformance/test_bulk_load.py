"""Issue 4: bulk load through the independent clients' bulk copy APIs.

python-tds `cursor.copy_to` (INSERT BULK + the BulkLoad message with its own COLMETADATA): 100,000
typed rows and a CSV without column types (every value sent as nvarchar(4000)) must read back
exactly, and a duplicate key must abort the whole load with SQL Server's error 2627.
(pymssql's `bulk_copy` and mssql-python's `bulkcopy` first read the table's columns from the
catalog views, sys.columns / sys.all_columns with OBJECT_ID, which the local server lacks.) With FASTMSSQL_TEST_URL set (an ADO.NET connection string), the same tests
run against that SQL Server without encryption, so they use unique table names and drop them.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from .clients import ADAPTERS

BIG_LOAD_ROWS = 100_000


def _connect(server: Any, client: str) -> Any:
    return ADAPTERS[client].connect(server, "off")


@pytest.fixture
def table(server: Any) -> Iterator[str]:
    """A unique table name, dropped afterwards."""
    name = f"bulk_{uuid.uuid4().hex[:12]}"
    yield name
    conn = _connect(server, "pytds")
    try:
        conn.cursor().execute(f"DROP TABLE IF EXISTS {name}")
    finally:
        conn.close()


def _run(conn: Any, sql: str) -> None:
    cursor = conn.cursor()
    cursor.execute(sql)
    cursor.close()


def _rows(conn: Any, sql: str) -> list[tuple]:
    cursor = conn.cursor()
    cursor.execute(sql)
    rows = [tuple(r) for r in cursor.fetchall()]
    cursor.close()
    return rows


TYPED_TABLE = (
    "(id INT IDENTITY(1,1) PRIMARY KEY, k BIGINT NOT NULL UNIQUE, name NVARCHAR(40) NULL, "
    "amount DECIMAL(18,4) NULL, at DATETIME2(7) NULL, flag BIT NOT NULL, data VARBINARY(16) NULL)"
)


def _typed_row(i: int) -> tuple:
    """Row `i` without the identity: NULLs, negative decimals, non-ASCII text, microsecond instants."""
    name = f"né中-{i}" if i % 7 else None
    amount = Decimal(i * 10_007 - 300_000_000).scaleb(-4) * (1 if i % 2 == 0 else -1) if i % 5 else None
    at = (
        dt.datetime(2000 + i % 100, 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 60, i % 1_000_000)
        if i % 3
        else None
    )
    data = (i).to_bytes(4, "little") * (1 + i % 4) if i % 11 else None
    return (i, name, amount, at, i % 2 == 0, data)


def _check_typed(conn: Any, table: str, count: int) -> None:
    rows = _rows(conn, f"SELECT id, k, name, amount, at, flag, data FROM {table} ORDER BY k")
    assert len(rows) == count
    for i, row in enumerate(rows):
        k, name, amount, at, flag, data = _typed_row(i)
        assert row == (i + 1, k, name, amount, at, flag, data), f"row {i}"


def _pytds_typed_columns() -> list:
    import pytds.tds_base as base
    import pytds.tds_types as types

    nullable, not_null = base.Column.fNullable, 0
    return [
        base.Column(name="k", type=types.BigIntType(), flags=not_null),
        base.Column(name="name", type=types.NVarCharType(size=40), flags=nullable),
        base.Column(name="amount", type=types.DecimalType(precision=18, scale=4), flags=nullable),
        base.Column(name="at", type=types.DateTime2Type(precision=7), flags=nullable),
        base.Column(name="flag", type=types.BitType(), flags=not_null),
        base.Column(name="data", type=types.VarBinaryType(size=16), flags=nullable),
    ]


def test_pytds_copy_to_loads_100000_typed_rows_that_read_back_exactly(server: Any, table: str) -> None:
    conn = _connect(server, "pytds")
    try:
        _run(conn, f"CREATE TABLE {table} {TYPED_TABLE}")
        started = time.perf_counter()
        cursor = conn.cursor()
        cursor.copy_to(table_or_view=table, columns=_pytds_typed_columns(),
                       data=(_typed_row(i) for i in range(BIG_LOAD_ROWS)))
        elapsed = time.perf_counter() - started
        print(f"pytds copy_to: {BIG_LOAD_ROWS} rows in {elapsed:.2f} s ({BIG_LOAD_ROWS / elapsed:.0f} rows/s)")
        assert cursor.rowcount == BIG_LOAD_ROWS
        _check_typed(conn, table, BIG_LOAD_ROWS)
    finally:
        conn.close()


def test_pytds_copy_to_a_csv_without_types_converts_the_text(server: Any, table: str) -> None:
    conn = _connect(server, "pytds")
    try:
        _run(conn, f"CREATE TABLE {table} (k INT NOT NULL, amount DECIMAL(9,2), at DATE, note NVARCHAR(20) DEFAULT N'none')")
        csv = "1\t12.35\t2024-02-29\tfirst\n2\t-0.5\t0001-01-01\tNULL\n"
        # without columns pytds reads them with SELECT TOP 1 * ... WHERE 1<>1 and sends nvarchar(4000)
        conn.cursor().copy_to(io.StringIO(csv), table, null_string="NULL")
        rows = _rows(conn, f"SELECT k, amount, at, note FROM {table} ORDER BY k")
        # a NULL without KEEP_NULLS takes the column's default
        assert rows == [
            (1, Decimal("12.35"), dt.date(2024, 2, 29), "first"),
            (2, Decimal("-0.50"), dt.date(1, 1, 1), "none"),
        ]
    finally:
        conn.close()


def test_a_duplicate_key_aborts_the_whole_load(server: Any, table: str) -> None:
    import pytds.tds_base as base
    import pytds.tds_types as types

    conn = _connect(server, "pytds")
    try:
        _run(conn, f"CREATE TABLE {table} (k INT NOT NULL PRIMARY KEY, name NVARCHAR(10))")
        columns = [base.Column(name="k", type=types.IntType(), flags=0),
                   base.Column(name="name", type=types.NVarCharType(size=10), flags=base.Column.fNullable)]
        with pytest.raises(Exception) as raised:
            conn.cursor().copy_to(table_or_view=table, columns=columns, data=[(1, "a"), (2, "b"), (1, "c")])
        assert ADAPTERS["pytds"].error_number(raised.value) == 2627, raised.value
        assert "Violation of PRIMARY KEY constraint" in str(raised.value)
        assert _rows(conn, f"SELECT COUNT(*) FROM {table}") == [(0,)]
    finally:
        conn.close()


@pytest.mark.parametrize("client", ["mssql_python", "pymssql", "pytds"])
def test_executemany_of_a_parameterized_insert_reads_back_exactly(server: Any, table: str, client: str) -> None:
    """The path of pyodbc-style fast_executemany and pandas `to_sql`: one INSERT, many parameter rows
    (mssql-python binds them as arrays after asking sp_describe_undeclared_parameters for their types)."""
    adapter = ADAPTERS[client]
    conn = _connect(server, client)
    try:
        _run(conn, f"CREATE TABLE {table} (k INT PRIMARY KEY, name NVARCHAR(20), amount DECIMAL(9,2))")
        rows = [(i, f"né{i}" if i % 3 else None, Decimal(i * 7 - 500).scaleb(-2) if i % 4 else None) for i in range(500)]
        marker = adapter.positional_marker
        cursor = conn.cursor()
        cursor.executemany(f"INSERT INTO {table} (k, name, amount) VALUES ({marker}, {marker}, {marker})", rows)
        cursor.close()
        assert _rows(conn, f"SELECT k, name, amount FROM {table} ORDER BY k") == rows
    finally:
        conn.close()
