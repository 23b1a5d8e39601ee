"""ETL with bounded memory: a result streamed batch by batch into a Parquet file.

`Connection.stream()` hands out the rows while the server is still sending them, so the
file can be far bigger than memory. Like quickstart.py, it uses FASTMSSQL_URL when set and
the local TDS test server otherwise. Needs pyarrow.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
import uuid

import pyarrow
import pyarrow.parquet

from fastmssql import Connection
from quickstart import server_url

ROWS = 20_000
ROWS_PER_INSERT = 1_000  # SQL Server's limit for one VALUES list


async def fill(conn: Connection, table: str) -> None:
    await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name nvarchar(50), amount decimal(18,4))")
    for start in range(0, ROWS, ROWS_PER_INSERT):
        values = ", ".join(
            f"({i}, N'customer {i}', {i * 7 % 10_000}.{i % 10_000:04d})" for i in range(start, start + ROWS_PER_INSERT)
        )
        await conn.execute(f"INSERT INTO {table} VALUES {values}")


async def main(url: str) -> None:
    table = f"example_orders_{uuid.uuid4().hex[:8]}"
    async with Connection(url) as conn:
        await fill(conn, table)
        try:
            with tempfile.TemporaryDirectory() as directory:
                path = pathlib.Path(directory) / "orders.parquet"
                stream = await asyncio.wait_for(conn.stream(f"SELECT * FROM {table} ORDER BY id", batch_size=4096), 30)
                batches = 0
                with pyarrow.parquet.ParquetWriter(path, pyarrow.schema(stream)) as writer:
                    async for chunk in stream:
                        writer.write_table(chunk.to_arrow())
                        batches += 1
                written = pyarrow.parquet.read_metadata(path)
                print(f"{written.num_rows} rows in {batches} batches of at most 4096 written to {path.name}")
                print(pyarrow.parquet.read_table(path).schema)
        finally:
            await conn.execute(f"DROP TABLE {table}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
