"""Issue 10: T-SQL batch control flow, messages, TRY...CATCH, stored procedures, views and dynamic SQL,
read by the three independent clients.

Expected values are SQL Server's documented behaviour. Objects other than #temp tables get names unique to
the client and are dropped again, so with FASTMSSQL_TEST_URL set the same tests run against a real SQL
Server and leave nothing behind.
"""

from __future__ import annotations

from typing import Any

import pytest

from .batches import execute as _execute
from .batches import result_sets as _result_sets
from .batches import rows as _rows
from .clients import ClientAdapter


def _error(adapter: ClientAdapter, conn: Any, sql: str, number: int, text: str) -> None:
    """`sql` fails with SQL Server's error `number` (checked where the client exposes it) and `text`."""
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _result_sets(conn, sql)
    if adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == number, str(caught.value)
    assert text in str(caught.value) or adapter.name == "pymssql", str(caught.value)


def _name(adapter: ClientAdapter, base: str) -> str:
    """An object name of this test and client."""
    return f"cf_{base}_{adapter.name}"


def test_drop_if_exists_idiom(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table = _name(adapter, "idiom")
    setup = f"IF OBJECT_ID('{table}') IS NOT NULL DROP TABLE {table}; CREATE TABLE {table} (id int PRIMARY KEY)"
    try:
        # the setup line of countless scripts runs as often as wanted
        _execute(conn, setup)
        _execute(conn, f"INSERT INTO {table} VALUES (1)")
        _execute(conn, setup)
        assert _rows(conn, f"SELECT COUNT(*) FROM {table}") == [(0,)]
        temp_setup = "IF OBJECT_ID('tempdb..#idiom') IS NOT NULL DROP TABLE #idiom; CREATE TABLE #idiom (v int)"
        _execute(conn, temp_setup)
        _execute(conn, temp_setup)
        assert _rows(conn, "SELECT CASE WHEN OBJECT_ID('tempdb..#idiom') IS NULL THEN 0 ELSE 1 END") == [(1,)]
        _execute(conn, f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {table}")
        assert _rows(conn, f"SELECT OBJECT_ID('{table}')") == [(None,)]
    finally:
        _execute(conn, f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS #idiom")


def test_if_else_while_break_continue(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    rows = _rows(
        conn,
        """SET NOCOUNT ON
        DECLARE @i int = 0, @sum int = 0, @log varchar(50) = ''
        WHILE @i < 10
        BEGIN
            SET @i += 1
            IF @i % 2 = 0 CONTINUE
            IF @i > 7 BREAK
            SET @sum += @i
            SET @log = @log + CAST(@i AS varchar(2)) + ','
        END
        IF @sum = 16 AND @log LIKE '1,3,5,7,%'
            SELECT 'yes' AS answer, @i AS i, @sum AS total, @log AS log
        ELSE
            SELECT 'no', @i, @sum, @log""",
    )
    assert rows == [("yes", 9, 16, "1,3,5,7,")]


def test_if_exists_and_nested_blocks(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _execute(conn, "CREATE TABLE #ex (k int, v varchar(10)); INSERT INTO #ex VALUES (1, 'a'), (2, 'b')")
    try:
        sql = """SET NOCOUNT ON
            IF NOT EXISTS (SELECT * FROM #ex WHERE k = 3)
            BEGIN
                IF EXISTS (SELECT 1 FROM #ex WHERE v = 'B')
                BEGIN
                    INSERT INTO #ex VALUES (3, 'c')
                END
                ELSE INSERT INTO #ex VALUES (-1, 'none')
            END
            SELECT k, v FROM #ex ORDER BY k"""
        assert _rows(conn, sql) == [(1, "a"), (2, "b"), (3, "c")]
        # run again: k = 3 exists now, nothing is inserted
        assert _rows(conn, sql) == [(1, "a"), (2, "b"), (3, "c")]
    finally:
        _execute(conn, "DROP TABLE #ex")


def test_try_catch_error_functions(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    rows = _rows(
        conn,
        """SET NOCOUNT ON
        DECLARE @x int
        BEGIN TRY
            SET @x = 1 / 0
            SELECT 'not reached'
        END TRY
        BEGIN CATCH
            SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_SEVERITY(), ERROR_STATE(), ERROR_LINE(), @@ERROR
        END CATCH""",
    )
    assert rows == [(8134, "Divide by zero error encountered.", 16, 1, 4, 8134)]
    # outside a CATCH block the functions are NULL
    assert _rows(conn, "SELECT ERROR_NUMBER(), ERROR_MESSAGE()") == [(None, None)]
    # a RAISERROR of severity 11 or more is caught; its message keeps the arguments
    rows = _rows(
        conn,
        "BEGIN TRY RAISERROR('bad %s %d', 16, 2, N'thing', 7) END TRY "
        "BEGIN CATCH SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_STATE() END CATCH",
    )
    assert rows == [(50000, "bad thing 7", 2)]


def test_throw_rethrows_in_catch(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _error(
        adapter,
        conn,
        "BEGIN TRY THROW 50123, N'first failure', 3 END TRY BEGIN CATCH THROW END CATCH",
        50123,
        "first failure",
    )
    # the error ended the batch: nothing after it ran, and the connection is usable
    assert _rows(conn, "SELECT 1") == [(1,)]


def _print_messages(adapter: ClientAdapter, conn: Any, sql: str) -> list[str]:
    """The informational messages (PRINT) `sql` produces, as each client hands them over."""
    if adapter.name == "pymssql":
        received: list[bytes] = []
        # (msgstate, severity, srvname, procname, line, msgtext): only messages of severity 0
        conn._conn.set_msghandler(lambda state, severity, *rest: received.append(rest[-1]) if severity == 0 else None)
        _result_sets(conn, sql)
        conn._conn.set_msghandler(None)
        return [m.decode() for m in received]
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        texts = []
        while True:
            if adapter.name == "mssql_python":
                # (SQLSTATE and native error, text): 01000 and 0 for PRINT
                texts += [text.rsplit("]", 1)[-1] for state, text in cursor.messages if state == "[01000] (0)"]
            if not cursor.nextset():
                break
        if adapter.name == "pytds":
            # pytds keeps INFO messages as (class, exception) with the message number in msg_no
            texts = [exc.args[0] for _, exc in cursor.messages if exc.msg_no == 0]
        return texts
    finally:
        cursor.close()


def test_print_is_an_informational_message(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    messages = _print_messages(adapter, conn, "PRINT 'hello'; DECLARE @n int = 41; PRINT @n + 1; SELECT 1")
    assert messages == ["hello", "42"]


def test_procedure_with_defaults_output_and_return(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    proc = _name(adapter, "scale")
    _execute(
        conn,
        f"""CREATE PROCEDURE {proc} @a int, @factor int = 10, @result int OUTPUT, @note nvarchar(20) = N'none' OUTPUT
        AS
        BEGIN
            SET NOCOUNT ON
            SET @result = @a * @factor
            SET @note = @note + N'!'
            IF @result > 100 RETURN 2
            RETURN 1
        END""",
    )
    try:
        rows = _rows(
            conn,
            f"""SET NOCOUNT ON
            DECLARE @r int, @s1 int, @s2 int, @n nvarchar(20) = N'hi'
            EXEC @s1 = {proc} 3, @result = @r OUTPUT
            DECLARE @first int = @r
            EXEC @s2 = {proc} @a = 20, @factor = DEFAULT, @result = @r OUTPUT, @note = @n OUTPUT
            SELECT @first, @s1, @r, @s2, @n""",
        )
        assert rows == [(30, 1, 200, 2, "hi!")]
        _error(
            adapter,
            conn,
            f"EXEC {proc}",
            201,
            f"Procedure or function '{proc}' expects parameter '@a', which was not supplied.",
        )
        _error(adapter, conn, f"EXEC {proc} 1, 2, 3, N'x', 5", 8144, "has too many arguments specified.")
        # the definition is in the catalog
        assert _rows(conn, f"SELECT type, OBJECTPROPERTY(object_id, 'IsProcedure') FROM sys.objects WHERE name = '{proc}'") == [
            ("P ", 1)
        ]
        assert f"CREATE PROCEDURE {proc}" in _rows(conn, f"SELECT OBJECT_DEFINITION(OBJECT_ID('{proc}'))")[0][0]
    finally:
        _execute(conn, f"DROP PROCEDURE IF EXISTS {proc}")
    _error(adapter, conn, f"EXEC {proc} 1", 2812, f"Could not find stored procedure '{proc}'.")


def test_procedure_result_sets_and_caught_errors(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    proc = _name(adapter, "sets")
    _execute(conn, f"CREATE PROCEDURE {proc} AS SELECT 1 AS a; SELECT 'two' AS b; RAISERROR('inside', 16, 1)")
    try:
        with pytest.raises(adapter.module().DatabaseError) as caught:
            _result_sets(conn, f"EXEC {proc}")
        assert adapter.name == "pymssql" or "inside" in str(caught.value)
        # an error in a procedure called in a TRY block goes to its CATCH block, which names the procedure
        sets = _result_sets(
            conn, f"BEGIN TRY EXEC {proc} END TRY BEGIN CATCH SELECT ERROR_PROCEDURE(), ERROR_MESSAGE() END CATCH"
        )
        assert sets == [[(1,)], [("two",)], [(proc, "inside")]]
    finally:
        _execute(conn, f"DROP PROCEDURE {proc}")


def test_procedure_called_by_rpc(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    if adapter.name == "mssql_python":
        pytest.skip("mssql-python has no callproc")
    proc = _name(adapter, "rpc")
    # without result sets: both clients read the OUTPUT parameters as the call returns
    _execute(conn, f"CREATE PROCEDURE {proc} @a int, @b int OUTPUT AS BEGIN SET NOCOUNT ON; SET @b = @a * 2 + 1; RETURN 5 END")
    try:
        cursor = conn.cursor()
        module = adapter.module()
        if adapter.name == "pytds":
            assert cursor.callproc(proc, (7, module.output(value=10, param_type="int"))) == [7, 15]
            assert cursor.get_proc_return_status() == 5
        else:
            assert cursor.callproc(proc, (7, module.output(int))) == (7, 15)
        cursor.close()
    finally:
        _execute(conn, f"DROP PROCEDURE {proc}")


def test_views(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    table, view = _name(adapter, "vt"), _name(adapter, "v")
    _execute(conn, f"CREATE TABLE {table} (id int PRIMARY KEY, amount int)")
    try:
        _execute(conn, f"INSERT INTO {table} VALUES (1, 10), (2, 20), (3, 30)")
        _execute(conn, f"CREATE VIEW {view} AS SELECT id, amount * 2 AS doubled FROM {table} WHERE amount > 10")
        assert _rows(conn, f"SELECT id, doubled FROM {view} ORDER BY id") == [(2, 40), (3, 60)]
        assert _rows(conn, f"SELECT TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = '{view}'") == [("VIEW",)]
        _execute(conn, f"CREATE OR ALTER VIEW {view} AS SELECT COUNT(*) AS n FROM {table}")
        assert _rows(conn, f"SELECT n FROM {view}") == [(3,)]
        _error(adapter, conn, f"CREATE VIEW {view} AS SELECT 1 AS one", 2714, f"There is already an object named '{view}' in the database.")
        _execute(conn, f"DROP VIEW {view}")
        _execute(conn, f"DROP VIEW IF EXISTS {view}")
        _error(adapter, conn, f"DROP VIEW {view}", 3701, f"Cannot drop the view '{view}', because it does not exist or you do not have permission.")
    finally:
        _execute(conn, f"DROP VIEW IF EXISTS {view}; DROP TABLE IF EXISTS {table}")


def test_definition_must_start_its_batch(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    _error(
        adapter,
        conn,
        f"SELECT 1\nCREATE PROCEDURE {_name(adapter, 'late')} AS SELECT 1",
        111,
        "'CREATE PROCEDURE' must be the first statement in a query batch.",
    )


def test_dynamic_sql(client_conn: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = client_conn
    assert _rows(conn, "DECLARE @t nvarchar(20) = N'answer'; EXEC (N'SELECT 42 AS ' + @t)") == [(42,)]
    rows = _rows(
        conn,
        """SET NOCOUNT ON
        DECLARE @r int, @names nvarchar(100)
        EXEC sp_executesql N'SET @out = @in * 2', N'@in int, @out int OUTPUT', @in = 21, @out = @r OUTPUT
        CREATE TABLE #names (n nvarchar(10))
        INSERT INTO #names VALUES (N'a'), (N'b'), (N'c')
        -- a variable assigned row by row accumulates
        SELECT @names = COALESCE(@names + N', ', N'') + n FROM #names ORDER BY n
        SELECT @r, @names
        DROP TABLE #names""",
    )
    assert rows == [(42, "a, b, c")]
