"""Issue 2, acceptance 2-3: independent SQL Server clients accept the local TDS server and decode it exactly.

Every test is parametrized by client (mssql-python = ODBC Driver 18, pymssql = FreeTDS, pytds) and by
encryption mode ("off": the unencrypted server, "tls": the `--encrypt required` server with full TLS,
trusting its test certificate). The expected values come from SQL Server's semantics (type_matrix.py)
and the clients' documented Python conventions (conventions.py); a client that reads a different value
points at a server bug. These tests always run against the local server: they test the server itself.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import pathlib
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from local_server import DEFAULT_PASSWORD, DEFAULT_USER, LocalServer

from .clients import ADAPTERS, CLIENT_NAMES, ENCRYPTION_MODES, ClientAdapter
from .conventions import QUERY_TIMEOUT_CONVENTION, expected_in_client, expected_parameter_in_client
from .type_matrix import NON_BMP, TypeCase, type_cases

TYPE_CASES = type_cases()
CLIENT_MODES = [(client, mode) for client in CLIENT_NAMES for mode in ENCRYPTION_MODES]
WRONG_PASSWORD = "definitely-not-the-password"
TESTS_DIR = pathlib.Path(__file__).resolve().parent.parent
LOGIN_PROBE_TIMEOUT_SECS = 60
SIGTERM_RACE_ATTEMPTS = 40
SIGTERM_RACE_PARALLELISM = 8
CONCURRENT_CONNECTIONS_PER_CLIENT = 4
CONCURRENCY_TIMEOUT_SECS = 120
SMALLEST_PACKET_SIZE = 512  # MS-TDS 2.2.6.4: the smallest packet size a client may ask for
SMALL_PACKET_CASES = ("nvarchar_max", "varbinary_max", "ntext", "sql_variant", "datetimeoffset_7", "decimal_38_0")


def _server_for(mode: str, request: pytest.FixtureRequest) -> LocalServer:
    return request.getfixturevalue("local_server" if mode == "off" else "tls_server")


@pytest.fixture(scope="module", params=CLIENT_MODES, ids=[f"{c}-{m}" for c, m in CLIENT_MODES])
def session(request: pytest.FixtureRequest):
    """(adapter, DB-API connection) of one client in one encryption mode, shared by the module's tests."""
    client, mode = request.param
    adapter = ADAPTERS[client]
    conn = adapter.connect(_server_for(mode, request), mode)
    try:
        yield adapter, conn
    finally:
        conn.close()


