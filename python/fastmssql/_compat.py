"""fastmssql 0.7.7's API where it differs from ours, kept so code written
for it runs unchanged (see the README's "Upgrading from 0.7.7")."""

from __future__ import annotations

import enum
from typing import Any, Generator, Sequence

from fastmssql._core import NotSupportedError, Parameter


class ApplicationIntent(enum.Enum):
    """``application_intent=``: ReadOnly sessions may be routed to a readable secondary."""

    READ_ONLY = "ReadOnly"
    READ_WRITE = "ReadWrite"


class PoolStats(dict):
    """``pool_stats()``: a dict; awaited (as 0.7.7 code does) it gives 0.7.7's
    tuple ``(connected, connections, idle_connections, max_size, min_idle)``."""

    def __await__(self) -> Generator[Any, None, tuple]:
        return self._legacy()
        yield  # pragma: no cover - makes this a generator

    def _legacy(self) -> tuple:
        keys = ("connected", "connections", "idle_connections", "max_size", "min_idle")
        return tuple(self[key] for key in keys)


class ConnectedFlag(int):
    """``is_connected()``: a bool-like flag; awaited (as 0.7.7 code does) it gives the bool."""

    def __await__(self) -> Generator[Any, None, bool]:
        return bool(self)
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return repr(bool(self))

    __str__ = __repr__


class Parameters(list):
    """0.7.7's parameter list builder: ``Parameters(1, "a").add(None, "int")``.
    Named parameters: pass a dict (``{"name": value}``) instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise NotSupportedError("named Parameters: pass a dict such as {'name': value} as params instead")
        super().__init__(args)

    def add(self, value: Any, sql_type: str | None = None) -> Parameters:
        self.append(value if sql_type is None else Parameter(value, sql_type))
        return self

    def set(self, key: str, value: Any, sql_type: str | None = None) -> Parameters:
        raise NotSupportedError("named Parameters: pass a dict such as {'name': value} as params instead")

    def to_list(self) -> list[Any]:
        return list(self)

    @property
    def positional(self) -> list[Any]:
        return list(self)


class TypedNull:
    """0.7.7's typed NULLs: ``TypedNull.INT`` is a NULL sent as int."""

    TINYINT = Parameter(None, "tinyint")
    SMALLINT = Parameter(None, "smallint")
    INT = Parameter(None, "int")
    BIGINT = Parameter(None, "bigint")
    FLOAT32 = Parameter(None, "real")
    FLOAT64 = Parameter(None, "float")
    BIT = Parameter(None, "bit")
    STRING = Parameter(None, "nvarchar(4000)")
    GUID = Parameter(None, "uniqueidentifier")
    BINARY = Parameter(None, "varbinary(8000)")
    NUMERIC = Parameter(None, "decimal(38,10)")
    XML = Parameter(None, "xml")
    DATETIME = Parameter(None, "datetime")
    SMALLDATETIME = Parameter(None, "smalldatetime")
    TIME = Parameter(None, "time(7)")
    DATE = Parameter(None, "date")
    DATETIME2 = Parameter(None, "datetime2(7)")
    DATETIMEOFFSET = Parameter(None, "datetimeoffset(7)")


def arrow_from_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """0.7.7's ``bulk_insert(table, columns, rows)`` data as a pyarrow table
    (the load then converts each column to its target's type)."""
    try:
        import pyarrow
    except ImportError as missing:
        raise ImportError("bulk_insert(table, columns, rows) needs pyarrow: pip install pyarrow") from missing
    columns = list(columns)
    data: list[list[Any]] = [[] for _ in columns]
    for number, row in enumerate(rows, 1):
        if len(row) != len(columns):
            raise ValueError(f"bulk_insert: row {number} has {len(row)} values for {len(columns)} columns")
        for values, value in zip(data, row):
            values.append(value)
    return pyarrow.table(dict(zip(columns, (pyarrow.array(values) for values in data))))
