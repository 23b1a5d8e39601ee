"""Adapters for the independent SQL Server clients that judge the local TDS server.

Each adapter connects one PyPI client to a `LocalServer`, either without encryption ("off") or with
full TLS that trusts (and where the client can, validates) the server's test certificate ("tls"),
and knows where that client puts SQL Server's error number in its exceptions.

- mssql-python: Microsoft ODBC Driver 18 (bundled), paramstyle `?`.
- pymssql: FreeTDS (bundled), paramstyle `%s` / `%(name)s` (substituted into the SQL text by pymssql).
- pytds (python-tds): pure Python TDS, paramstyle `%s` / `%(name)s` (sent as sp_executesql @P1...).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import Any

from local_server import LocalServer

LOGIN_TIMEOUT_SECS = 10
QUERY_TIMEOUT_SECS = 60

CLIENT_NAMES = ("mssql_python", "pymssql", "pytds")
ENCRYPTION_MODES = ("off", "tls")


class ClientAdapter:
    name: str
    # How a positional query parameter is written in SQL text (the client's DB-API paramstyle).
    positional_marker: str

    def connect(self, server: LocalServer, encryption: str, password: str | None = None) -> Any:
        raise NotImplementedError

    def binary(self, value: bytes) -> Any:
        """A binary query parameter: the DB-API `Binary` constructor of the client's module."""
        return self.module().Binary(value)

    def module(self) -> Any:
        raise NotImplementedError

    def login_error_number(self, exc: BaseException) -> int | None:
        """SQL Server's error number as this client exposes it, None where the client does not expose it."""
        raise NotImplementedError

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError


class MssqlPythonAdapter(ClientAdapter):
    name = "mssql_python"
    positional_marker = "?"

    def module(self) -> Any:
        import mssql_python

        return mssql_python

    def connect(self, server: LocalServer, encryption: str, password: str | None = None) -> Any:
        import mssql_python

        security = "Encrypt=yes;TrustServerCertificate=yes" if encryption == "tls" else "Encrypt=no"
        conn = mssql_python.connect(
            f"Server={server.host},{server.port};Database={server.database};"
            f"UID={server.user};PWD={{{password or server.password}}};{security}",
            autocommit=True,
            timeout=LOGIN_TIMEOUT_SECS,
        )
        conn.timeout = QUERY_TIMEOUT_SECS
        return conn

    def login_error_number(self, exc: BaseException) -> int | None:
        # mssql-python exceptions carry the ODBC SQLSTATE and message but not the native error number
        # (mssql_python/exceptions.py: driver_error/ddbc_error only); the ODBC driver maps SQL Server's
        # 18456 to SQLSTATE 28000, which mssql-python raises as OperationalError("Invalid authorization
        # specification"). The login test checks that mapping and the server's message instead.
        return None

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        import mssql_python

        return (mssql_python.OperationalError,)


class PymssqlAdapter(ClientAdapter):
    name = "pymssql"
    positional_marker = "%s"

    def module(self) -> Any:
        import pymssql

        return pymssql

    def connect(self, server: LocalServer, encryption: str, password: str | None = None) -> Any:
        import pymssql

        common = dict(
            user=server.user,
            password=password or server.password,
            database=server.database,
            login_timeout=LOGIN_TIMEOUT_SECS,
            timeout=QUERY_TIMEOUT_SECS,
            tds_version="7.4",
            autocommit=True,
        )
        if encryption == "off":
            return pymssql.connect(server=server.host, port=str(server.port), encryption="off", **common)
        # FreeTDS validates the server certificate only against a configured `ca file` (freetds.conf),
        # so a freetds.conf section names the test certificate and asks for host name checking.
        # pymssql appends its `port` (default 1433) to the server name, so the port is given here too.
        with _freetds_conf(server) as section:
            return pymssql.connect(server=section, port=str(server.port), encryption="require", **common)

    def login_error_number(self, exc: BaseException) -> int | None:
        # pymssql raises OperationalError((number, message)) for server errors at login (_pymssql.pyx connect()).
        detail = exc.args[0] if exc.args else None
        if isinstance(detail, tuple) and detail and isinstance(detail[0], int):
            return detail[0]
        return None

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        import pymssql

        return (pymssql.OperationalError,)


@contextlib.contextmanager
def _freetds_conf(server: LocalServer) -> Iterator[str]:
    section = "fastmssql-local-tls"
    with tempfile.TemporaryDirectory(prefix="fastmssql-freetds-") as tmp:
        conf = pathlib.Path(tmp) / "freetds.conf"
        conf.write_text(
            f"[{section}]\n"
            f"\thost = {server.host}\n"
            f"\tport = {server.port}\n"
            "\ttds version = 7.4\n"
            "\tencryption = require\n"
            f"\tca file = {server.cert_path}\n"
            "\tcheck certificate hostname = yes\n"
        )
        previous = os.environ.get("FREETDSCONF")
        # FreeTDS reads FREETDSCONF while it opens the connection (dbopen), not afterwards.
        os.environ["FREETDSCONF"] = str(conf)
        try:
            yield section
        finally:
            if previous is None:
                del os.environ["FREETDSCONF"]
            else:
                os.environ["FREETDSCONF"] = previous


class PytdsAdapter(ClientAdapter):
    name = "pytds"
    positional_marker = "%s"

    def module(self) -> Any:
        import pytds

        return pytds

    def connect(self, server: LocalServer, encryption: str, password: str | None = None) -> Any:
        import pytds

        common = dict(
            database=server.database,
            user=server.user,
            password=password or server.password,
            port=server.port,
            login_timeout=LOGIN_TIMEOUT_SECS,
            timeout=QUERY_TIMEOUT_SECS,
            autocommit=True,
        )
        if encryption == "off":
            # Without cafile pytds announces ENCRYPT_NOT_SUP: no TLS at all.
            return pytds.connect(server.host, **common)
        # pytds verifies the certificate chain against cafile. Its host name check (pytds/tls.py validate_host)
        # calls X509.get_extension, which current pyOpenSSL no longer has, so it stays off.
        return pytds.connect(server.host, cafile=str(server.cert_path), validate_host=False, **common)

    def login_error_number(self, exc: BaseException) -> int | None:
        return getattr(exc, "number", None)

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        import pytds

        # pytds raises the server's login error as OperationalError carrying .number (LoginError is a subclass).
        return (pytds.OperationalError,)


ADAPTERS: dict[str, ClientAdapter] = {
    adapter.name: adapter for adapter in (MssqlPythonAdapter(), PymssqlAdapter(), PytdsAdapter())
}
