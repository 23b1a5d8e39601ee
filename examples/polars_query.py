"""A query's result as a polars DataFrame, in one call from a script (no event loop to write).

`fastmssql.read_polars(connection_string, sql, params)` connects, reads and closes; polars takes
the Arrow columns without copying. Uses FASTMSSQL_URL when set and the local TDS test server
otherwise. Needs polars and pyarrow.
"""

from __future__ import annotations

import asyncio

import polars

import fastmssql
from fastmssql import Connection
from orders import orders_table
from quickstart import server_url


async def with_orders(url: str) -> None:
    async with Connection(url) as conn, orders_table(conn, 5_000) as table:
        # The script-style call runs its own event loop (here in a thread, as one is running).
        frame = fastmssql.read_polars(
            url, f"SELECT customer, amount, shipped FROM {table} WHERE amount > @P1", [500]
        )
        summary = (
            frame.group_by(polars.col("shipped").is_null().alias("pending"))
            .agg(polars.len().alias("orders"), polars.col("amount").sum().alias("total"))
            .sort("pending")
        )
        print(summary)
        print(f"polars from a query: {frame.height} rows, columns {frame.columns}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(with_orders(url))
