"""Connection: configuration and its validation, pooling, failures, server errors, TLS, secrecy of the password."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import fastmssql
from fastmssql import Connection, EncryptionLevel, PoolConfig, SslConfig

from .support import (
    bounded,
    build_connection_string,
    parse_connection_string,
    password_of,
    uses_real_server,
)

FAILURE_DEADLINE_SECS = 2.0
SECRET = "Secret-Pw1!"
BASE = f"Server=127.0.0.1,1433;Database=master;User Id=sa;Password={SECRET};Encrypt=no"


# ---------------------------------------------------------------------------
# Failures must be quick and name their cause
# ---------------------------------------------------------------------------


def refused_port() -> int:
    """A local port with nothing listening (bound once by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def connect_and_query(connection: Connection) -> None:
    await bounded(connection.connect(), 10)
    await bounded(connection.query("SELECT 1 AS one"), 10)


async def test_refused_port_is_a_quick_operational_error() -> None:
    connection = Connection(f"Server=127.0.0.1,{refused_port()};Database=master;User Id=sa;Password={SECRET};Encrypt=no")
    started = time.monotonic()
    with pytest.raises(fastmssql.OperationalError) as info:
        await connect_and_query(connection)
    elapsed = time.monotonic() - started
    assert elapsed < FAILURE_DEADLINE_SECS, f"took {elapsed:.2f} s"
    assert "refused" in str(info.value).lower(), str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


async def test_unknown_host_is_a_quick_operational_error() -> None:
    host = "no-such-host.invalid"  # RFC 6761: never resolves
    connection = Connection(f"Server={host},1433;Database=master;User Id=sa;Password={SECRET};Encrypt=no")
    started = time.monotonic()
    with pytest.raises(fastmssql.OperationalError) as info:
        await connect_and_query(connection)
    elapsed = time.monotonic() - started
    assert elapsed < FAILURE_DEADLINE_SECS, f"took {elapsed:.2f} s"
    message = str(info.value)
    assert host in message, message
    assert any(word in message.lower() for word in ("lookup", "resolve", "not known")), message


async def test_wrong_password_is_a_quick_operational_error(test_url: str) -> None:
    wrong = "Wrong-Passw0rd!x"
    pairs = {k: v for k, v in parse_connection_string(test_url).items() if k not in ("password", "pwd")}
    pairs["password"] = wrong
    connection = Connection(build_connection_string(pairs))
    started = time.monotonic()
    with pytest.raises(fastmssql.OperationalError) as info:
        await connect_and_query(connection)
    elapsed = time.monotonic() - started
    assert elapsed < FAILURE_DEADLINE_SECS, f"took {elapsed:.2f} s"
    assert info.value.number == 18456, f"number={info.value.number!r}: {info.value}"
    assert "login failed" in str(info.value).lower(), str(info.value)
    for text in (str(info.value), repr(info.value), repr(connection), str(connection)):
        assert wrong not in text, text


# ---------------------------------------------------------------------------
# Lifecycle and pool
# ---------------------------------------------------------------------------


async def test_async_with_connects_and_closes(test_url: str) -> None:
    connection = Connection(test_url)
    assert not connection.is_connected()

    async def use() -> None:
        async with connection as entered:
            assert entered is connection
            assert connection.is_connected()
            result = await connection.query("SELECT 1 AS one")
            assert result.rows() == [{"one": 1}]

    await bounded(use())
    assert not connection.is_connected()


async def test_connect_close_and_pool_stats(test_url: str) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=3, min_idle=1))
    await bounded(connection.connect())
    try:
        assert connection.is_connected()
        stats = connection.pool_stats()
        assert stats["max_size"] == 3
        assert stats["min_idle"] == 1
        assert 1 <= stats["connections"] <= 3
        assert 0 <= stats["idle_connections"] <= stats["connections"]
    finally:
        await bounded(connection.close())
    assert not connection.is_connected()


async def test_200_concurrent_queries_on_a_pool_of_10(test_url: str) -> None:
    connection = Connection(test_url, pool_config=PoolConfig(max_size=10, min_idle=2))
    await bounded(connection.connect())
    try:
        results = await bounded(
            asyncio.gather(*(connection.query("SELECT @P1 AS i, @@SPID AS spid", [i]) for i in range(200))),
            120,
        )
        assert [r.rows()[0]["i"] for r in results] == list(range(200))
        sessions = {r.rows()[0]["spid"] for r in results}
        assert 2 <= len(sessions) <= 10, f"{len(sessions)} sessions served 200 queries on a pool of 10"
        stats = connection.pool_stats()
        assert stats["connections"] <= 10
    finally:
        await bounded(connection.close())


