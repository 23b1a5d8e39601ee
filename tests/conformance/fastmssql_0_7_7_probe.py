"""Runs statements through fastmssql 0.7.7 (PyPI; tiberius 0.12 and rustls 0.21 inside) and prints the outcome as JSON.

Runs in that package's own virtual environment (its module name is this package's), with the standard library
and fastmssql only. Usage: python fastmssql_0_7_7_probe.py REQUEST_JSON, where the request is
{"connection_string": str, "statements": [{"sql": str, "params": list | null}, ...]}. The last stdout line is
{"connect_error": str} or {"results": [...]}, one result per statement: {"rows": [[[type name, repr], ...], ...]}
or {"error": {"type": exception class name, "message": str}}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from fastmssql import Connection, PoolConfig

# The pool's own defaults otherwise (its check-out test included); a short acquire timeout so that a
# server the pool cannot use fails the probe in seconds rather than 30.
POOL = dict(max_size=2, min_idle=1, connection_timeout_secs=15)


def typed(value: object) -> list[str]:
    return [type(value).__name__, repr(value)]


async def run(request: dict) -> dict:
    conn = Connection(request["connection_string"], pool_config=PoolConfig(**POOL))
    try:
        await conn.connect()
    except Exception as exc:  # noqa: BLE001 - reported to the test, which judges it
        return {"connect_error": f"{type(exc).__name__}: {exc}"}
    results = []
    try:
        await _run_statements(conn, request["statements"], results)
    finally:
        # Closed before the interpreter exits: 0.7.7 left to tear its pool down at exit
        # sometimes dies of SIGSEGV after printing its results.
        await conn.disconnect()
    return {"results": results}


async def _run_statements(conn: Connection, statements: list[dict], results: list[dict]) -> None:
    for statement in statements:
        try:
            if statement["params"] is None:
                result = await conn.query(statement["sql"])
            else:
                result = await conn.query(statement["sql"], statement["params"])
            results.append({"rows": [[typed(v) for v in row.values()] for row in result.rows()]})
        except Exception as exc:  # noqa: BLE001 - reported to the test, which judges it
            results.append({"error": {"type": type(exc).__name__, "message": str(exc)}})


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)
    # 0.7.7's extension sometimes dies of SIGSEGV in interpreter teardown, after the results are
    # printed and its pool is closed: its own bug, not an answer of the server. Skip the teardown.
    os._exit(0)
