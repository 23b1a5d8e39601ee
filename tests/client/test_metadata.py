"""Column metadata taken from the server's TYPE_INFO, exact money, and transactions left open.

Written by the driver-metadata helper: each result column's Arrow type and `mssql.type` come from
its declared type (length, precision, scale, `(max)`), also for NULLs and zero-row results; money is
exact at its extremes; a transaction a batch leaves open is rolled back before the pooled connection
is used again.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import bounded

# SQL Server treats decimal and numeric as synonyms; the declared precision and scale must be exact.
DECIMAL_18_4 = r"(decimal|numeric)\(18,4\)"

# (SQL type, literal, Arrow type, `mssql.type` regular expression)
DECLARED: list[tuple[str, str, pa.DataType, str]] = [
    ("decimal(18,4)", "1.5", pa.decimal128(18, 4), DECIMAL_18_4),
    ("numeric(5,0)", "12345", pa.decimal128(5, 0), r"(decimal|numeric)\(5,0\)"),
    ("decimal(38,38)", "0.5", pa.decimal128(38, 38), r"(decimal|numeric)\(38,38\)"),
    ("money", "1", pa.decimal128(19, 4), "money"),
    ("smallmoney", "1", pa.decimal128(10, 4), "smallmoney"),
    ("nvarchar(50)", "N'x'", pa.string(), re.escape("nvarchar(50)")),
    ("nvarchar(max)", "N'x'", pa.string(), re.escape("nvarchar(max)")),
    ("varchar(20)", "'x'", pa.string(), re.escape("varchar(20)")),
    ("varchar(max)", "'x'", pa.string(), re.escape("varchar(max)")),
    ("nchar(4)", "N'x'", pa.string(), re.escape("nchar(4)")),
    ("char(10)", "'x'", pa.string(), re.escape("char(10)")),
    ("varbinary(16)", "0x01", pa.binary(), re.escape("varbinary(16)")),
    ("varbinary(max)", "0x01", pa.binary(), re.escape("varbinary(max)")),
    ("binary(4)", "0x01", pa.binary(), re.escape("binary(4)")),
    ("datetime2(7)", "'2024-01-02T03:04:05'", pa.timestamp("us"), re.escape("datetime2(7)")),
    ("datetime2(3)", "'2024-01-02T03:04:05'", pa.timestamp("us"), re.escape("datetime2(3)")),
    ("time(3)", "'03:04:05'", pa.time64("ns"), re.escape("time(3)")),
    ("datetimeoffset(5)", "'2024-01-02T03:04:05+01:00'", pa.timestamp("us", tz="UTC"),
     re.escape("datetimeoffset(5)")),
    ("tinyint", "1", pa.uint8(), "tinyint"),
    ("smallint", "1", pa.int16(), "smallint"),
    ("int", "1", pa.int32(), "int"),
    ("bigint", "1", pa.int64(), "bigint"),
    ("real", "1", pa.float32(), "real"),
    ("float", "1", pa.float64(), "float"),
    ("bit", "1", pa.bool_(), "bit"),
    ("date", "'2024-01-02'", pa.date32(), "date"),
    ("datetime", "'2024-01-02'", pa.timestamp("us"), "datetime"),
    ("smalldatetime", "'2024-01-02'", pa.timestamp("us"), "smalldatetime"),
]


def field_type_and_declared(result: fastmssql.QueryResult, column: str) -> tuple[pa.DataType, str]:
    field = result.to_arrow().schema.field(column)
    return field.type, (field.metadata or {})[b"mssql.type"].decode()


def assert_declared(result: fastmssql.QueryResult, column: str, arrow_type: pa.DataType, declared: str) -> None:
    actual_type, actual_declared = field_type_and_declared(result, column)
    assert actual_type == arrow_type, f"{column}: Arrow type {actual_type}, expected {arrow_type}"
    assert re.fullmatch(declared, actual_declared), f"{column}: mssql.type {actual_declared!r}, expected {declared!r}"


def select_every_declared(value_of) -> str:
    return ", ".join(f"CAST({value_of(literal)} AS {sql_type}) AS c{i}" for i, (sql_type, literal, _, _) in
                     enumerate(DECLARED))


@pytest.mark.parametrize("rows", ["value", "null", "zero-rows"])
async def test_declared_types_with_values_nulls_and_no_rows(query, rows: str) -> None:
    """Arrow type and declared type come from the metadata alone, whatever the rows hold."""
    select = select_every_declared(lambda literal: "NULL" if rows == "null" else literal)
    result = await query(f"SELECT {select}" + (" WHERE 1 = 0" if rows == "zero-rows" else ""))
    assert len(result) == (0 if rows == "zero-rows" else 1)
    for i, (_, _, arrow_type, declared) in enumerate(DECLARED):
        assert_declared(result, f"c{i}", arrow_type, declared)
        if rows == "null":
            assert result.rows()[0][f"c{i}"] is None


async def test_decimal_values_keep_the_declared_scale(query) -> None:
    result = await query("SELECT CAST(1.5 AS decimal(18,4)) AS d, CAST(-7 AS numeric(10,2)) AS n")
    assert result.to_arrow().column("d")[0].as_py() == Decimal("1.5000")
    row = result.rows()[0]
    assert (str(row["d"]), str(row["n"])) == ("1.5000", "-7.00")


async def test_money_extremes_are_exact(query) -> None:
    result = await query(
        "SELECT CAST('922337203685477.5807' AS money) AS money_max, CAST('-922337203685477.5808' AS money) AS money_min, "
        "CAST('214748.3647' AS smallmoney) AS small_max, CAST('-214748.3648' AS smallmoney) AS small_min, "
        "CAST(NULL AS smallmoney) AS small_null"
    )
    expected = {
        "money_max": (pa.decimal128(19, 4), Decimal("922337203685477.5807")),
        "money_min": (pa.decimal128(19, 4), Decimal("-922337203685477.5808")),
        "small_max": (pa.decimal128(10, 4), Decimal("214748.3647")),
        "small_min": (pa.decimal128(10, 4), Decimal("-214748.3648")),
        "small_null": (pa.decimal128(10, 4), None),
    }
    table = result.to_arrow()
    row = result.rows()[0]
    for column, (arrow_type, value) in expected.items():
        assert table.schema.field(column).type == arrow_type, column
        assert table.column(column)[0].as_py() == value, column
        assert row[column] == value, column
        if value is not None:
            assert str(row[column]) == str(value), column


async def session_state(connection: fastmssql.Connection) -> tuple[int, int]:
    row = (await bounded(connection.query("SELECT @@SPID AS spid, @@TRANCOUNT AS trancount"))).rows()[0]
    return row["spid"], row["trancount"]


@pytest.mark.parametrize("call", ["query", "execute"])
async def test_a_transaction_left_open_is_refused_and_rolled_back_on_the_same_session(single_connection, call: str) -> None:
    spid, trancount = await session_state(single_connection)
    assert trancount == 0
    sql = "BEGIN TRAN; SELECT @@TRANCOUNT AS trancount" if call == "query" else "BEGIN TRANSACTION"
    with pytest.raises(fastmssql.ProgrammingError, match=r"left a transaction open"):
        await bounded(getattr(single_connection, call)(sql))
    # Same session (rolled back, not discarded) and no transaction inherited.
    assert await session_state(single_connection) == (spid, 0)


async def test_a_committed_transaction_needs_no_rollback(single_connection) -> None:
    spid, _ = await session_state(single_connection)
    result = await bounded(single_connection.query("BEGIN TRAN; COMMIT; SELECT @@TRANCOUNT AS trancount"))
    assert result.rows()[0]["trancount"] == 0
    assert await session_state(single_connection) == (spid, 0)