async def test_waiting_query_blocks_neither_the_event_loop_nor_other_threads(conn) -> None:
    """While the server waits 1 s, asyncio tasks and Python threads keep running (GIL released)."""
    loop_ticks = 0
    thread_ticks = 0
    stop = threading.Event()

    def count_in_thread() -> None:
        nonlocal thread_ticks
        while not stop.wait(0.01):
            thread_ticks += 1

    async def count_in_loop() -> None:
        nonlocal loop_ticks
        while True:
            await asyncio.sleep(0.01)
            loop_ticks += 1

    thread = threading.Thread(target=count_in_thread)
    thread.start()
    ticker = asyncio.ensure_future(count_in_loop())
    try:
        result = await bounded(conn.query("WAITFOR DELAY '00:00:01'; SELECT 1 AS done"))
    finally:
        ticker.cancel()
        stop.set()
        thread.join(5)
    assert result.rows() == [{"done": 1}]
    assert loop_ticks >= 20, f"the event loop ran only {loop_ticks} times during a 1 s query"
    assert thread_ticks >= 20, f"another thread ran only {thread_ticks} times during a 1 s query"


async def test_pool_runs_queries_in_parallel(test_url: str) -> None:
    """Ten 1 s waits on a pool of ten take about 1 s, not 10 s."""
    connection = Connection(test_url, pool_config=PoolConfig(max_size=10, min_idle=0))
    await bounded(connection.connect())
    try:
        started = time.monotonic()
        await bounded(asyncio.gather(*(connection.execute("WAITFOR DELAY '00:00:01'") for _ in range(10))))
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"10 concurrent 1 s waits took {elapsed:.1f} s on a pool of 10"
    finally:
        await bounded(connection.close())


async def test_a_call_that_leaves_a_transaction_open_fails_and_is_rolled_back(test_url: str) -> None:
    """Work a call leaves uncommitted is not reported as done: the call raises, naming transaction(),
    its work is rolled back, and the pooled session is handed on outside any transaction."""
    connection = Connection(test_url, pool_config=PoolConfig(max_size=1, min_idle=0))
    await bounded(connection.connect())
    try:
        await bounded(connection.execute("CREATE TABLE #left_open (id int)"))
        await bounded(connection.execute("CREATE TABLE left_open_check (id int)"))
        with pytest.raises(fastmssql.ProgrammingError, match=r"transaction\(\)"):
            await bounded(connection.execute("BEGIN TRANSACTION; INSERT INTO left_open_check VALUES (1)"))
        result = await bounded(connection.query("SELECT @@TRANCOUNT AS trancount"))
        assert result.rows() == [{"trancount": 0}]
        assert (await bounded(connection.query("SELECT COUNT(*) AS n FROM left_open_check"))).rows() == [{"n": 0}]
    finally:
        await bounded(connection.execute("DROP TABLE left_open_check"))
        await bounded(connection.close())


# ---------------------------------------------------------------------------
# PoolConfig and SslConfig
# ---------------------------------------------------------------------------


def test_pool_config_defaults_and_values() -> None:
    default = PoolConfig()
    assert (
        default.max_size,
        default.min_idle,
        default.max_lifetime_secs,
        default.idle_timeout_secs,
        default.connection_timeout_secs,
    ) == (10, 2, 1800, 600, 30)
    custom = PoolConfig(max_size=5, min_idle=0, max_lifetime_secs=60, idle_timeout_secs=30, connection_timeout_secs=3)
    assert (custom.max_size, custom.min_idle, custom.max_lifetime_secs) == (5, 0, 60)
    assert (custom.idle_timeout_secs, custom.connection_timeout_secs) == (30, 3)
    with pytest.raises(AttributeError):
        custom.max_size = 7  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_size": 0}, {"max_size": 2, "min_idle": 3}, {"connection_timeout_secs": 0}],
    ids=["max_size-0", "min_idle-above-max_size", "connection_timeout-0"],
)
def test_pool_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PoolConfig(**kwargs)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed PEM certificate made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate file")
    directory = tmp_path_factory.mktemp("cert")
    cert, key = directory / "ca.pem", directory / "ca.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=fastmssql-test-ca"],
        check=True, capture_output=True, timeout=60,
    )
    return cert


