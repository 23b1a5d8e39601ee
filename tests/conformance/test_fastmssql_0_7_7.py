"""fastmssql 0.7.7, the predecessor this package replaces (tiberius 0.12, rustls 0.21), logs in and queries.

It has this package's module name, so it runs in its own cached virtual environment (tests/venvs.py, the one
the benchmark uses) through fastmssql_0_7_7_probe.py. With its default pool settings every check-out first
sends `IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION; SELECT 1`, and login-only TLS (Encrypt=false, which still
announces ENCRYPT_OFF) and full TLS (Encrypt=true) each take a TLS 1.2 handshake from its rustls 0.21.
Expected values are SQL Server's results in that client's Python types.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from venvs import VENV_CACHE, ensure_venv

PROBE = pathlib.Path(__file__).resolve().parent / "fastmssql_0_7_7_probe.py"
# The benchmark's pin of the same client, so both share one environment.
REQUIREMENTS = pathlib.Path(__file__).resolve().parents[2] / "benches" / "requirements" / "fastmssql_0_7_7.txt"
PROBE_TIMEOUT_SECS = 120

TYPES_SQL = (
    "SELECT CAST(42 AS int), CAST(-5000000000 AS bigint), CAST(1 AS bit), N'h\u00e9llo \U0001F600', "
    "CAST('abc' AS varchar(10)), CAST(2.5 AS float), CAST(12.345 AS decimal(10,3)), "
    "CAST('2024-02-29T12:34:56.123456' AS datetime2(6)), CAST('2024-02-29' AS date), CAST(NULL AS int), "
    "CAST(0x0102 AS varbinary(10))"
)
TYPES_ROW = (
    42, -5000000000, True, "h\u00e9llo \U0001F600", "abc", 2.5, Decimal("12.345"),
    dt.datetime(2024, 2, 29, 12, 34, 56, 123456), dt.date(2024, 2, 29), None, b"\x01\x02",
)
PARAMS = [7, "x\u00e9", 1.25]
STATEMENTS = [
    {"sql": TYPES_SQL, "params": None},
    {"sql": "SELECT @P1, @P2, @P3", "params": PARAMS},
    {"sql": "SELECT 1/0", "params": None},
    {"sql": "SELECT 2", "params": None},
]


def _typed(value: Any) -> list[str]:
    """A value as the probe reports it: its type name and repr."""
    return [type(value).__name__, repr(value)]


@pytest.fixture(scope="module")
def python_077() -> pathlib.Path:
    return ensure_venv(VENV_CACHE, "fastmssql-0.7.7", REQUIREMENTS)


@pytest.fixture(scope="module", params=["false", "true"], ids=["login-only-tls", "full-tls"])
def outcome(request: pytest.FixtureRequest, python_077: pathlib.Path, server: Any) -> list[dict]:
    """The results of STATEMENTS through fastmssql 0.7.7 with Encrypt=false or Encrypt=true."""
    connection_string = (
        f"Server={server.host},{server.port};Database={server.database};User Id={server.user};"
        f"Password={server.password};Encrypt={request.param};TrustServerCertificate=true"
    )
    proc = subprocess.run(
        [str(python_077), str(PROBE), json.dumps({"connection_string": connection_string, "statements": STATEMENTS})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=PROBE_TIMEOUT_SECS,
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, f"probe failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(lines[-1])
    assert "connect_error" not in report, f"fastmssql 0.7.7 cannot connect: {report['connect_error']}"
    return report["results"]


def test_reads_each_type_as_sql_server_sends_it(outcome: list[dict]) -> None:
    assert outcome[0] == {"rows": [[_typed(v) for v in TYPES_ROW]]}


def test_parameters_round_trip(outcome: list[dict]) -> None:
    assert outcome[1] == {"rows": [[_typed(v) for v in PARAMS]]}


def test_a_server_error_is_raised_and_the_connection_stays_usable(outcome: list[dict]) -> None:
    assert outcome[2] == {"error": {"type": "SqlError", "message": "Divide by zero error encountered."}}
    assert outcome[3] == {"rows": [[_typed(2)]]}
