"""The synchronous DB-API 2.0 interface (PEP 249): the classic compliance cases, written for this package,
plus polars.read_database, pandas.read_sql, threads, and the same values as the asyncio API."""

from __future__ import annotations

import asyncio
import datetime
import os
import subprocess
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator
from decimal import Decimal

import pytest

import fastmssql
from fastmssql import _dbapi as dbapi

from .support import bounded


@pytest.fixture
def db(test_url: str) -> Iterator[dbapi.Connection]:
    connection = fastmssql.connect(test_url)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def table(test_url: str) -> Iterator[str]:
    """A permanent table (id int, name nvarchar(20), price decimal(10,2)), created and dropped in autocommit.
    Request it before `db`, so that `db` (and its open transaction's locks) is gone before the DROP."""
    name = f"dbapi_{uuid.uuid4().hex[:10]}"
    with fastmssql.connect(test_url, autocommit=True) as setup:
        setup.cursor().execute(f"CREATE TABLE {name} (id int PRIMARY KEY, name nvarchar(20), price decimal(10,2))")
    try:
        yield name
    finally:
        with fastmssql.connect(test_url, autocommit=True) as teardown:
            teardown.cursor().execute(f"DROP TABLE {name}")


# ---------------------------------------------------------------------------
# Module interface
# ---------------------------------------------------------------------------


def test_module_globals_and_exceptions() -> None:
    assert (fastmssql.apilevel, fastmssql.threadsafety, fastmssql.paramstyle) == ("2.0", 1, "qmark")
    assert issubclass(fastmssql.Warning, Exception)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(fastmssql, name), fastmssql.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(fastmssql, name), fastmssql.DatabaseError)


def test_exceptions_are_attributes_of_the_connection(db: dbapi.Connection) -> None:
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
                 "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        assert getattr(db, name) is getattr(fastmssql, name)


def test_type_objects_and_constructors(db: dbapi.Connection) -> None:
    cursor = db.cursor()
    cursor.execute("SELECT CAST(1 AS int) AS n, N'x' AS s, CAST(0x01 AS varbinary(4)) AS b, "
                   "CAST('2024-01-02' AS date) AS d, NEWID() AS g")
    codes = [column[1] for column in cursor.description]
    assert codes[0] == fastmssql.NUMBER and codes[1] == fastmssql.STRING and codes[2] == fastmssql.BINARY
    assert codes[3] == fastmssql.DATETIME and codes[4] == fastmssql.ROWID and codes[0] != fastmssql.STRING
    assert fastmssql.Date(2024, 1, 2) == datetime.date(2024, 1, 2)
    assert fastmssql.Timestamp(2024, 1, 2, 3, 4, 5) == datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert fastmssql.Binary(bytearray(b"ab")) == b"ab"
    assert isinstance(fastmssql.TimestampFromTicks(0), datetime.datetime)
    assert isinstance(fastmssql.DateFromTicks(0), datetime.date) and isinstance(fastmssql.TimeFromTicks(0), datetime.time)


# ---------------------------------------------------------------------------
# Cursor
# ---------------------------------------------------------------------------


def test_description_rowcount_and_fetching(table: str, db: dbapi.Connection) -> None:
    cursor = db.cursor()
    assert cursor.description is None and cursor.rowcount == -1 and cursor.arraysize == 1
    cursor.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", [(i, f"n{i}", Decimal(i) / 4) for i in range(1, 6)])
    assert cursor.rowcount == 5 and cursor.description is None
    cursor.execute(f"SELECT id, name, price FROM {table} WHERE id >= ? ORDER BY id", [2])
    assert cursor.description == [
        ("id", "int", None, None, None, None, False),
        ("name", "nvarchar", 20, 20, None, None, True),
        ("price", "decimal", None, None, 10, 2, True),
    ]
    assert cursor.rowcount == 4
    assert cursor.fetchone() == (2, "n2", Decimal("0.50"))
    assert cursor.fetchmany() == [(3, "n3", Decimal("0.75"))]
    cursor.arraysize = 5
    assert cursor.fetchmany() == [(4, "n4", Decimal("1.00")), (5, "n5", Decimal("1.25"))]
    assert cursor.fetchall() == [] and cursor.fetchone() is None
    with pytest.raises(fastmssql.ProgrammingError):
        cursor.execute(f"UPDATE {table} SET name = ? WHERE id = ?", ["x", 1])
        cursor.fetchall()
    assert cursor.rowcount == 1


