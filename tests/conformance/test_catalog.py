"""Issue 10: the catalog (OBJECT_ID & co., sys.* and INFORMATION_SCHEMA views, sp_columns/sp_tables),
SERVERPROPERTY as sql_variant, the everyday built-in functions, and what real tools send for their
catalog: pyodbc's cursor.columns()/tables() (ODBC SQLColumns/SQLTables), pandas.to_sql and
read_sql_table through SQLAlchemy's mssql dialect (over pymssql and over pyodbc), and mssql-python's
cursor.bulkcopy.

Expected values are SQL Server's documented results. Objects other than #temp tables get names unique to
the client and are dropped again, so with FASTMSSQL_TEST_URL set the same tests run against a real SQL
Server and leave nothing behind.
"""

from __future__ import annotations

import datetime
import glob
import importlib.util
import os
from decimal import Decimal
from typing import Any

import pytest

from .batches import execute as _execute
from .batches import rows as _rows
from .clients import ADAPTERS, ClientAdapter
from .conventions import expected_in_client
from .type_matrix import SqlVariant


def _name(client: str, base: str) -> str:
    """An object name of this test and client."""
    return f"cat_{base}_{client}"


@pytest.fixture
def catalog_objects(client_conn: tuple[ClientAdapter, Any]):
    """A table, a view on it and a procedure, named for the client; dropped afterwards."""
    adapter, conn = client_conn
    table, view, proc = (_name(adapter.name, base) for base in ("t", "v", "p"))
    _execute(conn, f"DROP VIEW IF EXISTS {view}; DROP PROCEDURE IF EXISTS {proc}; DROP TABLE IF EXISTS {table}")
    _execute(
        conn,
        f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(50) NOT NULL, amount decimal(10,2) NULL)",
    )
    _execute(conn, f"CREATE VIEW {view} AS SELECT id, name FROM {table}")
    _execute(conn, f"CREATE PROCEDURE {proc} @a int AS SELECT @a")
    try:
        yield adapter, conn, table, view, proc
    finally:
        _execute(conn, f"DROP VIEW IF EXISTS {view}; DROP PROCEDURE IF EXISTS {proc}; DROP TABLE IF EXISTS {table}")


def test_object_functions(catalog_objects) -> None:
    adapter, conn, table, view, proc = catalog_objects
    assert _rows(
        conn,
        f"""SELECT OBJECT_NAME(OBJECT_ID('{table}')), OBJECT_ID('dbo.{table}', 'U') - OBJECT_ID('{table}'),
                  OBJECT_ID('{table}', 'V'), OBJECT_ID('[dbo].[{view}]', 'V') - OBJECT_ID('{view}'),
                  OBJECT_ID('{proc}', 'P') - OBJECT_ID('{proc}'), OBJECT_ID('cat_no_such_object'),
                  OBJECT_SCHEMA_NAME(OBJECT_ID('{table}')), SCHEMA_NAME(), SCHEMA_NAME(1), SCHEMA_ID('dbo'),
                  DB_NAME(DB_ID()), DB_ID('tempdb'), DB_NAME(2)""",
    ) == [(table, 0, None, 0, 0, None, "dbo", "dbo", "dbo", 1, _rows(conn, "SELECT DB_NAME()")[0][0], 2, "tempdb")]
    assert _rows(
        conn,
        f"""SELECT COLUMNPROPERTY(OBJECT_ID('{table}'), 'id', 'IsIdentity'),
                  COLUMNPROPERTY(OBJECT_ID('{table}'), 'name', 'AllowsNull'),
                  COLUMNPROPERTY(OBJECT_ID('{table}'), 'amount', 'AllowsNull'),
                  COLUMNPROPERTY(OBJECT_ID('{table}'), 'amount', 'Precision'),
                  COLUMNPROPERTY(OBJECT_ID('{table}'), 'amount', 'Scale'),
                  COLUMNPROPERTY(OBJECT_ID('{table}'), 'name', 'Precision'),
                  COL_NAME(OBJECT_ID('{table}'), 2), COL_LENGTH('{table}', 'name'), COL_LENGTH('{table}', 'nope'),
                  TYPE_NAME(56), TYPE_ID('nvarchar'),
                  OBJECTPROPERTY(OBJECT_ID('{table}'), 'IsUserTable'), OBJECTPROPERTY(OBJECT_ID('{view}'), 'IsView'),
                  OBJECTPROPERTY(OBJECT_ID('{proc}'), 'IsProcedure'),
                  OBJECTPROPERTY(OBJECT_ID('{table}'), 'TableHasIdentity')""",
    ) == [(1, 0, 1, 10, 2, 50, "name", 100, None, "int", 231, 1, 1, 1, 1)]


