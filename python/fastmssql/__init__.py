"""fastmssql: a columnar asyncio SQL Server client with a Rust core.

The native module ``fastmssql._core`` does the work; this package adds the
context-manager glue of transactions and sessions, and keeps fastmssql
0.7.7's API working beside ours. The API is documented in the type stub
(``__init__.pyi``).
"""

from __future__ import annotations

from importlib.metadata import version as _distribution_version
from typing import Any

from fastmssql import _core
from fastmssql._compat import (
    ApplicationIntent,
    ConnectedFlag,
    Parameters,
    PoolStats,
    TypedNull,
    arrow_from_rows,
)
from fastmssql._core import (
    DatabaseError,
    DataError,
    EncryptionLevel,
    Error,
    FastRow,
    IntegrityError,
    InterfaceError,
    InternalError,
    Message,
    NotSupportedError,
    OperationalError,
    Parameter,
    PoolConfig,
    ProgrammingError,
    QueryResult,
    QueryTimeoutError,
    ResultStream,
    Session,
    SslConfig,
    Warning,
)
from fastmssql._transaction import Acquire, Savepoint, Transaction
from fastmssql import _read
from fastmssql._partition import Partition, PartitionPlan
from fastmssql._stream import StreamCall
from fastmssql._dbapi import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)

__version__: str = _distribution_version("fastmssql")

# fastmssql 0.7.7's names.
QueryStream = QueryResult
SqlError = DatabaseError
SqlConnectionError = OperationalError
TlsError = OperationalError
ProtocolError = OperationalError
ConversionError = DataError


def version() -> str:
    """The installed fastmssql version (0.7.7's ``version()``)."""
    return __version__


class Connection(_core.Connection):
    """A pooled asyncio connection to SQL Server; see the type stub."""

    def __init__(self, *args: Any, azure_credential: Any = None, **kwargs: Any) -> None:
        # The native __new__ has taken the settings; this only refuses what
        # it cannot do.
        if azure_credential is not None:
            raise NotSupportedError("Azure Active Directory authentication is not supported by this fastmssql")

    def __new__(cls, *args: Any, azure_credential: Any = None, **kwargs: Any) -> Connection:
        if isinstance(kwargs.get("application_intent"), ApplicationIntent):
            kwargs["application_intent"] = kwargs["application_intent"].value
        return super().__new__(cls, *args, **kwargs)

    def transaction(self, isolation_level: str | None = None) -> Transaction:
        """``async with conn.transaction() as tx:`` — one pooled connection,
        committed on normal exit, rolled back on an exception or cancellation."""
        return Transaction(connection=self, isolation_level=isolation_level)

    def acquire(self) -> Acquire:
        """``async with conn.acquire() as session:`` — one pooled connection
        for the block, its session state kept between calls."""
        return Acquire(self)

    def bulk_insert(self, table: str, data: Any, rows: Any = None, **options: Any) -> Any:
        """Bulk-loads Arrow data or a pandas DataFrame, or 0.7.7's ``(table, columns, rows)``;
        the rows stored. ``options``: see the type stub."""
        if rows is not None:
            data = arrow_from_rows(data, rows)
        return super().bulk_insert(table, data, **options)

    async def read_arrow(
        self,
        sql: Any,
        params: Any = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
    ) -> Any:
        """The whole result as one ``pyarrow.Table``; with ``partition_on``, read as
        range queries on that column, all at once on the pool's connections."""
        plan = await _read.plan_read(self, sql, params, partition_on, partitions, partition_range)
        return _read.concat_arrow(await _read.run_plan(self, plan))

    async def read_polars(
        self,
        sql: Any,
        params: Any = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
    ) -> Any:
        """``read_arrow`` as one ``polars.DataFrame`` (uuids as text, as ``QueryResult.to_polars()``)."""
        plan = await _read.plan_read(self, sql, params, partition_on, partitions, partition_range)
        return _read.concat_polars(await _read.run_plan(self, plan))

    async def read_pandas(
        self,
        sql: Any,
        params: Any = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
        dtype_backend: str = "pyarrow",
    ) -> Any:
        """``read_arrow`` as one pandas DataFrame: Arrow-backed dtypes, or numpy ones with
        ``dtype_backend="numpy"``."""
        _read.check_dtype_backend(dtype_backend)
        table = await self.read_arrow(
            sql, params, partition_on=partition_on, partitions=partitions, partition_range=partition_range
        )
        return _read.arrow_to_pandas(table, dtype_backend)

    def stream(self, sql: str, params: Any = None, **options: Any) -> StreamCall:
        """The first result set in bounded batches: ``await`` it for the ``ResultStream``, or
        ``async for chunk in conn.stream(sql)`` directly."""
        return StreamCall(super().stream(sql, params, **options))

    def simple_query(self, sql: str) -> Any:
        """A batch without parameters (0.7.7's ``simple_query``)."""
        return self.query(sql)

    async def disconnect(self) -> bool:
        """Closes the pool (0.7.7's name for ``close``)."""
        await self.close()
        return True

    def is_connected(self) -> ConnectedFlag:
        """Whether the pool is open; also awaitable, as in 0.7.7."""
        return ConnectedFlag(super().is_connected())

    def pool_stats(self) -> PoolStats:
        """Pool occupancy as a dict; awaited, 0.7.7's 5-tuple."""
        return PoolStats(super().pool_stats())


