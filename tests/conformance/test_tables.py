"""Issue 4 (part 2 foundation): tables on the local server, read by the independent clients.

Each client creates its own table with a column of many SQL Server types, inserts rows with query
parameters and with literals, reads them back exactly, and checks update/delete counts, rollback,
SQL Server's duplicate-key error 2627 and the invalid-object error 208.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from .clients import ADAPTERS, CLIENT_NAMES, ClientAdapter
from .conventions import expected_in_client

COLUMNS = (
    ("id", "int IDENTITY(1,1) PRIMARY KEY"),
    ("i", "int"),
    ("big", "bigint"),
    ("small", "smallint"),
    ("tiny", "tinyint"),
    ("flag", "bit"),
    ("dec", "decimal(18,4)"),
    ("cash", "money"),
    ("f", "float"),
    ("name", "nvarchar(50) NOT NULL"),
    ("code", "varchar(20)"),
    ("data", "varbinary(max)"),
    ("g", "uniqueidentifier"),
)

# id, then the values given as parameters (exact SQL Server values)
PARAMETER_ROW = (
    123,
    -9_000_000_000,
    -32768,
    255,
    True,
    Decimal("-12345.6789"),
    Decimal("922337203685477.5807"),
    2.5,
    "héllo wörld",
    "plain",
    b"\x00\x01\xfe\xff",
    uuid.UUID("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
)
NULL_ROW = (None, None, None, None, None, None, None, None, "only a name", None, None, None)

TEMPORAL_COLUMNS = "d date, t time(7), dt2 datetime2(7), dt datetime, dto datetimeoffset(7)"
TEMPORAL_LITERALS = "'2024-02-29', '23:59:59.1234567', '0001-01-01 00:00:00.0000001', '1753-01-01 00:00:00.003', '2024-01-01 12:00:00.5 -14:00'"
TEMPORAL_VALUES = (
    dt.date(2024, 2, 29),
    "23:59:59.1234567",
    "0001-01-01 00:00:00.0000001",
    dt.datetime(1753, 1, 1, 0, 0, 0, 3000),
    "2024-01-01 12:00:00.5000000 -14:00",
)


@pytest.fixture(params=CLIENT_NAMES)
def client_conn(request: pytest.FixtureRequest):
    adapter = ADAPTERS[request.param]
    conn = adapter.connect(request.getfixturevalue("local_server"), "off")
    try:
        yield adapter, conn
    finally:
        conn.close()


def _execute(conn: Any, sql: str, params: Any = None) -> int:
    """Runs a statement; returns the cursor's rowcount."""
    cursor = conn.cursor()
    try:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        return cursor.rowcount
    finally:
        cursor.close()


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _table(adapter: ClientAdapter, purpose: str) -> str:
    return f"{purpose}_{adapter.name}_{uuid.uuid4().hex[:8]}"


def _sent(adapter: ClientAdapter, value: Any) -> Any:
    return adapter.binary(value) if isinstance(value, bytes) else value