def test_temp_table_names(client_conn: tuple[ClientAdapter, Any]) -> None:
    _, conn = client_conn
    # a #temp table is tempdb's: OBJECT_ID finds it under tempdb.. (unless tempdb is current), with a
    # negative id, and OBJECT_NAME names it with database 2
    _execute(conn, "CREATE TABLE #cat_temp (a int)")
    assert _rows(
        conn,
        """SELECT CASE WHEN DB_NAME() = 'tempdb' OR OBJECT_ID('#cat_temp') IS NULL THEN 1 ELSE 0 END,
                  CASE WHEN OBJECT_ID('tempdb..#cat_temp') < 0 THEN 1 ELSE 0 END,
                  LEFT(OBJECT_NAME(OBJECT_ID('tempdb..#cat_temp'), 2), 10)""",
    ) == [(1, 1, "#cat_temp_")]
    _execute(conn, "IF OBJECT_ID('tempdb..#cat_temp') IS NOT NULL DROP TABLE #cat_temp")
    assert _rows(conn, "SELECT OBJECT_ID('tempdb..#cat_temp')") == [(None,)]


def test_sys_views(catalog_objects) -> None:
    adapter, conn, table, view, proc = catalog_objects
    # type is char(2): 'U ', 'V ', 'P '
    assert _rows(
        conn,
        f"""SELECT name, schema_id, type, type_desc, OBJECT_ID(name) - object_id FROM sys.objects
            WHERE name IN ('{table}', '{view}', '{proc}') ORDER BY type""",
    ) == [
        (proc, 1, "P ", "SQL_STORED_PROCEDURE", 0),
        (table, 1, "U ", "USER_TABLE", 0),
        (view, 1, "V ", "VIEW", 0),
    ]
    assert _rows(conn, f"SELECT name, type, is_ms_shipped FROM sys.tables WHERE name = '{table}'") == [
        (table, "U ", False)
    ]
    assert _rows(conn, f"SELECT name FROM sys.views WHERE object_id = OBJECT_ID('{view}')") == [(view,)]
    assert _rows(conn, f"SELECT name FROM sys.procedures WHERE object_id = OBJECT_ID('{proc}')") == [(proc,)]
    assert _rows(
        conn,
        f"""SELECT c.name, c.column_id, c.system_type_id, c.user_type_id, c.max_length, c.precision, c.scale,
                  c.is_nullable, c.is_identity, t.name
            FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id
            WHERE c.object_id = OBJECT_ID('{table}') ORDER BY c.column_id""",
    ) == [
        ("id", 1, 56, 56, 4, 10, 0, False, True, "int"),
        ("name", 2, 231, 231, 100, 0, 0, False, False, "nvarchar"),
        ("amount", 3, 106, 106, 9, 10, 2, True, False, "decimal"),
    ]
    assert _rows(
        conn,
        """SELECT name, system_type_id, user_type_id, max_length, precision, scale, is_nullable FROM sys.types
           WHERE name IN ('int', 'nvarchar', 'decimal', 'datetime2', 'sysname') ORDER BY name""",
    ) == [
        ("datetime2", 42, 42, 8, 27, 7, True),
        ("decimal", 106, 106, 17, 38, 38, True),
        ("int", 56, 56, 4, 10, 0, True),
        ("nvarchar", 231, 231, 8000, 0, 0, True),
        ("sysname", 231, 256, 256, 0, 0, False),
    ]
    assert _rows(conn, "SELECT schema_id, name FROM sys.schemas WHERE name IN ('dbo', 'sys') ORDER BY schema_id") == [
        (1, "dbo"),
        (4, "sys"),
    ]
    assert _rows(
        conn,
        f"""SELECT i.type, i.type_desc, i.is_primary_key, i.is_unique, ic.key_ordinal,
                  COL_NAME(ic.object_id, ic.column_id)
            FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
            WHERE i.object_id = OBJECT_ID('{table}')""",
    ) == [(1, "CLUSTERED", True, True, 1, "id")]


