"""Connect one client with a wrong password in a fresh interpreter and report the exception as JSON.

pymssql keeps the last server message in process-wide state that later logins do not reset
(_mssql.pyx msg_handler keeps the most severe message), so each login attempt runs in its own process.
Usage: python -m conformance.login_probe CLIENT MODE HOST PORT USER CERT_PATH WRONG_PASSWORD
"""

from __future__ import annotations

import json
import pathlib
import sys

from local_server import DEFAULT_DATABASE

from .clients import ADAPTERS


class _ServerAddress:
    """The parts of a LocalServer that the client adapters read."""

    def __init__(self, host: str, port: int, user: str, cert_path: str) -> None:
        self.host, self.port, self.user = host, port, user
        self.cert_path = pathlib.Path(cert_path)
        self.database = DEFAULT_DATABASE
        self.password = None


def main(argv: list[str]) -> None:
    client, mode, host, port, user, cert_path, password = argv
    adapter = ADAPTERS[client]
    try:
        adapter.connect(_ServerAddress(host, int(port), user, cert_path), mode, password=password).close()
    except adapter.login_error_types() as exc:
        report = {
            "type": type(exc).__name__,
            "number": adapter.error_number(exc),
            "message": str(exc),
            "driver_error": getattr(exc, "driver_error", None),
        }
    else:
        report = {"type": None}
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
