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

    def bulk_insert(self, table: str, data: Any, rows: Any = None) -> Any:
        """Bulk-loads Arrow data, or 0.7.7's ``(table, columns, rows)``; the rows stored."""
        if rows is not None:
            data = arrow_from_rows(data, rows)
        return super().bulk_insert(table, data)

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