def test_select_into_copies_columns_and_rows(client_conn: tuple[ClientAdapter, Any]) -> None:
    _, conn = client_conn
    _execute(conn, "CREATE TABLE #cat_src (id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(10) NOT NULL, x decimal(5,2))")
    _execute(conn, "INSERT INTO #cat_src (name, x) VALUES (N'a', 1.5), (N'b', NULL)")
    _execute(conn, "SELECT * INTO #cat_copy FROM #cat_src")
    _execute(conn, "INSERT INTO #cat_copy (name) VALUES (N'c')")
    assert _rows(conn, "SELECT id, name, x FROM #cat_copy ORDER BY id") == [
        (1, "a", Decimal("1.50")),
        (2, "b", None),
        (3, "c", None),
    ]
    assert _rows(
        conn,
        """SELECT name, is_nullable, is_identity, TYPE_NAME(user_type_id) FROM tempdb.sys.columns
           WHERE object_id = OBJECT_ID('tempdb..#cat_copy') ORDER BY column_id""",
    ) == [("id", False, True, "int"), ("name", False, False, "nvarchar"), ("x", True, False, "decimal")]
    _execute(conn, "DROP TABLE #cat_copy; DROP TABLE #cat_src")


def test_information_schema(catalog_objects) -> None:
    adapter, conn, table, view, proc = catalog_objects
    database = _rows(conn, "SELECT DB_NAME()")[0][0]
    assert _rows(
        conn,
        f"""SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES
            WHERE TABLE_NAME IN ('{table}', '{view}') ORDER BY TABLE_NAME""",
    ) == [(database, "dbo", table, "BASE TABLE"), (database, "dbo", view, "VIEW")]
    assert _rows(
        conn,
        f"""SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,
                  CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE
            FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION""",
    ) == [
        ("id", 1, None, "NO", "int", None, None, 10, 0),
        ("name", 2, None, "NO", "nvarchar", 50, 100, None, None),
        ("amount", 3, None, "YES", "decimal", None, None, 10, 2),
    ]


def test_sp_columns_and_sp_tables(catalog_objects) -> None:
    adapter, conn, table, view, proc = catalog_objects
    # sp_columns: (COLUMN_NAME, DATA_TYPE (ODBC), TYPE_NAME, PRECISION, LENGTH, SCALE, NULLABLE, ORDINAL_POSITION)
    rows = _rows(conn, f"EXEC sp_columns @table_name = '{table}'")
    assert [(r[3], r[4], r[5], r[6], r[7], r[8], r[10], r[16]) for r in rows] == [
        ("id", 4, "int identity", 10, 4, 0, 0, 1),
        ("name", -9, "nvarchar", 50, 100, None, 0, 2),
        ("amount", 3, "decimal", 10, 12, 2, 1, 3),
    ]
    rows = _rows(conn, f"EXEC sp_tables @table_name = 'cat[_][tv][_]{adapter.name}'")
    assert [(r[1], r[2], r[3]) for r in rows] == [("dbo", table, "TABLE"), ("dbo", view, "VIEW")]


