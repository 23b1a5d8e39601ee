"""Issue 14: every Arrow type this package's reads produce (and the common variants of each: large and
view strings and binaries, dictionary-encoded strings, the `arrow.uuid` extension, decimal128 of every
precision, timestamps with and without a time zone) loaded with `fastmssql.Connection.bulk_insert`
from pyarrow, polars and pandas, then read back through an independent client, Microsoft's ODBC
Driver 18 (mssql-python): the values must be the ones the frame held.

The expected values are written out here in plain Python, never produced by this package.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import fastmssql

from .clients import ADAPTERS

UTC = timezone.utc
GUIDS = [uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"), uuid.UUID(int=0), None]
PRECISIONS = range(1, 39)


def _scale(precision: int) -> int:
    return precision // 3


def _decimals(precision: int) -> list[Decimal | None]:
    """The largest and the smallest value of decimal(p, s), then NULL."""
    scale = _scale(precision)
    digits = "9" * (precision - scale) + ("." + "9" * scale if scale else "")
    return [Decimal(digits), Decimal("-" + digits), None]


# column -> (declared SQL type, Arrow type, values of rows 1..3)
COLUMNS: dict[str, tuple[str, pa.DataType, list[Any]]] = {
    "flag": ("bit", pa.bool_(), [True, False, None]),
    "tiny": ("tinyint", pa.uint8(), [0, 255, None]),
    "small": ("smallint", pa.int16(), [-32768, 32767, None]),
    "i": ("int", pa.int32(), [-(2**31), 2**31 - 1, None]),
    "big": ("bigint", pa.int64(), [-(2**63), 2**63 - 1, None]),
    "r": ("real", pa.float32(), [1.5, -0.25, None]),
    "f": ("float", pa.float64(), [0.1, -1e308, None]),
    **{f"dec{p}": (f"decimal({p},{_scale(p)})", pa.decimal128(p, _scale(p)), _decimals(p)) for p in PRECISIONS},
    "cash": ("money", pa.decimal128(19, 4), [Decimal("922337203685477.5807"), Decimal("-922337203685477.5808"), None]),
    "name": ("nvarchar(40)", pa.string(), ["héllo 😀 ẞ", "", None]),
    "long_name": ("nvarchar(max)", pa.large_string(), ["ü" * 5000, "x", None]),
    "view_name": ("nvarchar(40)", pa.string_view(), ["view ✓", "", None]),
    "category": ("nvarchar(20)", pa.dictionary(pa.int8(), pa.string()), ["red", "red", None]),
    "code": ("varchar(20)", pa.string(), ["plain ascii", "x" * 20, None]),
    "data": ("varbinary(max)", pa.binary(), [b"\x00\x01\xff", b"", None]),
    "long_data": ("varbinary(max)", pa.large_binary(), [bytes(range(256)) * 40, b"\x00", None]),
    "fixed": ("binary(4)", pa.binary(4), [b"\x00\x01\x02\x03", b"\xff\xff\xff\xff", None]),
    "guid": ("uniqueidentifier", pa.uuid(), [g.bytes if g else None for g in GUIDS]),
    "d": ("date", pa.date32(), [date(1, 1, 1), date(9999, 12, 31), None]),
    "t": ("time(6)", pa.time64("us"), [time(23, 59, 59, 999999), time(0), None]),
    "dt2": ("datetime2(6)", pa.timestamp("us"), [datetime(2024, 2, 29, 12, 0, 0, 123456), datetime(1, 1, 1), None]),
    "dt": ("datetime", pa.timestamp("us"), [datetime(2024, 1, 2, 3, 4, 5, 3000), datetime(1753, 1, 1), None]),
    "sdt": ("smalldatetime", pa.timestamp("s"), [datetime(2024, 1, 2, 3, 4), datetime(1900, 1, 1), None]),
    "dto": (
        "datetimeoffset(6)",
        pa.timestamp("us", tz="UTC"),
        [datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None],
    ),
}


def _arrow_table() -> pa.Table:
    arrays = {"id": pa.array([1, 2, 3], pa.int32())}
    for name, (_, arrow_type, values) in COLUMNS.items():
        if pa.types.is_dictionary(arrow_type):
            arrays[name] = pa.array(values, arrow_type.value_type).dictionary_encode().cast(arrow_type)
        elif isinstance(arrow_type, pa.BaseExtensionType):
            arrays[name] = pa.ExtensionArray.from_storage(arrow_type, pa.array(values, arrow_type.storage_type))
        else:
            arrays[name] = pa.array(values, arrow_type)
    return pa.table(arrays)


def _expected(name: str, value: Any) -> Any:
    """The value as the ODBC client returns it."""
    if value is None:
        return None
    if name == "guid":
        return uuid.UUID(bytes=value)
    if name == "dto":
        return value  # aware, compared as instants
    return value


def _normalised(name: str, value: Any) -> Any:
    if name == "guid" and isinstance(value, str):
        return uuid.UUID(value)
    if name == "dto" and isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


@pytest.fixture
def mssql_python_conn(server: Any) -> Iterator[Any]:
    conn = ADAPTERS["mssql_python"].connect(server, "off")
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
async def table(test_url: str) -> Any:
    name = f"bulk_back_{uuid.uuid4().hex[:12]}"
    declared = ", ".join(f"{column} {sql_type}" for column, (sql_type, _, _) in COLUMNS.items())
    async with fastmssql.Connection(test_url) as conn:
        await conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, {declared})")
        try:
            yield conn, name
        finally:
            await conn.execute(f"DROP TABLE IF EXISTS {name}")


def _frame(kind: str) -> Any:
    data = _arrow_table()
    if kind == "pyarrow":
        return data
    if kind == "polars":
        polars = pytest.importorskip("polars")
        # polars has no uuid or view of a dictionary's key width: its own Categorical and binary types
        return polars.from_arrow(data)
    pandas = pytest.importorskip("pandas")
    return data.to_pandas(types_mapper=pandas.ArrowDtype)


@pytest.mark.parametrize("kind", ["pyarrow", "polars", "pandas"])
async def test_every_type_loads_and_an_independent_client_reads_it_back(
    table: tuple[fastmssql.Connection, str], mssql_python_conn: Any, kind: str
) -> None:
    conn, name = table
    assert await conn.bulk_insert(name, _frame(kind)) == 3
    cursor = mssql_python_conn.cursor()
    cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {name} ORDER BY id")
    rows = cursor.fetchall()
    assert len(rows) == 3
    mismatches = []
    for column_index, (column, (_, _, values)) in enumerate(COLUMNS.items()):
        for row_index, value in enumerate(values):
            got = _normalised(column, rows[row_index][column_index])
            want = _expected(column, value)
            if got != want or type(got) is not type(want):
                mismatches.append((column, row_index + 1, got, want))
    assert not mismatches, mismatches
