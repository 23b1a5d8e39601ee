"""OLTP: transactions and savepoints on pinned pooled connections, session reset between pool users,
statement batches in one request, stored procedures, server messages, timeouts and cancellation that
keep the connection in step with the server."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
import warnings
from collections.abc import AsyncIterator

import pytest

import fastmssql
from fastmssql import Connection, PoolConfig, ProgrammingError, QueryTimeoutError

from .proxy import is_encrypted, proxied
from .support import bounded


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def table(conn: Connection) -> AsyncIterator[str]:
    """A permanent two-column table (id int primary key, balance int), dropped afterwards."""
    name = unique("oltp")
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, balance int NOT NULL)"))
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE {name}"))


async def balances(conn: Connection, table: str) -> dict[int, int]:
    result = await bounded(conn.query(f"SELECT id, balance FROM {table} ORDER BY id"))
    return {row["id"]: row["balance"] for row in result.rows()}


async def until_idle(conn: Connection, expected: int, timeout: float = 10.0) -> dict:
    """Pool stats once `expected` connections are idle (sessions return in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = conn.pool_stats()
        if stats["idle_connections"] == expected or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------


async def test_a_failed_transfer_leaves_both_rows_unchanged(conn: Connection, table: str) -> None:
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (1, 100), (2, 50)"))
    with pytest.raises(fastmssql.IntegrityError):
        async with conn.transaction() as tx:
            assert await tx.execute(f"UPDATE {table} SET balance = balance - 30 WHERE id = 1") == 1
            # The credit fails: a duplicate key.
            await tx.execute(f"INSERT INTO {table} VALUES (1, 30)")
    assert await balances(conn, table) == {1: 100, 2: 50}


async def test_a_transaction_commits_every_statement_on_exit(conn: Connection, table: str) -> None:
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (1, 100), (2, 50)"))
    async with conn.transaction(isolation_level="SERIALIZABLE") as tx:
        await tx.execute(f"UPDATE {table} SET balance = balance - 30 WHERE id = 1")
        await tx.execute(f"UPDATE {table} SET balance = balance + 30 WHERE id = 2")
        # Inside, the transaction sees its own work; outside it is not committed yet.
        assert (await tx.query(f"SELECT balance FROM {table} WHERE id = 2")).rows()[0]["balance"] == 80
        assert tx.in_transaction
    assert await balances(conn, table) == {1: 70, 2: 80}


async def test_a_savepoint_rollback_keeps_the_earlier_statement(conn: Connection, table: str) -> None:
    async with conn.transaction() as tx:
        await tx.execute(f"INSERT INTO {table} VALUES (1, 10)")
        with pytest.raises(ZeroDivisionError):
            async with tx.savepoint():
                await tx.execute(f"INSERT INTO {table} VALUES (2, 20)")
                1 / 0
        await tx.execute(f"INSERT INTO {table} VALUES (3, 30)")
    assert await balances(conn, table) == {1: 10, 3: 30}


async def test_use_after_the_end_and_misuse_raise_clear_errors(conn: Connection) -> None:
    tx = conn.transaction()
    async with tx:
        pass
    with pytest.raises(ProgrammingError, match="ended"):
        await tx.query("SELECT 1")
    with pytest.raises(ProgrammingError, match="isolation level"):
        async with conn.transaction(isolation_level="sometimes"):
            pass
    async with conn.acquire() as session:
        with pytest.raises(ProgrammingError, match="no transaction is open"):
            await session.commit()
        await session.begin()
        with pytest.raises(ProgrammingError, match="already open"):
            await session.begin()
    with pytest.raises(ProgrammingError, match="ended"):
        await session.query("SELECT 1")


async def test_cancelling_a_task_inside_a_transaction_rolls_back(test_url: str) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=1, min_idle=1))
    name = unique("oltp_cancel")
    await bounded(connection.execute(f"CREATE TABLE {name} (id int)"))
    started = asyncio.Event()

    async def work() -> None:
        async with connection.transaction() as tx:
            await tx.execute(f"INSERT INTO {name} VALUES (1)")
            started.set()
            await tx.execute("WAITFOR DELAY '00:00:10'")

    try:
        task = asyncio.create_task(work())
        await bounded(started.wait())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The one pooled connection comes back, in step and outside any transaction.
        result = await bounded(connection.query(f"SELECT COUNT(*) AS n, @@TRANCOUNT AS t FROM {name}"))
        assert result.rows() == [{"n": 0, "t": 0}]
        stats = connection.pool_stats()
        assert (stats["connections_created"], stats["connections_closed_broken"]) == (1, 0)
    finally:
        await bounded(connection.execute(f"DROP TABLE {name}"))
        await bounded(connection.close())