def _fetch(conn: Any, sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of the first result set."""
    cursor = conn.cursor()
    try:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return names, [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _fetch_rows(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return _fetch(conn, sql, params)[1]


def _error_text(adapter: ClientAdapter, exc: BaseException) -> str:
    """The server's message as the client reports it (pymssql keeps FreeTDS's UTF-8 bytes)."""
    if adapter.name == "pymssql":
        number_and_message = adapter.number_and_message(exc)
        assert number_and_message, f"pymssql error without (number, message): {exc!r}"
        return number_and_message[1].decode("utf-8")
    return str(exc)


def _same_value(got: Any, expected: Any) -> bool:
    if type(got) is not type(expected):
        return False
    if isinstance(expected, dt.datetime) and expected.tzinfo is not None:
        return got == expected and got.utcoffset() == expected.utcoffset()
    return got == expected


def _describe(value: Any) -> str:
    if isinstance(value, (str, bytes)) and len(value) > 80:
        return f"{type(value).__name__} of length {len(value)} starting {value[:40]!r}"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return f"{value!r} (utcoffset {value.utcoffset()})"
    return f"{type(value).__name__} {value!r}"


def _first_difference(got: Any, expected: Any) -> str:
    if isinstance(got, type(expected)) and isinstance(expected, (str, bytes)):
        index = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        return f"; first difference at index {index}: got {got[index:index + 8]!r}, expected {expected[index:index + 8]!r}"
    return ""


def _assert_row(client: str, sql_label: str, rows: list[tuple[Any, ...]], expected_exact: tuple[Any, ...]) -> None:
    expected = tuple(expected_in_client(client, value) for value in expected_exact)
    assert len(rows) == 1, f"{sql_label}: expected one row, got {len(rows)}"
    (row,) = rows
    assert len(row) == len(expected), f"{sql_label}: expected {len(expected)} columns, got {len(row)}"
    mismatches = [
        f"column {i}: got {_describe(got)}, expected {_describe(want)}{_first_difference(got, want)}"
        for i, (got, want) in enumerate(zip(row, expected))
        if not _same_value(got, want)
    ]
    assert not mismatches, f"{client} reads {sql_label} wrongly:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("case", TYPE_CASES, ids=[case.id for case in TYPE_CASES])
def test_type_matrix(session: tuple[ClientAdapter, Any], case: TypeCase) -> None:
    adapter, conn = session
    names, rows = _fetch(conn, case.select_sql())
    assert names == case.column_names(), f"{adapter.name}: column names {names}"
    _assert_row(adapter.name, case.sql_type, rows, case.expected())


_PRECISION_SCALE_TYPES = ("decimal", "numeric", "money", "smallmoney", "time", "datetime2", "datetimeoffset")


def _declared(sql_type: str) -> tuple[str, list[int]]:
    """'decimal(38,10)' -> ('decimal', [38, 10]); only for the types with precision/scale metadata."""
    name, _, args = sql_type.partition("(")
    return name, [int(n) for n in args.rstrip(")").split(",")] if args else []


def _odbc_column_size_and_digits(sql_type: str) -> tuple[int, int] | None:
    """SQLDescribeCol's column size and decimal digits for a declared type (ODBC appendix D, SQL Server's
    driver docs for time/datetime2/datetimeoffset), or None for types this check leaves out."""
    if not sql_type.startswith(_PRECISION_SCALE_TYPES):
        return None
    name, numbers = _declared(sql_type)
    if name in ("decimal", "numeric"):
        return numbers[0], numbers[1]
    if name in ("money", "smallmoney"):
        return (19 if name == "money" else 10), 4
    fixed_width = {"time": 8, "datetime2": 19, "datetimeoffset": 26}
    if name in fixed_width:
        scale = numbers[0]
        return fixed_width[name] + (scale + 1 if scale else 0), scale
    return None


METADATA_CASES = [case for case in TYPE_CASES if _odbc_column_size_and_digits(case.sql_type)]


@pytest.mark.parametrize("case", METADATA_CASES, ids=[case.id for case in METADATA_CASES])
def test_column_metadata(local_server: LocalServer, case: TypeCase) -> None:
    """Precision and scale in COLMETADATA, as the two clients that report them read them.

    mssql-python: description = (name, type, None, column size, column size, decimal digits, nullable).
    pytds: description[4:6] = (precision, scale) for decimal/numeric, (scale, None) for time types (tds_types.py).
    """
    size, digits = _odbc_column_size_and_digits(case.sql_type)
    columns = len(case.column_names())
    odbc_description = _description(ADAPTERS["mssql_python"], local_server, case.select_sql())
    assert [tuple(column[3:6]) for column in odbc_description] == [(size, size, digits)] * columns, odbc_description
    pytds_description = _description(ADAPTERS["pytds"], local_server, case.select_sql())
    expected_pytds = [_pytds_precision_scale(case.sql_type)] * columns
    assert [tuple(column[4:6]) for column in pytds_description] == expected_pytds, pytds_description


def _description(adapter: ClientAdapter, server: LocalServer, sql: str) -> list[tuple[Any, ...]]:
    conn = adapter.connect(server, "off")
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        cursor.fetchall()
        return [tuple(column) for column in cursor.description]
    finally:
        conn.close()


def _pytds_precision_scale(sql_type: str) -> tuple[int | None, int | None]:
    name, numbers = _declared(sql_type)
    if name in ("decimal", "numeric"):
        return numbers[0], numbers[1]
    if name in ("money", "smallmoney"):
        return None, None  # MONEY/MONEYN TYPE_INFO carries no precision or scale
    return numbers[0], None  # time/datetime2/datetimeoffset: the scale byte of TYPE_INFO


def test_parameterized_query(session: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = session
    long_text = "ü😀" * 50_000  # 150,000 UTF-16 code units: an nvarchar(max) parameter sent as PLP chunks
    values = (
        42,
        -9_000_000_000,
        "héllo " + NON_BMP,
        long_text,
        None,
        Decimal("-12345.678"),
        2.5,
        b"\x00\x01\xfe\xff",
        uuid.UUID("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
    )
    sent = tuple(adapter.binary(value) if isinstance(value, bytes) else value for value in values)
    markers = ", ".join(f"{adapter.positional_marker} AS p{i}" for i in range(len(values)))
    rows = _fetch_rows(conn, f"SELECT {markers}", sent)
    expected = tuple(expected_parameter_in_client(adapter.name, value) for value in values)
    _assert_row(adapter.name, "SELECT <positional parameters>", rows, expected)


def test_repeated_parameterized_execution(session: tuple[ClientAdapter, Any]) -> None:
    """The same parameterized statement again and again (ODBC prepares it: sp_prepexec, then sp_execute)."""
    adapter, conn = session
    sql = f"SELECT {adapter.positional_marker} AS n, {adapter.positional_marker} AS s"
    for i in range(4):
        assert _fetch_rows(conn, sql, (i, "x" * i)) == [(i, "x" * i)]
    cursor = conn.cursor()
    try:
        cursor.executemany(sql, [(i, str(i)) for i in range(3)])
    finally:
        cursor.close()
    assert _fetch_rows(conn, sql, (9, "nine")) == [(9, "nine")]


@pytest.mark.parametrize("client", CLIENT_NAMES)
def test_named_parameters(request: pytest.FixtureRequest, client: str) -> None:
    """pyformat named parameters (`%(name)s`): every client's module declares paramstyle 'pyformat'."""
    adapter = ADAPTERS[client]
    assert adapter.module().paramstyle == "pyformat"
    conn = adapter.connect(_server_for("off", request), "off")
    try:
        rows = _fetch_rows(conn, "SELECT %(num)s AS num, %(text)s AS text, %(num)s AS again", {"num": 7, "text": NON_BMP})
    finally:
        conn.close()
    _assert_row(client, "SELECT <named parameters>", rows, (7, NON_BMP, 7))


