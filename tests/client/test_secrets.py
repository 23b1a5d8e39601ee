"""The password never leaks: a unique password is looked for in every repr, str, exception (its args,
its chained causes, its formatted traceback), warning, log record and byte written to stdout/stderr
that connecting, failing to connect (including malformed connection strings) and querying produce.

The password is assembled at run time from random parts and never written literally in this file,
so a traceback's source lines cannot carry it either.
"""

from __future__ import annotations

import logging
import traceback
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from connection_strings import build_connection_string, parse_connection_string
from local_server import LocalServer

import fastmssql
from fastmssql import Connection, PoolConfig

from .support import bounded, uses_real_server


@dataclass
class Secret:
    """A password made of two unique halves; a leak of either half counts."""

    head: str = field(default_factory=lambda: "Hd" + uuid.uuid4().hex[:12])
    tail: str = field(default_factory=lambda: "Tl" + uuid.uuid4().hex[:12])

    @property
    def password(self) -> str:
        return f"{self.head}!{self.tail}"

    def leaks_in(self, text: str) -> bool:
        return self.head in text or self.tail in text


class Evidence:
    """Everything a test's actions made visible: texts, exceptions, warnings, log records."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def exception(self, error: BaseException) -> None:
        self.texts += [str(error), repr(error), repr(error.args), *traceback.format_exception(error)]
        for name in ("message", "server", "procedure"):
            self.texts.append(repr(getattr(error, name, None)))

    def objects(self, *values: Any) -> None:
        self.texts += [text for value in values for text in (str(value), repr(value))]

    def assert_clean(self, secret: Secret) -> None:
        leaked = [text for text in self.texts if secret.leaks_in(text)]
        assert not leaked, f"the password leaked in: {leaked[:3]}"
        assert self.texts, "nothing was collected: the test checked nothing"


@pytest.fixture
def evidence(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Evidence]:
    """Collects, besides what the test adds, every log record (all loggers, DEBUG and up), every
    warning, and what reached file descriptors 1 and 2."""
    collected = Evidence()
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield collected
    collected.texts += [str(w.message) for w in caught] + [w.filename for w in caught]
    collected.texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    out, err = capfd.readouterr()
    collected.texts += [out, err]


async def capture(evidence: Evidence, call: Callable[[], Awaitable[Any]]) -> BaseException | None:
    """Runs `call()` (which may raise at once, e.g. for a refused parameter) and keeps its error."""
    try:
        await bounded(call())
    except Exception as error:  # noqa: BLE001 - every failure is evidence
        evidence.exception(error)
        return error
    return None


def malformed_strings(secret: Secret, server: str) -> dict[str, str]:
    password = secret.password
    return {
        "unbraced-semicolon": f"Server={server};Password={secret.head};{secret.tail};Database=master",
        "unbraced-semicolon-and-equals": f"Server={server};Password={secret.head};{secret.tail}=x",
        "unterminated-brace": f"Server={server};Password={{{password}",
        "unterminated-quote": f"Server={server};Password='{password}",
        "text-after-braces": f"Server={server};Password={{{secret.head}}}{secret.tail}",
        "unknown-keyword-after": f"Server={server};Password={password};Sever=x",
        "bad-encrypt-after": f"Server={server};Password={password};Encrypt=maybe",
        "bad-port": f"Server={server},notaport;Password={password}",
    }


def test_malformed_connection_strings_never_echo_the_password(evidence: Evidence) -> None:
    secret = Secret()
    for name, string in malformed_strings(secret, "127.0.0.1,1").items():
        for open_with in (Connection, fastmssql.connect):
            with pytest.raises(ValueError) as raised:
                open_with(string)
            evidence.exception(raised.value)
    evidence.assert_clean(secret)


async def test_failing_to_connect_never_shows_the_password(evidence: Evidence, test_url: str) -> None:
    secret = Secret()
    refused = Connection(f"Server=127.0.0.1,1;Database=master;User Id=sa;Password={{{secret.password}}};Connect Timeout=2")
    evidence.objects(refused)
    assert await capture(evidence, lambda: refused.connect()) is not None
    keyword = Connection(server="127.0.0.1", port=1, username="sa", password=secret.password)
    evidence.objects(keyword, keyword.pool_stats())
    assert await capture(evidence, lambda: keyword.query("SELECT 1")) is not None
    # The real server refuses the login (18456).
    pairs = {k: v for k, v in parse_connection_string(test_url).items() if k not in ("password", "pwd")}
    wrong = Connection(build_connection_string({**pairs, "password": secret.password}))
    evidence.objects(wrong)
    error = await capture(evidence, lambda: wrong.connect())
    assert isinstance(error, fastmssql.OperationalError) and error.number == 18456, repr(error)
    try:
        fastmssql.connect(build_connection_string({**pairs, "password": secret.password}))
    except fastmssql.Error as failure:
        evidence.exception(failure)
    else:
        pytest.fail("the DB-API connect logged in with a wrong password")
    evidence.assert_clean(secret)


@pytest.mark.skipif(uses_real_server(), reason="needs a user of our own on the local test server")
async def test_connecting_and_querying_never_show_the_password(evidence: Evidence) -> None:
    secret = Secret()
    with LocalServer(encrypt="off", users={"secretive": secret.password}) as server:
        url = server.connection_string()
        assert secret.password in url  # the string the tests hand over does carry it
        connection = Connection(url, pool_config=PoolConfig(max_size=2, min_idle=1))
        try:
            await bounded(connection.connect())
            result = await bounded(connection.query("PRINT 'hello'; SELECT @P1 AS v", [1]))
            evidence.objects(connection, result, result.rows(), connection.pool_stats(), result.messages)
            await capture(evidence, lambda: connection.query("SELECT * FROM no_such_table"))
            await capture(evidence, lambda: connection.query("WAITFOR DELAY '00:00:02'", timeout=0.2))
            await capture(evidence, lambda: connection.query("SELECT @P1 AS v", [float("nan")]))
            async with connection.transaction() as tx:
                evidence.objects(tx)
                await capture(evidence, lambda: tx.execute("RAISERROR('boom', 16, 1)"))
            with fastmssql.connect(url) as dbapi:
                evidence.objects(dbapi, dbapi.cursor())
                try:
                    dbapi.cursor().execute("SELECT * FROM no_such_table")
                except fastmssql.Error as error:
                    evidence.exception(error)
        finally:
            await bounded(connection.close())
        evidence.objects(connection)
    evidence.assert_clean(secret)