async def test_the_0_7_7_transaction_class_begins_commits_and_rolls_back(test_url: str, conn: Connection, table: str) -> None:
    transaction = fastmssql.Transaction(test_url)
    try:
        await transaction.begin()
        await transaction.execute(f"INSERT INTO {table} VALUES (@P1, @P2)", [1, 5])
        await transaction.rollback()
        await transaction.begin()
        await transaction.execute(f"INSERT INTO {table} VALUES (@P1, @P2)", [2, 6])
        await transaction.commit()
    finally:
        await transaction.close()
    assert await balances(conn, table) == {2: 6}
    async with fastmssql.Transaction(test_url) as t:
        await t.execute(f"INSERT INTO {table} VALUES (3, 7)")
    assert await balances(conn, table) == {2: 6, 3: 7}


# ---------------------------------------------------------------------------
# Pooled sessions
# ---------------------------------------------------------------------------


async def test_temp_tables_and_set_options_do_not_leak_to_the_next_pool_user(test_url: str) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=1, min_idle=1))
    try:
        await bounded(connection.execute("CREATE TABLE #mine (id int); SET LOCK_TIMEOUT 1234"))
        result = await bounded(connection.query("SELECT @@LOCK_TIMEOUT AS lock_timeout, OBJECT_ID('tempdb..#mine') AS t"))
        assert result.rows() == [{"lock_timeout": -1, "t": None}]
        # Pinned, the state lasts between calls.
        async with connection.acquire() as session:
            await session.execute("CREATE TABLE #mine (id int); SET LOCK_TIMEOUT 1234")
            result = await session.query("SELECT @@LOCK_TIMEOUT AS lock_timeout, COUNT(*) AS n FROM #mine")
            assert result.rows() == [{"lock_timeout": 1234, "n": 0}]
        assert connection.pool_stats()["connections_created"] == 1
    finally:
        await bounded(connection.close())


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------


async def test_execute_batch_of_1000_inserts_is_one_request(test_url: str, conn: Connection, table: str) -> None:
    if is_encrypted(test_url):
        pytest.skip("counting requests needs a cleartext (Encrypt=no) session")
    with proxied(test_url) as (url, proxy):
        connection = Connection(url, pool_config=PoolConfig(max_size=1, min_idle=1))
        try:
            await bounded(connection.connect())
            before = proxy.counter.count()
            counts = await bounded(
                connection.execute_batch([(f"INSERT INTO {table} VALUES (@P1, @P2)", [i, i * 10]) for i in range(1000)])
            )
            assert proxy.counter.count() - before == 1
            assert counts == [1] * 1000
            total = await bounded(
                connection.executemany(f"UPDATE {table} SET balance = balance + 1 WHERE id >= @P1", [[998], [999], [5000]])
            )
            assert total == 3
        finally:
            await bounded(connection.close())
    rows = await balances(conn, table)
    assert len(rows) == 1000 and rows[999] == 9992 and rows[998] == 9981