def test_parameter_styles(db: dbapi.Connection) -> None:
    cursor = db.cursor()
    assert cursor.execute("SELECT ? AS a, '?' AS literal, ? AS b", [1, "two"]).fetchall() == [(1, "?", "two")]
    assert cursor.execute("SELECT @P1 AS a, @P2 AS b", [1, 2]).fetchall() == [(1, 2)]
    assert cursor.execute("SELECT @x AS x", {"x": 3}).fetchall() == [(3,)]
    with pytest.raises(fastmssql.ProgrammingError, match="2 '\\?' placeholders but 1"):
        cursor.execute("SELECT ?, ?", [1])


def test_nextset_walks_every_result_set(db: dbapi.Connection) -> None:
    cursor = db.cursor()
    cursor.execute("SELECT 1 AS a; SELECT 2 AS b, 3 AS c")
    assert cursor.fetchall() == [(1,)]
    assert cursor.nextset() is True
    assert [column[0] for column in cursor.description] == ["b", "c"]
    assert cursor.fetchall() == [(2, 3)]
    assert cursor.nextset() is None and cursor.description is None


def test_commit_and_rollback_with_autocommit_off(test_url: str, table: str) -> None:
    with fastmssql.connect(test_url) as first:
        assert first.autocommit is False
        cursor = first.cursor()
        cursor.execute(f"INSERT INTO {table} VALUES (1, 'kept', 1)")
        first.commit()
        cursor.execute(f"INSERT INTO {table} VALUES (2, 'undone', 2)")
        first.rollback()
        cursor.execute(f"INSERT INTO {table} VALUES (3, 'on exit', 3)")
    # Leaving `with` committed; a connection closed without commit rolls back.
    second = fastmssql.connect(test_url)
    second.cursor().execute(f"INSERT INTO {table} VALUES (4, 'lost', 4)")
    second.close()
    with fastmssql.connect(test_url, autocommit=True) as check:
        rows = check.cursor().execute(f"SELECT id FROM {table} ORDER BY id").fetchall()
    assert rows == [(1,), (3,)]


def test_closed_objects_raise(test_url: str) -> None:
    connection = fastmssql.connect(test_url)
    cursor = connection.cursor()
    cursor.close()
    with pytest.raises(fastmssql.InterfaceError):
        cursor.execute("SELECT 1")
    connection.close()
    assert connection.closed
    with pytest.raises(fastmssql.InterfaceError):
        connection.cursor()
    with pytest.raises(fastmssql.InterfaceError):
        connection.commit()


def test_setinputsizes_and_setoutputsize_are_accepted(db: dbapi.Connection) -> None:
    cursor = db.cursor()
    cursor.setinputsizes([None])
    cursor.setoutputsize(100)
    assert cursor.execute("SELECT ? AS v", ["x" * 200]).fetchone() == ("x" * 200,)


def test_callproc_returns_the_procedure_s_result_set(test_url: str) -> None:
    name = f"dbapi_proc_{uuid.uuid4().hex[:8]}"
    with fastmssql.connect(test_url, autocommit=True) as db:
        cursor = db.cursor()
        cursor.execute(f"CREATE PROCEDURE {name} @a int, @b int AS SELECT @a + @b AS total")
        try:
            assert cursor.callproc(name, (2, 3)) == (2, 3)
            assert cursor.fetchall() == [(5,)]
        finally:
            cursor.execute(f"DROP PROCEDURE {name}")


# ---------------------------------------------------------------------------
# Arrow, dataframes, threads and the asyncio API
# ---------------------------------------------------------------------------

QUERY = "SELECT CAST(? AS int) AS id, ? AS name, CAST(? AS decimal(10,2)) AS price"
PARAMS = [7, "seven", Decimal("7.25")]


def test_arrow_extras(db: dbapi.Connection) -> None:
    pa = pytest.importorskip("pyarrow")
    cursor = db.cursor().execute(QUERY, PARAMS)
    table = cursor.fetch_arrow_table()
    assert table.schema.field("id").type == pa.int32()
    assert table.to_pylist() == [{"id": 7, "name": "seven", "price": Decimal("7.25")}]
    reader = db.cursor().execute(QUERY, PARAMS).fetch_record_batch()
    assert reader.read_all().equals(table)
    assert pa.table(db.cursor().execute(QUERY, PARAMS).arrow()).equals(table)


