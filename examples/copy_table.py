"""A table-to-table copy in bounded memory: one query's stream loaded into another table as it arrives.

`bulk_insert` reads its input one record batch at a time, so a `stream()` of another query (or a
`pyarrow.RecordBatchReader`) is copied without ever holding the whole table. Uses FASTMSSQL_URL
when set and the local TDS test server otherwise. Needs pyarrow.
"""

from __future__ import annotations

import asyncio
import uuid

from fastmssql import Connection
from orders import COLUMNS, orders_table
from quickstart import server_url

ROWS = 100_000


async def main(url: str) -> None:
    async with Connection(url) as conn, orders_table(conn, ROWS) as source:
        target = f"example_copy_{uuid.uuid4().hex[:8]}"
        await conn.execute(f"CREATE TABLE {target} ({COLUMNS})")
        try:
            copied = []
            stream = await conn.stream(f"SELECT * FROM {source} WHERE shipped IS NOT NULL", batch_size=10_000)
            stored = await conn.bulk_insert(target, stream, batch_rows=50_000, progress=copied.append)
            check = await conn.query(f"SELECT count(*) AS n, sum(amount) AS total FROM {target}")
            print(f"progress reports: {copied[:3]} ... {copied[-1]}")
            print(f"copied {stored} rows from {source} to {target}: {check.rows()[0].to_dict()}")
        finally:
            await conn.execute(f"DROP TABLE {target}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
