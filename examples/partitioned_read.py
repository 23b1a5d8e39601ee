"""A parallel partitioned read: one query split into range queries run at once on pooled connections.

`read_arrow(sql, partition_on="id", partitions=4)` asks for the key's MIN and MAX, then runs
four range queries over `SELECT * FROM (sql) AS t` and one for NULL keys, each on its own pooled
connection, and returns one table with the query's exact schema. Uses FASTMSSQL_URL when set and
the local TDS test server otherwise. Needs pyarrow.
"""

from __future__ import annotations

import asyncio
import time

import fastmssql
from fastmssql import Connection, PoolConfig
from orders import orders_table
from quickstart import server_url

ROWS = 50_000


async def main(url: str) -> None:
    async with Connection(url, pool_config=PoolConfig(max_size=5, min_idle=1)) as conn:
        async with orders_table(conn, ROWS) as table:
            sql = f"SELECT id, customer, amount, ordered, shipped FROM {table}"
            started = time.perf_counter()
            single = await conn.read_arrow(sql)
            one = time.perf_counter() - started
            started = time.perf_counter()
            parted = await conn.read_arrow(sql, partition_on="id", partitions=4)
            four = time.perf_counter() - started
            assert parted.sort_by("id").equals(single.sort_by("id"))
            # Any orderable key works: here a date column with NULLs (they get a partition of their own).
            by_date = await conn.read_arrow(sql, partition_on="shipped", partitions=3)
            plan = fastmssql.plan_partitions(url, sql, partition_on="shipped", partitions=3)
            print(f"single query: {single.num_rows} rows in {one:.3f} s; 4 partitions: {parted.num_rows} rows in {four:.3f} s")
            print(f"partitioned on a date: {by_date.num_rows} rows from {len(plan)} queries, e.g.")
            print(plan.partitions[1].sql, plan.partitions[1].params)
            print(f"partitioned read equals the single query: {parted.num_rows} rows")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
