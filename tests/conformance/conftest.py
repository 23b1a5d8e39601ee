"""Fixtures of the conformance tests."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
from connection_strings import TEST_URL_ENV, parse_connection_string

from .clients import ADAPTERS, CLIENT_NAMES


@dataclasses.dataclass
class ServerAddress:
    """What the client adapters need of a server (the subset of LocalServer they read)."""

    host: str
    port: int
    user: str
    password: str
    database: str


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Any:
    """The local server, or the SQL Server of FASTMSSQL_TEST_URL (connected to without encryption)."""
    url = os.environ.get(TEST_URL_ENV)
    if not url:
        return request.getfixturevalue("local_server")
    pairs = parse_connection_string(url)
    host, _, port = pairs.get("server", pairs.get("data source", "")).removeprefix("tcp:").partition(",")
    return ServerAddress(
        host=host,
        port=int(port or 1433),
        user=pairs.get("user id", pairs.get("uid", "")),
        password=pairs.get("password", pairs.get("pwd", "")),
        database=pairs.get("database", pairs.get("initial catalog", "master")),
    )


@pytest.fixture(params=CLIENT_NAMES)
def client_conn(request: pytest.FixtureRequest, server: Any):
    """A connection (without encryption) of each independent client, with its adapter."""
    adapter = ADAPTERS[request.param]
    conn = adapter.connect(server, "off")
    try:
        yield adapter, conn
    finally:
        conn.close()
