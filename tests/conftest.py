"""Session fixtures shared by the whole suite: the local TDS server and the URL the client tests use.

Client tests use `test_url` only, so setting FASTMSSQL_TEST_URL runs them against a real SQL Server
(and then no local server is built or started for them). The conformance tests of the local server
itself (tests/conformance) always use `local_server` / `tls_server`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from connection_strings import TEST_URL_ENV
from local_server import LocalServer



@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The local TDS server with `--encrypt off` (clients that demand TLS still get full TLS)."""
    with LocalServer(encrypt="off") as server:
        yield server


@pytest.fixture(scope="session")
def tls_server() -> Iterator[LocalServer]:
    """The local TDS server with `--encrypt required` (full TLS for every client)."""
    with LocalServer(encrypt="required") as server:
        yield server


@pytest.fixture(scope="session")
def test_url(request: pytest.FixtureRequest) -> str:
    """FASTMSSQL_TEST_URL when set, else the connection string of the unencrypted local server."""
    url = os.environ.get(TEST_URL_ENV)
    if url:
        return url
    return request.getfixturevalue("local_server").connection_string()
