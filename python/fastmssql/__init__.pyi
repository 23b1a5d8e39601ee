"""fastmssql: a columnar asyncio SQL Server client with a Rust core.

Results are decoded straight into Arrow columns and reach Python through the
Arrow PyCapsule interface (``pyarrow.table(result)``, ``polars.DataFrame(result)``
take them without copying); ``rows()`` / ``FastRow`` are thin views over those
columns.

Result type mapping (Arrow field metadata ``mssql.type`` carries the declared
SQL Server type, e.g. ``"decimal(18,4)"``, where it is known):

==================================================  ===============================  ===========================
SQL Server                                          Arrow                            row value
==================================================  ===============================  ===========================
bit                                                 bool                             bool
tinyint, smallint, int, bigint                      uint8, int16, int32, int64       int
real, float                                         float32, float64                 float
decimal(p,s), numeric(p,s)                          decimal128(p,s)                  Decimal (s fractional digits)
money, smallmoney                                   decimal128(19,4), decimal128(10,4)  Decimal
char, varchar, nchar, nvarchar, text, ntext, xml    utf8                             str
binary, varbinary, image, UDT                       binary                           bytes
uniqueidentifier                                    fixed_size_binary(16), arrow.uuid  str (lowercase canonical);
                                                                                     to_polars(): str, to_pandas(): uuid.UUID
date                                                date32                           datetime.date
time(n)                                             time64[ns]                       datetime.time
datetime, smalldatetime, datetime2(n)               timestamp[us]                    naive datetime.datetime
datetimeoffset(n)                                   timestamp[us, tz=UTC]            aware datetime (UTC)
sql_variant                                         struct<type: utf8, value: utf8>  the value in its base type
                                                    (base type's declared name and
                                                    the value's exact text)
==================================================  ===============================  ===========================
"""

import datetime
import decimal
import uuid
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Protocol, TypeAlias, final, overload

import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
import polars  # type: ignore[import-untyped, import-not-found, unused-ignore]
import pyarrow  # type: ignore[import-untyped, import-not-found, unused-ignore]

_ParamValue: TypeAlias = (
    None
    | bool
    | int
    | float
    | str
    | bytes
    | bytearray
    | memoryview
    | decimal.Decimal
    | datetime.datetime
    | datetime.date
    | datetime.time
    | uuid.UUID
    | Parameter
)
_Params: TypeAlias = Sequence[_ParamValue] | Mapping[str, _ParamValue]

