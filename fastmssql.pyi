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

import builtins
import datetime
import decimal
import uuid
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from enum import Enum
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

# ---------------------------------------------------------------------------
# The synchronous DB-API 2.0 interface (PEP 249): this module is the DB-API module
# ---------------------------------------------------------------------------

apilevel: str
"""``"2.0"``"""
threadsafety: int
"""``1``: threads may share the module, not connections."""
paramstyle: str
"""``"qmark"`` (``?``); a mapping binds ``@name``, a sequence ``@P1..@Pn`` when there is no ``?``."""

class _DBAPITypeObject:
    names: frozenset[str]
    def __init__(self, *names: str) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

STRING: _DBAPITypeObject
BINARY: _DBAPITypeObject
NUMBER: _DBAPITypeObject
DATETIME: _DBAPITypeObject
ROWID: _DBAPITypeObject
Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime

def DateFromTicks(ticks: float) -> datetime.date: ...
def TimeFromTicks(ticks: float) -> datetime.time: ...
def TimestampFromTicks(ticks: float) -> datetime.datetime: ...
def Binary(value: bytes | bytearray | memoryview) -> bytes: ...

class _Cursor:
    """A DB-API cursor (``fastmssql._dbapi.Cursor``): ``execute`` then ``fetchone``/``fetchmany``/
    ``fetchall`` (tuples), ``nextset``; ``description`` 7-tuples carry the SQL Server type name as
    type code; ``rowcount`` is the rows of the current result set, or the rows affected. Arrow
    extras: ``fetch_arrow_table()`` (pyarrow), ``fetch_record_batch()`` (a pyarrow
    ``RecordBatchReader``), ``arrow()`` (the ``QueryResult``, an Arrow PyCapsule exporter)."""

    connection: _DbapiConnection
    arraysize: int
    rowcount: int
    description: list[tuple[Any, ...]] | None
    def execute(self, operation: str, parameters: _Params | None = None) -> _Cursor: ...
    def executemany(self, operation: str, seq_of_parameters: Sequence[_Params]) -> _Cursor: ...
    def callproc(self, procname: str, parameters: Sequence[Any] = ()) -> Sequence[Any]: ...
    def nextset(self) -> bool | None: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def __iter__(self) -> Iterator[tuple[Any, ...]]: ...
    def arrow(self) -> QueryResult: ...
    def fetch_arrow(self) -> QueryResult: ...
    def fetch_arrow_table(self) -> pyarrow.Table: ...
    def fetch_record_batch(self) -> pyarrow.RecordBatchReader: ...
    def fetch_record_batches(self, batch_size: int | None = None) -> Iterator[pyarrow.RecordBatch]: ...
    def setinputsizes(self, sizes: Any) -> None: ...
    def setoutputsize(self, size: Any, column: Any = None) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> _Cursor: ...
    def __exit__(self, *exc_info: object) -> None: ...

class _DbapiConnection:
    """A DB-API connection (``fastmssql._dbapi.Connection``): one pooled session for its lifetime,
    its calls run in the caller's thread with the GIL released. Autocommit is off by default; the
    exception classes are attributes; ``with`` commits on success, rolls back on an exception, then
    closes; ``close()`` rolls back what is uncommitted."""

    autocommit: bool
    @property
    def closed(self) -> bool: ...
    def cursor(self) -> _Cursor: ...
    def execute(self, operation: str, parameters: _Params | None = None) -> _Cursor: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> _DbapiConnection: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...

def connect(connection_string: str | None = None, *, autocommit: bool = False, **kwargs: Any) -> _DbapiConnection:
    """A DB-API 2.0 connection; the same arguments as ``Connection`` (a pool of its own, one
    session), plus ``autocommit``."""

@dataclass(frozen=True)
class Partition:
    """One query of a ``PartitionPlan`` and its parameters (a tuple binds ``@P1..``, a dict ``@name``)."""

    sql: str
    params: tuple[Any, ...] | dict[str, Any] | None = None

