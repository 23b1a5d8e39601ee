"""Whole-result reads into pyarrow, polars and pandas, partitioned or not.

``Connection.read_arrow`` and friends run a partition plan (``fastmssql.plan_partitions``)
on the connection's pool, every query at once; the module-level ``read_*``
functions do the same for scripts, on a connection and event loop of their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastmssql._core import PoolConfig, ProgrammingError
from fastmssql._partition import PartitionPlan, bounds_query, explicit_plan, range_plan

T = TypeVar("T")

DTYPE_BACKENDS = ("pyarrow", "numpy")


async def plan_read(
    conn: Any,
    sql: Any,
    params: Any = None,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> PartitionPlan:
    """The plan of a read: ``sql`` alone, the given list of queries, or the range queries on
    ``partition_on`` (its bounds from ``partition_range`` or one MIN/MAX query)."""
    if not isinstance(sql, str):
        if partition_on is not None or partitions is not None or partition_range is not None:
            raise ValueError("a list of queries is already partitioned: partition_on, partitions and "
                             "partition_range go with a single query")
        return explicit_plan(sql, params)
    if partition_on is None:
        if partitions is not None or partition_range is not None:
            raise ValueError("partitions and partition_range need partition_on (the column to split on)")
        return explicit_plan([sql], params)
    if partitions is None:
        raise ValueError("partition_on needs partitions=N (the number of range queries)")
    if partition_range is None:
        row = (await conn.query(bounds_query(sql, partition_on), params)).rows()[0]
        lo, hi = row["lo"], row["hi"]
    else:
        try:
            lo, hi = partition_range
        except (TypeError, ValueError):
            raise ValueError(f"partition_range must be a (low, high) pair, got {partition_range!r}") from None
    return range_plan(sql, params, partition_on, lo, hi, partitions)


async def run_plan(conn: Any, plan: PartitionPlan) -> list[Any]:
    """The ``QueryResult`` of every query of ``plan``, run at once on ``conn``'s pool."""
    return list(await asyncio.gather(*(conn.query(p.sql, p.params) for p in plan.partitions)))


def concat_arrow(results: list[Any]) -> Any:
    """The results as one ``pyarrow.Table`` (their buffers shared, not copied)."""
    import pyarrow

    tables = [result.to_arrow() for result in results]
    schema = tables[0].schema
    for table in tables[1:]:
        if not table.schema.equals(schema, check_metadata=True):
            raise ProgrammingError(
                f"the partitions returned different columns:\n{schema}\nand\n{table.schema}"
            )
    return pyarrow.concat_tables(tables)


def concat_polars(results: list[Any]) -> Any:
    """The results as one ``polars.DataFrame`` (uuids as text, as ``QueryResult.to_polars()``)."""
    import polars

    frames = [result.to_polars() for result in results]
    return frames[0] if len(frames) == 1 else polars.concat(frames, how="vertical", rechunk=False)


def check_dtype_backend(dtype_backend: str) -> None:
    """Refuses an unknown ``dtype_backend`` before anything is read."""
    if dtype_backend not in DTYPE_BACKENDS:
        raise ValueError(f"dtype_backend must be one of {DTYPE_BACKENDS}, got {dtype_backend!r}")


def arrow_to_pandas(table: Any, dtype_backend: str) -> Any:
    """``table`` as a pandas DataFrame: Arrow-backed columns (``pandas.ArrowDtype``) or numpy ones."""
    import pandas

    if dtype_backend == "numpy":
        return table.to_pandas()
    return table.to_pandas(types_mapper=pandas.ArrowDtype)


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Runs ``make()`` to its end on an event loop of its own: this thread's when it runs none,
    else a thread of its own (so it works inside a notebook or an async application too)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fastmssql-read") as pool:
        return pool.submit(asyncio.run, _awaited(make)).result()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def pool_width(sql: Any, partitions: int | None) -> int:
    """Connections that run every query of a read at once (the ranges and the NULL keys' one)."""
    if isinstance(sql, str):
        return max(1, partitions + 1) if isinstance(partitions, int) else 1
    return max(1, len(sql))


def read_in_own_loop(
    connection_string: str, sql: Any, partitions: int | None, read: Callable[[Any], Awaitable[T]]
) -> T:
    """The module-level readers: ``read(conn)`` with a pool wide enough for ``sql``'s queries, on an
    event loop of its own."""
    return run_sync(lambda: read_with_connection(connection_string, read, pool_width(sql, partitions)))


async def read_with_connection(connection_string: str, read: Callable[[Any], Awaitable[T]], width: int) -> T:
    """``read(conn)`` on a connection of its own with a pool of ``width`` connections, closed at the end."""
    from fastmssql import Connection

    async with Connection(connection_string, pool_config=PoolConfig(max_size=width, min_idle=1)) as conn:
        return await read(conn)
