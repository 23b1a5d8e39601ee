"""Adapters for the independent SQL Server clients that judge the local TDS server.

Each adapter connects one PyPI client to a `LocalServer`, either without encryption ("off") or with
full TLS that trusts the server's test certificate ("tls"; mssql-python also "strict", TDS 8.0), and
knows where that client puts SQL Server's error number in its exceptions.

- mssql-python: Microsoft ODBC Driver 18 (bundled), paramstyle `?` (and pyformat).
- pymssql: FreeTDS (bundled), paramstyle `%s` / `%(name)s` (substituted into the SQL text by pymssql).
- pytds (python-tds): pure Python TDS, paramstyle `%s` / `%(name)s` (sent as sp_executesql @P1...).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from local_server import LocalServer

LOGIN_TIMEOUT_SECS = 10
QUERY_TIMEOUT_SECS = 60

CLIENT_NAMES = ("mssql_python", "pymssql", "pytds")
ENCRYPTION_MODES = ("off", "tls")


class ClientAdapter:
    name: str
    # Whether the client's exceptions carry SQL Server's error number (see `error_number`).
    exposes_error_number: bool
    # How a positional query parameter is written in SQL text (the client's DB-API paramstyle).
    positional_marker: str

    def module(self) -> Any:
        raise NotImplementedError

    def connect(
        self,
        server: LocalServer,
        encryption: str,
        *,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        packet_size: int | None = None,
        autocommit: bool = True,
        query_timeout: int = QUERY_TIMEOUT_SECS,
    ) -> Any:
        """A DB-API connection; `packet_size` None leaves the client's default."""
        raise NotImplementedError

    def binary(self, value: bytes) -> Any:
        """A binary query parameter: the DB-API `Binary` constructor of the client's module."""
        return self.module().Binary(value)

    def error_number(self, exc: BaseException) -> int | None:
        """SQL Server's error number as this client exposes it, None where the client does not expose it."""
        raise NotImplementedError

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError


class MssqlPythonAdapter(ClientAdapter):
    name = "mssql_python"
    positional_marker = "?"
    exposes_error_number = False

    def module(self) -> Any:
        import mssql_python

        return mssql_python

    def connect(self, server, encryption, *, database=None, user=None, password=None, packet_size=None, autocommit=True,
                query_timeout=QUERY_TIMEOUT_SECS):
        import mssql_python

        if encryption == "strict":
            # TDS 8.0 (TLS before PRELOGIN): ODBC Driver 18 ignores TrustServerCertificate here and accepts
            # only the certificate in the file ServerCertificate names.
            security = f"Encrypt=strict;ServerCertificate={server.cert_path}"
        else:
            security = "Encrypt=yes;TrustServerCertificate=yes" if encryption == "tls" else "Encrypt=no"
        packet = f";PacketSize={packet_size}" if packet_size else ""
        braced_password = (password or server.password).replace("}", "}}")
        conn = mssql_python.connect(
            f"Server={server.host},{server.port};Database={database or server.database};"
            f"UID={user or server.user};PWD={{{braced_password}}};{security}{packet}",
            autocommit=autocommit,
            timeout=LOGIN_TIMEOUT_SECS,
        )
        conn.timeout = query_timeout
        return conn

    def error_number(self, exc: BaseException) -> int | None:
        # mssql-python exceptions carry the ODBC SQLSTATE (as their class and driver_error) and the
        # server's message, but not the native error number (mssql_python/exceptions.py). The tests
        # check the message (and for 18456 the SQLSTATE 28000 mapping) instead.
        return None

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        return (self.module().OperationalError,)