async def test_an_atomic_batch_keeps_nothing_when_a_statement_fails(conn: Connection, table: str) -> None:
    statements = [(f"INSERT INTO {table} VALUES (@P1, 0)", [i]) for i in (1, 2, 2, 3)]
    with pytest.raises(fastmssql.IntegrityError, match="statement 3 of 4"):
        await bounded(conn.execute_batch(statements, atomic=True))
    assert await balances(conn, table) == {}
    # Without atomic=True each statement stands alone, as SQL Server runs the RPCs of a request.
    with pytest.raises(fastmssql.IntegrityError, match="statement 3 of 4"):
        await bounded(conn.execute_batch(statements))
    assert await balances(conn, table) == {1: 0, 2: 0, 3: 0}


async def test_query_batch_returns_every_statement_s_result(conn: Connection) -> None:
    results = await bounded(conn.query_batch(["SELECT 1 AS a", ("SELECT @P1 AS b, @P2 AS c", [2, "x"]), "SELECT 3 AS d UNION ALL SELECT 4"]))
    assert [r.rows() for r in results] == [[{"a": 1}], [{"b": 2, "c": "x"}], [{"d": 3}, {"d": 4}]]


# ---------------------------------------------------------------------------
# Stored procedures and messages
# ---------------------------------------------------------------------------


async def test_a_procedure_s_output_values_result_sets_and_return_status(conn: Connection) -> None:
    name = unique("oltp_proc")
    await bounded(
        conn.execute(
            f"CREATE PROCEDURE {name} @a int, @doubled int OUTPUT, @label nvarchar(20) OUTPUT AS "
            "BEGIN SELECT @a AS a; SET @doubled = @a * 2; SET @label = N'n=' + CAST(@a AS nvarchar(10)); RETURN 7 END"
        )
    )
    try:
        result = await bounded(conn.call_proc(name, {"a": 21}, output={"doubled": "int", "label": "nvarchar(20)"}))
        assert result.rows() == [{"a": 21}]
        assert result.output == {"doubled": 42, "label": "n=21"}
        assert result.return_status == 7
    finally:
        await bounded(conn.execute(f"DROP PROCEDURE {name}"))


async def test_print_reaches_result_messages_and_the_handler(test_url: str, conn: Connection) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await bounded(conn.query("PRINT 'hello'; SELECT 1 AS one"))
    assert result.rows() == [{"one": 1}]
    assert [(m.number, m.message, m.severity) for m in result.messages] == [(0, "hello", 0)]
    assert [str(w.message) for w in caught if issubclass(w.category, fastmssql.Warning)] == [
        "[SQL Server message 0] hello"
    ]
    received: list[fastmssql.Message] = []
    handled = Connection(test_url, message_handler=received.append)
    try:
        await bounded(handled.execute("PRINT 'to the handler'"))
    finally:
        await bounded(handled.close())
    assert [m.message for m in received] == ["to the handler"]


# ---------------------------------------------------------------------------
# Timeouts and cancellation
# ---------------------------------------------------------------------------


async def test_a_timeout_cancels_the_statement_and_keeps_the_connection(single_connection: Connection) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as raised:
        await bounded(single_connection.query("WAITFOR DELAY '00:00:05'", timeout=0.2))
    assert time.monotonic() - started < 1.0
    assert isinstance(raised.value, TimeoutError) and isinstance(raised.value, fastmssql.OperationalError)
    assert (await bounded(single_connection.query("SELECT 2 AS two"))).rows() == [{"two": 2}]
    stats = single_connection.pool_stats()
    assert (stats["connections_created"], stats["connections_closed_broken"]) == (1, 0)


async def test_a_connection_wide_command_timeout_applies_to_every_call(test_url: str) -> None:
    connection = Connection(test_url, command_timeout=0.3)
    try:
        with pytest.raises(QueryTimeoutError):
            await bounded(connection.execute("WAITFOR DELAY '00:00:03'"))
        # A call's own timeout wins.
        await bounded(connection.execute("WAITFOR DELAY '00:00:00.5'", timeout=5))
    finally:
        await bounded(connection.close())
    with pytest.raises(ValueError, match="positive"):
        Connection(test_url, command_timeout=0)


