"""A table of sample orders for the ETL examples, loaded with bulk_insert and dropped afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pyarrow

from fastmssql import Connection

COLUMNS = "id int PRIMARY KEY, customer nvarchar(50), amount decimal(18,2) NULL, ordered date, shipped date NULL"


def orders(rows: int) -> pyarrow.Table:
    """`rows` orders: every 10th not yet shipped, every 50th without an amount."""
    start = date(2024, 1, 1)
    return pyarrow.table(
        {
            "id": pyarrow.array(range(1, rows + 1), pyarrow.int32()),
            "customer": [f"customer {i % 997}" for i in range(rows)],
            "amount": pyarrow.array(
                [None if i % 50 == 0 else Decimal(i * 37 % 100_000) / 100 for i in range(rows)], pyarrow.decimal128(18, 2)
            ),
            "ordered": [start + timedelta(days=i % 365) for i in range(rows)],
            "shipped": [None if i % 10 == 0 else start + timedelta(days=i % 365 + 3) for i in range(rows)],
        }
    )


@contextlib.asynccontextmanager
async def orders_table(conn: Connection, rows: int) -> AsyncIterator[str]:
    """A new table of `rows` orders; its name."""
    table = f"example_orders_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
    try:
        await conn.bulk_insert(table, orders(rows))
        yield table
    finally:
        await conn.execute(f"DROP TABLE {table}")