class _ArrowStreamExportable(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

__version__: str

__all__ = [
    "Connection",
    "DataError",
    "DatabaseError",
    "EncryptionLevel",
    "Error",
    "FastRow",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "Parameter",
    "PoolConfig",
    "ProgrammingError",
    "QueryResult",
    "ResultStream",
    "SslConfig",
    "Warning",
    "__version__",
]

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

@final
class EncryptionLevel:
    """How much of the TDS stream is encrypted with TLS."""

    Required: ClassVar[EncryptionLevel]
    """Everything is encrypted; the connection fails if the server cannot do TLS."""
    LoginOnly: ClassVar[EncryptionLevel]
    """Only the login packet (with the password) is encrypted."""
    Off: ClassVar[EncryptionLevel]
    """No encryption at all (development only)."""

    def __int__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class SslConfig:
    """TLS settings, validated at construction.

    Default: encryption required, with certificate and host name validation
    against the system's trust store.

    Raises ``ValueError`` when ``ca_certificate_path`` does not name a readable
    file, or when ``trust_server_certificate`` and ``ca_certificate_path`` are
    both given (they are mutually exclusive).
    """

    def __new__(
        cls,
        encryption_level: EncryptionLevel = ...,
        trust_server_certificate: bool = False,
        ca_certificate_path: str | None = None,
    ) -> SslConfig: ...
    @property
    def encryption_level(self) -> EncryptionLevel: ...
    @property
    def trust_server_certificate(self) -> bool:
        """Accept any server certificate without validation (development only)."""

    @property
    def ca_certificate_path(self) -> str | None:
        """PEM/DER file with the CA (or the server's own certificate) to validate against."""

@final
class PoolConfig:
    """Connection pool settings, validated at construction (``ValueError``).

    ``max_size >= 1`` and ``min_idle <= max_size``; the times are in seconds.
    """

    def __new__(
        cls,
        max_size: int = 10,
        min_idle: int = 2,
        max_lifetime_secs: int = 1800,
        idle_timeout_secs: int = 600,
        connection_timeout_secs: int = 30,
    ) -> PoolConfig: ...
    @property
    def max_size(self) -> int:
        """Most connections the pool opens."""

    @property
    def min_idle(self) -> int:
        """Idle connections the pool keeps open."""

    @property
    def max_lifetime_secs(self) -> int:
        """A connection older than this is closed instead of reused."""

    @property
    def idle_timeout_secs(self) -> int:
        """An idle connection above ``min_idle`` is closed after this long."""

    @property
    def connection_timeout_secs(self) -> int:
        """How long a caller waits for a free connection."""

@final
class Parameter:
    """A query parameter with an explicitly declared SQL Server type.

    ``Parameter(Decimal("1.5"), "decimal(18,4)")``, ``Parameter("x", "nvarchar(max)")``,
    ``Parameter(None, "int")`` (a typed NULL). A ``sql_type`` that cannot be
    parsed raises ``ProgrammingError``.
    """

    def __new__(cls, value: _ParamValue, sql_type: str | None = None) -> Parameter: ...
    @property
    def value(self) -> _ParamValue: ...
    @property
    def sql_type(self) -> str | None: ...

# ---------------------------------------------------------------------------
# Connection and results
# ---------------------------------------------------------------------------

@final
class Connection:
    """A pool of connections to one SQL Server database.

    Configure it with an ADO.NET connection string
    (``Server=host,port;Database=db;User Id=u;Password=p;Encrypt=yes;TrustServerCertificate=no``)
    and/or keyword arguments. A keyword that the connection string also sets,
    or ``ssl_config`` together with a string that sets ``Encrypt`` /
    ``TrustServerCertificate``, raises ``ValueError``.

    ``async with Connection(...) as conn:`` connects the pool and closes it on
    exit. ``repr()`` never shows the password.
    """

    def __new__(
        cls,
        connection_string: str | None = None,
        *,
        server: str | None = None,
        port: int | None = None,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
        pool_config: PoolConfig | None = None,
        ssl_config: SslConfig | None = None,
        application_name: str | None = None,
    ) -> Connection: ...
    async def __aenter__(self) -> Connection: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None: ...
    async def connect(self) -> None:
        """Open the pool: one connection at once, ``min_idle`` more in the background.

        A refused connection, an unknown host or a failed login raises
        ``OperationalError`` naming the cause.
        """

    async def close(self) -> None:
        """Close every connection of the pool."""

    def is_connected(self) -> bool: ...
    def pool_stats(self) -> dict[str, int]:
        """Counters of the pool: ``connected`` (bool), ``connections``, ``idle_connections``,
        ``connections_created``, ``connections_closed_broken``, ``max_size``, ``min_idle``."""

    async def query(self, sql: str, params: _Params | None = None) -> QueryResult:
        """Run a batch and return its first result set (all of them in ``result_sets``).

        A sequence binds ``@P1..@Pn``, a mapping binds ``@name``. Python types:
        None -> NULL, bool -> bit, int -> int/bigint, float -> float,
        str -> nvarchar(n|max), bytes/bytearray/memoryview -> varbinary(n|max),
        Decimal -> numeric(p,s), naive datetime -> datetime2(7),
        aware datetime -> datetimeoffset(7), date -> date, time -> time(7),
        UUID -> uniqueidentifier, ``Parameter`` -> its declared type.
        """

    async def execute(self, sql: str, params: _Params | None = None) -> int:
        """Run a batch and return the number of rows it affected (summed over statements)."""
    async def bulk_insert(self, table: str, data: _ArrowStreamExportable) -> int:
        """Bulk-load Arrow data (``pyarrow.Table``, ``polars.DataFrame``, a ``QueryResult`` ...)
        into ``table``; return the number of rows stored.

        Columns are matched by name, so the data may leave out columns the
        table fills itself (identity, defaults, NULLs); an identity column the
        data carries keeps its values. Every cell is converted to its column's
        declared type and checked before the first row is sent: a value that
        does not fit (out of range, digits that would be lost, NULL into a
        fixed-size NOT NULL column, an unsupported Arrow type) raises
        ``DataError``/``IntegrityError`` naming the column and row, and nothing
        is written. An error the server reports (e.g. 2627 duplicate key)
        rejects the whole load. ``table`` is checked to be a plain or
        ``[bracketed]`` (dotted) name before it is used.
        """

    async def stream(self, sql: str, params: _Params | None = None, *, batch_size: int = 65536) -> ResultStream:
        """Run a batch and stream its first result set in batches of at most ``batch_size`` rows.

        Returns once the result's columns are known; errors before the result
        raise here. The stream holds one pooled connection until it is read to
        its end; memory stays bounded by a few batches whatever the result's
        size. Parameters bind as for ``query``. ``batch_size`` < 1 raises
        ``ValueError``.
        """


    def __repr__(self) -> str: ...

@final
class ResultStream:
    """The first result set of a batch, arriving in record batches while the server sends it.

    ``async for chunk in stream`` yields each batch as a ``QueryResult`` (so
    ``chunk.to_arrow()``, ``chunk.rows()`` ...); an error the server reports
    after some rows raises when the iteration reaches it, after the batches
    completed before it. ``__arrow_c_stream__`` exports the batches not yet
    read as an Arrow stream (``pyarrow.RecordBatchReader.from_stream(stream)``,
    ``polars.DataFrame(stream)``): a stream is read once. A second result set
    in the batch raises ``NotSupportedError`` after the first one. Dropping a
    stream before its end discards its connection instead of reusing it.
    """

    @property
    def columns(self) -> list[str]: ...
    def __aiter__(self) -> ResultStream: ...
    async def __anext__(self) -> QueryResult: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Arrow PyCapsule interface: the rest of the stream, read once."""

    def __arrow_c_schema__(self) -> object:
        """Arrow PyCapsule interface: the result's schema."""

    def __repr__(self) -> str: ...

@final
class QueryResult:
    """The first result set of a batch, held as Arrow record batches.

    ``async for`` and ``fetchone``/``fetchmany``/``fetchall`` advance one shared
    cursor; ``rows()`` and ``for`` always go over every row.
    """

    @property
    def columns(self) -> list[str]: ...
    @property
    def rows_affected(self) -> int:
        """Rows affected by the whole batch, as ``Connection.execute`` would return."""
    @property
    def result_sets(self) -> list[QueryResult]:
        """Every result set of the batch in order (``[self, ...]``); ``[]`` when there is none."""

    def __len__(self) -> int: ...
    def rows(self) -> list[FastRow]: ...
    def fetchone(self) -> FastRow | None: ...
    def fetchmany(self, n: int = 1) -> list[FastRow]: ...
    def fetchall(self) -> list[FastRow]:
        """The rows not yet fetched."""

    def __iter__(self) -> Iterator[FastRow]: ...
    def __aiter__(self) -> QueryResult: ...
    async def __anext__(self) -> FastRow: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Export the result as an ``ArrowArrayStream`` PyCapsule, sharing the buffers."""

    def __arrow_c_schema__(self) -> object:
        """Export the schema as an ``ArrowSchema`` PyCapsule."""

    def to_arrow(self) -> pyarrow.Table:
        """``pyarrow.Table`` sharing the buffers; ``ImportError`` without pyarrow."""

    def to_polars(self, *, uuid_as_bytes: bool = False) -> polars.DataFrame:
        """``polars.DataFrame`` (does not need pyarrow); ``ImportError`` without polars.

        polars has no uuid type: uniqueidentifier columns become their lowercase canonical strings,
        or stay 16-byte binaries with ``uuid_as_bytes=True``.
        """

    def to_pandas(self) -> pandas.DataFrame:
        """``pandas.DataFrame`` (through pyarrow); ``ImportError`` without pandas or pyarrow."""

@final
class FastRow:
    """One row: a view over the result's columns; a cell becomes a Python object only when read.

    ``row["name"]``, ``row[0]``, ``row[-1]``, ``"name" in row``, ``len(row)``,
    ``iter(row)`` (the values), and ``row == {"name": value, ...}``.
    """

    def __getitem__(self, key: str | int, /) -> Any: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def keys(self) -> list[str]: ...
    def values(self) -> list[Any]: ...
    def items(self) -> list[tuple[str, Any]]: ...
    @overload
    def get(self, key: str | int) -> Any | None: ...
    @overload
    def get(self, key: str | int, default: Any) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_tuple(self) -> tuple[Any, ...]: ...

# ---------------------------------------------------------------------------
# Exceptions (DB-API 2.0)
# ---------------------------------------------------------------------------

class Warning(Exception):
    """A DB-API warning."""

class Error(Exception):
    """Base of every fastmssql error.

    Errors reported by the server carry its ERROR token fields; each is ``None``
    when the error did not come from the server.
    """

    number: int | None
    state: int | None
    severity: int | None
    server: str | None
    procedure: str | None
    line: int | None
    message: str | None

class InterfaceError(Error):
    """Misuse of the client itself (e.g. a closed connection)."""

class DatabaseError(Error):
    """An error of the database: the base of the specific classes below."""

class DataError(DatabaseError):
    """Bad data: conversion/overflow (245, 8114, 8115, 220, ...), out-of-range parameters."""

class OperationalError(DatabaseError):
    """Connection, login (18456), TLS, I/O and timeout failures; server errors of severity >= 20."""

class IntegrityError(DatabaseError):
    """Constraint violations (2627, 2601, 515, 547)."""

class InternalError(DatabaseError):
    """An internal failure of the client (a Rust panic ends here, never in a crash)."""

class ProgrammingError(DatabaseError):
    """Bad SQL: syntax (102, 156), unknown objects (207, 208, 2812), undeclared variables (137), RAISERROR."""

class NotSupportedError(DatabaseError):
    """A feature or type that fastmssql does not support."""
