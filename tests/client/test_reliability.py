"""Reliability under injected faults: a proxy between the client and the server (tests/client/proxy.py)
closes, cuts, black-holes and delays connections; the local server's fault hook sends malformed
responses; real row locks make deadlocks and lock timeouts. Every scenario ends with proof that the
same pool still works, and that a broken connection was discarded and replaced rather than reused.

The proxied tests read the pool's counters (`connections_created`, `connections_closed_broken`) to
tell a replaced connection from a reused one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from connection_strings import build_connection_string, parse_connection_string
from local_server import LocalServer

import fastmssql
from fastmssql import Connection, PoolConfig

from .proxy import TO_CLIENT, TO_SERVER, Proxy, is_encrypted, proxied
from .support import bounded, password_of, uses_real_server

local_only = pytest.mark.skipif(
    uses_real_server(), reason="needs the local test server (restarts it, or arms sp_fastmssql_fault)"
)

# A response far larger than any cut below: 100,000 UTF-16 characters.
BIG_TEXT = "0123456789" * 10_000


@pytest.fixture
def proxy(test_url: str) -> Iterator[tuple[str, Proxy]]:
    with proxied(test_url) as pair:
        yield pair


@pytest.fixture
async def through_proxy(proxy: tuple[str, Proxy]) -> AsyncIterator[tuple[Connection, Proxy]]:
    """A pool of one connection through the proxy, connected."""
    url, fault_proxy = proxy
    connection = Connection(url, pool_config=PoolConfig(max_size=1, min_idle=1))
    await bounded(connection.connect())
    try:
        yield connection, fault_proxy
    finally:
        fault_proxy.pass_through()
        await bounded(connection.close())


async def marker_round_trip(connection: Connection, marker: int) -> None:
    result = await bounded(connection.query("SELECT @P1 AS marker", [marker]))
    assert result.rows() == [{"marker": marker}]


async def until_created(connection: Connection, at_least: int, timeout: float = 10.0) -> dict:
    """Pool stats once `at_least` connections were created (the pool refills in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = connection.pool_stats()
        if stats["connections_created"] >= at_least or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------
# The connection breaks during a request
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_server_closing_mid_result_raises_and_the_connection_is_replaced(
    through_proxy: tuple[Connection, Proxy], how: str
) -> None:
    connection, fault_proxy = through_proxy
    await marker_round_trip(connection, 1)
    created = connection.pool_stats()["connections_created"]
    fault_proxy.cut_after(5000, TO_CLIENT, how)
    with pytest.raises(fastmssql.OperationalError) as raised:
        await bounded(connection.query("SELECT @P1 AS big", [BIG_TEXT]))
    assert raised.value.number is None, "a lost connection is not a server error"
    assert fault_proxy.faults_injected == 1
    fault_proxy.pass_through()
    await marker_round_trip(connection, 2)
    stats = connection.pool_stats()
    assert stats["connections_created"] == created + 1, stats
    assert stats["connections_closed_broken"] >= 1, stats


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_connection_cut_while_sending_a_request_raises_and_the_connection_is_replaced(
    through_proxy: tuple[Connection, Proxy], how: str
) -> None:
    connection, fault_proxy = through_proxy
    await marker_round_trip(connection, 1)
    fault_proxy.cut_after(3000, TO_SERVER, how)
    with pytest.raises(fastmssql.OperationalError):
        await bounded(connection.query("SELECT @P1 AS big", [BIG_TEXT]))
    fault_proxy.pass_through()
    await marker_round_trip(connection, 2)
    assert connection.pool_stats()["connections_closed_broken"] >= 1


async def test_black_holed_network_times_out_and_the_connection_is_discarded(
    through_proxy: tuple[Connection, Proxy],
) -> None:
    connection, fault_proxy = through_proxy
    await marker_round_trip(connection, 1)
    created = connection.pool_stats()["connections_created"]
    fault_proxy.black_hole()
    with pytest.raises(fastmssql.QueryTimeoutError) as raised:
        await bounded(connection.query("SELECT @P1 AS marker", [2], timeout=0.5))
    # The Attention cannot get through either: the connection is given up, not reused.
    assert "discarded" in str(raised.value), str(raised.value)
    fault_proxy.pass_through()
    await marker_round_trip(connection, 3)
    stats = connection.pool_stats()
    assert stats["connections_created"] == created + 1, stats
    assert stats["connections_closed_broken"] >= 1, stats


async def test_a_slow_network_delays_but_never_corrupts_results(through_proxy: tuple[Connection, Proxy]) -> None:
    connection, fault_proxy = through_proxy
    fault_proxy.delay(0.05)
    fault_proxy.throttle(200_000)
    result = await bounded(connection.query("SELECT @P1 AS big, @P2 AS marker", [BIG_TEXT, 7]))
    assert result.rows() == [{"big": BIG_TEXT, "marker": 7}]
    # A timeout shorter than the slow network: cancelled, and the connection comes back in step.
    with pytest.raises(fastmssql.QueryTimeoutError):
        await bounded(connection.query("WAITFOR DELAY '00:00:02'; SELECT 1 AS one", timeout=0.3))
    fault_proxy.pass_through()
    await marker_round_trip(connection, 8)


# ---------------------------------------------------------------------------
# The server goes away while the pool is idle
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_connections_closed_while_idle_are_replaced_at_checkout_without_an_error(
    proxy: tuple[str, Proxy], how: str
) -> None:
    url, fault_proxy = proxy
    connection = Connection(url, pool_config=PoolConfig(max_size=3, min_idle=3))
    try:
        await bounded(connection.connect())
        await marker_round_trip(connection, 1)
        created = (await until_created(connection, 3))["connections_created"]
        assert fault_proxy.close_connections(how) >= 1
        await asyncio.sleep(0.2)
        # Every pooled connection is dead; the caller never sees it.
        for marker in range(2, 12):
            await marker_round_trip(connection, marker)
        assert connection.pool_stats()["connections_created"] > created
    finally:
        await bounded(connection.close())


@local_only
async def test_server_restarted_while_the_pool_is_idle_reconnects_once_without_an_error(test_url: str) -> None:
    first = LocalServer(encrypt="off")
    first.start()
    second: LocalServer | None = None
    fault_proxy = Proxy((first.host, first.port))
    settings = parse_connection_string(first.connection_string())
    url = build_connection_string({**settings, "server": f"127.0.0.1,{fault_proxy.port}"})
    connection = Connection(url, pool_config=PoolConfig(max_size=2, min_idle=2))
    try:
        await bounded(connection.connect())
        await marker_round_trip(connection, 1)
        before = await until_created(connection, 2)
        # The restart: the old process exits (its connections end), a new one listens behind the
        # same address.
        second = LocalServer(encrypt="off")
        second.start()
        fault_proxy.retarget((second.host, second.port))
        first.stop()
        await asyncio.sleep(0.3)
        for marker in range(2, 6):
            await marker_round_trip(connection, marker)
        after = connection.pool_stats()
        assert after["connections_created"] > before["connections_created"], (before, after)
        assert after["connections"] <= 2
    finally:
        await bounded(connection.close())
        fault_proxy.close()
        first.stop()
        if second is not None:
            second.stop()


# ---------------------------------------------------------------------------
# Logging in
# ---------------------------------------------------------------------------


async def test_failed_login_is_reported_and_a_good_pool_is_unaffected(test_url: str, conn: Connection) -> None:
    pairs = {k: v for k, v in parse_connection_string(test_url).items() if k not in ("password", "pwd")}
    pairs["password"] = password_of(test_url) + "-wrong"
    with pytest.raises(fastmssql.OperationalError) as raised:
        await bounded(Connection(build_connection_string(pairs)).connect())
    assert raised.value.number == 18456
    await marker_round_trip(conn, 1)


@pytest.mark.parametrize("fault", ["never_answer", "close_at_once"])
async def test_a_server_that_never_answers_or_hangs_up_fails_the_login_within_connect_timeout(
    proxy: tuple[str, Proxy], fault: str
) -> None:
    url, fault_proxy = proxy
    if fault == "never_answer":
        fault_proxy.never_answer()
    else:
        fault_proxy.cut_after(0, TO_CLIENT, "rst")
    started = time.monotonic()
    with pytest.raises(fastmssql.OperationalError) as raised:
        await bounded(Connection(f"{url};Connect Timeout=2").connect())
    assert "cannot connect" in str(raised.value), str(raised.value)
    # The Connect Timeout, not the 30 s default of the pool, bounds the wait.
    assert time.monotonic() - started < 15
    fault_proxy.pass_through()
    connection = Connection(url)
    try:
        await marker_round_trip(connection, 1)
    finally:
        await bounded(connection.close())


async def test_transient_connect_failures_are_retried_only_when_configured(proxy: tuple[str, Proxy]) -> None:
    """ConnectRetryCount/ConnectRetryInterval (as ODBC and SqlClient): without them a connect whose
    connections are reset fails; with them the attempts are repeated after the interval."""
    url, fault_proxy = proxy
    # With Encrypt=no an attempt the server hangs up on is made once more with TLS (as ODBC's
    # Encrypt=no): two connections per failed attempt.
    per_attempt = 1 if is_encrypted(url) else 2
    fault_proxy.reset_next(per_attempt)
    with pytest.raises(fastmssql.OperationalError, match="cannot connect"):
        await bounded(Connection(url).connect())
    assert fault_proxy.accepted == per_attempt

    fault_proxy.reset_next(2 * per_attempt)
    started = time.monotonic()
    # No background replenishment (min_idle=0): the proxy counts the attempts of one connection.
    connection = Connection(
        f"{url};ConnectRetryCount=2;ConnectRetryInterval=1", pool_config=PoolConfig(max_size=1, min_idle=0)
    )
    try:
        await bounded(connection.connect())
        assert fault_proxy.accepted == per_attempt + 2 * per_attempt + 1
        assert time.monotonic() - started >= 2  # two intervals of 1 s
        await marker_round_trip(connection, 1)
    finally:
        await bounded(connection.close())

    before = fault_proxy.accepted
    fault_proxy.reset_next(3 * per_attempt)
    with pytest.raises(fastmssql.OperationalError, match="cannot connect"):
        await bounded(Connection(f"{url};ConnectRetryCount=2;ConnectRetryInterval=1").connect())
    assert fault_proxy.accepted == before + 3 * per_attempt


async def test_a_refused_login_is_not_retried(test_url: str, proxy: tuple[str, Proxy]) -> None:
    url, fault_proxy = proxy
    pairs = {k: v for k, v in parse_connection_string(url).items() if k not in ("password", "pwd")}
    pairs["password"] = password_of(test_url) + "-wrong"
    pairs["ConnectRetryCount"] = "3"
    pairs["ConnectRetryInterval"] = "1"
    with pytest.raises(fastmssql.OperationalError) as raised:
        await bounded(Connection(build_connection_string(pairs)).connect())
    assert raised.value.number == 18456
    assert fault_proxy.accepted == 1


# ---------------------------------------------------------------------------
# The pool is exhausted
# ---------------------------------------------------------------------------


async def test_checkout_timeout_while_every_connection_is_busy_is_its_own_clear_error(test_url: str) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=2, min_idle=1, connection_timeout_secs=1))
    try:
        async with connection.acquire() as first, connection.acquire() as second:
            await first.query("SELECT 1 AS one")
            await second.query("SELECT 2 AS two")
            started = time.monotonic()
            with pytest.raises(fastmssql.OperationalError) as raised:
                await bounded(connection.query("SELECT 3 AS three"))
            waited = time.monotonic() - started
        message = str(raised.value)
        assert message.startswith("no pooled connection became free within 1 s (all 2 in use)"), message
        assert not isinstance(raised.value, fastmssql.QueryTimeoutError), "no statement ran, none timed out"
        assert waited >= 0.9, waited
        # Both sessions released: the pool serves again.
        await marker_round_trip(connection, 4)
        assert connection.pool_stats()["connections_closed_broken"] == 0
    finally:
        await bounded(connection.close())


