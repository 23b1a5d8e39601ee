"""Each client's documented way to present SQL Server values in Python, where the clients differ.

These tables say how a client presents a value that it receives from real SQL Server; they never
relax a comparison. Everything not listed here is compared exactly (same Python type, equal value,
and for datetimeoffset the same UTC offset).
"""

from __future__ import annotations

from typing import Any

from .type_matrix import SqlVariant, SubMicrosecond

# Python's time/datetime stop at microseconds; time, datetime2 and datetimeoffset carry 100 ns units.
# Every client cuts the digits below the microsecond off (never rounds, which could overflow 23:59:59.9999999):
SUB_MICROSECOND_CONVENTION = {
    # mssql_python/pybind: SQL_SS_TIME2_STRUCT / SQL_TIMESTAMP_STRUCT / SQL_SS_TIMESTAMPOFFSET_STRUCT
    # fraction (nanoseconds) / 1000 -> microsecond.
    "mssql_python": "truncate",
    # pymssql/_mssql.pyx convert_db_value(): datetime(..., di.nanosecond // 1000) after FreeTDS dbanydatecrack().
    "pymssql": "truncate",
    # pytds/tds_types.py Time.to_pytime(): datetime.time(..., nanoseconds // 1000).
    "pytds": "truncate",
}

# sql_variant: every client reads the base type from the value's own TYPE_INFO and returns the base value
# as it returns that type elsewhere:
SQL_VARIANT_CONVENTION = {
    # mssql_python/pybind ddbc_bindings: probes SQL_CA_SS_VARIANT_TYPE, then fetches the mapped SQL type.
    "mssql_python": "base value",
    # FreeTDS (tds/data.c variant_get) keeps the base type; dblib's dbcoltype()/dbdata() expose it to pymssql.
    "pymssql": "base value",
    # pytds/tds_types.py VariantSerializer.read(): dispatches on the base type id.
    "pytds": "base value",
}


def expected_in_client(client: str, value: Any) -> Any:
    """The Python value `client` returns for the exact SQL Server value `value`."""
    if isinstance(value, SubMicrosecond):
        convention = SUB_MICROSECOND_CONVENTION[client]
        assert convention == "truncate", convention
        return value.truncated
    if isinstance(value, SqlVariant):
        convention = SQL_VARIANT_CONVENTION[client]
        assert convention == "base value", convention
        return expected_in_client(client, value.value)
    return value
