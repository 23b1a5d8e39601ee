"""Partitioned reads as Dask DataFrames.

``read_sql`` plans the read in the calling process (one MIN/MAX query, unless a
range is given) and builds a Dask DataFrame of one partition per range query.
Each partition is read by whichever worker runs it, on a connection of its
own: only the plan (plain data) and the connection string travel to the
workers, never a connection.
"""

from __future__ import annotations

from typing import Any

import fastmssql
from fastmssql import _read
from fastmssql._partition import Partition, schema_query


def read_sql(
    sql: str | list[str],
    connection_string: str,
    params: Any = None,
    *,
    partition_on: str | None = None,
    npartitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
    dtype_backend: str = "pyarrow",
) -> Any:
    """A ``dask.dataframe.DataFrame`` of ``sql``'s rows: one partition for NULL keys and up to
    ``npartitions`` ranges of ``partition_on`` (as ``Connection.read_arrow`` plans them), or one
    per query of a list. Columns are Arrow-backed (``pandas.ArrowDtype``), so every partition has
    the same dtypes whatever its NULLs; ``dtype_backend="numpy"`` gives numpy ones."""
    import dask.dataframe

    _read.check_dtype_backend(dtype_backend)
    plan = fastmssql.plan_partitions(
        connection_string,
        sql,
        params,
        partition_on=partition_on,
        partitions=npartitions,
        partition_range=partition_range,
    )
    first = plan.partitions[0]
    meta = fastmssql.read_pandas(
        connection_string, schema_query(first.sql), first.params, dtype_backend=dtype_backend
    )
    return dask.dataframe.from_map(
        _read_partition,
        list(plan.partitions),
        connection_string=connection_string,
        dtype_backend=dtype_backend,
        meta=meta,
        enforce_metadata=False,
    )


def _read_partition(partition: Partition, connection_string: str, dtype_backend: str) -> Any:
    """One partition's rows, read on the worker that runs it."""
    return fastmssql.read_pandas(connection_string, partition.sql, partition.params, dtype_backend=dtype_backend)
