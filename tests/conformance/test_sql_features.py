"""Issue 4: the SQL language of the local server, read by the three independent clients.

Arithmetic typed by data type precedence and the decimal precision/scale rules, 8134/8115,
variables, LIKE/IN/BETWEEN, DISTINCT/HAVING/UNION/EXCEPT/INTERSECT/OFFSET-FETCH, joins, unique indexes (2601)
and SQL Server's one NULL per unique key, RAISERROR/THROW and sp_describe_first_result_set.
Expected values are SQL Server's documented results. Every test uses #temp tables, so with
FASTMSSQL_TEST_URL set the same tests run against a real SQL Server and leave nothing behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .clients import ClientAdapter


def _execute(conn: Any, sql: str) -> int:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
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


def _error(adapter: ClientAdapter, conn: Any, sql: str, number: int, text: str) -> None:
    """`sql` fails with SQL Server's error `number` (checked where the client exposes it) and `text`."""
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _rows(conn, sql)
    if adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == number, str(caught.value)
    assert text in str(caught.value) or adapter.name == "pymssql", str(caught.value)


def test_arithmetic_types_and_values(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    row = _rows(
        conn,
        "SELECT 7 / 2, -7 % 3, 1 + 2 * 3, 1.0 / 4, CAST(5 AS decimal(5,2)) + 10, $1.50 * 2, "
        "N'ab' + 'c', 1.5E0 / 2",
    )
    assert row == [(3, -1, 7, Decimal("0.250000000000"), Decimal("15.00"), Decimal("3.0000"), "abc", 0.75)]


def test_divide_by_zero_and_overflow(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _error(adapter, conn, "SELECT 1 / 0", 8134, "Divide by zero error encountered.")
    _error(adapter, conn, "SELECT 2147483647 + 1", 8115, "Arithmetic overflow error converting expression to data type int.")
    _execute(conn, "CREATE TABLE #arith (id int PRIMARY KEY, v int, d int)")
    assert _execute(conn, "INSERT INTO #arith VALUES (1, 10, 2), (2, 20, 0)") == 2
    assert _execute(conn, "UPDATE #arith SET v = v + 1") == 2
    assert _rows(conn, "SELECT v / d FROM #arith WHERE id = 1") == [(5,)]
    _error(adapter, conn, "SELECT v / d FROM #arith WHERE id = 2", 8134, "Divide by zero error encountered.")
    assert _rows(conn, "SELECT id, v FROM #arith ORDER BY id") == [(1, 11), (2, 21)]
    _execute(conn, "DROP TABLE #arith")


def test_variables_in_batches(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    assert _rows(conn, "SET NOCOUNT ON; DECLARE @x int = 5, @s varchar(3) = 'abcdef'; SET @x += 2; SELECT @x * 2, @s") == [
        (14, "abc")
    ]
    rows = _rows(
        conn,
        "SET NOCOUNT ON; CREATE TABLE #vars (k int, v nvarchar(10)); DECLARE @k int = 3; "
        "INSERT INTO #vars VALUES (@k, N'three'), (@k + 1, N'four'); SELECT v FROM #vars WHERE k = @k; DROP TABLE #vars",
    )
    assert rows == [("three",)]


def test_query_features(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _execute(
        conn,
        "SET NOCOUNT ON; CREATE TABLE #emp (id int PRIMARY KEY, name varchar(20), dept int NULL, salary int); "
        "CREATE TABLE #dept (id int PRIMARY KEY, title varchar(20)); "
        "INSERT INTO #emp VALUES (1, 'Alice', 10, 100), (2, 'bob', 10, 80), (3, 'Carol', 20, 120), (4, 'dave_x', NULL, 90), (5, 'Eve', 30, 80); "
        "INSERT INTO #dept VALUES (10, 'Sales'), (20, 'R&D'), (40, 'Empty')",
    )
    try:
        assert _rows(conn, "SELECT id FROM #emp WHERE name LIKE '[ab]%' ORDER BY id") == [(1,), (2,)]
        assert _rows(conn, "SELECT id FROM #emp WHERE name LIKE '%!_%' ESCAPE '!'") == [(4,)]
        assert _rows(conn, "SELECT id FROM #emp WHERE dept IN (10, 30) AND salary BETWEEN 80 AND 90 ORDER BY id") == [(2,), (5,)]
        assert _rows(conn, "SELECT DISTINCT salary FROM #emp ORDER BY salary") == [(80,), (90,), (100,), (120,)]
        assert _rows(conn, "SELECT dept, COUNT(*) FROM #emp GROUP BY dept HAVING COUNT(*) > 1") == [(10, 2)]
        assert _rows(conn, "SELECT dept FROM #emp UNION SELECT id FROM #dept ORDER BY 1") == [
            (None,), (10,), (20,), (30,), (40,)
        ]
        assert _rows(conn, "SELECT id FROM #emp ORDER BY salary DESC, id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY") == [(1,), (4,)]
        assert _rows(
            conn, "SELECT e.name, d.title FROM #emp AS e INNER JOIN #dept d ON e.dept = d.id WHERE d.id = 10 ORDER BY e.id"
        ) == [("Alice", "Sales"), ("bob", "Sales")]
        assert _rows(
            conn,
            "SELECT d.title, COUNT(e.id) FROM #dept d LEFT JOIN #emp e ON e.dept = d.id GROUP BY d.title ORDER BY d.title",
        ) == [("Empty", 0), ("R&D", 1), ("Sales", 2)]
    finally:
        _execute(conn, "DROP TABLE #emp; DROP TABLE #dept")


def test_set_operations_and_grouped_select_lists(client_conn: tuple[ClientAdapter, Any]) -> None:
    """UNION [ALL] with or without tables, typed by data type precedence and named by the first
    query; EXCEPT/INTERSECT as the example of SQL Server's "Performing Semi-Joins with EXCEPT and
    INTERSECT"; beside aggregates, what is not a column of the FROM tables (8120 is for those)."""
    adapter, conn = client_conn
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT 3 AS d UNION ALL SELECT 4")
        assert [tuple(r) for r in cursor.fetchall()] == [(3,), (4,)]
        assert cursor.description[0][0] == "d"
    finally:
        cursor.close()
    # int (decimal(10,0)) with numeric(2,1) makes numeric(11,1)
    assert _rows(conn, "SELECT 1 AS a UNION ALL SELECT 2.5") == [(Decimal("1.0"),), (Decimal("2.5"),)]
    assert _rows(conn, "SELECT 3 AS d UNION SELECT 3 UNION SELECT 1 ORDER BY d DESC") == [(3,), (1,)]
    _execute(
        conn,
        "SET NOCOUNT ON; CREATE TABLE #ta (col1 int NULL); CREATE TABLE #tb (col1 int NULL); "
        "CREATE TABLE #tc (col1 int NULL); "
        "INSERT INTO #ta VALUES (NULL), (NULL), (NULL), (1), (2), (2), (2), (3), (4), (4); "
        "INSERT INTO #tb VALUES (NULL), (1), (3), (4), (4); INSERT INTO #tc VALUES (2), (2), (2), (4), (4)",
    )
    try:
        assert _rows(conn, "SELECT * FROM #ta EXCEPT SELECT * FROM #tb") == [(2,)]
        assert _rows(conn, "SELECT * FROM #ta INTERSECT SELECT * FROM #tb ORDER BY col1") == [(None,), (1,), (3,), (4,)]
        assert _rows(
            conn, "SELECT * FROM #ta EXCEPT SELECT * FROM #tb INTERSECT SELECT * FROM #tc ORDER BY col1"
        ) == [(None,), (1,), (2,), (3,)]
        assert _rows(conn, "SELECT col1 FROM #tb UNION ALL SELECT 7 ORDER BY 1 DESC") == [
            (7,), (4,), (4,), (3,), (1,), (None,)
        ]
        assert _rows(conn, "SELECT COUNT(*) AS n, @@TRANCOUNT AS t, 'k' FROM #ta") == [(10, 0, "k")]
        assert _rows(conn, "SELECT ISNULL(SUM(col1), -1) * 2, COUNT(*) + 1 FROM #ta WHERE col1 > 100") == [(-2, 1)]
        assert _rows(conn, "SELECT col1, COUNT(*) * 10 FROM #ta GROUP BY col1 HAVING COUNT(*) > 1 ORDER BY col1") == [
            (None, 30), (2, 30), (4, 20)
        ]
        _error(
            adapter,
            conn,
            "SELECT col1, COUNT(*) FROM #ta",
            8120,
            "is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.",
        )
    finally:
        _execute(conn, "DROP TABLE #ta; DROP TABLE #tb; DROP TABLE #tc")


def test_unique_index_and_null_keys(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _execute(conn, "CREATE TABLE #uq (id int PRIMARY KEY, code varchar(10) NULL UNIQUE, other int NULL)")
    try:
        _execute(conn, "CREATE UNIQUE NONCLUSTERED INDEX ix_other ON #uq (other)")
        assert _execute(conn, "INSERT INTO #uq VALUES (1, NULL, NULL)") == 1
        # one NULL per unique key: a second is a duplicate
        _error(adapter, conn, "INSERT INTO #uq VALUES (2, NULL, 5)", 2627, "Violation of UNIQUE KEY constraint")
        _error(adapter, conn, "INSERT INTO #uq VALUES (3, 'x', NULL)", 2601, "with unique index 'ix_other'")
        assert _execute(conn, "INSERT INTO #uq VALUES (4, 'y', 7)") == 1
        _error(adapter, conn, "UPDATE #uq SET other = 7 WHERE id = 1", 2601, "The duplicate key value is (7).")
        _execute(conn, "DROP INDEX ix_other ON #uq")
        assert _execute(conn, "INSERT INTO #uq VALUES (5, 'z', 7)") == 1
        assert _rows(conn, "SELECT id FROM #uq ORDER BY id") == [(1,), (4,), (5,)]
    finally:
        _execute(conn, "DROP TABLE #uq")


def test_raiserror_and_throw(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _error(adapter, conn, "RAISERROR('failed on %s', 16, 1, N'purpose')", 50000, "failed on purpose")
    _error(adapter, conn, "THROW 50001, N'custom failure', 1", 50001, "custom failure")
    assert _rows(conn, "SELECT 1") == [(1,)], "the connection is usable after the errors"


def test_describe_first_result_set(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    rows = _rows(
        conn,
        "EXEC sp_describe_first_result_set N'SELECT CAST(1 AS decimal(5,2)) * 2 AS p, N''ab'' AS s, @x AS x', N'@x bigint'",
    )
    # column_ordinal, name, system_type_id, system_type_name, max_length, precision, scale
    assert [r[1:3] + r[4:9] for r in rows] == [
        (1, "p", 106, "decimal(16,2)", 9, 16, 2),
        (2, "s", 231, "nvarchar(2)", 4, 0, 0),
        (3, "x", 127, "bigint", 8, 19, 0),
    ]