@dataclass(frozen=True)
class PartitionPlan:
    """The queries of a partitioned read, whose results concatenated in order are the whole
    result: plain data, picklable, no connection (run them anywhere: Dask, Ray, Spark)."""

    partitions: tuple[Partition, ...]
    def __len__(self) -> int: ...

def plan_partitions(
    connection_string: str,
    sql: str | Sequence[str],
    params: _Params | None = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> PartitionPlan:
    """The queries ``read_arrow`` would run for these arguments (its bounds read with one
    MIN/MAX query unless ``partition_range`` gives them); run each anywhere with
    ``read_arrow(connection_string, p.sql, p.params)``."""

def read_arrow(
    connection_string: str,
    sql: str | Sequence[str],
    params: _Params | None = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> pyarrow.Table:
    """``Connection.read_arrow`` for scripts: connects (a pool wide enough for every partition),
    reads, closes; runs its own event loop (in a thread of its own inside a running one)."""

def read_polars(
    connection_string: str,
    sql: str | Sequence[str],
    params: _Params | None = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
) -> polars.DataFrame:
    """``Connection.read_polars`` for scripts, as ``read_arrow``."""

def read_pandas(
    connection_string: str,
    sql: str | Sequence[str],
    params: _Params | None = None,
    *,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_range: tuple[Any, Any] | None = None,
    dtype_backend: str = "pyarrow",
) -> pandas.DataFrame:
    """``Connection.read_pandas`` for scripts, as ``read_arrow``; Arrow-backed dtypes unless
    ``dtype_backend="numpy"``."""

def version() -> str:
    """The installed fastmssql version (fastmssql 0.7.7's ``version()``)."""

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
    Strict: ClassVar[EncryptionLevel]
    """TDS 8.0 (``Encrypt=strict``): TLS before any TDS byte (ALPN ``tds/8.0``), then everything inside it."""
    Disabled: ClassVar[EncryptionLevel]
    """fastmssql 0.7.7's name for ``Off``."""

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
    @staticmethod
    def one() -> PoolConfig:
        """max_size=1, min_idle=1 (fastmssql 0.7.7's preset)."""
    @staticmethod
    def low_resource() -> PoolConfig:
        """max_size=3, min_idle=1 (0.7.7's preset)."""
    @staticmethod
    def development() -> PoolConfig:
        """max_size=5, min_idle=1 (0.7.7's preset)."""
    @staticmethod
    def high_throughput() -> PoolConfig:
        """max_size=25, min_idle=8 (0.7.7's preset)."""
    @staticmethod
    def performance() -> PoolConfig:
        """max_size=30, min_idle=10 (0.7.7's preset)."""
    @staticmethod
    def adaptive(concurrent_workers: int) -> PoolConfig:
        """max_size = ceil(workers * 1.2) + 5 (0.7.7's formula), a quarter of the workers kept idle."""
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

class _Calls:
    """The calls of a ``Connection`` (each on whichever pooled connection is free) and of a
    ``Session`` (all on its one connection).

    Every call takes ``timeout=`` seconds (default: the connection's ``command_timeout``, else
    none): past it the request is cancelled with an Attention and ``QueryTimeoutError`` raised;
    the connection stays in use when the server acknowledges the cancel. A cancelled task and an
    abandoned stream cancel their request the same way. The server's informational messages
    (``PRINT``, warnings) are kept on the result's ``messages`` and issued as ``fastmssql.Warning``
    (or passed to the connection's ``message_handler``).
    """

    async def query(self, sql: str, params: _Params | None = None, *, timeout: float | None = None) -> QueryResult:
        """Run a batch and return its first result set (all of them in ``result_sets``).

        A sequence binds ``@P1..@Pn``, a mapping binds ``@name``. Python types:
        None -> NULL, bool -> bit, int -> int/bigint, float -> float,
        str -> nvarchar(n|max), bytes/bytearray/memoryview -> varbinary(n|max),
        Decimal -> numeric(p,s), naive datetime -> datetime2(7),
        aware datetime -> datetimeoffset(7), date -> date, time -> time(7),
        UUID -> uniqueidentifier, ``Parameter`` -> its declared type.

        On a pooled connection, a batch that leaves a transaction open (``BEGIN TRAN`` without
        ``COMMIT``) is rolled back and raises ``ProgrammingError``: use ``transaction()``.
        """

    async def execute(self, sql: str, params: _Params | None = None, *, timeout: float | None = None) -> int:
        """Run a batch and return the number of rows it affected (summed over statements)."""

    async def executemany(
        self, sql: str, seq_of_params: Sequence[_Params], *, atomic: bool = False, timeout: float | None = None
    ) -> int:
        """Run ``sql`` once per parameter set, 10,000 to a request; the total rows affected.

        Without ``atomic`` each statement stands alone (as SQL Server runs the RPCs of one
        request); with it, all or none (a transaction of its own, or a savepoint of the open one).
        A failing statement raises naming its position."""

    async def execute_batch(
        self,
        commands: Sequence[str | tuple[str] | tuple[str, _Params | None]],
        *,
        atomic: bool = False,
        timeout: float | None = None,
    ) -> list[int]:
        """Run ``[(sql, params), ...]`` (or plain SQL strings), 10,000 to a request; the rows
        affected by each. ``atomic`` as for ``executemany``."""

    async def query_batch(
        self, queries: Sequence[str | tuple[str] | tuple[str, _Params | None]], *, timeout: float | None = None
    ) -> list[QueryResult]:
        """Run the statements in one request; one ``QueryResult`` per statement (its first result
        set; all of them in ``result_sets``)."""

    async def call_proc(
        self,
        name: str,
        params: _Params | None = None,
        *,
        output: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Call a stored procedure: arguments by name (mapping) or position (sequence); each name
        in ``output`` (mapped to its SQL type, e.g. ``{"total": "int"}``) is an OUTPUT argument,
        its value from ``params`` or NULL. The result holds the procedure's result sets, its
        OUTPUT values in ``output`` and its RETURN value in ``return_status``."""

    async def stream(
        self,
        sql: str,
        params: _Params | None = None,
        *,
        batch_size: int = 65536,
        batch_bytes: int | None = None,
        timeout: float | None = None,
    ) -> ResultStream:
        """Run a batch and stream its first result set in batches of at most ``batch_size`` rows;
        with ``batch_bytes``, a batch also ends once its strings and binaries (all columns
        together) reach that many bytes, so large values cannot make a batch huge.

        Returns once the result's columns are known; errors before the result
        raise here. The stream holds one pooled connection until it is read to
        its end; memory stays bounded by a few batches whatever the result's
        size. Parameters bind as for ``query``. ``batch_size`` or ``batch_bytes``
        < 1 raises ``ValueError``.
        """

class _StreamCall(Awaitable[ResultStream], AsyncIterator[QueryResult]):
    """What ``Connection.stream()`` returns: awaited, the ``ResultStream``; ``async for``
    reads its batches directly."""

    def __await__(self) -> Generator[Any, None, ResultStream]: ...
    def __aiter__(self) -> _StreamCall: ...
    async def __anext__(self) -> QueryResult: ...

class Connection(_Calls):
    """A pool of connections to one SQL Server database.

    Configure it with an ADO.NET connection string
    (``Server=host,port;Database=db;User Id=u;Password=p;Encrypt=yes|no|strict;TrustServerCertificate=no;
    ApplicationIntent=ReadOnly;Packet Size=8192;Connect Timeout=15``)
    and/or keyword arguments. A keyword that the connection string also sets,
    or ``ssl_config`` together with a string that sets ``Encrypt`` /
    ``TrustServerCertificate``, raises ``ValueError``.

    ``command_timeout`` (seconds) bounds every call that gives no ``timeout=``; none by default.
    ``message_handler`` receives each server message (``Message``) instead of ``warnings``.
    Every checkout of a pooled connection resets its session (temp tables, SET options,
    database), as ODBC and SqlClient pools do.

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
        application_intent: str | ApplicationIntent | None = None,
        instance_name: str | None = None,
        command_timeout: float | None = None,
        message_handler: Callable[[Message], object] | None = None,
        azure_credential: None = None,
    ) -> Connection: ...
    def __init__(self, *args: Any, azure_credential: None = None, **kwargs: Any) -> None: ...
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

    async def disconnect(self) -> bool:
        """``close()`` under fastmssql 0.7.7's name."""

    def is_connected(self) -> _ConnectedFlag:
        """Whether the pool is open; ``await conn.is_connected()`` (0.7.7's form) works too."""

    def pool_stats(self) -> _PoolStats:
        """Counters of the pool: ``connected`` (bool), ``connections``, ``idle_connections``,
        ``active_connections``, ``connections_created``, ``connections_closed_broken``,
        ``max_size``, ``min_idle``. Awaited (0.7.7's form) it gives the tuple
        ``(connected, connections, idle_connections, max_size, min_idle)``."""

    async def session(self) -> Session:
        """Check out a pooled connection for this caller alone until ``release()``."""

    def blocking_session(self) -> Session:
        """``session()`` for the synchronous API: its calls return their values, not awaitables."""

    def close_blocking(self) -> None:
        """``close()`` for the synchronous API."""

    def transaction(self, isolation_level: str | None = None) -> Transaction:
        """``async with conn.transaction() as tx:`` — a transaction on one pooled connection,
        committed on normal exit, rolled back on an exception or task cancellation.
        ``isolation_level``: READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ, SERIALIZABLE or
        SNAPSHOT."""

    def acquire(self) -> Acquire:
        """``async with conn.acquire() as session:`` — one pooled connection for the block; its
        temp tables and SET options last between the block's calls."""

    async def read_arrow(
        self,
        sql: str | Sequence[str],
        params: _Params | None = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
    ) -> pyarrow.Table:
        """The whole result as one ``pyarrow.Table``, with the query's exact schema.

        With ``partition_on`` (an integer, decimal, float, date, time or datetime column of the
        result) and ``partitions=N``: one ``MIN``/``MAX`` query (skipped when ``partition_range=(low,
        high)`` is given), then up to N range queries ``SELECT * FROM (sql) AS t WHERE col >= lo AND
        col < hi`` (the first and last open-ended, so no row is lost) and one for NULL keys, all
        run at once on the pool's connections (up to ``PoolConfig.max_size``). A list of queries
        instead of ``sql`` runs those at once. The query must be valid as a derived table (every
        column named, no ``ORDER BY`` without ``TOP``). The plan is ``fastmssql.plan_partitions``'s.
        """

    async def read_polars(
        self,
        sql: str | Sequence[str],
        params: _Params | None = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
    ) -> polars.DataFrame:
        """``read_arrow`` as one ``polars.DataFrame`` (uuids as text, as ``QueryResult.to_polars()``)."""

    async def read_pandas(
        self,
        sql: str | Sequence[str],
        params: _Params | None = None,
        *,
        partition_on: str | None = None,
        partitions: int | None = None,
        partition_range: tuple[Any, Any] | None = None,
        dtype_backend: str = "pyarrow",
    ) -> pandas.DataFrame:
        """``read_arrow`` as one pandas DataFrame with Arrow-backed dtypes (``pandas.ArrowDtype``),
        or numpy ones with ``dtype_backend="numpy"``."""

    def stream(  # type: ignore[override]
        self,
        sql: str,
        params: _Params | None = None,
        *,
        batch_size: int = 65536,
        batch_bytes: int | None = None,
        timeout: float | None = None,
    ) -> _StreamCall:
        """As ``Session.stream``; ``async for chunk in conn.stream(sql)`` reads it without a
        separate ``await`` (``stream = await conn.stream(sql)`` stays valid)."""

    def simple_query(self, sql: str) -> Awaitable[QueryResult]:
        """A batch without parameters (fastmssql 0.7.7's ``simple_query``)."""

    @overload
    def bulk_insert(
        self,
        table: str,
        data: _ArrowStreamExportable | Any,
        rows: None = None,
        *,
        batch_rows: int | None = None,
        tablock: bool = False,
        keep_identity: bool = True,
        keep_nulls: bool = False,
        check_constraints: bool = False,
        fire_triggers: bool = False,
        order: Sequence[str | tuple[str, str]] | None = None,
        atomic: bool = False,
        progress: bool | Callable[[int], object] | None = None,
    ) -> Awaitable[int]: ...
    @overload
    def bulk_insert(
        self,
        table: str,
        data: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        batch_rows: int | None = None,
        tablock: bool = False,
        keep_identity: bool = True,
        keep_nulls: bool = False,
        check_constraints: bool = False,
        fire_triggers: bool = False,
        order: Sequence[str | tuple[str, str]] | None = None,
        atomic: bool = False,
        progress: bool | Callable[[int], object] | None = None,
    ) -> Awaitable[int]:
        """Bulk-load into ``table`` with SQL Server's bulk load (INSERT BULK): Arrow data
        (``pyarrow.Table``, ``polars.DataFrame``, a ``QueryResult``, a ``pyarrow.RecordBatchReader``,
        a ``ResultStream`` of another query, anything exporting ``__arrow_c_stream__``), a pandas
        DataFrame (through pyarrow, without its index), or fastmssql 0.7.7's ``(table, columns,
        rows)`` (needs pyarrow); return the number of rows stored.

        The input is read one record batch at a time, so a stream loads in bounded memory
        (a table-to-table copy: ``await conn.bulk_insert("dst", await conn.stream("SELECT ..."))``).
        Columns are matched by name, so the data may leave out columns the table fills itself
        (identity, defaults, NULLs). Each batch is converted to the columns' declared types and
        checked before any of its rows is sent: a value that does not fit (out of range, digits
        that would be lost, NULL into a fixed-size NOT NULL column, an unsupported Arrow type)
        raises ``DataError``/``IntegrityError`` naming the column and row. One INSERT BULK is
        stored whole or not at all (an error the server reports, e.g. 2627, rejects it; a bad
        value after some of its rows went out abandons it and discards the connection).

        ``batch_rows``: rows per INSERT BULK (each stored on its own outside a transaction; a
        failure names the rows the earlier ones stored); all in one by default.
        ``atomic=True``: the whole load in one transaction (a savepoint of an open one), so any
        failure leaves the table as it was. ``keep_identity=False``: identity values the data
        carries are ignored and the server numbers the rows. ``keep_nulls``: NULLs stay NULL in
        columns with a default. ``tablock``, ``check_constraints``, ``fire_triggers`` and
        ``order`` (columns the data is sorted on, ``"col"`` or ``("col", "DESC")``) are the
        INSERT BULK options of the same names. ``progress=True`` draws a tqdm bar (``ImportError``
        without tqdm); a callable is called with the rows sent so far before each batch and at
        the end (an exception it raises stops the load). ``table`` is checked to be a plain or
        ``[bracketed]`` (dotted) name before it is used.
        """

    def __repr__(self) -> str: ...

@final
class Session(_Calls):
    """One pooled connection kept by its caller (``Connection.session()``, ``acquire()``,
    ``transaction()``): temp tables, SET options and a transaction last between its calls.
    ``release()`` (or leaving ``async with``) rolls back what is uncommitted and returns it;
    calls after that raise ``ProgrammingError``."""

    async def begin(self, isolation_level: str | None = None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def release(self) -> None: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def released(self) -> bool: ...
    async def bulk_insert(
        self,
        table: str,
        data: _ArrowStreamExportable | Any,
        *,
        batch_rows: int | None = None,
        tablock: bool = False,
        keep_identity: bool = True,
        keep_nulls: bool = False,
        check_constraints: bool = False,
        fire_triggers: bool = False,
        order: Sequence[str | tuple[str, str]] | None = None,
        atomic: bool = False,
        progress: bool | Callable[[int], object] | None = None,
    ) -> int:
        """``Connection.bulk_insert`` on this session (inside its transaction, if one is open)."""
    async def __aenter__(self) -> Session: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None: ...
    def __repr__(self) -> str: ...

class Transaction:
    """A transaction on one pooled connection: ``async with conn.transaction() as tx:``, or
    fastmssql 0.7.7's ``Transaction(connection_string, ...)`` (a connection of its own) with
    ``begin()``/``commit()``/``rollback()``/``close()`` and ``async with``. Commits on normal exit,
    rolls back on an exception or cancellation; calls after the end raise ``ProgrammingError``."""

    def __init__(
        self,
        connection_string: str | None = None,
        ssl_config: SslConfig | None = None,
        azure_credential: None = None,
        server: str | None = None,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
        application_intent: str | ApplicationIntent | None = None,
        port: int | None = None,
        instance_name: str | None = None,
        application_name: str | None = None,
        *,
        connection: Connection | None = None,
        isolation_level: str | None = None,
    ) -> None: ...
    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    def is_connected(self) -> bool: ...
    @property
    def in_transaction(self) -> bool: ...
    def savepoint(self, name: str | None = None) -> Savepoint: ...
    async def __aenter__(self) -> Transaction: ...
    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...
    async def query(self, sql: str, params: Any = None, **options: Any) -> Any: ...
    async def execute(self, sql: str, params: Any = None, **options: Any) -> int: ...
    async def executemany(self, sql: str, seq_of_params: Any, **options: Any) -> int: ...
    async def execute_batch(self, commands: Any, **options: Any) -> list[int]: ...
    async def query_batch(self, queries: Any, **options: Any) -> list[Any]: ...
    async def simple_query(self, sql: str) -> Any: ...
    async def call_proc(self, name: str, params: Any = None, **options: Any) -> Any: ...
    def stream(self, sql: str, params: Any = None, **options: Any) -> _StreamCall: ...
    async def bulk_insert(self, table: str, data: Any, rows: Any = None, **options: Any) -> int: ...

class Savepoint:
    """``async with tx.savepoint():`` an exception in the block rolls the transaction back to
    the block's start and propagates; the transaction stays open."""

    name: str
    def __init__(self, session: Session, name: str | None) -> None: ...
    async def __aenter__(self) -> Savepoint: ...
    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...

class Acquire:
    """What ``Connection.acquire()`` returns: ``async with`` gives a ``Session``."""

    def __init__(self, connection: Any) -> None: ...
    async def __aenter__(self) -> Session: ...
    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...

@final
class Message:
    """An informational message of the server (PRINT, RAISERROR of severity <= 10, warnings)."""

    @property
    def number(self) -> int: ...
    @property
    def state(self) -> int: ...
    @property
    def severity(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def procedure(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def server(self) -> str: ...

class ApplicationIntent(Enum):
    """``application_intent=`` (also ``ApplicationIntent=`` in the connection string)."""

    READ_ONLY = "ReadOnly"
    READ_WRITE = "ReadWrite"

class _PoolStats(dict[str, Any]):
    def __await__(self) -> Generator[Any, None, tuple[Any, ...]]: ...

class _ConnectedFlag(int):
    def __await__(self) -> Generator[Any, None, bool]: ...

class Parameters(list[Any]):
    """fastmssql 0.7.7's positional parameter list: ``Parameters(1, "a").add(None, "int")``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def add(self, value: Any, sql_type: str | None = None) -> Parameters: ...
    def set(self, key: str, value: Any, sql_type: str | None = None) -> Parameters:
        """Named parameters are not supported this way: pass a dict (``NotSupportedError``)."""
    def to_list(self) -> list[Any]: ...
    @property
    def positional(self) -> list[Any]: ...

class TypedNull:
    """fastmssql 0.7.7's typed NULLs: ``TypedNull.INT`` is ``Parameter(None, "int")``."""

    TINYINT: ClassVar[Parameter]
    SMALLINT: ClassVar[Parameter]
    INT: ClassVar[Parameter]
    BIGINT: ClassVar[Parameter]
    FLOAT32: ClassVar[Parameter]
    FLOAT64: ClassVar[Parameter]
    BIT: ClassVar[Parameter]
    STRING: ClassVar[Parameter]
    GUID: ClassVar[Parameter]
    BINARY: ClassVar[Parameter]
    NUMERIC: ClassVar[Parameter]
    XML: ClassVar[Parameter]
    DATETIME: ClassVar[Parameter]
    SMALLDATETIME: ClassVar[Parameter]
    TIME: ClassVar[Parameter]
    DATE: ClassVar[Parameter]
    DATETIME2: ClassVar[Parameter]
    DATETIMEOFFSET: ClassVar[Parameter]

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
    stream before its end cancels its request (Attention); the connection goes back to the pool.
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
    def column_types(self) -> list[tuple[str, str | None, bool]]:
        """Each column's name, declared SQL Server type (e.g. ``"decimal(18,4)"``) and nullability."""
    @property
    def rows_affected(self) -> int:
        """Rows affected by the whole batch, as ``Connection.execute`` would return."""
    @property
    def result_sets(self) -> list[QueryResult]:
        """Every result set of the batch in order (``[self, ...]``); ``[]`` when there is none."""

    def __len__(self) -> int: ...
    @property
    def messages(self) -> list[Message]:
        """The server's informational messages of the call (PRINT, warnings), in order."""
    @property
    def return_status(self) -> int | None:
        """A stored procedure's RETURN value (``call_proc``)."""
    @property
    def output(self) -> dict[str, Any]:
        """A stored procedure's OUTPUT values by name (``call_proc``); ``{}`` otherwise."""
    def has_rows(self) -> bool: ...
    def is_empty(self) -> bool: ...
    def all(self) -> list[FastRow]:
        """Every row (fastmssql 0.7.7's ``QueryStream.all()``)."""
    def fetch(self, n: int) -> list[FastRow]:
        """``fetchmany(n)`` under 0.7.7's name."""
    def reset(self) -> None:
        """Rewind the fetch cursor to the first row."""
    def position(self) -> int:
        """Rows fetched so far."""
    def len(self) -> int:
        """The number of rows (0.7.7's ``QueryStream.len()``)."""
    def rows(self) -> list[FastRow]: ...
    def fetchone(self) -> FastRow | None: ...
    def fetchmany(self, n: int = 1) -> list[FastRow]: ...
    def fetchall(self) -> list[FastRow]:
        """The rows not yet fetched."""

    def fetch_tuples(self, n: int | None = None) -> list[tuple[Any, ...]]:
        """The next ``n`` rows not yet fetched (all when ``None``) as plain tuples, without
        ``FastRow`` objects (what the DB-API cursor returns)."""

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

class Warning(builtins.Warning):
    """A DB-API warning (an ``Exception``); the server's messages are issued as these."""

class Error(Exception):
    """Base of every fastmssql error.

    Errors reported by the server carry its ERROR token fields; each is ``None``
    when the error did not come from the server.
    """

    number: int | None
    code: int | None
    """``number`` under fastmssql 0.7.7's name."""
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

class QueryTimeoutError(OperationalError, TimeoutError):
    """A call cancelled at its ``timeout`` (or the connection's ``command_timeout``)."""

# fastmssql 0.7.7's names.
QueryStream = QueryResult
SqlError = DatabaseError
SqlConnectionError = OperationalError
TlsError = OperationalError
ProtocolError = OperationalError
ConversionError = DataError