# ---------------------------------------------------------------------------
# Lock conflicts
# ---------------------------------------------------------------------------


@pytest.fixture
async def accounts(conn: Connection) -> AsyncIterator[str]:
    name = f"fm_locks_{uuid.uuid4().hex[:10]}"
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, balance int NOT NULL)"))
    await bounded(conn.execute(f"INSERT INTO {name} VALUES (1, 100), (2, 100)"))
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE {name}"))


async def test_deadlock_victim_1205_and_lock_timeout_1222_are_distinguishable_operational_errors(
    test_url: str, accounts: str
) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=4, min_idle=2))
    try:
        # A lock timeout: the row is held by an open transaction.
        async with connection.transaction() as holder:
            await holder.execute(f"UPDATE {accounts} SET balance = balance + 1 WHERE id = 1")
            async with connection.acquire() as waiter:
                await waiter.execute("SET LOCK_TIMEOUT 200")
                with pytest.raises(fastmssql.OperationalError) as timed_out:
                    await bounded(waiter.execute(f"UPDATE {accounts} SET balance = 0 WHERE id = 1"))
        assert timed_out.value.number == 1222, str(timed_out.value)

        # A deadlock: each transaction holds the row the other one needs.
        holding: list[int] = []
        both_hold = asyncio.Event()

        async def transfer(first: int, second: int) -> None:
            async with connection.transaction() as tx:
                await tx.execute(f"UPDATE {accounts} SET balance = balance - 10 WHERE id = @P1", [first])
                holding.append(first)
                if len(holding) == 2:
                    both_hold.set()
                await both_hold.wait()
                await tx.execute(f"UPDATE {accounts} SET balance = balance + 10 WHERE id = @P1", [second])

        outcomes = await bounded(asyncio.gather(transfer(1, 2), transfer(2, 1), return_exceptions=True))
        victims = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(victims) == 1, outcomes
        assert isinstance(victims[0], fastmssql.OperationalError) and victims[0].number == 1205, repr(victims[0])
        assert not isinstance(victims[0], fastmssql.QueryTimeoutError)
        # The survivor's transfer committed whole; the victim's was rolled back whole.
        balances = await bounded(connection.query(f"SELECT id, balance FROM {accounts} ORDER BY id"))
        # Row 1 starts at 101 (the holder's committed +1), row 2 at 100.
        survivor_moved = {(1, 2): {1: 91, 2: 110}, (2, 1): {1: 111, 2: 90}}
        assert {row["id"]: row["balance"] for row in balances.rows()} in survivor_moved.values(), balances.rows()
        await marker_round_trip(connection, 1)
        assert connection.pool_stats()["connections_closed_broken"] == 0
    finally:
        await bounded(connection.close())


