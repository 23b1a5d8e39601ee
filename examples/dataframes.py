"""Arrow hand-off: one query result taken by pyarrow, polars and pandas, and a batch with several result sets.

Like quickstart.py, it uses FASTMSSQL_URL when set and the local TDS test server otherwise.
pyarrow, polars and pandas are optional: the parts whose library is missing are skipped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from fastmssql import Connection, Parameter
from quickstart import server_url

QUERY = "SELECT @P1 AS amount, @P2 AS fee, @P3 AS booked_at, @P4 AS account, @P5 AS memo"
PARAMS = [
    Decimal("1234.50"),
    Parameter(Decimal("0.25"), "decimal(9,4)"),
    datetime(2024, 5, 17, 10, 30, tzinfo=timezone.utc),
    uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    Parameter("first instalment", "nvarchar(100)"),
]


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


async def main(url: str) -> None:
    async with Connection(url) as conn:
        result = await asyncio.wait_for(conn.query(QUERY, PARAMS), 30)

        if installed("pyarrow"):
            import pyarrow

            table = pyarrow.table(result)  # through __arrow_c_stream__: the buffers are shared, not copied
            print("pyarrow schema:", table.schema, sep="\n")
        if installed("polars"):
            import polars

            print("polars:", polars.DataFrame(result), sep="\n")  # needs no pyarrow
        if installed("pandas") and installed("pyarrow"):
            print("pandas:", result.to_pandas(), sep="\n")

        batch = await asyncio.wait_for(conn.query("SELECT 1 AS first; SELECT N'two' AS second, 2.5 AS third"), 30)
        for index, result_set in enumerate(batch.result_sets):
            print(f"result set {index}: columns {result_set.columns}, rows {[row.to_dict() for row in result_set]}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