def test_ssl_config_defaults() -> None:
    config = SslConfig()
    assert config.encryption_level == EncryptionLevel.Required
    assert config.trust_server_certificate is False
    assert config.ca_certificate_path is None


def test_ssl_config_values(certificate: Path) -> None:
    config = SslConfig(encryption_level=EncryptionLevel.LoginOnly, ca_certificate_path=str(certificate))
    assert config.encryption_level == EncryptionLevel.LoginOnly
    assert config.encryption_level != EncryptionLevel.Off
    assert config.ca_certificate_path == str(certificate)
    assert SslConfig(encryption_level=EncryptionLevel.Off, trust_server_certificate=True).trust_server_certificate
    with pytest.raises(AttributeError):
        config.trust_server_certificate = True  # type: ignore[misc]


def test_ssl_config_missing_ca_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ValueError, match="no-such-ca.pem"):
        SslConfig(ca_certificate_path=str(missing))


def test_ssl_config_ca_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SslConfig(ca_certificate_path=str(tmp_path))


def test_ssl_config_trust_and_ca_are_exclusive(certificate: Path) -> None:
    with pytest.raises(ValueError):
        SslConfig(trust_server_certificate=True, ca_certificate_path=str(certificate))


# ---------------------------------------------------------------------------
# Connection string and keywords
# ---------------------------------------------------------------------------

CONFLICTS = [
    ("server", BASE, {"server": "other-host"}),
    ("port", BASE, {"port": 1434}),
    ("database", BASE, {"database": "other"}),
    ("database-initial-catalog", "Server=h;Initial Catalog=db", {"database": "other"}),
    ("username", BASE, {"username": "other"}),
    ("username-uid", "Server=h;UID=u", {"username": "other"}),
    ("password", BASE, {"password": "other"}),
    ("password-pwd", f"Server=h;PWD={SECRET}", {"password": "other"}),
    ("application-name", "Server=h;Application Name=app", {"application_name": "other"}),
    ("ssl-with-encrypt", BASE, {"ssl_config": SslConfig(trust_server_certificate=True)}),
    ("ssl-with-trust", "Server=h;TrustServerCertificate=yes", {"ssl_config": SslConfig()}),
]