def test_server_property_is_sql_variant(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    [(version, version_text, base_type, max_length, edition, edition_int, unknown)] = _rows(
        conn,
        """SELECT SERVERPROPERTY('ProductVersion'), CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)),
                  CAST(SQL_VARIANT_PROPERTY(SERVERPROPERTY('ProductVersion'), 'BaseType') AS nvarchar(128)),
                  CAST(SQL_VARIANT_PROPERTY(SERVERPROPERTY('ProductVersion'), 'MaxLength') AS int),
                  SERVERPROPERTY('EngineEdition'), CAST(SERVERPROPERTY('EngineEdition') AS int),
                  SERVERPROPERTY('NoSuchProperty')""",
    )
    # ProductVersion is an nvarchar(128) in a sql_variant, EngineEdition an int
    assert (base_type, max_length) == ("nvarchar", 256)
    assert version == expected_in_client(adapter.name, SqlVariant("nvarchar(128)", version_text))
    assert edition == expected_in_client(adapter.name, SqlVariant("int", edition_int))
    assert unknown is None
    [(version_string, spid, trancount)] = _rows(conn, "SELECT @@VERSION, @@SPID, @@TRANCOUNT")
    assert version_string.startswith("Microsoft SQL Server") and version_text in version_string
    assert 0 < spid < 32768
    assert _rows(conn, "DECLARE @before int = @@TRANCOUNT; BEGIN TRAN; SELECT @@TRANCOUNT - @before; COMMIT") == [(1,)]


def test_string_functions(client_conn: tuple[ClientAdapter, Any]) -> None:
    _, conn = client_conn
    assert _rows(
        conn,
        """SELECT LEN(N'abc  '), DATALENGTH(N'abc'), DATALENGTH('abc  '), SUBSTRING('abcdef', 2, 3), LEFT('abcdef', 2),
                  RIGHT('abcdef', 2), CHARINDEX('c', 'abcabc'), CHARINDEX('c', 'abcabc', 4), CHARINDEX('z', 'abc'),
                  UPPER(N'mIx'), LOWER('MiX'), '[' + LTRIM('  a  ') + ']', '[' + RTRIM('  a  ') + ']',
                  '[' + TRIM('  a  ') + ']', REPLACE('a-b-c', '-', '+'), REPLICATE('ab', 3), CONCAT('a', NULL, 1, N'é'),
                  STUFF('abcdef', 2, 3, 'X'), REVERSE('abc'), PATINDEX('%[0-9]%', 'ab3d')""",
    ) == [(3, 6, 5, "bcd", "ab", "ef", 3, 6, 0, "MIX", "mix", "[a  ]", "[  a]", "[a]", "a+b+c", "ababab", "a1é", "aXef",
           "cba", 3)]
    assert _rows(
        conn,
        """SELECT COALESCE(NULL, NULL, 3), ISNULL(NULL, 'x'), NULLIF(1, 1), NULLIF(1, 2), IIF(1 < 2, 'yes', 'no'),
                  CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END,
                  CASE WHEN 1 > 2 THEN 'a' END""",
    ) == [(3, "x", None, 1, "yes", "two", None)]
    _execute(conn, "CREATE TABLE #cat_agg (g int, s nvarchar(10))")
    _execute(conn, "INSERT INTO #cat_agg VALUES (1, N'b'), (1, N'a'), (2, N'c'), (1, NULL)")
    assert _rows(
        conn,
        "SELECT g, STRING_AGG(s, N',') WITHIN GROUP (ORDER BY s) FROM #cat_agg GROUP BY g ORDER BY g",
    ) == [(1, "a,b"), (2, "c")]
    _execute(conn, "DROP TABLE #cat_agg")
    assert _rows(
        conn,
        """SELECT FORMAT(1234567.891, 'N2'), FORMAT(42, 'D5'), FORMAT(255, 'X'), FORMAT(0.5, '0.00'),
                  FORMAT(CAST('2024-02-09T13:04:05' AS datetime2), 'yyyy-MM-dd HH:mm:ss'),
                  FORMAT(CAST('2024-02-09' AS date), 'dd/MM/yyyy'), FORMAT(1, 'N', 'en-US')""",
    ) == [("1,234,567.89", "00042", "FF", "0.50", "2024-02-09 13:04:05", "09/02/2024", "1.00")]


def test_date_and_math_functions(client_conn: tuple[ClientAdapter, Any]) -> None:
    _, conn = client_conn
    assert _rows(
        conn,
        """SELECT DATEADD(day, 1, CAST('2024-02-28' AS date)), DATEADD(month, 1, CAST('2024-01-31' AS datetime2(0))),
                  DATEDIFF(day, '2024-01-01', '2024-03-01'), DATEDIFF(year, '2023-12-31', '2024-01-01'),
                  DATEPART(quarter, '2024-05-01'), DATEPART(dayofyear, '2024-03-01'), YEAR('2024-03-01'),
                  MONTH('2024-03-01'), DAY('2024-03-01'), EOMONTH(CAST('2024-02-10' AS date)),
                  EOMONTH(CAST('2024-01-10' AS date), 1), DATENAME(month, '2024-03-01'),
                  DATEFROMPARTS(2024, 2, 29)""",
    ) == [(datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29), 60, 1, 2, 61, 2024, 3, 1,
           datetime.date(2024, 2, 29), datetime.date(2024, 2, 29), "March", datetime.date(2024, 2, 29))]
    [(now, sys_now, utc_now, offset_now, guid_length)] = _rows(
        conn, "SELECT GETDATE(), SYSDATETIME(), SYSUTCDATETIME(), SYSDATETIMEOFFSET(), LEN(CAST(NEWID() AS char(36)))"
    )
    assert isinstance(now, datetime.datetime) and isinstance(sys_now, datetime.datetime)
    assert isinstance(utc_now, datetime.datetime) and guid_length == 36
    assert _rows(conn, "SELECT CASE WHEN NEWID() = NEWID() THEN 1 ELSE 0 END") == [(0,)]
    assert _rows(
        conn,
        """SELECT ABS(-3), CEILING(1.2), FLOOR(-1.5), POWER(2, 10), SQRT(16.0), ROUND(2.567, 2), SIGN(-2.5),
                  CASE WHEN RAND() >= 0 AND RAND() < 1 THEN 1 ELSE 0 END, RAND(7) - RAND(7)""",
    ) == [(3, Decimal("2"), Decimal("-2"), 1024, 4.0, Decimal("2.570"), Decimal("-1.0"), 1, 0.0)]


