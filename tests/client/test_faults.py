"""The client under network adversity: faults armed on one connection of the local server with
`EXEC sp_fastmssql_fault ...` (the socket closed after N rows or N bytes of the next response, the
next response delayed, or an error instead of the next request's result).

Every test uses a pool of one connection, so the fault is armed on the connection that runs the
next query, and "the pool still works" means it replaced or kept that connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

import fastmssql

from .support import bounded, uses_real_server

pytestmark = pytest.mark.skipif(
    uses_real_server(), reason="sp_fastmssql_fault exists only on the local test server; FASTMSSQL_TEST_URL is set"
)

ROWS = 100


@pytest.fixture
async def table(single_connection: fastmssql.Connection) -> AsyncIterator[str]:
    """A table of ROWS rows (id 1..ROWS)."""
    name = f"fm_faults_{uuid.uuid4().hex[:12]}"
    await bounded(single_connection.execute(f"CREATE TABLE {name} (id int PRIMARY KEY)"))
    values = ", ".join(f"({i})" for i in range(1, ROWS + 1))
    await bounded(single_connection.execute(f"INSERT INTO {name} VALUES {values}"))
    try:
        yield name
    finally:
        await bounded(single_connection.execute(f"DROP TABLE IF EXISTS {name}"))


async def count(conn: fastmssql.Connection, table: str) -> int:
    return (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"))).rows()[0]["n"]


@pytest.mark.parametrize("fault", ["@close_after_rows = 10", "@close_after_bytes = 100"])
async def test_connection_closed_during_a_result_raises_and_the_pool_recovers(
    single_connection: fastmssql.Connection, table: str, fault: str
) -> None:
    conn = single_connection
    await bounded(conn.execute(f"EXEC sp_fastmssql_fault {fault}"))
    with pytest.raises(fastmssql.OperationalError) as info:
        await bounded(conn.query(f"SELECT id FROM {table} ORDER BY id"))
    assert info.value.number is None, "a lost connection is not a server error"
    assert str(info.value).startswith("the server closed the connection in the middle of a response"), str(info.value)
    assert await count(conn, table) == ROWS


async def test_injected_error_carries_its_number_and_the_session_goes_on(
    single_connection: fastmssql.Connection, table: str
) -> None:
    conn = single_connection
    await bounded(
        conn.execute("EXEC sp_fastmssql_fault @error = 1205, @message = N'Transaction was deadlocked', @severity = 13")
    )
    with pytest.raises(fastmssql.DatabaseError) as info:
        await bounded(conn.execute(f"DELETE FROM {table}"))
    assert info.value.number == 1205
    assert info.value.severity == 13
    assert "deadlocked" in str(info.value)
    assert await count(conn, table) == ROWS, "the DELETE was answered with the error, never run"


async def test_delayed_response_cancelled_by_a_client_timeout_leaves_the_pool_usable(
    single_connection: fastmssql.Connection, table: str
) -> None:
    conn = single_connection
    await bounded(conn.execute("EXEC sp_fastmssql_fault @delay_ms = 5000"))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(conn.query(f"SELECT id FROM {table}"), 0.3)
    # Well under the 5 s delay: the next query does not wait behind the delayed one.
    assert (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"), timeout=3.0)).rows()[0]["n"] == ROWS


async def test_delayed_response_arrives_late_but_whole(single_connection: fastmssql.Connection, table: str) -> None:
    conn = single_connection
    await bounded(conn.execute("EXEC sp_fastmssql_fault @delay_ms = 300"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert len(await bounded(conn.query(f"SELECT id FROM {table}"))) == ROWS
    assert loop.time() - started >= 0.3