@pytest.mark.parametrize(("string", "kwargs"), [c[1:] for c in CONFLICTS], ids=[c[0] for c in CONFLICTS])
def test_keyword_conflicting_with_connection_string(string: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as info:
        Connection(string, **kwargs)
    assert SECRET not in str(info.value)


def test_keywords_the_string_does_not_set_are_accepted() -> None:
    Connection("Server=127.0.0.1;Database=master", port=1433, username="sa", password=SECRET, application_name="app")
    Connection(server="127.0.0.1", port=1433, database="master", username="sa", password=SECRET,
               ssl_config=SslConfig(encryption_level=EncryptionLevel.Off), pool_config=PoolConfig(max_size=2))
    Connection("Server=tcp:127.0.0.1,1433;Database={my;db}}name};Encrypt=strict")


@pytest.mark.parametrize(
    "string",
    ["Server=127.0.0.1,notaport;Database=master", "Server=127.0.0.1;Encrypt=maybe", "Server=127.0.0.1;Password={unterminated"],
    ids=["bad-port", "bad-encrypt", "unterminated-brace"],
)
def test_malformed_connection_string(string: str) -> None:
    with pytest.raises(ValueError):
        Connection(string)


async def test_credentials_as_keywords_are_applied(test_url: str) -> None:
    pairs = parse_connection_string(test_url)
    user = next(pairs.pop(k) for k in ("user id", "uid", "user") if k in pairs)
    password = password_of(test_url)
    pairs = {k: v for k, v in pairs.items() if k not in ("password", "pwd")}
    connection = Connection(build_connection_string(pairs), username=user, password=password)
    await bounded(connection.connect())
    try:
        result = await bounded(connection.query("SELECT 1 AS one"))
        assert result.rows() == [{"one": 1}]
    finally:
        await bounded(connection.close())


def test_password_never_in_repr_or_str() -> None:
    for connection in (Connection(BASE), Connection(server="127.0.0.1", username="sa", password=SECRET)):
        assert SECRET not in repr(connection)
        assert SECRET not in str(connection)


# ---------------------------------------------------------------------------
# Server errors
# ---------------------------------------------------------------------------


def test_exception_hierarchy() -> None:
    assert issubclass(fastmssql.Error, Exception) and issubclass(fastmssql.Warning, Exception)
    assert not issubclass(fastmssql.Warning, fastmssql.Error)
    assert issubclass(fastmssql.InterfaceError, fastmssql.Error)
    assert issubclass(fastmssql.DatabaseError, fastmssql.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(fastmssql, name), fastmssql.DatabaseError), name


SERVER_ERRORS = [
    # (id, sql, class, number, severity, state (None: not checked), message text) as SQL Server reports them
    ("syntax", "SELECT 1 1", fastmssql.ProgrammingError, 102, 15, 1, "incorrect syntax near '1'"),
    ("conversion", "SELECT CAST('abc' AS int) AS v", fastmssql.DataError, 245, 16, 1, "conversion failed"),
    ("overflow", "SELECT CAST(300 AS tinyint) AS v", fastmssql.DataError, 220, 16, None, "arithmetic overflow"),
]


@pytest.mark.parametrize(
    ("sql", "error", "number", "severity", "state", "text"),
    [c[1:] for c in SERVER_ERRORS],
    ids=[c[0] for c in SERVER_ERRORS],
)
async def test_server_error_fields(
    query, sql: str, error: type, number: int, severity: int, state: int | None, text: str
) -> None:
    with pytest.raises(error) as info:
        await query(sql)
    exc = info.value
    assert exc.number == number
    assert exc.severity == severity
    if state is not None:
        assert exc.state == state
    assert isinstance(exc.state, int)
    assert exc.line == 1
    assert isinstance(exc.server, str) and exc.server
    assert exc.procedure in (None, "")
    assert isinstance(exc.message, str) and text in exc.message.lower()
    assert exc.message in str(exc)
    assert (await query("SELECT 2 AS after_error")).rows() == [{"after_error": 2}]


# ---------------------------------------------------------------------------
# TLS (local server only: its certificate is made at start-up)
# ---------------------------------------------------------------------------


async def query_once(connection: Connection) -> list:
    await bounded(connection.connect())
    try:
        return (await bounded(connection.query("SELECT N'ok' AS v"))).rows()
    finally:
        await bounded(connection.close())


async def test_tls_trusting_the_server_certificate(local_tls_server) -> None:
    assert await query_once(Connection(local_tls_server.connection_string(encrypt=True))) == [{"v": "ok"}]


async def test_tls_strict_is_tds_8(local_tls_server) -> None:
    """Encrypt=strict: TLS before any TDS byte (TDS 8.0), then the whole session inside it."""
    url = local_tls_server.connection_string(encrypt=True).replace("Encrypt=yes", "Encrypt=strict")
    assert await query_once(Connection(url)) == [{"v": "ok"}]
    ssl_config = SslConfig(encryption_level=EncryptionLevel.Strict, ca_certificate_path=str(local_tls_server.cert_path))
    assert await query_once(validating_connection(local_tls_server, ssl_config)) == [{"v": "ok"}]


def validating_connection(server, ssl_config: SslConfig) -> Connection:
    """A keyword-configured connection to the local server that validates its certificate per `ssl_config`."""
    return Connection(
        server=server.host,
        port=server.port,
        database=server.database,
        username=server.user,
        password=server.password,
        ssl_config=ssl_config,
    )


async def test_tls_with_the_server_certificate_as_ca(local_tls_server) -> None:
    ssl_config = SslConfig(ca_certificate_path=str(local_tls_server.cert_path))
    assert await query_once(validating_connection(local_tls_server, ssl_config)) == [{"v": "ok"}]


async def test_tls_rejects_an_untrusted_certificate(local_tls_server) -> None:
    with pytest.raises(fastmssql.OperationalError, match="(?i)certificate"):
        await connect_and_query(validating_connection(local_tls_server, SslConfig()))


async def test_braced_password_in_connection_string() -> None:
    if uses_real_server():
        pytest.skip("needs a user with a special password on the local test server")
    from local_server import LocalServer

    password = "a;b}c{d=e"
    with LocalServer(encrypt="off", users={"braces": password}) as server:
        string = f"Server={server.host},{server.port};Database=master;User Id=braces;Password={{a;b}}}}c{{d=e}};Encrypt=no"
        assert parse_connection_string(string)["password"] == password
        connection = Connection(string)
        assert password not in repr(connection)
        assert await query_once(connection) == [{"v": "ok"}]