# ---------------------------------------------------------------------------
# Tools: pyodbc (ODBC SQLColumns/SQLTables), SQLAlchemy/pandas, mssql-python bulkcopy
# ---------------------------------------------------------------------------


def _odbc_connection_string(server: Any) -> str:
    """ODBC Driver 18 from the mssql-python-odbc wheel, named by its path (no odbcinst.ini needed)."""
    spec = importlib.util.find_spec("mssql_python_odbc")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mssql-python-odbc (ODBC Driver 18) is not installed")
    root = spec.submodule_search_locations[0]
    found = sorted(glob.glob(os.path.join(root, "libs", "linux", "*", "x86_64", "lib", "libmsodbcsql-18.*.so*")))
    if not found:
        pytest.skip(f"no libmsodbcsql-18 library under {root}")
    password = server.password.replace("}", "}}")
    return (f"DRIVER={{{found[-1]}}};SERVER={server.host},{server.port};DATABASE={server.database};"
            f"UID={server.user};PWD={{{password}}};Encrypt=no")


def _pyodbc_connect(server: Any) -> Any:
    try:
        import pyodbc
    except ImportError as e:  # pyodbc needs the unixODBC library (libodbc2)
        pytest.skip(f"pyodbc is not usable: {e}")
    return pyodbc.connect(_odbc_connection_string(server), autocommit=True)


