"""RPC parameter validation: SQL Server refuses a NaN or infinite float parameter before running the call, with
error 8023 (severity 16), naming the parameter by its position in the RPC and the type.

Sent by python-tds (sp_executesql: the value is parameter 3, "@P1") and by mssql-python (ODBC Driver 18,
sp_prepexec: parameter 4, unnamed). pymssql is not asked: it writes parameters into the SQL text. The session
stays usable. Runs against the `server` fixture, so FASTMSSQL_TEST_URL checks the same against SQL Server.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from .clients import ADAPTERS

NOT_FINITE = [math.nan, math.inf, -math.inf]
# Error 8023 in sys.messages, for the parameter that carries the value.
MESSAGE = (
    'The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. Parameter {} '
    '("{}"): The supplied value is not a valid instance of data type float. Check the source data for invalid '
    "values. An example of an invalid value is data of numeric type with scale greater than precision."
)
# The parameter's position and name as each client's RPC carries it.
PARAMETER = {"pytds": (3, "@P1"), "mssql_python": (4, "")}


@pytest.mark.parametrize("client", list(PARAMETER))
@pytest.mark.parametrize("value", NOT_FINITE, ids=["nan", "inf", "-inf"])
def test_a_float_that_is_not_a_number_is_refused_with_8023(server: Any, client: str, value: float) -> None:
    adapter = ADAPTERS[client]
    conn = adapter.connect(server, "off")
    try:
        cursor = conn.cursor()
        with pytest.raises(adapter.module().DatabaseError) as caught:
            cursor.execute(f"SELECT {adapter.positional_marker} AS v", (value,))
        if adapter.exposes_error_number:
            assert adapter.error_number(caught.value) == 8023
            assert caught.value.severity == 16
        assert MESSAGE.format(*PARAMETER[client]) in str(caught.value)
        cursor.execute(f"SELECT {adapter.positional_marker} AS v", (1.5,))
        assert [tuple(row) for row in cursor.fetchall()] == [(1.5,)]
    finally:
        conn.close()
