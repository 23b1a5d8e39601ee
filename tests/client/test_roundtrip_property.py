"""Property: every supported value of every SQL Server type round-trips exactly.

For each type, values are drawn with a fixed seed (edges first, then random ones), sent three ways and
read back through rows() (Python values) and to_arrow() (Arrow values):

- as a plain query parameter converted by the statement: ``SELECT CAST(@P1 AS <type>) AS c0, ...``;
- as ``Parameter(value, "<type>")``: ``SELECT @P1 AS c0, ...``;
- loaded with ``bulk_insert`` into a table with a column of the type, then ``SELECT v ... ORDER BY id``.

What must come back is computed here from the inputs, with SQL Server's rules written out: char/nchar/
binary padding, decimal scale padding, real as the nearest float32, time/datetime2/datetimeoffset rounded
half up to their fractional digits, datetime rounded half up to 1/300 s ticks and presented in whole
milliseconds (.000/.003/.007), smalldatetime rounded to the minute (29.998 s down, 29.999 s up),
datetimeoffset read back as its UTC instant, uniqueidentifier as lowercase text in rows().

Values the type holds exactly are also bulk-loaded (bulk_insert refuses a time/datetime2/datetimeoffset
value with more fractional digits than its column, by design); values the statement rounds are checked
through the two parameter ways only. Python's datetime/time carry microseconds, so no value here has a
100 ns digit: datetime2(7)/datetimeoffset(7) read through to_arrow() as timestamp[us] is exact for them (a
stored 100 ns digit would be cut off there, and bulk_insert refuses a timestamp[ns] that has one). time(7)
values with a 100 ns digit are bulk-loaded from time64[ns] and must come back whole in to_arrow().

``FASTMSSQL_ROUNDTRIP_VALUES`` sets the number of random values per type (default 24; e.g. 2000 for a long
run), ``FASTMSSQL_ROUNDTRIP_SEED`` the seed (default 20261203).
"""

from __future__ import annotations

import math
import os
import random
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import fastmssql
from fastmssql import Parameter

from .support import ARROW_UUID, DecimalType, arrow_cell, arrow_type_matches, assert_same_value, bounded, f32

SEED = int(os.environ.get("FASTMSSQL_ROUNDTRIP_SEED", "20261203"))
RANDOM_VALUES = int(os.environ.get("FASTMSSQL_ROUNDTRIP_VALUES", "24"))
# Columns per SELECT: many values per round trip, far below SQL Server's 2,100 parameters.
COLUMNS_PER_QUERY = 64

UTC = timezone.utc
MICROS_PER_DAY = 86_400_000_000
DATETIME_FIRST = datetime(1753, 1, 1)
# datetime's last value; anything from 23:59:59.998334 on rounds into year 10000.
DATETIME_LAST = datetime(9999, 12, 31, 23, 59, 59, 998000)
SMALLDATETIME_FIRST = datetime(1900, 1, 1)
SMALLDATETIME_LAST = datetime(2079, 6, 6, 23, 59, 29, 998000)


@dataclass(frozen=True)
class Case:
    """One value of one type: what is sent, and what must come back in rows() and to_arrow()."""

    sql_type: str
    value: Any
    row: Any
    arrow: Any
    arrow_type: Any  # pa.DataType, DecimalType or ARROW_UUID (support.arrow_type_matches)
    bulk_type: pa.DataType | None  # the Arrow type bulk_insert is given; None: not bulk-loaded
    bulk_value: Any = None
    sent_as_parameter: bool = True  # False: a value Python's types cannot carry (bulk-loaded from Arrow only)


def case(sql_type: str, value: Any, row: Any, arrow_type: Any, bulk_type: pa.DataType | None, *,
         arrow: Any = None, bulk_value: Any = None, sent_as_parameter: bool = True) -> Case:
    return Case(sql_type, value, row, row if arrow is None else arrow, arrow_type, bulk_type,
                value if bulk_value is None else bulk_value, sent_as_parameter)


def rng(family: str) -> random.Random:
    """One generator per family, so adding values to one family leaves the others' unchanged."""
    return random.Random(f"{SEED}/{family}")


# ---------------------------------------------------------------------------
# Integers and bit
# ---------------------------------------------------------------------------