def test_pyodbc_catalog_functions(server: Any) -> None:
    conn = _pyodbc_connect(server)
    table = "cat_odbc_pyodbc"
    try:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int NOT NULL PRIMARY KEY, name nvarchar(50) NULL, amount decimal(10,2))")
        columns = conn.cursor().columns(table=table).fetchall()
        # SQLColumns: COLUMN_NAME, DATA_TYPE, TYPE_NAME, COLUMN_SIZE, BUFFER_LENGTH, DECIMAL_DIGITS, NULLABLE
        assert [(c.column_name, c.data_type, c.type_name, c.column_size, c.buffer_length, c.decimal_digits, c.nullable)
                for c in columns] == [
            ("id", 4, "int", 10, 4, 0, 0),
            ("name", -9, "nvarchar", 50, 100, None, 1),
            ("amount", 3, "decimal", 10, 12, 2, 1),
        ]
        tables = conn.cursor().tables(table=table).fetchall()
        assert [(t.table_schem, t.table_name, t.table_type) for t in tables] == [("dbo", table, "TABLE")]
        keys = conn.cursor().primaryKeys(table=table).fetchall()
        assert [(k.column_name, k.key_seq) for k in keys] == [("id", 1)]
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def _sqlalchemy_engine(server: Any, driver: str) -> Any:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    if driver == "pymssql":
        from sqlalchemy.engine import URL

        url = URL.create("mssql+pymssql", username=server.user, password=server.password, host=server.host,
                         port=server.port, database=server.database)
        return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.StaticPool)
    import pyodbc  # noqa: F401  (skipped in _pyodbc_connect when missing)

    return sqlalchemy.create_engine("mssql+pyodbc://", creator=lambda: _pyodbc_connect(server),
                                    poolclass=sqlalchemy.pool.StaticPool, fast_executemany=True)


@pytest.mark.parametrize("driver", ["pymssql", "pyodbc"])
def test_pandas_to_sql_and_read_sql_table(server: Any, driver: str) -> None:
    pandas = pytest.importorskip("pandas")
    if driver == "pyodbc":
        _pyodbc_connect(server).close()
    engine = _sqlalchemy_engine(server, driver)
    table = f"cat_pandas_{driver}"
    frame = pandas.DataFrame({
        "id": [1, 2, 3],
        "name": ["a", None, "ünï"],
        "amount": [1.5, None, -2.25],
        "when": pandas.to_datetime(["2024-01-02 03:04:05", "2024-02-29 00:00:00", None]),
    })
    try:
        # "replace" reflects the table (has_table), drops it when there and creates it from the frame's types
        frame.to_sql(table, engine, if_exists="replace", index=False)
        frame.to_sql(table, engine, if_exists="append", index=False)
        read = pandas.read_sql_table(table, engine)
        assert list(read.columns) == ["id", "name", "amount", "when"]
        assert len(read) == 6
        expected = pandas.concat([frame, frame], ignore_index=True)
        read = read.sort_values(["id"], kind="stable").reset_index(drop=True)
        expected = expected.sort_values(["id"], kind="stable").reset_index(drop=True)
        assert read["id"].tolist() == expected["id"].tolist()
        assert read["name"].tolist() == expected["name"].tolist()
        assert read["amount"].fillna(-99).tolist() == expected["amount"].fillna(-99).tolist()
        assert read["when"].tolist() == expected["when"].tolist()
        # the reflected types are those to_sql created
        import sqlalchemy

        columns = {c["name"]: c for c in sqlalchemy.inspect(engine).get_columns(table)}
        assert isinstance(columns["id"]["type"], sqlalchemy.BigInteger)
        assert isinstance(columns["amount"]["type"], sqlalchemy.Float) and columns["amount"]["type"].precision == 53
        assert isinstance(columns["when"]["type"], sqlalchemy.DateTime)
        assert columns["name"]["nullable"] is True
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        engine.dispose()


def test_mssql_python_bulkcopy(server: Any) -> None:
    adapter = ADAPTERS["mssql_python"]
    conn = adapter.connect(server, "off")
    table = "cat_bulkcopy_mssql_python"
    cursor = conn.cursor()
    if not hasattr(cursor, "bulkcopy"):
        pytest.skip("this mssql-python has no cursor.bulkcopy")
    try:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (id int NOT NULL, name nvarchar(50) NULL, amount decimal(10,2) NULL)")
        rows = [(i, None if i % 3 == 0 else f"n{i}", None if i % 4 == 0 else Decimal(i) / 4) for i in range(1, 101)]
        cursor.bulkcopy(table, rows)
        cursor.execute(f"SELECT id, name, amount FROM {table} ORDER BY id")
        assert [tuple(r) for r in cursor.fetchall()] == rows
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.close()
        conn.close()