def test_round_trip_of_typed_columns(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table = _table(adapter, "typed")
    _execute(conn, f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    names = ", ".join(name for name, _ in COLUMNS[1:])
    markers = ", ".join(adapter.positional_marker for _ in COLUMNS[1:])
    insert = f"INSERT INTO {table} ({names}) VALUES ({markers})"
    assert _execute(conn, insert, tuple(_sent(adapter, v) for v in PARAMETER_ROW)) == 1
    assert _execute(conn, insert, NULL_ROW) == 1
    rows = _rows(conn, f"SELECT * FROM {table} ORDER BY id")
    expected = [(1, *PARAMETER_ROW), (2, *NULL_ROW)]
    for got, want in zip(rows, expected):
        assert got == tuple(expected_in_client(adapter.name, v) for v in want), f"{adapter.name}: {got!r}"
    assert len(rows) == 2


def test_temporal_columns_from_literals(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table = _table(adapter, "temporal")
    _execute(conn, f"CREATE TABLE {table} ({TEMPORAL_COLUMNS})")
    _execute(conn, f"INSERT INTO {table} VALUES ({TEMPORAL_LITERALS})")
    rows = _rows(
        conn,
        f"SELECT d, CAST(t AS varchar(30)) AS t, CAST(dt2 AS varchar(30)) AS dt2, dt, "
        f"CAST(dto AS varchar(40)) AS dto FROM {table}",
    )
    assert rows == [tuple(expected_in_client(adapter.name, v) for v in TEMPORAL_VALUES)]


def test_update_and_delete_counts(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table = _table(adapter, "counts")
    _execute(conn, f"CREATE TABLE {table} (k int NOT NULL, v nvarchar(10))")
    assert _execute(conn, f"INSERT INTO {table} VALUES (1, N'a'), (2, N'b'), (3, N'c')") == 3
    assert _execute(conn, f"UPDATE {table} SET v = N'z' WHERE k >= 2") == 2
    assert _execute(conn, f"DELETE FROM {table} WHERE v = N'Z'") == 2
    assert _rows(conn, f"SELECT k, v FROM {table}") == [(1, "a")]


def test_rollback_and_duplicate_key(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table = _table(adapter, "dup")
    _execute(conn, f"CREATE TABLE {table} (k int PRIMARY KEY)")
    _execute(conn, f"BEGIN TRANSACTION; INSERT INTO {table} VALUES (1); ROLLBACK TRANSACTION")
    assert _rows(conn, f"SELECT k FROM {table}") == []
    _execute(conn, f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _execute(conn, f"INSERT INTO {table} VALUES (1)")
    assert "Cannot insert duplicate key in object 'dbo." in str(caught.value) or adapter.name == "pymssql"
    if adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == 2627, str(caught.value)
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _rows(conn, "SELECT * FROM no_such_table_here")
    if adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == 208, str(caught.value)
    assert _rows(conn, f"SELECT k FROM {table}") == [(1,)], "the connection is usable after the errors"


def test_client_transaction_commits_and_rolls_back(request: pytest.FixtureRequest) -> None:
    """commit()/rollback() with autocommit off (TransMgrReq for ODBC and pytds) reach the table store."""
    for name in CLIENT_NAMES:
        adapter = ADAPTERS[name]
        server = request.getfixturevalue("local_server")
        table = _table(adapter, "tm")
        setup = adapter.connect(server, "off")
        try:
            _execute(setup, f"CREATE TABLE {table} (k int)")
        finally:
            setup.close()
        conn = adapter.connect(server, "off", autocommit=False)
        try:
            _execute(conn, f"INSERT INTO {table} VALUES (1)")
            conn.rollback()
            _execute(conn, f"INSERT INTO {table} VALUES (2)")
            conn.commit()
        finally:
            conn.close()
        reader = adapter.connect(server, "off")
        try:
            assert _rows(reader, f"SELECT k FROM {table}") == [(2,)], name
        finally:
            reader.close()


def test_aggregates_derived_tables_and_scope_identity(client_conn: tuple[ClientAdapter, Any]) -> None:
    """connectorx's query shapes, aggregates typed as SQL Server types them, SCOPE_IDENTITY()."""
    adapter, conn = client_conn
    table = _table(adapter, "shapes")
    _execute(conn, f"CREATE TABLE {table} (id int IDENTITY(1,1), c int NOT NULL, p decimal(10,2))")
    assert _execute(conn, f"INSERT INTO {table} (c, p) VALUES (1, 1.50), (3, 2.25), (5, NULL), (7, 4.00)") == 4
    assert _rows(conn, f"SELECT min(t.c), max(t.c) FROM (SELECT c FROM {table}) AS t") == [(1, 7)]
    assert _rows(conn, f"SELECT * FROM (SELECT c, p FROM {table}) AS t WHERE 1 <= t.c AND t.c < 6 ORDER BY c") == [
        (1, Decimal("1.50")),
        (3, Decimal("2.25")),
        (5, None),
    ]
    expected_avg = expected_in_client(adapter.name, Decimal("2.583333"))
    assert _rows(conn, f"SELECT count(*), sum(p), avg(p) FROM {table}") == [(4, Decimal("7.75"), expected_avg)]
    identity = _rows(conn, f"SET NOCOUNT ON; INSERT INTO {table} (c) VALUES (9); SELECT SCOPE_IDENTITY()")
    assert identity == [(expected_in_client(adapter.name, Decimal("5")),)]


def test_error_after_rows_of_a_result_reaches_the_client(client_conn: tuple[ClientAdapter, Any]) -> None:
    """Ten rows convert, the eleventh fails with SQL Server's 245: the client raises, the connection stays usable."""
    adapter, conn = client_conn
    table = _table(adapter, "late_error")
    _execute(conn, f"CREATE TABLE {table} (k int NOT NULL, v varchar(10))")
    values = ", ".join(f"({k}, '{k}')" for k in range(1, 11))
    _execute(conn, f"INSERT INTO {table} VALUES {values}, (11, 'eleven')")
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _rows(conn, f"SELECT k, CAST(v AS int) AS n FROM {table} ORDER BY k")
    if adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == 245, str(caught.value)
    assert _rows(conn, f"SELECT count(*) FROM {table}") == [(11,)]