INTEGER_TYPES = [
    ("tinyint", 0, 255, pa.uint8()),
    ("smallint", -(2**15), 2**15 - 1, pa.int16()),
    ("int", -(2**31), 2**31 - 1, pa.int32()),
    ("bigint", -(2**63), 2**63 - 1, pa.int64()),
]


def integer_cases() -> Iterator[Case]:
    r = rng("integers")
    for flag in (True, False):
        yield case("bit", flag, flag, pa.bool_(), pa.bool_())
    for sql_type, low, high, arrow_type in INTEGER_TYPES:
        edges = [low, low + 1, high - 1, high, 0, 1, -1 if low < 0 else 2]
        # Random bit widths, so small magnitudes are as likely as large ones.
        randoms = []
        for _ in range(RANDOM_VALUES):
            bits = r.randint(1, high.bit_length())
            randoms.append(max(low, min(high, r.randint(-(2**bits), 2**bits - 1) if low < 0 else r.getrandbits(bits))))
        for value in edges + randoms:
            yield case(sql_type, value, value, arrow_type, arrow_type)


# ---------------------------------------------------------------------------
# real and float: exact IEEE values (NaN and infinities are refused by design)
# ---------------------------------------------------------------------------

def f64_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def f32_from_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


FLOAT_EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3,
    5e-324, -5e-324,  # smallest subnormal
    f64_from_bits(0x000F_FFFF_FFFF_FFFF),  # largest subnormal
    2.2250738585072014e-308, -2.2250738585072014e-308,  # smallest normal
    1.7976931348623157e308, -1.7976931348623157e308,
    2.0**53, 2.0**53 + 2, -(2.0**63),
]
REAL_EDGES = [
    0.0, -0.0, 1.0, -1.5,
    f32_from_bits(1), -f32_from_bits(1),  # smallest subnormal float32
    f32_from_bits(0x007F_FFFF),  # largest subnormal float32
    f32_from_bits(0x0080_0000),  # smallest normal float32
    f32_from_bits(0x7F7F_FFFF), -f32_from_bits(0x7F7F_FFFF),  # largest float32
]


def finite_random_bits(r: random.Random, to_float: Callable[[int], float], width: int) -> float:
    while True:
        value = to_float(r.getrandbits(width))
        if math.isfinite(value):
            return value


