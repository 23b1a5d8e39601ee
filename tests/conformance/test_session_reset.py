"""The session reset of the packet header (RESETCONNECTION) as a connection pool sends it: mssql-python (ODBC
Driver 18) pools connections and resets one when it reuses it. SQL Server then drops the session's temp tables
(their next use fails with 208) and puts its SET options back to the login's (NOCOUNT OFF: an INSERT counts its
rows again). Runs against the `server` fixture, so FASTMSSQL_TEST_URL checks the same against SQL Server.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

TESTS_DIR = pathlib.Path(__file__).resolve().parent.parent
PROBE_TIMEOUT_SECS = 60


def test_a_pooled_connection_is_reset_before_it_is_reused(server: Any) -> None:
    probe = subprocess.run(
        [sys.executable, "-m", "conformance.pooled_reset_probe", server.host, str(server.port), server.user,
         server.password, server.database],
        cwd=TESTS_DIR, capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECS,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    assert report["same_connection"], f"the pool did not reuse the connection, so nothing was reset: {report}"
    assert "Invalid object name '#reset_probe'" in report["temp_table"].get("error", ""), report
    assert report["insert_rowcount"] == 2, report