class PymssqlAdapter(ClientAdapter):
    name = "pymssql"
    positional_marker = "%s"
    exposes_error_number = True

    def module(self) -> Any:
        import pymssql

        return pymssql

    def connect(self, server, encryption, *, database=None, user=None, password=None, packet_size=None, autocommit=True,
                query_timeout=QUERY_TIMEOUT_SECS):
        import pymssql

        # FreeTDS takes the packet size and the certificate to trust (`ca file`: without it FreeTDS
        # checks no certificate) only from freetds.conf, so every connection goes through a section.
        # pymssql appends its `port` (default 1433) to the server name, so the port is given too.
        with _freetds_conf(server, encryption, packet_size) as section:
            return pymssql.connect(
                server=section,
                port=str(server.port),
                user=user or server.user,
                password=password or server.password,
                database=database or server.database,
                login_timeout=LOGIN_TIMEOUT_SECS,
                timeout=query_timeout,
                tds_version="7.4",
                encryption="require" if encryption == "tls" else "off",
                autocommit=autocommit,
            )

    def error_number(self, exc: BaseException) -> int | None:
        number_and_message = self.number_and_message(exc)
        return number_and_message[0] if number_and_message else None

    @staticmethod
    def number_and_message(exc: BaseException) -> tuple[int, bytes] | None:
        """pymssql's (number, UTF-8 message) of a server error: its DB-API errors carry them as args at
        login (`raise OperationalError(e.args[0])`: args[0] == (number, message)) and as args otherwise
        (`raise OperationalError, e.args[0]`: args == (number, message)) (_pymssql.pyx)."""
        args = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], tuple) else exc.args
        if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], bytes):
            return args[0], args[1]
        return None

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        return (self.module().OperationalError,)


# FREETDSCONF is process-wide: one pymssql connection at a time may be opened through it.
_FREETDS_CONF_LOCK = threading.Lock()


@contextlib.contextmanager
def _freetds_conf(server: LocalServer, encryption: str, packet_size: int | None) -> Iterator[str]:
    section = "fastmssql-local"
    lines = [f"[{section}]", f"host = {server.host}", f"port = {server.port}", "tds version = 7.4"]
    if encryption == "tls":
        lines += ["encryption = require", f"ca file = {server.cert_path}", "check certificate hostname = yes"]
    else:
        lines.append("encryption = off")
    if packet_size:
        lines.append(f"packet size = {packet_size}")
    with _FREETDS_CONF_LOCK, tempfile.TemporaryDirectory(prefix="fastmssql-freetds-") as tmp:
        conf = pathlib.Path(tmp) / "freetds.conf"
        conf.write_text("\n\t".join(lines) + "\n")
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
    exposes_error_number = True

    def module(self) -> Any:
        import pytds

        return pytds

    def connect(self, server, encryption, *, database=None, user=None, password=None, packet_size=None, autocommit=True,
                query_timeout=QUERY_TIMEOUT_SECS):
        import pytds

        options: dict[str, Any] = dict(
            database=database or server.database,
            user=user or server.user,
            password=password or server.password,
            port=server.port,
            login_timeout=LOGIN_TIMEOUT_SECS,
            timeout=query_timeout,
            autocommit=autocommit,
        )
        if packet_size:
            options["blocksize"] = packet_size
        if encryption == "tls":
            # pytds verifies the certificate chain against cafile. Its host name check (pytds/tls.py
            # validate_host) calls X509.get_extension, which current pyOpenSSL no longer has, so it stays off.
            options.update(cafile=str(server.cert_path), validate_host=False)
        # Without cafile pytds announces ENCRYPT_NOT_SUP: no TLS at all.
        return pytds.connect(server.host, **options)

    def error_number(self, exc: BaseException) -> int | None:
        return getattr(exc, "number", None)

    def login_error_types(self) -> tuple[type[BaseException], ...]:
        # pytds raises the server's login error as OperationalError carrying .number (LoginError is a subclass).
        return (self.module().OperationalError,)


ADAPTERS: dict[str, ClientAdapter] = {
    adapter.name: adapter for adapter in (MssqlPythonAdapter(), PymssqlAdapter(), PytdsAdapter())
}
