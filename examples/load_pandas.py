"""A pandas DataFrame loaded with bulk_insert, with a progress bar and all-or-none.

`bulk_insert` takes the frame through pyarrow (without its index), converts and checks each
batch against the table's columns, and loads it with SQL Server's bulk load; `progress=True`
draws a tqdm bar, `batch_rows` splits the load, `atomic=True` keeps it all or nothing. Uses
FASTMSSQL_URL when set and the local TDS test server otherwise. Needs pandas, pyarrow and tqdm.
"""

from __future__ import annotations

import asyncio
import uuid

import numpy
import pandas

from fastmssql import Connection
from quickstart import server_url

ROWS = 200_000


async def main(url: str) -> None:
    rng = numpy.random.default_rng(7)
    frame = pandas.DataFrame(
        {
            "id": numpy.arange(ROWS, dtype="int64"),
            "sensor": pandas.Series([f"s{i % 40}" for i in range(ROWS)], dtype="string"),
            "reading": rng.normal(20.0, 5.0, ROWS),
            "taken": pandas.date_range("2024-01-01", periods=ROWS, freq="s"),
        }
    )
    table = f"example_readings_{uuid.uuid4().hex[:8]}"
    async with Connection(url) as conn:
        await conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, sensor nvarchar(10), reading float, taken datetime2(0))")
        try:
            stored = await conn.bulk_insert(table, frame, batch_rows=50_000, tablock=True, atomic=True, progress=True)
            back = await conn.read_pandas(f"SELECT sensor, count(*) AS n, avg(reading) AS mean FROM {table} GROUP BY sensor")
            print(back.sort_values("sensor").head(3))
            print(f"pandas frame loaded: {stored} rows")
        finally:
            await conn.execute(f"DROP TABLE {table}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