def test_several_result_sets(session: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = session
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT CAST(1 AS int) AS a; SELECT N'two' AS b, CAST(NULL AS bigint) AS c; SELECT CAST(3.5 AS float) AS d")
        sets = [[tuple(row) for row in cursor.fetchall()]]
        while cursor.nextset():
            sets.append([tuple(row) for row in cursor.fetchall()])
    finally:
        cursor.close()
    assert sets == [[(1,)], [("two", None)], [(3.5,)]], f"{adapter.name}: {sets!r}"


def test_column_names_and_null_bitmaps(session: tuple[ClientAdapter, Any]) -> None:
    """Names counted in UTF-16 code units (non-BMP, 128 characters) and a 20-column NBCROW null bitmap."""
    adapter, conn = session
    for name in ("naïve " + NON_BMP, "x" * 128):
        names, rows = _fetch(conn, f"SELECT CAST(1 AS int) AS [{name}]")
        assert (names, rows) == ([name], [(1,)]), f"{adapter.name}: {names!r} {rows!r}"
    columns, expected = [], []
    for i in range(20):
        sql_type, value = ("int", i) if i % 2 else ("nvarchar(5)", str(i))
        null = i % 3 != 0
        columns.append(f"CAST({'NULL' if null else i} AS {sql_type}) AS c{i}")
        expected.append(None if null else value)
    _assert_row(adapter.name, "20 columns with NULLs", _fetch_rows(conn, "SELECT " + ", ".join(columns)), tuple(expected))


def test_error_message_with_non_bmp_text(session: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = session
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _fetch_rows(conn, f"SELECT CAST(N'{NON_BMP}' AS int)")
    expected = f"Conversion failed when converting the nvarchar value '{NON_BMP}' to data type int."
    text = _error_text(adapter, caught.value)
    assert expected in text, text
    assert _fetch_rows(conn, "SELECT CAST(7 AS int)") == [(7,)]


def test_version(session: tuple[ClientAdapter, Any]) -> None:
    adapter, conn = session
    rows = _fetch_rows(conn, "SELECT @@VERSION, @@SPID")
    assert len(rows) == 1 and isinstance(rows[0][0], str), rows
    version, spid = rows[0]
    assert version.startswith("Microsoft SQL Server 2022"), f"{adapter.name}: {version!r}"
    assert type(spid) is int and spid > 0, f"{adapter.name}: @@SPID {spid!r}"


@pytest.mark.parametrize("client, mode", CLIENT_MODES, ids=[f"{c}-{m}" for c, m in CLIENT_MODES])
def test_wrong_password_is_rejected_with_18456(request: pytest.FixtureRequest, client: str, mode: str) -> None:
    server = _server_for(mode, request)
    probe = subprocess.run(
        [sys.executable, "-m", "conformance.login_probe", client, mode, server.host, str(server.port),
         server.user, str(server.cert_path), WRONG_PASSWORD],
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=LOGIN_PROBE_TIMEOUT_SECS,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    assert report["type"] is not None, f"{client} logged in with a wrong password"
    message = report["message"]
    assert f"Login failed for user '{server.user}'" in message, message
    if client == "mssql_python":
        # No native error number in mssql-python exceptions (see clients.MssqlPythonAdapter.error_number):
        # SQL Server's 18456 reaches it as ODBC SQLSTATE 28000.
        assert report["driver_error"] == "Invalid authorization specification", report
    else:
        assert report["number"] == 18456, report


@pytest.mark.parametrize("client, mode", CLIENT_MODES, ids=[f"{c}-{m}" for c, m in CLIENT_MODES])
def test_smallest_packet_size(request: pytest.FixtureRequest, client: str, mode: str) -> None:
    """Responses split at 512-byte packets (PLP chunks and rows spanning packets) still decode exactly."""
    adapter = ADAPTERS[client]
    conn = adapter.connect(_server_for(mode, request), mode, packet_size=SMALLEST_PACKET_SIZE)
    try:
        for case in (case for case in TYPE_CASES if case.id in SMALL_PACKET_CASES):
            _assert_row(client, f"{case.sql_type} at packet size 512", _fetch_rows(conn, case.select_sql()), case.expected())
    finally:
        conn.close()


@pytest.mark.parametrize("client", CLIENT_NAMES)
def test_transactions(request: pytest.FixtureRequest, client: str) -> None:
    """commit() and rollback() with autocommit off: TransMgrReq (ODBC, pytds) or BEGIN/COMMIT batches (pymssql)."""
    adapter = ADAPTERS[client]
    conn = adapter.connect(_server_for("off", request), "off", autocommit=False)
    try:
        assert _fetch_rows(conn, "SELECT CAST(1 AS int)") == [(1,)]
        conn.commit()
        assert _fetch_rows(conn, "SELECT CAST(2 AS int)") == [(2,)]
        conn.rollback()
        assert _fetch_rows(conn, "SELECT CAST(3 AS int)") == [(3,)]
        conn.commit()
    finally:
        conn.close()


# (SQL, SQL Server's error number, SQL Server's message text or None for the local server's own wording)
SERVER_ERRORS = (
    ("SELECT CAST('abc' AS int)", 245, "Conversion failed when converting the varchar value 'abc' to data type int."),
    ("SELECT CAST(300 AS tinyint)", 220, "Arithmetic overflow error for data type tinyint, value = 300."),
    ("SELECT name FROM sys.certificates", None, "not supported by the local test server"),
)


@pytest.mark.parametrize("sql, number, message", SERVER_ERRORS, ids=["245", "220", "unsupported"])
def test_server_error_keeps_the_connection(session: tuple[ClientAdapter, Any], sql: str, number: int | None, message: str) -> None:
    adapter, conn = session
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _fetch_rows(conn, sql)
    assert message in _error_text(adapter, caught.value), str(caught.value)
    if number is not None and adapter.exposes_error_number:
        assert adapter.error_number(caught.value) == number, str(caught.value)
    assert _fetch_rows(conn, "SELECT CAST(7 AS int)") == [(7,)], "the connection is unusable after a server error"


@pytest.mark.parametrize("client", CLIENT_NAMES)
def test_query_timeout(request: pytest.FixtureRequest, client: str) -> None:
    """A client-side query timeout during WAITFOR: the client cancels (Attention) as its convention says."""
    adapter = ADAPTERS[client]
    conn = adapter.connect(_server_for("off", request), "off", query_timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            _fetch_rows(conn, "WAITFOR DELAY '00:00:05'; SELECT CAST(1 AS int)")
        assert time.monotonic() - started < 4, f"{client} waited for the whole WAITFOR: {caught.value!r}"
        if QUERY_TIMEOUT_CONVENTION[client] == "attention, connection stays usable":
            assert _fetch_rows(conn, "SELECT CAST(7 AS int)") == [(7,)]
        else:
            assert QUERY_TIMEOUT_CONVENTION[client] == "connection closed", QUERY_TIMEOUT_CONVENTION[client]
            with pytest.raises(adapter.module().InterfaceError):
                _fetch_rows(conn, "SELECT CAST(7 AS int)")
    finally:
        conn.close()


@pytest.mark.parametrize("client", CLIENT_NAMES)
def test_tls_client_with_every_server_mode(local_server: LocalServer, tls_server: LocalServer, client: str) -> None:
    """A client that demands encryption gets full TLS from `--encrypt off` (which has a certificate, as SQL Server
    with a certificate does), `on` and `required` (MS-TDS 2.2.6.5)."""
    adapter = ADAPTERS[client]
    with LocalServer(encrypt="on") as on_server:
        for server in (local_server, on_server, tls_server):
            conn = adapter.connect(server, "tls")
            try:
                assert _fetch_rows(conn, "SELECT CAST(N'tls' AS nvarchar(3))") == [("tls",)], server
            finally:
                conn.close()


def test_concurrent_clients(local_server: LocalServer, tls_server: LocalServer) -> None:
    """Several connections of every client in both modes at once, each reading the small type rows."""
    small_cases = [case for case in TYPE_CASES if len(case.select_sql()) < 2000]

    def read_all(client: str, mode: str) -> list[str]:
        adapter = ADAPTERS[client]
        conn = adapter.connect(local_server if mode == "off" else tls_server, mode)
        try:
            failures = []
            for case in small_cases:
                expected = tuple(expected_in_client(client, value) for value in case.expected())
                rows = _fetch_rows(conn, case.select_sql())
                if len(rows) != 1 or not all(_same_value(g, e) for g, e in zip(rows[0], expected)):
                    failures.append(f"{client}-{mode} {case.sql_type}: {rows!r}")
            return failures
        finally:
            conn.close()

    work = [(client, mode) for client, mode in CLIENT_MODES for _ in range(CONCURRENT_CONNECTIONS_PER_CLIENT)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(work)) as pool:
        futures = [pool.submit(read_all, client, mode) for client, mode in work]
        failures = [failure for future in futures for failure in future.result(timeout=CONCURRENCY_TIMEOUT_SECS)]
    assert not failures, "\n".join(failures)


def test_login_to_a_missing_database_fails(local_server: LocalServer) -> None:
    """SQL Server answers a LOGIN7 naming an unknown database with ERROR 4060, then 18456, and no LOGINACK.
    pytds joins the text of every ERROR of the response into its exception (tds_session.py raise_db_exception)."""
    adapter = ADAPTERS["pytds"]
    with pytest.raises(adapter.login_error_types()) as caught:
        adapter.connect(local_server, "off", database="no_such_database").close()
    text = caught.value.args[0]  # pytds errors carry (message, inner exception): str() would repr the pair
    assert 'Cannot open database "no_such_database" requested by the login. The login failed.' in text, text
    assert f"Login failed for user '{local_server.user}'." in text, text


def test_configured_users() -> None:
    """--user NAME:PASSWORD replaces the default sa login; each configured user logs in with its own password."""
    users = {"alice": "Alice;Pass{1}", "bob": "B0b!pass"}
    with LocalServer(encrypt="off", users=users) as server:
        for name, password in users.items():
            conn = ADAPTERS["pytds"].connect(server, "off", user=name, password=password)
            try:
                assert _fetch_rows(conn, "SELECT CAST(1 AS int)") == [(1,)]
            finally:
                conn.close()
        with pytest.raises(ADAPTERS["pytds"].login_error_types()) as caught:
            ADAPTERS["pytds"].connect(server, "off", user=DEFAULT_USER, password=DEFAULT_PASSWORD).close()
        assert ADAPTERS["pytds"].error_number(caught.value) == 18456, str(caught.value)


def test_server_stops_cleanly_on_sigterm() -> None:
    """The process contract: a port on the first stdout line, a working login, exit code 0 on SIGTERM."""
    with LocalServer(encrypt="off") as server:
        conn = ADAPTERS["pytds"].connect(server, "off")
        try:
            assert _fetch_rows(conn, "SELECT CAST(1 AS int)") == [(1,)]
        finally:
            conn.close()
    assert server.returncode == 0, f"tds-server exited with {server.returncode} on SIGTERM"


def test_sigterm_right_after_the_port_line_exits_cleanly() -> None:
    """Once the port is printed, SIGTERM must already stop the server cleanly, not kill it (exit code -15).
    A window between the port line and the signal handler shows only now and then, more often under load:
    hence many start/stop cycles, several at a time (each server started and stopped by its own thread)."""

    def start_and_stop(_: int) -> int | None:
        with LocalServer(encrypt="off") as server:
            pass
        return server.returncode

    with concurrent.futures.ThreadPoolExecutor(max_workers=SIGTERM_RACE_PARALLELISM) as pool:
        exit_codes = list(pool.map(start_and_stop, range(SIGTERM_RACE_ATTEMPTS), timeout=CONCURRENCY_TIMEOUT_SECS))
    assert exit_codes == [0] * SIGTERM_RACE_ATTEMPTS, f"exit codes on SIGTERM right after start: {exit_codes}"
