"""TDS 8.0 strict encryption: the TLS handshake before PRELOGIN, ALPN `tds/8.0`, TLS 1.3 where both sides have it.

ODBC Driver 18 (mssql-python) with Encrypt=strict, which fails against a server without TDS 8.0. SQL Server 2022
accepts strict clients whether or not it forces encryption, so both local servers are asked. These tests always
run against the local server: a strict client must verify the server's certificate, and only the local server's
is at hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from local_server import LocalServer

from .clients import ADAPTERS

# Larger than a TLS record (16 KiB) and than a TDS packet, in both directions.
LONG_TEXT = "strict \u00e9ncryption " * 5000


@pytest.mark.parametrize("server_fixture", ["local_server", "tls_server"])
def test_mssql_python_logs_in_and_queries_with_encrypt_strict(request: pytest.FixtureRequest,
                                                               server_fixture: str) -> None:
    server: LocalServer = request.getfixturevalue(server_fixture)
    conn = ADAPTERS["mssql_python"].connect(server, "strict")
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT CAST(12.5 AS decimal(5,2)), N'str\u00edct', CAST(NULL AS int), ?", (LONG_TEXT,))
        assert [tuple(row) for row in cursor.fetchall()] == [(Decimal("12.50"), "str\u00edct", None, LONG_TEXT)]
        cursor.close()
    finally:
        conn.close()
