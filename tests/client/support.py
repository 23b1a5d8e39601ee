"""Helpers shared by the client tests: connection strings, timeouts, and checking a cell in Arrow and rows()."""

from __future__ import annotations

import asyncio
import os
import re
import struct
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
from connection_strings import TEST_URL_ENV, build_connection_string, parse_connection_string

NETWORK_TIMEOUT_SECS = 30.0


def password_of(url: str) -> str:
    pairs = parse_connection_string(url)
    return pairs.get("password", pairs.get("pwd", ""))


def uses_real_server() -> bool:
    return bool(os.environ.get(TEST_URL_ENV))


async def bounded(awaitable: Awaitable[Any], timeout: float = NETWORK_TIMEOUT_SECS) -> Any:
    return await asyncio.wait_for(awaitable, timeout)


# ---------------------------------------------------------------------------
# Checking one result cell in Arrow and in rows()
# ---------------------------------------------------------------------------

ARROW_UUID = "arrow.uuid"


def f32(value: float) -> float:
    """`value` rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


@dataclass(frozen=True)
class DecimalType:
    """An Arrow decimal128(precision, scale), the declared precision and scale of the column."""

    precision: int
    scale: int

    def matches(self, typ: pa.DataType) -> bool:
        return pa.types.is_decimal128(typ) and (typ.precision, typ.scale) == (self.precision, self.scale)

    def __repr__(self) -> str:
        return f"decimal128({self.precision}, {self.scale})"


SAME = object()
"""Cell.arrow_value default: pyarrow reads the same Python value as rows()."""


@dataclass(frozen=True)
class Cell:
    """What one cell must look like: Arrow type, rows() value, Arrow value and `mssql.type` metadata.

    `arrow_type`: a pa.DataType, a DecimalType, ARROW_UUID, or None (not checked, e.g. an untyped NULL).
    `arrow_value`: the value read back with pyarrow (time64 as int nanoseconds, uuid as its 16 bytes).
    `mssql`: regular expression the field's `mssql.type` metadata must fully match (None: not checked).
    """

    arrow_type: Any
    row_value: Any
    arrow_value: Any = SAME
    mssql: str | None = None

    def expected_arrow_value(self) -> Any:
        return self.row_value if self.arrow_value is SAME else self.arrow_value


def arrow_type_matches(fld: pa.Field, expected: Any) -> bool:
    typ = fld.type
    if expected is None:
        return True
    if isinstance(expected, DecimalType):
        return expected.matches(typ)
    if expected == ARROW_UUID:
        if isinstance(typ, pa.BaseExtensionType):
            return typ.extension_name == ARROW_UUID and typ.storage_type == pa.binary(16)
        metadata = fld.metadata or {}
        return typ == pa.binary(16) and metadata.get(b"ARROW:extension:name") == ARROW_UUID.encode()
    return typ == expected


def arrow_cell(column: pa.ChunkedArray, index: int = 0) -> Any:
    """One cell via pyarrow: time64 as int nanoseconds, extension arrays (uuid) as their storage bytes."""
    array = column.combine_chunks()
    if isinstance(array.type, pa.BaseExtensionType):
        array = array.storage
    if pa.types.is_time64(array.type):
        array = array.view(pa.int64())
    return array[index].as_py()


def assert_same_value(actual: Any, expected: Any, where: str) -> None:
    assert type(actual) is type(expected), (
        f"{where}: got {actual!r} ({type(actual).__name__}), expected {expected!r} ({type(expected).__name__})"
    )
    assert actual == expected, f"{where}: got {actual!r}, expected {expected!r}"
    if isinstance(expected, Decimal):
        assert str(actual) == str(expected), f"{where}: got {actual!r}, expected exactly {expected!r} (same scale)"
    if getattr(expected, "tzinfo", None) is not None:
        assert actual.utcoffset() == expected.utcoffset(), f"{where}: {actual!r} is not in UTC like {expected!r}"


def check_cell(result: Any, column: str, cell: Cell, index: int = 0) -> None:
    """Check column `column`, row `index` of `result` in to_arrow() and in rows()."""
    table = result.to_arrow()
    fld = table.schema.field(column)
    assert arrow_type_matches(fld, cell.arrow_type), f"{column}: Arrow type {fld.type} (metadata {fld.metadata}), expected {cell.arrow_type!r}"
    assert_same_value(arrow_cell(table.column(column), index), cell.expected_arrow_value(), f"{column} in to_arrow()")
    if cell.mssql is not None:
        declared = (fld.metadata or {}).get(b"mssql.type")
        assert declared is not None, f"{column}: no mssql.type metadata in {fld.metadata}"
        assert re.fullmatch(cell.mssql, declared.decode()), f"{column}: mssql.type {declared!r} does not match {cell.mssql!r}"
    rows = result.rows()
    assert_same_value(rows[index][column], cell.row_value, f"{column} in rows()")