# ---------------------------------------------------------------------------
# Malformed responses
# ---------------------------------------------------------------------------


@local_only
@pytest.mark.parametrize("malformation", ["absurd_length", "unknown_token", "truncated_token", "bad_packet_header"])
async def test_malformed_response_raises_and_the_connection_is_discarded(
    single_connection: Connection, malformation: str
) -> None:
    connection = single_connection
    await marker_round_trip(connection, 1)
    created = connection.pool_stats()["connections_created"]
    await bounded(connection.execute(f"EXEC sp_fastmssql_fault @malformed = N'{malformation}'"))
    with pytest.raises(fastmssql.OperationalError) as raised:
        await bounded(connection.query("SELECT 1 AS one"))
    assert not isinstance(raised.value, fastmssql.InternalError), "a malformed response is not a client bug"
    assert raised.value.number is None
    await marker_round_trip(connection, 2)
    stats = await until_created(connection, created + 1)
    assert stats["connections_created"] == created + 1, stats


@local_only
async def test_invalid_utf16_in_a_value_is_a_data_error_and_the_connection_stays(single_connection: Connection) -> None:
    connection = single_connection
    await marker_round_trip(connection, 1)
    created = connection.pool_stats()["connections_created"]
    await bounded(connection.execute("EXEC sp_fastmssql_fault @malformed = N'invalid_utf16'"))
    with pytest.raises(fastmssql.DataError) as raised:
        await bounded(connection.query("SELECT 1 AS one"))
    assert "v" in str(raised.value), "the message names the column"
    # Well-formed TDS read to its end: the same connection goes on.
    await marker_round_trip(connection, 2)
    stats = connection.pool_stats()
    assert (stats["connections_created"], stats["connections_closed_broken"]) == (created, 0), stats