async def test_a_40_second_statement_without_timeout_succeeds(conn: Connection) -> None:
    result = await bounded(conn.query("WAITFOR DELAY '00:00:40'; SELECT 1 AS done"), timeout=90)
    assert result.rows() == [{"done": 1}]


async def test_an_abandoned_stream_is_cancelled_and_its_connection_reused(single_connection: Connection) -> None:
    pa = pytest.importorskip("pyarrow")
    name = unique("oltp_stream")
    await bounded(single_connection.execute(f"CREATE TABLE {name} (id int)"))
    try:
        await bounded(single_connection.bulk_insert(name, pa.table({"id": pa.array(range(400), pa.int32())})))
        # 160,000 rows: far more than the stream's channel holds, so the reader is mid-response.
        stream = await bounded(single_connection.stream(f"SELECT a.id * 1000 + b.id AS n FROM {name} a CROSS JOIN {name} b", batch_size=100))
        first = await bounded(stream.__anext__())
        assert len(first) == 100
        del stream, first
        assert (await bounded(single_connection.query("SELECT 3 AS three"))).rows() == [{"three": 3}]
        stats = await until_idle(single_connection, 1)
        assert (stats["connections_created"], stats["connections_closed_broken"]) == (1, 0)
    finally:
        await bounded(single_connection.execute(f"DROP TABLE {name}"))


async def test_random_cancellations_leave_no_wrong_result_and_no_leaked_connection(test_url: str) -> None:
    """1,000 tasks, 32 at a time, each asking for its own marker; a random third are cancelled mid-flight."""
    pool_size = 8
    connection = Connection(test_url, pool_config=PoolConfig(max_size=pool_size, min_idle=1))
    rng = random.Random(11)
    wrong: list[tuple[int, object]] = []
    limit = asyncio.Semaphore(32)

    async def ask(marker: int) -> None:
        async with limit:
            delay = rng.choice(["00:00:00", "00:00:00.010", "00:00:00.050"])
            result = await connection.query(f"WAITFOR DELAY '{delay}'; SELECT @P1 AS marker", [marker])
            if result.rows() != [{"marker": marker}]:
                wrong.append((marker, result.rows()))

    try:
        tasks = [asyncio.create_task(ask(i)) for i in range(1000)]
        cancelled = 0
        for task in tasks:
            if rng.random() < 0.33:
                await asyncio.sleep(rng.random() * 0.002)
                cancelled += task.cancel()
        outcomes = await bounded(asyncio.gather(*tasks, return_exceptions=True), timeout=120)
        errors = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
        assert errors == [] and wrong == []
        assert cancelled > 100
        stats = await until_idle(connection, stats_total := connection.pool_stats()["connections"])
        assert stats["idle_connections"] == stats_total <= pool_size
        for marker in range(20):
            result = await bounded(connection.query("SELECT @P1 AS marker", [marker]))
            assert result.rows() == [{"marker": marker}]
    finally:
        await bounded(connection.close())


# ---------------------------------------------------------------------------
# Connection settings the wire shows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("intent", ["ReadOnly", "ReadWrite"])
async def test_application_intent_and_packet_size_reach_the_wire(test_url: str, intent: str) -> None:
    if is_encrypted(test_url):
        pytest.skip("reading the login and the packets needs a cleartext (Encrypt=no) session")
    with proxied(test_url) as (url, proxy):
        connection = Connection(f"{url};ApplicationIntent={intent};Packet Size=512")
        try:
            # A request several times the packet size travels in packets of at most 512 bytes.
            result = await bounded(connection.query("SELECT @P1 AS text", ["x" * 3000]))
            assert result.rows() == [{"text": "x" * 3000}]
        finally:
            await bounded(connection.close())
    assert proxy.counter.read_only_intent() == (intent == "ReadOnly")
    assert 0 < proxy.counter.largest_packet <= 512
