"""Each client's documented way to present SQL Server values in Python, where the clients differ.

These tables say how a client presents a value that it receives from real SQL Server; they never
relax a comparison. Everything not listed here is compared exactly (same Python type, equal value,
and for datetimeoffset the same UTC offset).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from .type_matrix import SqlVariant, SubMicrosecond

# Python's time/datetime stop at microseconds; time, datetime2 and datetimeoffset carry 100 ns units.
# Every client cuts the digits below the microsecond off (never rounds, which could overflow 23:59:59.9999999):
SUB_MICROSECOND_CONVENTION = {
    # mssql-python builds datetime/time from the ODBC structs' fraction (nanoseconds). Its wheel ships no C++
    # source to cite; it truncates: for the 100 ns values that pytds decodes to ...56.123456 (truncation read
    # in pytds' source) from the same bytes, mssql-python returns the same, never ...56.123457.
    "mssql_python": "truncate",
    # pymssql/_mssql.pyx convert_db_value(): datetime(..., di.nanosecond // 1000) after FreeTDS dbanydatecrack().
    "pymssql": "truncate",
    # pytds/tds_types.py Time.to_pytime(): datetime.time(..., nanoseconds // 1000).
    "pytds": "truncate",
}

# sql_variant:
SQL_VARIANT_CONVENTION = {
    # mssql_python/pybind ddbc_bindings: probes SQL_CA_SS_VARIANT_TYPE, then fetches the base type as usual.
    "mssql_python": "base value",
    # pymssql/_mssql.pyx convert_db_value() has no case for SYBVARIANT and returns dbdata()[:dbdatlen()]:
    # FreeTDS's row buffer for the base value (tds/data.c tds_variant_get), see `freetds_variant_bytes`.
    "pymssql": "FreeTDS buffer bytes",
    # pytds/tds_types.py VariantSerializer.read(): dispatches on the base type id.
    "pytds": "base value",
}

# FreeTDS tds/numeric.c tds_numeric_bytes_per_prec: its TDS_NUMERIC keeps sign + this many bytes per precision.
_FREETDS_NUMERIC_BYTES_PER_PREC = (
    1,
    2, 2, 3, 3, 4, 4, 4, 5, 5,
    6, 6, 6, 7, 7, 8, 8, 9, 9, 9,
    10, 10, 11, 11, 11, 12, 12, 13, 13, 14,
    14, 14, 15, 15, 16, 16, 16, 17, 17,
)  # fmt: skip
_FREETDS_DATE_EPOCH = dt.date(1900, 1, 1)


def _tds_decimal_wire_length(precision: int) -> int:
    """Bytes of a decimal value on the wire (MS-TDS 2.2.5.5.1.6): sign + 4/8/12/16 by precision."""
    return 1 + (4 if precision <= 9 else 8 if precision <= 19 else 12 if precision <= 28 else 16)


def freetds_variant_bytes(variant: SqlVariant) -> bytes:
    """What pymssql returns for a sql_variant read from SQL Server: FreeTDS's buffer of the base value.

    The layouts are FreeTDS's (include/freetds/tds.h): integers little-endian; character data converted
    to the client charset (pymssql: UTF-8); binary as is; TDS_NUMERIC {precision, scale, sign (0 = +),
    big-endian magnitude} cut to the value's wire length (dbdatlen); TDS_DATETIMEALL {time (uint64),
    date (int32 days since 1900-01-01), offset (int16), flags (has_date = 0x4000)}.
    """
    base, value = variant.base_type, variant.value
    if base == "int":
        return value.to_bytes(4, "little", signed=True)
    if base == "bigint":
        return value.to_bytes(8, "little", signed=True)
    if base.startswith(("varchar", "nvarchar")):
        return value.encode("utf-8")
    if base.startswith("varbinary"):
        return value
    decimal_type = re.fullmatch(r"decimal\((\d+),(\d+)\)", base)
    if decimal_type:
        precision, scale = int(decimal_type[1]), int(decimal_type[2])
        magnitude = int(abs(value).scaleb(scale))
        magnitude_bytes = _FREETDS_NUMERIC_BYTES_PER_PREC[precision] - 1
        struct_bytes = bytes([precision, scale, 1 if value < 0 else 0]) + magnitude.to_bytes(magnitude_bytes, "big")
        return struct_bytes.ljust(2 + 33, b"\x00")[: _tds_decimal_wire_length(precision)]
    if base == "date":
        days = (value - _FREETDS_DATE_EPOCH).days
        return bytes(8) + days.to_bytes(4, "little", signed=True) + bytes(2) + (0x4000).to_bytes(2, "little")
    raise AssertionError(f"no FreeTDS buffer layout written down for sql_variant base type {base}")


def expected_in_client(client: str, value: Any) -> Any:
    """The Python value `client` returns for the exact SQL Server value `value`."""
    if isinstance(value, SubMicrosecond):
        convention = SUB_MICROSECOND_CONVENTION[client]
        assert convention == "truncate", convention
        return value.truncated
    if isinstance(value, SqlVariant):
        convention = SQL_VARIANT_CONVENTION[client]
        if convention == "FreeTDS buffer bytes":
            return freetds_variant_bytes(value)
        assert convention == "base value", convention
        return expected_in_client(client, value.value)
    return value


# Query parameters: mssql-python and pytds send typed RPC parameters, which come back as sent.
# pymssql substitutes parameters into the SQL text (_mssql.pyx _quote_simple_value), so SQL Server types
# the resulting literals: an integer outside int's range and a number written with a decimal point are
# numeric literals (read back as Decimal), and a uuid.UUID is quoted as N'<str(uuid)>' (read back as str).
PARAMETERS_AS_LITERALS = {"mssql_python": False, "pymssql": True, "pytds": False}


def expected_parameter_in_client(client: str, value: Any) -> Any:
    """The Python value `client` reads back from `SELECT <parameter>` for the Python parameter `value`."""
    if not PARAMETERS_AS_LITERALS[client]:
        return value
    if isinstance(value, bool):
        return int(value)  # quoted as 1/0: an int literal
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        return Decimal(value)
    if isinstance(value, float):
        literal = repr(value)
        assert "e" not in literal, "an exponent makes the literal a float: not covered here"
        return Decimal(literal)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# What a client does when its own query timeout expires during a long batch:
QUERY_TIMEOUT_CONVENTION = {
    # ODBC Driver 18 (SQL_ATTR_QUERY_TIMEOUT): sends Attention, reads the DONE with DONE_ATTN, raises HYT00.
    "mssql_python": "attention, connection stays usable",
    # pymssql's err_handler returns INT_CANCEL for every DB-Library error (_mssql.pyx err_handler); for a
    # timeout (SYBETIME) DB-Library then marks the DBPROCESS dead, and later calls raise InterfaceError.
    "pymssql": "connection closed",
    # pytds (tds_session.py): on socket.timeout it sends Attention and drains the response up to DONE_ATTN.
    "pytds": "attention, connection stays usable",
}