def test_polars_read_database_takes_the_arrow_path(db: dbapi.Connection) -> None:
    pl = pytest.importorskip("polars")
    frame = pl.read_database(QUERY.replace("?", "{}").format(7, "N'seven'", "7.25"), db)
    # Built from rows, polars would infer Int64 and Float64; from Arrow it keeps the declared types.
    assert frame.schema == {"id": pl.Int32, "name": pl.String, "price": pl.Decimal(10, 2)}
    assert frame.to_dicts() == [{"id": 7, "name": "seven", "price": Decimal("7.25")}]


def test_pandas_read_sql(db: dbapi.Connection) -> None:
    pytest.importorskip("pandas")
    import pandas

    with warnings.catch_warnings():
        # pandas warns that it only tests SQLAlchemy and sqlite3 connections.
        warnings.simplefilter("ignore", UserWarning)
        frame = pandas.read_sql(QUERY, db, params=PARAMS)
    assert frame.to_dict("records") == [{"id": 7, "name": "seven", "price": Decimal("7.25")}]


async def test_the_same_values_as_the_asyncio_api(test_url: str, db: dbapi.Connection) -> None:
    sql = ("SELECT CAST(1.5 AS float) AS f, CAST('2024-05-17T10:30:00.123456' AS datetime2(6)) AS t, "
           "CAST(0x0102 AS varbinary(2)) AS b, N'ü' AS s, CAST(NULL AS int) AS n, CAST(123.45 AS money) AS m")
    asynchronous = fastmssql.Connection(test_url)
    try:
        expected = (await bounded(asynchronous.query(sql))).rows()[0].to_tuple()
    finally:
        await bounded(asynchronous.close())
    assert db.cursor().execute(sql).fetchone() == expected


def test_many_threads_each_with_a_connection(test_url: str) -> None:
    results: dict[int, list[tuple[int]]] = {}
    errors: list[BaseException] = []

    def work(marker: int) -> None:
        try:
            with fastmssql.connect(test_url) as connection:
                cursor = connection.cursor()
                results[marker] = [cursor.execute("SELECT ? AS m", [marker * 10 + i]).fetchone() for i in range(20)]
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(marker,)) for marker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert results == {m: [(m * 10 + i,) for i in range(20)] for m in range(8)}


def test_usable_inside_a_thread_running_an_event_loop(test_url: str) -> None:
    async def inside() -> list[tuple[int]]:
        with fastmssql.connect(test_url) as connection:
            return connection.cursor().execute("SELECT 42 AS answer").fetchall()

    assert asyncio.run(inside()) == [(42,)]


def test_requests_run_in_the_calling_thread(test_url: str) -> None:
    """The synchronous API drives its socket from the thread that waits (no hand-off to the shared
    runtime's workers, the latency a blocking driver has): in a fresh process that only uses
    fastmssql.connect, no worker thread of the shared runtime ever starts."""
    script = (
        "import os, sys, fastmssql\n"
        "with fastmssql.connect(os.environ['URL'], autocommit=True) as c:\n"
        "    for i in range(20):\n"
        "        assert c.cursor().execute('SELECT ?', [i]).fetchall() == [(i,)]\n"
        "    names = [open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')]\n"
        "print(sorted(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "URL": test_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Linux keeps 15 characters of a thread's name: the workers are "fastmssql-worke".
    assert "'python'" in done.stdout and "fastmssql-work" not in done.stdout, done.stdout


def test_command_timeout_cancels_and_the_connection_stays_usable(test_url: str) -> None:
    with fastmssql.connect(test_url, autocommit=True, command_timeout=0.3) as connection:
        with pytest.raises(fastmssql.QueryTimeoutError):
            connection.cursor().execute("WAITFOR DELAY '00:00:05'")
        assert connection.cursor().execute("SELECT 7").fetchall() == [(7,)]


async def test_a_synchronous_connection_refuses_to_be_awaited(test_url: str) -> None:
    with fastmssql.connect(test_url) as connection:
        with pytest.raises(fastmssql.InterfaceError, match="synchronous API"):
            await bounded(connection._core.query("SELECT 1"))
        assert connection.cursor().execute("SELECT 1").fetchall() == [(1,)]
