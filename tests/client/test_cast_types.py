"""Every SQL Server type of the mapping table, read back from `SELECT CAST(<literal> AS <type>)`.

Each case is checked in to_arrow() (Arrow type, value, `mssql.type` metadata) and in rows(),
with minimum, maximum and typical values, and NULL of every type.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import ARROW_UUID, Cell, DecimalType, arrow_type_matches, check_cell, f32


def declared(sql_type: str) -> str:
    """The `mssql.type` metadata: exactly the declared type."""
    return re.escape(sql_type)


UTC = timezone.utc
GUID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"

# (id, SQL type, literal, Cell)
CASES: list[tuple[str, str, str, Cell]] = [
    ("bit-1", "bit", "1", Cell(pa.bool_(), True, mssql=declared("bit"))),
    ("bit-0", "bit", "0", Cell(pa.bool_(), False, mssql=declared("bit"))),
    ("tinyint-min", "tinyint", "0", Cell(pa.uint8(), 0, mssql=declared("tinyint"))),
    ("tinyint-max", "tinyint", "255", Cell(pa.uint8(), 255, mssql=declared("tinyint"))),
    ("smallint-min", "smallint", "-32768", Cell(pa.int16(), -32768, mssql=declared("smallint"))),
    ("smallint-max", "smallint", "32767", Cell(pa.int16(), 32767, mssql=declared("smallint"))),
    ("int-min", "int", "-2147483648", Cell(pa.int32(), -(2**31), mssql=declared("int"))),
    ("int-max", "int", "2147483647", Cell(pa.int32(), 2**31 - 1, mssql=declared("int"))),
    ("int-typical", "int", "42", Cell(pa.int32(), 42, mssql=declared("int"))),
    ("bigint-min", "bigint", "-9223372036854775808", Cell(pa.int64(), -(2**63), mssql=declared("bigint"))),
    ("bigint-max", "bigint", "9223372036854775807", Cell(pa.int64(), 2**63 - 1, mssql=declared("bigint"))),
    ("real-min", "real", "-3.4E+38", Cell(pa.float32(), f32(-3.4e38), mssql=declared("real"))),
    ("real-max", "real", "3.4E+38", Cell(pa.float32(), f32(3.4e38), mssql=declared("real"))),
    ("real-typical", "real", "1.5", Cell(pa.float32(), 1.5, mssql=declared("real"))),
    ("float-min", "float", "-1.79E+308", Cell(pa.float64(), -1.79e308, mssql=declared("float"))),
    ("float-max", "float", "1.79E+308", Cell(pa.float64(), 1.79e308, mssql=declared("float"))),
    ("float-typical", "float", "0.1E0", Cell(pa.float64(), 0.1, mssql=declared("float"))),
    ("decimal-typical", "decimal(5,2)", "123.45",
     Cell(DecimalType(5, 2), Decimal("123.45"), mssql=declared("decimal(5,2)"))),
    ("decimal-scale-padding", "decimal(5,2)", "1.5",
     Cell(DecimalType(5, 2), Decimal("1.50"), mssql=declared("decimal(5,2)"))),
    ("decimal-zero", "decimal(9,3)", "0", Cell(DecimalType(9, 3), Decimal("0.000"), mssql=declared("decimal(9,3)"))),
    ("decimal-38-max", "decimal(38,0)", "9" * 38,
     Cell(DecimalType(38, 0), Decimal("9" * 38), mssql=declared("decimal(38,0)"))),
    ("decimal-38-min", "decimal(38,0)", "-" + "9" * 38,
     Cell(DecimalType(38, 0), Decimal("-" + "9" * 38), mssql=declared("decimal(38,0)"))),
    ("decimal-38-38", "decimal(38,38)", "0." + "9" * 38,
     Cell(DecimalType(38, 38), Decimal("0." + "9" * 38), mssql=declared("decimal(38,38)"))),
    ("numeric-typical", "numeric(10,4)", "-123456.7891",
     Cell(DecimalType(10, 4), Decimal("-123456.7891"), mssql=declared("numeric(10,4)"))),
    ("money-max", "money", "922337203685477.5807",
     Cell(pa.decimal128(19, 4), Decimal("922337203685477.5807"), mssql=declared("money"))),
    ("money-min", "money", "-922337203685477.5808",
     Cell(pa.decimal128(19, 4), Decimal("-922337203685477.5808"), mssql=declared("money"))),
    ("money-typical", "money", "1.5", Cell(pa.decimal128(19, 4), Decimal("1.5000"), mssql=declared("money"))),
    # more ten-thousandths than a double holds exactly through x / 1e4 * 1e4 (2^51 < 3961435819265051 < 2^52)
    ("money-large", "money", "396143581926.5051",
     Cell(pa.decimal128(19, 4), Decimal("396143581926.5051"), mssql=declared("money"))),
    ("smallmoney-max", "smallmoney", "214748.3647",
     Cell(pa.decimal128(10, 4), Decimal("214748.3647"), mssql=declared("smallmoney"))),
    ("smallmoney-min", "smallmoney", "-214748.3648",
     Cell(pa.decimal128(10, 4), Decimal("-214748.3648"), mssql=declared("smallmoney"))),
    ("char-padded", "char(5)", "'ab'", Cell(pa.string(), "ab   ", mssql=declared("char(5)"))),
    ("varchar-typical", "varchar(10)", "'abc'", Cell(pa.string(), "abc", mssql=declared("varchar(10)"))),
    ("varchar-empty", "varchar(10)", "''", Cell(pa.string(), "", mssql=declared("varchar(10)"))),
    ("varchar-max", "varchar(max)", "'abc'", Cell(pa.string(), "abc", mssql=declared("varchar(max)"))),
    ("nchar-padded", "nchar(3)", "N'é'", Cell(pa.string(), "é  ", mssql=declared("nchar(3)"))),
    ("nvarchar-non-bmp", "nvarchar(20)", "N'héllo wörld 😀'",
     Cell(pa.string(), "héllo wörld 😀", mssql=declared("nvarchar(20)"))),
    ("nvarchar-max", "nvarchar(max)", "N'𝄞 clef'", Cell(pa.string(), "𝄞 clef", mssql=declared("nvarchar(max)"))),
    ("text", "text", "'abc'", Cell(pa.string(), "abc", mssql=declared("text"))),
    ("ntext", "ntext", "N'ab😀'", Cell(pa.string(), "ab😀", mssql=declared("ntext"))),
    ("xml", "xml", "N'<a>x</a>'", Cell(pa.string(), "<a>x</a>", mssql=declared("xml"))),
    ("binary-padded", "binary(4)", "0x0102", Cell(pa.binary(), b"\x01\x02\x00\x00", mssql=declared("binary(4)"))),
    ("varbinary-typical", "varbinary(10)", "0x00FF", Cell(pa.binary(), b"\x00\xff", mssql=declared("varbinary(10)"))),
    ("varbinary-empty", "varbinary(10)", "0x", Cell(pa.binary(), b"", mssql=declared("varbinary(10)"))),
    ("varbinary-max", "varbinary(max)", "0xDEADBEEF",
     Cell(pa.binary(), b"\xde\xad\xbe\xef", mssql=declared("varbinary(max)"))),
    ("image", "image", "0xFF", Cell(pa.binary(), b"\xff", mssql=declared("image"))),
    ("uniqueidentifier-typical", "uniqueidentifier", f"'{GUID}'",
     Cell(ARROW_UUID, GUID.lower(), arrow_value=uuid.UUID(GUID).bytes, mssql=declared("uniqueidentifier"))),
    ("uniqueidentifier-min", "uniqueidentifier", "'00000000-0000-0000-0000-000000000000'",
     Cell(ARROW_UUID, "00000000-0000-0000-0000-000000000000", arrow_value=bytes(16),
          mssql=declared("uniqueidentifier"))),
    ("uniqueidentifier-max", "uniqueidentifier", "'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'",
     Cell(ARROW_UUID, "ffffffff-ffff-ffff-ffff-ffffffffffff", arrow_value=b"\xff" * 16,
          mssql=declared("uniqueidentifier"))),
    ("date-min", "date", "'0001-01-01'", Cell(pa.date32(), date(1, 1, 1), mssql=declared("date"))),
    ("date-max", "date", "'9999-12-31'", Cell(pa.date32(), date(9999, 12, 31), mssql=declared("date"))),
    ("date-leap", "date", "'2024-02-29'", Cell(pa.date32(), date(2024, 2, 29), mssql=declared("date"))),
    ("time0-min", "time(0)", "'00:00:00'", Cell(pa.time64("ns"), time(0, 0), arrow_value=0, mssql=declared("time(0)"))),
    ("time7-max", "time(7)", "'23:59:59.9999999'",
     Cell(pa.time64("ns"), time(23, 59, 59, 999999), arrow_value=86_399_999_999_900, mssql=declared("time(7)"))),
    ("time3-typical", "time(3)", "'12:34:56.789'",
     Cell(pa.time64("ns"), time(12, 34, 56, 789000), arrow_value=45_296_789_000_000, mssql=declared("time(3)"))),
    ("datetime-min", "datetime", "'1753-01-01T00:00:00'",
     Cell(pa.timestamp("us"), datetime(1753, 1, 1), mssql=declared("datetime"))),
    # datetime counts 1/300 s ticks, which SQL Server presents as milliseconds rounded to .000/.003/.007
    ("datetime-max", "datetime", "'9999-12-31T23:59:59.997'",
     Cell(pa.timestamp("us"), datetime(9999, 12, 31, 23, 59, 59, 997000), mssql=declared("datetime"))),
    ("datetime-ticks", "datetime", "'2024-01-02T03:04:05.003'",
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5, 3000), mssql=declared("datetime"))),
    ("datetime-typical", "datetime", "'2024-01-02T03:04:05.500'",
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5, 500000), mssql=declared("datetime"))),
    ("smalldatetime-min", "smalldatetime", "'1900-01-01T00:00:00'",
     Cell(pa.timestamp("us"), datetime(1900, 1, 1), mssql=declared("smalldatetime"))),
    ("smalldatetime-max", "smalldatetime", "'2079-06-06T23:59:00'",
     Cell(pa.timestamp("us"), datetime(2079, 6, 6, 23, 59), mssql=declared("smalldatetime"))),
    ("datetime2-min", "datetime2(7)", "'0001-01-01T00:00:00'",
     Cell(pa.timestamp("us"), datetime(1, 1, 1), mssql=declared("datetime2(7)"))),
    ("datetime2-max", "datetime2(7)", "'9999-12-31T23:59:59.9999999'",
     Cell(pa.timestamp("us"), datetime(9999, 12, 31, 23, 59, 59, 999999), mssql=declared("datetime2(7)"))),
    ("datetime2-3", "datetime2(3)", "'2024-02-29T12:00:00.123'",
     Cell(pa.timestamp("us"), datetime(2024, 2, 29, 12, 0, 0, 123000), mssql=declared("datetime2(3)"))),
    ("datetime2-6", "datetime2(6)", "'2024-01-02T03:04:05.123456'",
     Cell(pa.timestamp("us"), datetime(2024, 1, 2, 3, 4, 5, 123456), mssql=declared("datetime2(6)"))),
    ("datetimeoffset-typical", "datetimeoffset(7)", "'2024-01-02T03:04:05.1234560+02:00'",
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC),
          mssql=declared("datetimeoffset(7)"))),
    ("datetimeoffset-min", "datetimeoffset(0)", "'0001-01-01T00:00:00+00:00'",
     Cell(pa.timestamp("us", tz="UTC"), datetime(1, 1, 1, tzinfo=UTC), mssql=declared("datetimeoffset(0)"))),
    ("datetimeoffset-max", "datetimeoffset(7)", "'9999-12-31T23:59:59.9999999+00:00'",
     Cell(pa.timestamp("us", tz="UTC"), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
          mssql=declared("datetimeoffset(7)"))),
    ("datetimeoffset-minus14", "datetimeoffset(0)", "'2024-06-30T22:00:00-14:00'",
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 7, 1, 12, 0, tzinfo=UTC), mssql=declared("datetimeoffset(0)"))),
    ("datetimeoffset-plus14", "datetimeoffset(0)", "'2024-07-01T12:00:00+14:00'",
     Cell(pa.timestamp("us", tz="UTC"), datetime(2024, 6, 30, 22, 0, tzinfo=UTC), mssql=declared("datetimeoffset(0)"))),
]


def null_cell(cell: Cell) -> Cell:
    """The same column type holding NULL."""
    return Cell(cell.arrow_type, None, mssql=cell.mssql)


NULL_CASES: dict[str, Cell] = {}
for _id, _sql_type, _literal, _cell in CASES:
    NULL_CASES.setdefault(_sql_type, null_cell(_cell))


@pytest.mark.parametrize(("sql_type", "literal", "cell"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_cast_round_trip(query, sql_type: str, literal: str, cell: Cell) -> None:
    result = await query(f"SELECT CAST({literal} AS {sql_type}) AS v")
    assert result.columns == ["v"]
    assert len(result) == 1
    check_cell(result, "v", cell)


@pytest.mark.parametrize(("sql_type", "cell"), list(NULL_CASES.items()), ids=list(NULL_CASES))
async def test_cast_null(query, sql_type: str, cell: Cell) -> None:
    result = await query(f"SELECT CAST(NULL AS {sql_type}) AS v")
    assert len(result) == 1
    check_cell(result, "v", cell)


async def test_every_type_in_one_row(query) -> None:
    """All cases as columns of one row: each column keeps its own type and value."""
    select = ", ".join(f"CAST({literal} AS {sql_type}) AS c{i}" for i, (_, sql_type, literal, _) in enumerate(CASES))
    result = await query(f"SELECT {select}")
    assert result.columns == [f"c{i}" for i in range(len(CASES))]
    for i, (_, _, _, cell) in enumerate(CASES):
        check_cell(result, f"c{i}", cell)


async def test_nulls_between_values_in_one_row(query) -> None:
    select = ", ".join(
        f"CAST({'NULL' if i % 2 else literal} AS {sql_type}) AS c{i}"
        for i, (_, sql_type, literal, _) in enumerate(CASES)
    )
    result = await query(f"SELECT {select}")
    for i, (_, _, _, cell) in enumerate(CASES):
        check_cell(result, f"c{i}", null_cell(cell) if i % 2 else cell)


# (literal cast to the base type, the base type's declared name, its text in Arrow, its value in rows())
VARIANTS: list[tuple[str, str, str, object]] = [
    ("CAST(7 AS int)", "int", "7", 7),
    ("CAST(-9223372036854775808 AS bigint)", "bigint", "-9223372036854775808", -(2**63)),
    ("CAST(255 AS tinyint)", "tinyint", "255", 255),
    ("CAST(1 AS bit)", "bit", "1", True),
    ("CAST(1.5E0 AS float)", "float", "1.5", 1.5),
    ("CAST(0.1 AS real)", "real", "0.10000000149011612", f32(0.1)),
    ("CAST(12.50 AS decimal(10,2))", "decimal(10,2)", "12.50", Decimal("12.50")),
    ("CAST(2.5 AS money)", "money", "2.5000", Decimal("2.5000")),
    ("CAST(N'16.0.1000.6' AS nvarchar(128))", "nvarchar(128)", "16.0.1000.6", "16.0.1000.6"),
    ("CAST('abc' AS varchar(10))", "varchar(10)", "abc", "abc"),
    ("CAST(0x0102 AS varbinary(4))", "varbinary(4)", "0x0102", b"\x01\x02"),
    (f"CAST('{GUID}' AS uniqueidentifier)", "uniqueidentifier", GUID.lower(), GUID.lower()),
    ("CAST('2024-01-02' AS date)", "date", "2024-01-02", date(2024, 1, 2)),
    ("CAST('12:34:56' AS time(0))", "time(0)", "12:34:56", time(12, 34, 56)),
    ("CAST('2024-01-02 03:04:05.1234567' AS datetime2(7))", "datetime2(7)", "2024-01-02 03:04:05.1234567",
     datetime(2024, 1, 2, 3, 4, 5, 123456)),
    ("CAST('2024-01-01 10:00:00.5 +05:30' AS datetimeoffset(3))", "datetimeoffset(3)",
     "2024-01-01 10:00:00.500 +05:30", datetime(2024, 1, 1, 4, 30, 0, 500000, tzinfo=UTC)),
]


@pytest.mark.parametrize("literal,base_type,text,value", VARIANTS, ids=[v[1] for v in VARIANTS])
async def test_sql_variant_values_keep_their_base_type(query, literal, base_type, text, value) -> None:
    """Each value of a sql_variant comes back in its base type in rows(), and exactly (its base type's
    name and canonical text) in Arrow, as the type table documents."""
    result = await query(f"SELECT CAST({literal} AS sql_variant) AS v, CAST(NULL AS sql_variant) AS n")
    row = result.rows()[0]
    assert row["v"] == value and type(row["v"]) is type(value), repr(row["v"])
    assert row["n"] is None
    table = result.to_arrow()
    field = table.schema.field("v")
    assert field.type == pa.struct([pa.field("type", pa.string(), False), pa.field("value", pa.string(), False)])
    assert field.metadata[b"mssql.type"] == b"sql_variant"
    assert table.column("v").to_pylist() == [{"type": base_type, "value": text}]
    assert table.column("n").to_pylist() == [None]


async def test_zero_rows_keep_columns_and_schema(query) -> None:
    result = await query(
        "SELECT CAST(1 AS bit) AS b, CAST(N'x' AS nvarchar(10)) AS s, CAST('2024-01-01' AS date) AS d, "
        f"CAST('{GUID}' AS uniqueidentifier) AS g, CAST(0x01 AS varbinary(4)) AS bin WHERE 1 = 0"
    )
    assert result.columns == ["b", "s", "d", "g", "bin"]
    assert len(result) == 0
    assert result.rows() == []
    assert result.fetchone() is None
    table = result.to_arrow()
    assert table.num_rows == 0
    assert table.column_names == ["b", "s", "d", "g", "bin"]
    expected = {"b": pa.bool_(), "s": pa.string(), "d": pa.date32(), "g": ARROW_UUID, "bin": pa.binary()}
    for name, typ in expected.items():
        assert arrow_type_matches(table.schema.field(name), typ), f"{name}: {table.schema.field(name).type}"
    assert pa.schema(result).names == ["b", "s", "d", "g", "bin"]
