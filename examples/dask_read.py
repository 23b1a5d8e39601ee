"""A partitioned read as a Dask DataFrame: each range query read by a Dask worker on its own connection.

`fastmssql.dask.read_sql(sql, connection_string, partition_on=..., npartitions=...)` plans the
read here (one MIN/MAX query) and hands each worker only its query and the connection string.
This runs on Dask's local threaded scheduler; with `distributed.Client(...)` the same call runs
on a cluster. Uses FASTMSSQL_URL when set and the local TDS test server otherwise. Needs
dask[dataframe], pandas and pyarrow.
"""

from __future__ import annotations

import asyncio

import fastmssql.dask
from fastmssql import Connection
from orders import orders_table
from quickstart import server_url


async def create_and_read(url: str) -> None:
    async with Connection(url) as conn, orders_table(conn, 20_000) as table:
        frame = fastmssql.dask.read_sql(
            f"SELECT id, customer, amount, shipped FROM {table}", url, partition_on="id", npartitions=4
        )
        # The computation runs in worker threads; the event loop here only waits for it.
        totals = await asyncio.to_thread(lambda: frame.groupby(frame.shipped.isna())["amount"].sum().compute())
        rows = await asyncio.to_thread(lambda: len(frame))
        print(totals)
        print(f"dask read: {rows} rows in {frame.npartitions} partitions")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(create_and_read(url))
