"""The synchronous DB-API 2.0 (PEP 249) interface: ``fastmssql.connect(...)``.

Each call runs in the caller's thread on the same Rust core as the asyncio
API, the GIL released while it waits; a connection is one pooled session
kept for its lifetime. Autocommit is off by default, as in pyodbc and
mssql-python: the first statement after ``commit()``/``rollback()`` begins a
transaction.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastmssql import _core

apilevel = "2.0"
# Threads may share the module, not connections (as pyodbc).
threadsafety = 1
# `?` placeholders, as pyodbc and mssql-python; a mapping binds @name, and
# a sequence binds @P1..@Pn when the statement has no `?`.
paramstyle = "qmark"

Warning = _core.Warning
Error = _core.Error
InterfaceError = _core.InterfaceError
DatabaseError = _core.DatabaseError
DataError = _core.DataError
OperationalError = _core.OperationalError
IntegrityError = _core.IntegrityError
InternalError = _core.InternalError
ProgrammingError = _core.ProgrammingError
NotSupportedError = _core.NotSupportedError


class DBAPITypeObject:
    """Compares equal to the SQL Server type names (``description``'s type codes) of its group."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def __eq__(self, other: object) -> bool:
        return other in self.names

    def __ne__(self, other: object) -> bool:
        return other not in self.names

    def __hash__(self) -> int:
        return hash(self.names)


STRING = DBAPITypeObject("char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml", "sysname")
BINARY = DBAPITypeObject("binary", "varbinary", "image", "timestamp", "rowversion", "udt")
NUMBER = DBAPITypeObject(
    "bit", "tinyint", "smallint", "int", "bigint", "real", "float", "decimal", "numeric", "money", "smallmoney"
)
DATETIME = DBAPITypeObject("date", "time", "datetime", "datetime2", "smalldatetime", "datetimeoffset")
ROWID = DBAPITypeObject("uniqueidentifier")

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249's name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802 - PEP 249's name
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802 - PEP 249's name
    return Timestamp(*time.localtime(ticks)[:6])


def Binary(value: bytes | bytearray | memoryview) -> bytes:  # noqa: N802 - PEP 249's name
    return bytes(value)


def _bind(operation: str, parameters: Any) -> tuple[str, Any]:
    """The statement with `?` placeholders as @P1..@Pn (for a sequence of parameters)."""
    if parameters is None or type(parameters) is dict or isinstance(parameters, Mapping):
        return operation, parameters
    sql, count = _core._qmarks_to_positional(operation)
    if count == 0:
        return operation, parameters
    # The common cases first: the ABC checks cost more than the rest of a small request.
    if type(parameters) is not list and type(parameters) is not tuple and (
        isinstance(parameters, (str, bytes)) or not isinstance(parameters, Sequence)
    ):
        parameters = list(parameters)
    if len(parameters) != count:
        raise ProgrammingError(f"the statement has {count} '?' placeholders but {len(parameters)} parameters were given")
    return sql, parameters


def _description(result: Any) -> list[tuple[Any, ...]]:
    """PEP 249's 7-tuples: name, type code (the SQL Server type name), display size,
    internal size, precision, scale, null_ok."""
    columns = []
    for name, declared, nullable in result.column_types:
        base, _, arguments = (declared or "").partition("(")
        numbers = [part.strip() for part in arguments.rstrip(")").split(",")] if arguments else []
        size = precision = scale = None
        if base in ("decimal", "numeric") and len(numbers) == 2:
            precision, scale = int(numbers[0]), int(numbers[1])
        elif numbers and numbers[0].isdigit():
            size = int(numbers[0])
            if base in ("time", "datetime2", "datetimeoffset"):
                size, scale = None, int(numbers[0])
        columns.append((name, base or None, size, size, precision, scale, nullable))
    return columns


class Cursor:
    """A DB-API cursor: ``execute`` then ``fetchone``/``fetchmany``/``fetchall`` (tuples),
    ``nextset`` for further result sets, and the Arrow extras ``fetch_arrow_table()``,
    ``fetch_record_batch()`` and ``arrow()``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.rowcount = -1
        self._description: list[tuple[Any, ...]] | None = None
        self._results: list[Any] = []
        self._index = 0
        self._closed = False

    # -- running -----------------------------------------------------------------------------

    def _session(self) -> Any:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        return self.connection._ready()

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        sql, params = _bind(operation, parameters)
        result = self._session().query(sql, params)
        self._show(result.result_sets, result.rows_affected)
        return self

    def executemany(self, operation: str, seq_of_parameters: Any) -> Cursor:
        batches = [_bind(operation, parameters) for parameters in seq_of_parameters]
        session = self._session()
        if not batches:
            self._show([], 0)
            return self
        statements = [(sql, params) for sql, params in batches]
        counts = session.execute_batch(statements)
        self._show([], sum(counts))
        return self

    def callproc(self, procname: str, parameters: Sequence[Any] = ()) -> Sequence[Any]:
        """Calls a stored procedure with positional arguments; its result sets become the
        cursor's. Returns the arguments unchanged (OUTPUT values: use ``Connection.call_proc``)."""
        result = self._session().call_proc(procname, list(parameters))
        self._show(result.result_sets, result.rows_affected)
        return parameters

    def _show(self, results: list[Any], rows_affected: int) -> None:
        self._results, self._index = results, 0
        self._rows_affected = rows_affected
        self._describe()

    def _describe(self) -> None:
        current = self._current()
        # Built when first read: most callers never look at it.
        self._description = None
        self.rowcount = self._rows_affected if current is None else len(current)

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """PEP 249's 7-tuples of the current result set's columns; ``None`` without one."""
        if self._description is None:
            current = self._current()
            if current is not None:
                self._description = _description(current)
        return self._description

    def _current(self) -> Any:
        return self._results[self._index] if self._index < len(self._results) else None

    def nextset(self) -> bool | None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        if self._index + 1 >= len(self._results):
            self._index = len(self._results)
            self._description = None
            return None
        self._index += 1
        self._describe()
        return True

    # -- fetching ------------------------------------------------------------------------------

    def _result(self) -> Any:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        current = self._current()
        if current is None:
            raise ProgrammingError("the last statement returned no result set to fetch from")
        return current

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._result().fetch_tuples(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._result().fetch_tuples(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._result().fetch_tuples()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def arrow(self) -> Any:
        """The current result set as an Arrow PyCapsule exporter (``QueryResult``)."""
        return self._result()

    fetch_arrow = arrow

    def fetch_arrow_table(self) -> Any:
        """The current result set as a ``pyarrow.Table`` sharing the buffers."""
        return self._result().to_arrow()

    def fetch_record_batch(self) -> Any:
        """The current result set as a ``pyarrow.RecordBatchReader``."""
        import pyarrow

        return pyarrow.RecordBatchReader.from_stream(self._result())

    def fetch_record_batches(self, batch_size: int | None = None) -> Iterator[Any]:
        """The current result set's record batches (pyarrow), for batched readers."""
        return iter(self.fetch_record_batch())

    # -- no-ops and lifetime ---------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored: parameter types come from the values (or ``Parameter``)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Accepted and ignored: values are never truncated."""

    def close(self) -> None:
        self._closed = True
        self._results = []

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class Connection:
    """A DB-API connection: one pooled session for its lifetime."""

    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, core: Any, autocommit: bool) -> None:
        self._core = core
        self._session: Any = core.blocking_session()
        self._autocommit = autocommit

    def _ready(self) -> Any:
        """The session, inside a transaction unless autocommit is on."""
        if self._session is None:
            raise InterfaceError("the connection is closed")
        if not self._autocommit and not self._session.in_transaction:
            self._session.begin()
        return self._session

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        # As pyodbc: switching it on commits the open transaction.
        if value and not self._autocommit and self._session is not None and self._session.in_transaction:
            self._session.commit()
        self._autocommit = bool(value)

    def cursor(self) -> Cursor:
        if self._session is None:
            raise InterfaceError("the connection is closed")
        _offer_arrow_to_polars()
        return Cursor(self)

    def commit(self) -> None:
        if self._session is None:
            raise InterfaceError("the connection is closed")
        if self._session.in_transaction:
            self._session.commit()

    def rollback(self) -> None:
        if self._session is None:
            raise InterfaceError("the connection is closed")
        self._session.rollback()

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        """A new cursor's ``execute`` (as pyodbc and sqlite3 offer)."""
        return self.cursor().execute(operation, parameters)

    def close(self) -> None:
        """Rolls back what is uncommitted and closes the connection."""
        session, self._session = self._session, None
        if session is not None:
            try:
                session.release()
            finally:
                self._core.close_blocking()

    @property
    def closed(self) -> bool:
        return self._session is None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # As pyodbc: commit on success, roll back on an exception; then close.
        try:
            if self._session is not None and exc_type is None and not self._autocommit:
                self.commit()
        finally:
            self.close()


def _offer_arrow_to_polars() -> None:
    """polars.read_database picks its Arrow readers by the driver's module name from
    a registry of the drivers it knows; until it lists fastmssql, add our entry (the
    ADBC-style methods) so it takes the Arrow path instead of building rows."""
    registry_module = sys.modules.get("polars.io.database._arrow_registry")
    if registry_module is None:
        return
    registry = getattr(registry_module, "ARROW_DRIVER_REGISTRY", None)
    if isinstance(registry, dict):
        registry.setdefault(
            "fastmssql",
            [
                {
                    "fetch_all": "fetch_arrow_table",
                    "fetch_batches": "fetch_record_batches",
                    "exact_batch_size": False,
                    "repeat_batch_calls": False,
                    "minimum_version": None,
                }
            ],
        )


def connect(connection_string: str | None = None, *, autocommit: bool = False, **kwargs: Any) -> Connection:
    """A DB-API connection; the same arguments as ``fastmssql.Connection`` (its pool
    is this connection's alone, one session), plus ``autocommit``."""
    kwargs.setdefault("pool_config", _core.PoolConfig(max_size=1, min_idle=0))
    from fastmssql import Connection as _Pool

    return Connection(_Pool(connection_string, **kwargs), autocommit)