def plan_partitions(
    connection_string: str,
    sql: Any,
    params: Any = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> PartitionPlan:
    """The queries a partitioned read runs (plain data: pickle it to any worker), its bounds
    read with one MIN/MAX query unless ``partition_range`` gives them; run each partition
    with ``read_arrow(connection_string, p.sql, p.params)``."""

    async def plan(conn: Any) -> PartitionPlan:
        return await _read.plan_read(conn, sql, params, partition_on, partitions, partition_range)

    return _read.run_sync(lambda: _read.read_with_connection(connection_string, plan, 1))


def read_arrow(
    connection_string: str,
    sql: Any,
    params: Any = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> Any:
    """``Connection.read_arrow`` for scripts: connects, reads, closes (no event loop needed)."""
    return _read.read_in_own_loop(
        connection_string,
        sql,
        partitions,
        lambda conn: conn.read_arrow(
            sql, params, partition_on=partition_on, partitions=partitions, partition_range=partition_range
        ),
    )


def read_polars(
    connection_string: str,
    sql: Any,
    params: Any = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> Any:
    """``Connection.read_polars`` for scripts: connects, reads, closes (no event loop needed)."""
    return _read.read_in_own_loop(
        connection_string,
        sql,
        partitions,
        lambda conn: conn.read_polars(
            sql, params, partition_on=partition_on, partitions=partitions, partition_range=partition_range
        ),
    )


def read_pandas(
    connection_string: str,
    sql: Any,
    params: Any = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
    dtype_backend: str = "pyarrow",
) -> Any:
    """``Connection.read_pandas`` for scripts: connects, reads, closes (no event loop needed);
    Arrow-backed dtypes unless ``dtype_backend="numpy"``."""
    _read.check_dtype_backend(dtype_backend)
    table = read_arrow(
        connection_string, sql, params, partition_on=partition_on, partitions=partitions,
        partition_range=partition_range,
    )
    return _read.arrow_to_pandas(table, dtype_backend)


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "apilevel",
    "connect",
    "paramstyle",
    "plan_partitions",
    "read_arrow",
    "read_pandas",
    "read_polars",
    "threadsafety",
    "ApplicationIntent",
    "Connection",
    "ConversionError",
    "DataError",
    "DatabaseError",
    "EncryptionLevel",
    "Error",
    "FastRow",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "Message",
    "NotSupportedError",
    "OperationalError",
    "Parameter",
    "Parameters",
    "Partition",
    "PartitionPlan",
    "PoolConfig",
    "ProgrammingError",
    "ProtocolError",
    "QueryResult",
    "QueryStream",
    "QueryTimeoutError",
    "ResultStream",
    "Savepoint",
    "Session",
    "SqlConnectionError",
    "SqlError",
    "SslConfig",
    "TlsError",
    "Transaction",
    "TypedNull",
    "Warning",
    "__version__",
    "version",
]
