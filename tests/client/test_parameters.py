"""Every Python parameter type read back from `SELECT @P1`, checked in to_arrow() and rows(),
and parameters the client must refuse before sending anything."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import fastmssql
from fastmssql import Parameter

from .proxy import is_encrypted, proxied
from .support import ARROW_UUID, Cell, DecimalType, bounded, check_cell, f32

UTC = timezone.utc
GUID = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")

# The length the client declares for a str/bytes value is its choice; (max) is not.
NVARCHAR_N = r"nvarchar\(\d+\)"
NVARCHAR_MAX = r"nvarchar\(max\)"
VARBINARY_N = r"varbinary\(\d+\)"
VARBINARY_MAX = r"varbinary\(max\)"
LONG_TEXT = "a😀" * 50_000
BIG_BYTES = bytes(range(256)) * 4096  # 1 MiB

# (id, parameter value, Cell)
CASES: list[tuple[str, Any, Cell]] = [
    ("none", None, Cell(None, None)),
    ("bool-true", True, Cell(pa.bool_(), True, mssql="bit")),
    ("bool-false", False, Cell(pa.bool_(), False, mssql="bit")),
    ("int-zero", 0, Cell(pa.int32(), 0, mssql="int")),
    ("int32-max", 2**31 - 1, Cell(pa.int32(), 2**31 - 1, mssql="int")),
    ("int32-min", -(2**31), Cell(pa.int32(), -(2**31), mssql="int")),
    ("int-above-32", 2**31, Cell(pa.int64(), 2**31, mssql="bigint")),
    ("int-below-32", -(2**31) - 1, Cell(pa.int64(), -(2**31) - 1, mssql="bigint")),
    ("int64-max", 2**63 - 1, Cell(pa.int64(), 2**63 - 1, mssql="bigint")),
    ("int64-min", -(2**63), Cell(pa.int64(), -(2**63), mssql="bigint")),
    ("float-typical", 1.5, Cell(pa.float64(), 1.5, mssql="float")),
    ("float-zero", 0.0, Cell(pa.float64(), 0.0, mssql="float")),
    ("float-max", 1.7976931348623157e308, Cell(pa.float64(), 1.7976931348623157e308, mssql="float")),
    ("float-min", -1.7976931348623157e308, Cell(pa.float64(), -1.7976931348623157e308, mssql="float")),
    ("float-smallest-normal", 2.2250738585072014e-308, Cell(pa.float64(), 2.2250738585072014e-308, mssql="float")),
    ("str-empty", "", Cell(pa.string(), "", mssql=NVARCHAR_N)),
    ("str-non-bmp", "héllo 😀 𝄞", Cell(pa.string(), "héllo 😀 𝄞", mssql=NVARCHAR_N)),
    ("str-4000", "x" * 4000, Cell(pa.string(), "x" * 4000, mssql=NVARCHAR_N)),
    ("str-over-4000-utf16-units", "😀" * 3000, Cell(pa.string(), "😀" * 3000, mssql=NVARCHAR_MAX)),
    ("str-long", LONG_TEXT, Cell(pa.string(), LONG_TEXT, mssql=NVARCHAR_MAX)),
    ("bytes-empty", b"", Cell(pa.binary(), b"", mssql=VARBINARY_N)),
    ("bytes-typical", b"\x00\xff\x10", Cell(pa.binary(), b"\x00\xff\x10", mssql=VARBINARY_N)),
    ("bytes-8000", b"\x01" * 8000, Cell(pa.binary(), b"\x01" * 8000, mssql=VARBINARY_N)),
    ("bytes-over-8000", b"\x02" * 8001, Cell(pa.binary(), b"\x02" * 8001, mssql=VARBINARY_MAX)),
    ("bytes-1mib", BIG_BYTES, Cell(pa.binary(), BIG_BYTES, mssql=VARBINARY_MAX)),
    ("bytearray", bytearray(b"abc"), Cell(pa.binary(), b"abc", mssql=VARBINARY_N)),
    ("bytearray-over-8000", bytearray(b"\x03" * 9000), Cell(pa.binary(), b"\x03" * 9000, mssql=VARBINARY_MAX)),
    ("memoryview", memoryview(b"xyz"), Cell(pa.binary(), b"xyz", mssql=VARBINARY_N)),
    ("memoryview-slice", memoryview(b"0123456789")[2:5], Cell(pa.binary(), b"234", mssql=VARBINARY_N)),
    ("decimal-typical", Decimal("123.45"), Cell(DecimalType(5, 2), Decimal("123.45"), mssql=r"numeric\(5,2\)")),
    ("decimal-trailing-zero", Decimal("1.50"), Cell(DecimalType(3, 2), Decimal("1.50"), mssql=r"numeric\(3,2\)")),
    ("decimal-small-negative", Decimal("-0.001"), Cell(DecimalType(3, 3), Decimal("-0.001"), mssql=r"numeric\(3,3\)")),
    ("decimal-zero", Decimal("0"), Cell(DecimalType(1, 0), Decimal("0"), mssql=r"numeric\(1,0\)")),
    ("decimal-positive-exponent", Decimal("1E+5"), Cell(DecimalType(6, 0), Decimal("100000"), mssql=r"numeric\(6,0\)")),
    ("decimal-38-max", Decimal("9" * 38), Cell(DecimalType(38, 0), Decimal("9" * 38), mssql=r"numeric\(38,0\)")),
    ("decimal-38-min", Decimal("-" + "9" * 38), Cell(DecimalType(38, 0), Decimal("-" + "9" * 38), mssql=r"numeric\(38,0\)")),
    ("decimal-38-scale", Decimal("0." + "1" * 38), Cell(DecimalType(38, 38), Decimal("0." + "1" * 38), mssql=r"numeric\(38,38\)")),
    ("datetime-naive", datetime(2024, 1, 2, 3, 4, 5, 123456),
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5, 123456), mssql=r"datetime2\(7\)")),
    ("datetime-min", datetime.min, Cell(pa.timestamp("us"), datetime.min, mssql=r"datetime2\(7\)")),
    ("datetime-max", datetime.max, Cell(pa.timestamp("us"), datetime.max, mssql=r"datetime2\(7\)")),
    ("datetime-aware", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC),
          mssql=r"datetimeoffset\(7\)")),
    ("datetime-aware-minus14", datetime(2024, 6, 30, 22, 0, tzinfo=timezone(timedelta(hours=-14))),
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 7, 1, 12, 0, tzinfo=UTC), mssql=r"datetimeoffset\(7\)")),
    ("datetime-aware-utc", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), mssql=r"datetimeoffset\(7\)")),
    ("date-typical", date(2024, 2, 29), Cell(pa.date32(), date(2024, 2, 29), mssql="date")),
    ("date-min", date.min, Cell(pa.date32(), date.min, mssql="date")),
    ("date-max", date.max, Cell(pa.date32(), date.max, mssql="date")),
    ("time-typical", time(12, 34, 56, 789012),
     Cell(pa.time64("ns"), time(12, 34, 56, 789012), arrow_value=45_296_789_012_000, mssql=r"time\(7\)")),
    ("time-min", time(0, 0), Cell(pa.time64("ns"), time(0, 0), arrow_value=0, mssql=r"time\(7\)")),
    ("time-max", time.max,
     Cell(pa.time64("ns"), time.max, arrow_value=86_399_999_999_000, mssql=r"time\(7\)")),
    ("uuid", GUID, Cell(ARROW_UUID, str(GUID), arrow_value=GUID.bytes, mssql="uniqueidentifier")),
    ("parameter-decimal", Parameter(Decimal("1.5"), "decimal(18,4)"),
     Cell(DecimalType(18, 4), Decimal("1.5000"), mssql=r"decimal\(18,4\)")),
    ("parameter-money", Parameter(Decimal("12.34"), "money"),
     Cell(pa.decimal128(19, 4), Decimal("12.3400"), mssql="money")),
    ("parameter-null-int", Parameter(None, "int"), Cell(pa.int32(), None, mssql="int")),
    ("parameter-null-decimal", Parameter(None, "decimal(10,2)"),
     Cell(DecimalType(10, 2), None, mssql=r"decimal\(10,2\)")),
    ("parameter-null-nvarchar-max", Parameter(None, "nvarchar(max)"), Cell(pa.string(), None, mssql=NVARCHAR_MAX)),
    ("parameter-nvarchar-max", Parameter("x", "nvarchar(max)"), Cell(pa.string(), "x", mssql=NVARCHAR_MAX)),
    ("parameter-varchar", Parameter("abc", "varchar(10)"), Cell(pa.string(), "abc", mssql=r"varchar\(10\)")),
    ("parameter-tinyint", Parameter(7, "tinyint"), Cell(pa.uint8(), 7, mssql="tinyint")),
    ("parameter-smallint", Parameter(-7, "smallint"), Cell(pa.int16(), -7, mssql="smallint")),
    ("parameter-bigint", Parameter(7, "bigint"), Cell(pa.int64(), 7, mssql="bigint")),
    ("parameter-real", Parameter(0.1, "real"), Cell(pa.float32(), f32(0.1), mssql="real")),
    ("parameter-varbinary-max", Parameter(b"ab", "varbinary(max)"), Cell(pa.binary(), b"ab", mssql=VARBINARY_MAX)),
    ("parameter-datetime", Parameter(datetime(2024, 1, 2, 3, 4, 5), "datetime"),
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5), mssql="datetime")),
    ("parameter-date", Parameter(date(2024, 1, 2), "date"), Cell(pa.date32(), date(2024, 1, 2), mssql="date")),
    ("parameter-decimal-from-tiny-float", Parameter(5e-324, "decimal(18,4)"),
     Cell(DecimalType(18, 4), Decimal("0.0000"), mssql=r"decimal\(18,4\)")),
    ("parameter-datetime-first", Parameter(datetime(1753, 1, 1), "datetime"),
     Cell(pa.timestamp("us"), datetime(1753, 1, 1), mssql="datetime")),
    ("datetime-aware-near-year-1", datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-1))),
     Cell(pa.timestamp("us", tz="UTC"), datetime(1, 1, 1, 1, 30, tzinfo=UTC), mssql=r"datetimeoffset\(7\)")),
]


@pytest.mark.parametrize(("value", "cell"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_parameter_round_trip(query, value: Any, cell: Cell) -> None:
    result = await query("SELECT @P1 AS v", [value])
    assert result.columns == ["v"]
    assert len(result) == 1
    check_cell(result, "v", cell)


async def test_several_positional_parameters(query) -> None:
    result = await query("SELECT @P1 AS a, @P2 AS b, @P3 AS c", (1, "x", None))
    assert result.rows()[0].to_dict() == {"a": 1, "b": "x", "c": None}


async def test_named_parameters_with_and_without_at(query) -> None:
    result = await query("SELECT @a AS a, @b AS b", {"a": 5, "@b": "y"})
    assert result.rows()[0].to_dict() == {"a": 5, "b": "y"}


async def test_undeclared_parameter_is_a_programming_error(query) -> None:
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await query("SELECT @P2 AS v", [1])
    assert info.value.number == 137


# Values the client must refuse itself, before anything is sent.
REFUSED: list[tuple[str, Any, type[fastmssql.Error]]] = [
    ("int-above-64", 2**63, fastmssql.DataError),
    ("int-below-64", -(2**63) - 1, fastmssql.DataError),
    ("int-huge", -(2**100), fastmssql.DataError),
    ("decimal-39-digits", Decimal("1" * 39), fastmssql.DataError),
    ("decimal-39-scale", Decimal("0." + "1" * 39), fastmssql.DataError),
    ("decimal-nan", Decimal("NaN"), fastmssql.DataError),
    ("decimal-snan", Decimal("sNaN"), fastmssql.DataError),
    ("decimal-infinity", Decimal("Infinity"), fastmssql.DataError),
    ("decimal-minus-infinity", Decimal("-Infinity"), fastmssql.DataError),
    ("float-nan", float("nan"), fastmssql.DataError),
    ("float-infinity", float("inf"), fastmssql.DataError),
    ("float-minus-infinity", float("-inf"), fastmssql.DataError),
    ("parameter-float-nan", Parameter(float("nan"), "float"), fastmssql.DataError),
    ("parameter-real-overflow", Parameter(1e39, "real"), fastmssql.DataError),
    ("str-lone-high-surrogate", "a\ud800b", fastmssql.DataError),
    ("str-lone-low-surrogate", "\udfff", fastmssql.DataError),
    ("datetimeoffset-before-year-1", datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), fastmssql.DataError),
    ("datetimeoffset-after-9999", datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), fastmssql.DataError),
    ("parameter-datetime-before-1753", Parameter(datetime(1752, 12, 31, 23, 59, 59), "datetime"), fastmssql.DataError),
    ("parameter-smalldatetime-after-2079", Parameter(datetime(2079, 6, 6, 23, 59, 30), "smalldatetime"), fastmssql.DataError),
    ("parameter-smalldatetime-date-before-1900", Parameter(date(1899, 12, 31), "smalldatetime"), fastmssql.DataError),
    ("parameter-decimal-overflow", Parameter(Decimal("1E+20"), "decimal(18,4)"), fastmssql.DataError),
    ("parameter-tinyint-overflow", Parameter(256, "tinyint"), fastmssql.DataError),
    ("object", object(), fastmssql.Error),
    ("complex", complex(1, 2), fastmssql.Error),
    ("list", [1, 2], fastmssql.Error),
    ("set", {1}, fastmssql.Error),
]
CLIENT_SIDE_ERRORS = (fastmssql.DataError, fastmssql.ProgrammingError, fastmssql.InterfaceError)


async def spid(connection: fastmssql.Connection) -> int:
    result = await bounded(connection.query("SELECT @@SPID AS spid"))
    return result.rows()[0]["spid"]


@pytest.mark.parametrize(("value", "error"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_refused_parameter_raises_before_sending(single_connection, value: Any, error: type) -> None:
    session = await spid(single_connection)
    with pytest.raises(error) as info:
        await bounded(single_connection.query("SELECT @P1 AS v", [value]))
    assert isinstance(info.value, CLIENT_SIDE_ERRORS), f"{type(info.value).__name__}: {info.value}"
    assert info.value.number is None and info.value.severity is None, "a client-side error has no server fields"
    if error is fastmssql.Error:
        assert type(value).__name__ in str(info.value), f"the message should name the type: {info.value}"
    assert await spid(single_connection) == session


async def test_bad_sql_type_is_a_programming_error(single_connection) -> None:
    session = await spid(single_connection)
    with pytest.raises(fastmssql.ProgrammingError):
        parameter = Parameter(1, "no such type(")
        await bounded(single_connection.query("SELECT @P1 AS v", [parameter]))
    assert await spid(single_connection) == session


async def test_refused_dict_parameter_names_it(single_connection) -> None:
    with pytest.raises(fastmssql.DataError, match="big"):
        await bounded(single_connection.query("SELECT @big AS v", {"big": 2**64}))
    assert (await bounded(single_connection.query("SELECT 1 AS one"))).rows()[0]["one"] == 1


async def test_refused_parameters_send_nothing(test_url: str) -> None:
    """Every refused value, through each way of sending parameters: the proxy sees no request at all."""
    if is_encrypted(test_url):
        pytest.skip("counting requests needs a cleartext (Encrypt=no) session")
    with proxied(test_url) as (url, proxy):
        connection = fastmssql.Connection(url, pool_config=fastmssql.PoolConfig(max_size=1, min_idle=1))
        try:
            await bounded(connection.connect())
            sent = proxy.counter.count()
            for name, value, _ in REFUSED:
                calls = {
                    "query": lambda: connection.query("SELECT @P1 AS v", [value]),
                    "execute-named": lambda: connection.execute("SELECT @v AS v", {"v": value}),
                    "execute_batch": lambda: connection.execute_batch([("SELECT 1 AS one", []), ("SELECT @P1 AS v", [value])]),
                    "executemany": lambda: connection.executemany("SELECT @P1 AS v", [[1], [value]]),
                    "call_proc": lambda: connection.call_proc("sp_no_such_procedure", [value]),
                }
                for way, call in calls.items():
                    with pytest.raises(CLIENT_SIDE_ERRORS):
                        await bounded(call())
                    assert proxy.counter.count() == sent, f"{name} through {way} sent a request"
            assert (await bounded(connection.query("SELECT 1 AS one"))).rows()[0]["one"] == 1
            assert proxy.counter.count() == sent + 1
        finally:
            await bounded(connection.close())


def test_refused_parameters_send_nothing_through_the_db_api(test_url: str) -> None:
    if is_encrypted(test_url):
        pytest.skip("counting requests needs a cleartext (Encrypt=no) session")
    with proxied(test_url) as (url, proxy), fastmssql.connect(url, autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1 AS one")
        sent = proxy.counter.count()
        for name, value, _ in REFUSED:
            with pytest.raises(CLIENT_SIDE_ERRORS):
                cursor.execute("SELECT ? AS v", [value])
            with pytest.raises(CLIENT_SIDE_ERRORS):
                cursor.executemany("SELECT ? AS v", [[1], [value]])
            assert proxy.counter.count() == sent, f"{name} sent a request"
        assert cursor.execute("SELECT 2 AS two").fetchone()[0] == 2
