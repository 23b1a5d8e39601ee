"""Fixtures of the client tests.

Every test reaches the server through `test_url` only (tests/conftest.py), so the
suite runs unchanged against a real SQL Server when FASTMSSQL_TEST_URL is set.
Every network wait is bounded by `support.NETWORK_TIMEOUT_SECS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import fastmssql

from .support import bounded, uses_real_server

QueryFn = Callable[..., Awaitable[fastmssql.QueryResult]]


@pytest.fixture
async def conn(test_url: str) -> AsyncIterator[fastmssql.Connection]:
    """A connected Connection to `test_url`, closed after the test."""
    connection = fastmssql.Connection(test_url)
    await bounded(connection.connect())
    try:
        yield connection
    finally:
        await bounded(connection.close())


@pytest.fixture
async def single_connection(test_url: str) -> AsyncIterator[fastmssql.Connection]:
    """A pool of exactly one connection, so "still works afterwards" means the same session."""
    connection = fastmssql.Connection(test_url, pool_config=fastmssql.PoolConfig(max_size=1, min_idle=1))
    await bounded(connection.connect())
    try:
        yield connection
    finally:
        await bounded(connection.close())


@pytest.fixture
def query(conn: fastmssql.Connection) -> QueryFn:
    """`await query(sql, params=None)` on `conn`, with a timeout."""

    async def run(sql: str, params: Any = None) -> fastmssql.QueryResult:
        return await bounded(conn.query(sql, params))

    return run


@pytest.fixture
def local_tls_server(request: pytest.FixtureRequest) -> Any:
    """The local TLS server; skipped against a real SQL Server (its certificate is not ours)."""
    if uses_real_server():
        pytest.skip("needs the local test server's certificate; FASTMSSQL_TEST_URL is set")
    return request.getfixturevalue("tls_server")
