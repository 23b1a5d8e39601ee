"""Reuse one pooled mssql-python connection and report, as JSON, what the session reset left of the first use.

mssql-python pools connections by default and, on reuse, sends its next request with the packet header's
RESETCONNECTION bit. The probe runs in a fresh interpreter, so the pool holds only its own connections, and
checks that the second connect got the same TCP connection (the same socket of this process).
Usage: python -m conformance.pooled_reset_probe HOST PORT USER PASSWORD DATABASE
"""

from __future__ import annotations

import json
import os
import sys

import mssql_python

TCP_ESTABLISHED = "01"


def sockets_to(port: int) -> set[str]:
    """Inodes of this process's established TCP connections to `port` (Linux /proc)."""
    own = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:["):
            own.add(target[len("socket:["):-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == TCP_ESTABLISHED and fields[9] in own:
                    found.add(fields[9])
    return found


def main(host: str, port: str, user: str, password: str, database: str) -> dict:
    connection_string = (
        f"Server={host},{port};Database={database};UID={user};PWD={{{password.replace('}', '}}')}}};Encrypt=no"
    )
    first = mssql_python.connect(connection_string, autocommit=True)
    cursor = first.cursor()
    cursor.execute("CREATE TABLE #reset_probe (a int)")
    cursor.execute("SET NOCOUNT ON")
    cursor.close()
    first_sockets = sockets_to(int(port))
    first.close()

    second = mssql_python.connect(connection_string, autocommit=True)
    cursor = second.cursor()
    report: dict = {"same_connection": len(first_sockets) == 1 and sockets_to(int(port)) == first_sockets}
    try:
        cursor.execute("SELECT a FROM #reset_probe")
        report["temp_table"] = {"rows": [tuple(row) for row in cursor.fetchall()]}
    except mssql_python.DatabaseError as exc:
        report["temp_table"] = {"error": str(exc)}
    cursor.execute("CREATE TABLE #reset_probe_count (a int)")
    cursor.execute("INSERT INTO #reset_probe_count VALUES (1), (2)")
    report["insert_rowcount"] = cursor.rowcount
    cursor.close()
    second.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
