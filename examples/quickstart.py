"""fastmssql quickstart: connect, run a parameterized query, print its rows and a polars DataFrame.

Set FASTMSSQL_URL to an ADO.NET connection string to use your own SQL Server, e.g.

    FASTMSSQL_URL="Server=localhost,1433;Database=master;User Id=sa;Password=...;Encrypt=yes;TrustServerCertificate=yes"

Without it, the local TDS test server of this repository (tests/tds_server) is built with cargo
(the first time takes a few minutes), started for the duration of the run, and stopped again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from fastmssql import Connection

REPO_ROOT = Path(__file__).resolve().parent.parent

QUERY = """
SELECT @P1 AS id,
       @P2 AS name,
       CAST(19.99 AS decimal(10,2)) AS price,
       CAST('2024-05-17T10:30:00' AS datetime2(0)) AS created,
       CAST(1 AS bit) AS active
"""


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """FASTMSSQL_URL, or the connection string of a freshly started local test server."""
    url = os.environ.get("FASTMSSQL_URL")
    if url:
        yield url
        return
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from local_server import LocalServer

    print("FASTMSSQL_URL is not set: starting the local TDS test server (built with cargo on first use) ...")
    with LocalServer(encrypt="off") as server:
        yield server.connection_string()


async def main(url: str) -> None:
    async with Connection(url) as conn:
        version = await asyncio.wait_for(conn.query("SELECT @@VERSION AS version"), 30)
        print("Connected to:", version.rows()[0]["version"].splitlines()[0])

        result = await asyncio.wait_for(conn.query(QUERY, [42, "Ada Lovelace"]), 30)
        print("\nColumns:", result.columns)
        for row in result.rows():
            print(row)

        print("\nAs a polars DataFrame (zero-copy through the Arrow C stream interface):")
        print(result.to_polars())


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