def float_cases() -> Iterator[Case]:
    r = rng("floats")
    floats = FLOAT_EDGES + [finite_random_bits(r, f64_from_bits, 64) for _ in range(RANDOM_VALUES)]
    floats += [r.uniform(-1e6, 1e6) for _ in range(RANDOM_VALUES // 4)]
    for value in floats:
        yield case("float", value, value, pa.float64(), pa.float64())
    reals = REAL_EDGES + [finite_random_bits(r, f32_from_bits, 32) for _ in range(RANDOM_VALUES)]
    for value in reals:
        yield case("real", value, value, pa.float32(), pa.float32())
    # float values converted to real: the nearest float32 (ties to even), as IEEE conversion rounds.
    for _ in range(RANDOM_VALUES // 2):
        value = r.uniform(-3.4e38, 3.4e38) * 10.0 ** -r.randint(0, 76)
        yield case("real", value, f32(value), pa.float32(), None)


# ---------------------------------------------------------------------------
# decimal(p, s) for every precision, money and smallmoney
# ---------------------------------------------------------------------------

def scaled(unscaled: int, scale: int) -> Decimal:
    """unscaled / 10**scale, with exactly `scale` fractional digits (from text: Decimal arithmetic would
    round to its context's 28 digits)."""
    return Decimal(f"{unscaled}E-{scale}")


def random_unscaled(r: random.Random, digits: int) -> int:
    magnitude = r.randint(0, 10 ** r.randint(1, digits) - 1) if digits else 0
    return -magnitude if r.random() < 0.5 else magnitude


def decimal_cases() -> Iterator[Case]:
    r = rng("decimals")
    for precision in range(1, 39):
        scale = r.randint(0, precision)
        sql_type = f"decimal({precision},{scale})"
        arrow_type = DecimalType(precision, scale)
        bulk_type = pa.decimal128(precision, scale)
        top = 10**precision - 1
        for unscaled in [0, top, -top, 1, -1] + [random_unscaled(r, precision) for _ in range(RANDOM_VALUES // 4)]:
            value = scaled(unscaled, scale)
            yield case(sql_type, value, value, arrow_type, bulk_type)
        # Fewer fractional digits than the scale: padded with zeros.
        for _ in range(RANDOM_VALUES // 8 + 1):
            short_scale = r.randint(0, scale)
            unscaled = random_unscaled(r, precision - (scale - short_scale))
            padded = scaled(unscaled * 10 ** (scale - short_scale), scale)
            yield case(sql_type, scaled(unscaled, short_scale), padded, arrow_type, bulk_type)
    for sql_type, bits, precision in (("money", 64, 19), ("smallmoney", 32, 10)):
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        for unscaled in [low, high, 0, 1, -1, 10_000] + [r.randint(low, high) for _ in range(RANDOM_VALUES)]:
            value = scaled(unscaled, 4)
            yield case(sql_type, value, value, pa.decimal128(precision, 4), pa.decimal128(precision, 4))


# ---------------------------------------------------------------------------
# Strings and binaries
# ---------------------------------------------------------------------------

# char/varchar hold their collation's code page: ASCII and Latin-1's letters are in every Latin one.
CODE_PAGE_CHARS = [chr(c) for c in range(32, 127)] + [chr(c) for c in range(0xA0, 0x100)]


def random_unicode_char(r: random.Random) -> str:
    """Any scalar value: NUL and controls, the BMP outside the surrogates, and non-BMP characters."""
    pick = r.random()
    if pick < 0.1:
        return chr(r.randint(0, 31))
    if pick < 0.7:
        code = r.randint(32, 0xFFFD)
        return chr(code) if not 0xD800 <= code <= 0xDFFF else "\ufffd"
    return chr(r.randint(0x10000, 0x10FFFF))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unicode_text(r: random.Random, max_units: int) -> str:
    chars: list[str] = []
    units, target = 0, r.randint(0, max_units)
    while True:
        c = random_unicode_char(r)
        if units + utf16_units(c) > target:
            return "".join(chars)
        chars.append(c)
        units += utf16_units(c)


def string_cases() -> Iterator[Case]:
    r = rng("strings")

    def code_page(length: int) -> str:
        return "".join(r.choice(CODE_PAGE_CHARS) for _ in range(length))

    for length in (1, 10, 8000):
        for value in ["", code_page(length)] + [code_page(r.randint(0, length)) for _ in range(RANDOM_VALUES // 4)]:
            yield case(f"char({length})", value, value.ljust(length), pa.string(), pa.string())
            yield case(f"varchar({length})", value, value, pa.string(), pa.string())
    for value in ["", code_page(8001), code_page(20_000)] + [code_page(r.randint(0, 300)) for _ in range(RANDOM_VALUES // 4)]:
        yield case("varchar(max)", value, value, pa.string(), pa.string())
    for length in (1, 2, 10, 4000):
        values = ["", "😀" if length >= 2 else "é", "x" * length]
        values += [unicode_text(r, length) for _ in range(RANDOM_VALUES // 4)]
        for value in values:
            padding = " " * (length - utf16_units(value))
            yield case(f"nchar({length})", value, value + padding, pa.string(), pa.string())
            yield case(f"nvarchar({length})", value, value, pa.string(), pa.string())
    values = ["", "𝄞" * 4001, unicode_text(r, 30_000)] + [unicode_text(r, 300) for _ in range(RANDOM_VALUES // 4)]
    for value in values:
        yield case("nvarchar(max)", value, value, pa.string(), pa.string())


def binary_cases() -> Iterator[Case]:
    r = rng("binaries")

    def blob(length: int) -> bytes:
        return r.randbytes(length)

    for length in (1, 16, 8000):
        values = [b"", b"\x00" * length, b"\xff" * length, blob(length)]
        values += [blob(r.randint(0, length)) for _ in range(RANDOM_VALUES // 4)]
        for value in values:
            yield case(f"binary({length})", value, value.ljust(length, b"\x00"), pa.binary(), pa.binary())
            yield case(f"varbinary({length})", value, value, pa.binary(), pa.binary())
    for value in [b"", blob(8001), blob(100_000)] + [blob(r.randint(0, 300)) for _ in range(RANDOM_VALUES // 4)]:
        yield case("varbinary(max)", value, value, pa.binary(), pa.binary())


def uuid_cases() -> Iterator[Case]:
    r = rng("uuids")
    guids = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")]
    guids += [uuid.UUID(bytes=r.randbytes(16)) for _ in range(RANDOM_VALUES)]
    for guid in guids:
        yield case("uniqueidentifier", guid, str(guid), ARROW_UUID, pa.binary(16), arrow=guid.bytes,
                   bulk_value=guid.bytes)


# ---------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------

DATE_FIRST, DATE_LAST = date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal()


def random_datetime(r: random.Random, first: datetime, last: datetime) -> datetime:
    span = (last - first) // timedelta(microseconds=1)
    return first + timedelta(microseconds=r.randint(0, span))


def round_half_up(micros: int, digits: int) -> int:
    """Microseconds rounded half up to `digits` fractional digits of a second (digits >= 6: unchanged)."""
    unit = 10 ** (6 - min(digits, 6))
    return (micros + unit // 2) // unit * unit


def micros_of_day(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def time_of_micros(micros: int) -> time:
    seconds, micro = divmod(micros, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)


def time_cases() -> Iterator[Case]:
    r = rng("times")
    for digits in range(8):
        sql_type = f"time({digits})"
        unit = 10 ** (6 - min(digits, 6))
        last = MICROS_PER_DAY - unit
        exact = [0, last, 12 * 3_600_000_000] + [r.randint(0, MICROS_PER_DAY - 1) // unit * unit for _ in range(RANDOM_VALUES)]
        for micros in exact:
            t = time_of_micros(micros)
            yield case(sql_type, t, t, pa.time64("ns"), pa.time64("us"), arrow=micros * 1000)
        # time(7)'s 100 ns digit: only Arrow's time64[ns] carries it (in and out); rows() gives Python's
        # time, which stops at the microsecond (cut, not rounded).
        for _ in range(RANDOM_VALUES // 2 if digits == 7 else 0):
            nanos = r.randint(0, MICROS_PER_DAY * 10 - 1) * 100
            yield case(sql_type, None, time_of_micros(nanos // 1000), pa.time64("ns"), pa.time64("ns"), arrow=nanos,
                       bulk_value=nanos, sent_as_parameter=False)
        # Rounded by the conversion (kept clear of a carry past midnight).
        for _ in range(RANDOM_VALUES // 2 if digits < 6 else 0):
            micros = r.randint(0, last)
            rounded = round_half_up(micros, digits)
            yield case(sql_type, time_of_micros(micros), time_of_micros(rounded), pa.time64("ns"), None,
                       arrow=rounded * 1000)


def as_micros(dt: datetime) -> int:
    return (dt.replace(tzinfo=None) - datetime(1, 1, 1)) // timedelta(microseconds=1)


def datetime_of_micros(micros: int) -> datetime:
    return datetime(1, 1, 1) + timedelta(microseconds=micros)


def datetime_rounded(dt: datetime) -> datetime:
    """datetime: 1/300 s ticks, rounded half up (a day's last half tick into the next day), presented as
    whole milliseconds: tick 1 is .003, tick 2 is .007."""
    day = datetime(dt.year, dt.month, dt.day)
    ticks = (micros_of_day(dt.time()) * 3 + 5_000) // 10_000
    return day + timedelta(milliseconds=(ticks * 10 + 1) // 3)


def smalldatetime_rounded(dt: datetime) -> datetime:
    """smalldatetime: minutes; 29.998 s or less rounds down, 29.999 s or more up (whole milliseconds here)."""
    minute = dt.replace(second=0, microsecond=0)
    return minute + timedelta(minutes=1) if dt.second * 1_000_000 + dt.microsecond >= 29_999_000 else minute


def datetime_cases() -> Iterator[Case]:
    r = rng("datetimes")
    stamp = pa.timestamp("us")
    days = [date(1, 1, 1), date(9999, 12, 31), date(1582, 10, 10), date(1900, 2, 28), date(2000, 2, 29), date(1970, 1, 1)]
    days += [date.fromordinal(r.randint(DATE_FIRST, DATE_LAST)) for _ in range(RANDOM_VALUES)]
    for day in days:
        yield case("date", day, day, pa.date32(), pa.date32())
    first, last = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)
    for digits in range(8):
        sql_type = f"datetime2({digits})"
        unit = 10 ** (6 - min(digits, 6))
        top = last - timedelta(microseconds=unit - 1)
        exact = [first, top, datetime(2000, 2, 29, 23, 59, 59)]
        exact += [datetime_of_micros(as_micros(random_datetime(r, first, last)) // unit * unit) for _ in range(RANDOM_VALUES)]
        for dt in exact:
            yield case(sql_type, dt, dt, stamp, stamp)
        for _ in range(RANDOM_VALUES // 2 if digits < 6 else 0):
            dt = random_datetime(r, first, top)
            yield case(sql_type, dt, datetime_of_micros(round_half_up(as_micros(dt), digits)), stamp, None)
    # datetime: the values it holds exactly, then any microsecond rounded to its ticks (by the statement's
    # conversion, and by bulk_insert as the server would).
    exact = [DATETIME_FIRST, datetime(9999, 12, 31, 23, 59, 59, 997000), datetime(2024, 1, 2, 3, 4, 5, 3000),
             datetime(2024, 1, 2, 3, 4, 5, 7000)]
    for dt in exact:
        yield case("datetime", dt, dt, stamp, stamp)
    edges = [datetime(2024, 1, 1, 0, 0, 0, 1000), datetime(2024, 1, 1, 0, 0, 0, 2000), datetime(2024, 1, 1, 0, 0, 0, 5000),
             datetime(2024, 1, 1, 23, 59, 59, 998000), datetime(2024, 1, 1, 23, 59, 59, 999000),
             datetime(2024, 12, 31, 23, 59, 59, 999999), DATETIME_LAST]
    for dt in edges + [random_datetime(r, DATETIME_FIRST, DATETIME_LAST) for _ in range(RANDOM_VALUES)]:
        yield case("datetime", dt, datetime_rounded(dt), stamp, stamp)
    # smalldatetime: whole minutes, then seconds in whole milliseconds rounded to the minute.
    edges = [SMALLDATETIME_FIRST, datetime(2079, 6, 6, 23, 59), SMALLDATETIME_LAST, datetime(2024, 5, 8, 12, 35, 29, 998000),
             datetime(2024, 5, 8, 12, 35, 29, 999000), datetime(2024, 5, 8, 12, 35, 30), datetime(2024, 5, 8, 23, 59, 59, 999000)]
    randoms = [random_datetime(r, SMALLDATETIME_FIRST, SMALLDATETIME_LAST) for _ in range(RANDOM_VALUES)]
    for dt in edges + [d.replace(microsecond=d.microsecond // 1000 * 1000) for d in randoms]:
        yield case("smalldatetime", dt, smalldatetime_rounded(dt), stamp, stamp)


def offset_datetime(r: random.Random, digits: int) -> datetime | None:
    """A random local time and offset (minutes within ±14:00) whose UTC instant is in range too."""
    minutes = r.choice([-840, 840, 0, r.randint(-840, 840)])
    unit = 10 ** (6 - min(digits, 6))
    local = datetime_of_micros(as_micros(random_datetime(r, datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999))) // unit * unit)
    try:
        local.replace(tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)
    except OverflowError:
        return None
    if not datetime(1, 1, 1) <= local - timedelta(minutes=minutes) <= datetime(9999, 12, 31, 23, 59, 59, 999999):
        return None
    return local.replace(tzinfo=timezone(timedelta(minutes=minutes)))


def datetimeoffset_cases() -> Iterator[Case]:
    r = rng("datetimeoffsets")
    stamp = pa.timestamp("us", tz="UTC")
    for digits in range(8):
        sql_type = f"datetimeoffset({digits})"
        edges = [datetime(1, 1, 1, 14, tzinfo=timezone(timedelta(hours=14))),
                 datetime(9999, 12, 31, 9, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
                 datetime(2024, 6, 30, 22, tzinfo=timezone(timedelta(hours=-14))),
                 datetime(2024, 7, 1, 12, tzinfo=timezone(timedelta(hours=14))),
                 datetime(2024, 7, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=45)))]
        values = edges + [v for v in (offset_datetime(r, digits) for _ in range(RANDOM_VALUES)) if v is not None]
        for dt in values:
            yield case(sql_type, dt, dt.astimezone(UTC), stamp, stamp)
        # Rounded to the fractional digits (the instant moves, the offset stays).
        for _ in range(RANDOM_VALUES // 2 if digits < 6 else 0):
            dt = offset_datetime(r, 6)
            if dt is None or dt.year == 9999:
                continue
            utc = dt.astimezone(UTC)
            rounded = datetime_of_micros(round_half_up(as_micros(utc), digits)).replace(tzinfo=UTC)
            yield case(sql_type, dt, rounded, stamp, None)


FAMILIES: dict[str, Callable[[], Iterator[Case]]] = {
    "integers": integer_cases,
    "floats": float_cases,
    "decimals": decimal_cases,
    "strings": string_cases,
    "binaries": binary_cases,
    "uuids": uuid_cases,
    "times": time_cases,
    "datetimes": datetime_cases,
    "datetimeoffsets": datetimeoffset_cases,
}


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def assert_exact(actual: Any, expected: Any, where: str) -> None:
    assert_same_value(actual, expected, where)
    if isinstance(expected, float):  # 0.0 == -0.0: the sign must come back too
        assert math.copysign(1.0, actual) == math.copysign(1.0, expected), f"{where}: got {actual!r}, expected {expected!r}"


def describe(c: Case) -> str:
    text = repr(c.value)
    return f"{c.sql_type} value {text[:120]}{'...' if len(text) > 120 else ''}"


def check_column(table: pa.Table, rows: list[Any], column: str, c: Case, index: int = 0) -> None:
    fld = table.schema.field(column)
    assert arrow_type_matches(fld, c.arrow_type), f"{describe(c)}: Arrow type {fld.type}, expected {c.arrow_type!r}"
    assert (fld.metadata or {}).get(b"mssql.type") == c.sql_type.encode(), f"{describe(c)}: metadata {fld.metadata}"
    assert_exact(arrow_cell(table.column(column), index), c.arrow, f"{describe(c)} in to_arrow()")
    assert_exact(rows[index][column], c.row, f"{describe(c)} in rows()")


def chunks(cases: list[Case], size: int) -> Iterator[list[Case]]:
    for start in range(0, len(cases), size):
        yield cases[start:start + size]


def family_cases(family: str, *, parameters: bool = False) -> list[Case]:
    cases = [c for c in FAMILIES[family]() if c.sent_as_parameter or not parameters]
    assert len(cases) > RANDOM_VALUES, f"{family}: too few cases"
    return cases


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_query_parameters_round_trip(conn: fastmssql.Connection, family: str) -> None:
    """Plain Python values, converted by the statement: ``CAST(@Pn AS <type>)``."""
    for group in chunks(family_cases(family, parameters=True), COLUMNS_PER_QUERY):
        select = ", ".join(f"CAST(@P{i + 1} AS {c.sql_type}) AS c{i}" for i, c in enumerate(group))
        result = await bounded(conn.query(f"SELECT {select}", [c.value for c in group]))
        table, rows = result.to_arrow(), result.rows()
        for i, c in enumerate(group):
            check_column(table, rows, f"c{i}", c)


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_typed_parameters_round_trip(conn: fastmssql.Connection, family: str) -> None:
    """The same values as ``Parameter(value, "<type>")``: the client checks and converts them first."""
    for group in chunks(family_cases(family, parameters=True), COLUMNS_PER_QUERY):
        select = ", ".join(f"@P{i + 1} AS c{i}" for i in range(len(group)))
        result = await bounded(conn.query(f"SELECT {select}", [Parameter(c.value, c.sql_type) for c in group]))
        table, rows = result.to_arrow(), result.rows()
        for i, c in enumerate(group):
            check_column(table, rows, f"c{i}", c)


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_bulk_insert_round_trip(conn: fastmssql.Connection, family: str) -> None:
    """Values each type holds exactly (and datetime/smalldatetime values, which the loader rounds as the
    server does), loaded with bulk_insert into a column of the type and read back in order."""
    by_type: dict[tuple[str, pa.DataType], list[Case]] = {}
    for c in family_cases(family):
        if c.bulk_type is not None:
            by_type.setdefault((c.sql_type, c.bulk_type), []).append(c)
    assert by_type, f"{family}: nothing to bulk-load"
    for (sql_type, bulk_type), cases in by_type.items():
        name = f"fm_roundtrip_{uuid.uuid4().hex[:12]}"
        await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v {sql_type})"))
        try:
            data = pa.table({
                "id": pa.array(range(len(cases)), pa.int32()),
                "v": pa.array([c.bulk_value for c in cases], bulk_type),
            })
            assert await bounded(conn.bulk_insert(name, data)) == len(cases)
            result = await bounded(conn.query(f"SELECT v FROM {name} ORDER BY id"))
            table, rows = result.to_arrow(), result.rows()
            assert table.num_rows == len(cases)
            for index, c in enumerate(cases):
                check_column(table, rows, "v", c, index)
        finally:
            await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))
