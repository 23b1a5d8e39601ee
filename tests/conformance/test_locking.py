"""Issue 10: locking as SQL Server does it at READ COMMITTED, seen by two sessions of each client.

Writers of different rows go on together; a writer of a row another open transaction changed
waits for its commit and then sees the committed value, or fails with 1222 after SET
LOCK_TIMEOUT; two transactions waiting on each other end with 1205 for exactly one of them; a
session that disconnects with a transaction open has it rolled back. The table is a permanent one
with a primary key (locks are between sessions, which #temp tables are not), so with
FASTMSSQL_TEST_URL set the same tests run against a real SQL Server (default READ COMMITTED,
without READ_COMMITTED_SNAPSHOT), where the deadlock monitor takes up to about 5 s to pick a victim.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .clients import ADAPTERS, CLIENT_NAMES, ClientAdapter

# A bound on waits that must end by themselves, so a failing test fails instead of hanging; longer
# than SQL Server's deadlock monitor takes.
SAFETY_LOCK_TIMEOUT_MS = 20_000
# How long a statement that is not blocked has surely finished in.
SETTLE_SECS = 0.3

LOCK_TIMEOUT_TEXT = "Lock request time out period exceeded."
DEADLOCK_TEXT = "was deadlocked on lock resources with another process and has been chosen as the deadlock victim"


def _execute(conn: Any, sql: str) -> int:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return cursor.rowcount
    finally:
        cursor.close()


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _error_of(adapter: ClientAdapter, exc: BaseException, number: int, text: str) -> None:
    """`exc` is SQL Server's error `number` (checked where the client exposes it) with `text`."""
    assert isinstance(exc, adapter.module().DatabaseError), repr(exc)
    if adapter.exposes_error_number:
        assert adapter.error_number(exc) == number, str(exc)
    assert text in str(exc), str(exc)


class Session:
    """One connection, and a statement run on a thread of its own when it is to wait."""

    def __init__(self, adapter: ClientAdapter, server: Any) -> None:
        self.adapter = adapter
        self.conn = adapter.connect(server, "off")
        self._thread: threading.Thread | None = None
        self.outcome: BaseException | None = None
        self.finished_at = 0.0

    def start(self, sql: str) -> None:
        def run() -> None:
            try:
                _execute(self.conn, sql)
            except BaseException as exc:  # noqa: BLE001 - the outcome is what the test checks
                self.outcome = exc
            self.finished_at = time.monotonic()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def waiting(self) -> bool:
        assert self._thread is not None
        return self._thread.is_alive()

    def join(self) -> BaseException | None:
        assert self._thread is not None
        self._thread.join(SAFETY_LOCK_TIMEOUT_MS / 1000 + 10)
        assert not self._thread.is_alive(), "the statement never ended"
        return self.outcome


@pytest.fixture(params=CLIENT_NAMES)
def sessions(request: pytest.FixtureRequest, server: Any) -> Iterator[tuple[ClientAdapter, Session, Session, str]]:
    """Two sessions of one client and a table `t (id int PRIMARY KEY, v nvarchar(20))` of
    (1, 'one'), (2, 'two') that they share."""
    adapter = ADAPTERS[request.param]
    table = f"lock_{request.param}_{uuid.uuid4().hex[:8]}"
    first, second = Session(adapter, server), Session(adapter, server)
    _execute(first.conn, f"CREATE TABLE {table} (id int PRIMARY KEY, v nvarchar(20)); INSERT INTO {table} VALUES (1, N'one'), (2, N'two')")
    try:
        yield adapter, first, second, table
    finally:
        for session in (first, second):
            try:
                session.conn.close()
            except Exception:  # noqa: BLE001 - a session a test closed already
                pass
        cleanup = adapter.connect(server, "off")
        try:
            _execute(cleanup, f"DROP TABLE {table}")
        finally:
            cleanup.close()


def test_writers_of_different_rows_commit_while_the_other_transaction_is_open(sessions) -> None:
    adapter, a, b, t = sessions
    _execute(a.conn, f"BEGIN TRAN; UPDATE {t} SET v = N'a' WHERE id = 1")
    # LOCK_TIMEOUT 0: a writer that had to wait would fail with 1222 at once
    _execute(b.conn, "SET LOCK_TIMEOUT 0")
    started = time.monotonic()
    _execute(b.conn, f"BEGIN TRAN; UPDATE {t} SET v = N'b' WHERE id = 2")
    _execute(b.conn, "COMMIT")
    elapsed = time.monotonic() - started
    assert _rows(a.conn, "SELECT @@TRANCOUNT") == [(1,)], "the first transaction is still open"
    _execute(a.conn, "COMMIT")
    assert elapsed < 0.1, f"the second writer took {elapsed:.3f} s"
    assert _rows(b.conn, f"SELECT id, v FROM {t} ORDER BY id") == [(1, "a"), (2, "b")]


def test_a_writer_of_the_same_row_waits_for_the_commit_and_sees_the_committed_value(sessions) -> None:
    adapter, a, b, t = sessions
    _execute(a.conn, f"BEGIN TRAN; UPDATE {t} SET v = N'a' WHERE id = 1")
    _execute(b.conn, f"SET LOCK_TIMEOUT {SAFETY_LOCK_TIMEOUT_MS}")
    b.start(f"UPDATE {t} SET v = v + N'+b' WHERE id = 1")
    time.sleep(SETTLE_SECS)
    assert b.waiting(), "the second writer waits for the first transaction"
    committed = time.monotonic()
    _execute(a.conn, "COMMIT")
    assert b.join() is None
    assert b.finished_at - committed < 1.0, "the waiter goes on right after the commit"
    assert _rows(b.conn, f"SELECT v FROM {t} WHERE id = 1") == [("a+b",)]


def test_a_lock_timeout_fails_the_statement_with_1222_and_keeps_the_transaction(sessions) -> None:
    adapter, a, b, t = sessions
    _execute(a.conn, f"BEGIN TRAN; UPDATE {t} SET v = N'a' WHERE id = 1")
    _execute(b.conn, f"SET LOCK_TIMEOUT 200; BEGIN TRAN; UPDATE {t} SET v = N'b' WHERE id = 2")
    started = time.monotonic()
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _execute(b.conn, f"UPDATE {t} SET v = N'b' WHERE id = 1")
    assert time.monotonic() - started >= 0.2
    _error_of(adapter, caught.value, 1222, LOCK_TIMEOUT_TEXT)
    assert _rows(b.conn, "SELECT @@TRANCOUNT, @@LOCK_TIMEOUT") == [(1, 200)]
    # a reader at READ COMMITTED waits for the uncommitted row as well
    with pytest.raises(adapter.module().DatabaseError) as caught:
        _rows(b.conn, f"SELECT v FROM {t} WHERE id = 1")
    _error_of(adapter, caught.value, 1222, LOCK_TIMEOUT_TEXT)
    _execute(b.conn, "COMMIT")
    _execute(a.conn, "ROLLBACK")
    assert _rows(a.conn, f"SELECT id, v FROM {t} ORDER BY id") == [(1, "one"), (2, "b")]


def test_two_transactions_waiting_on_each_other_end_with_1205_for_exactly_one(sessions) -> None:
    adapter, a, b, t = sessions
    for session, row, value in ((a, 1, "a"), (b, 2, "b")):
        _execute(session.conn, f"SET LOCK_TIMEOUT {SAFETY_LOCK_TIMEOUT_MS}; BEGIN TRAN; UPDATE {t} SET v = N'{value}' WHERE id = {row}")
    a.start(f"UPDATE {t} SET v = N'a' WHERE id = 2")
    time.sleep(SETTLE_SECS)
    assert a.waiting()
    b.start(f"UPDATE {t} SET v = N'b' WHERE id = 1")
    outcomes = {"a": a.join(), "b": b.join()}
    victims = [name for name, outcome in outcomes.items() if outcome is not None]
    assert len(victims) == 1, outcomes
    victim, survivor = (a, b) if victims == ["a"] else (b, a)
    _error_of(adapter, victim.outcome, 1205, DEADLOCK_TEXT)
    assert _rows(victim.conn, "SELECT @@TRANCOUNT") == [(0,)], "the victim's transaction was rolled back"
    _execute(survivor.conn, "COMMIT")
    won = "b" if victims == ["a"] else "a"
    assert _rows(victim.conn, f"SELECT v FROM {t} ORDER BY id") == [(won,), (won,)]


def test_a_disconnect_rolls_the_transaction_back(sessions) -> None:
    adapter, a, b, t = sessions
    _execute(a.conn, f"BEGIN TRAN; UPDATE {t} SET v = N'a' WHERE id = 1; DELETE FROM {t} WHERE id = 2")
    _execute(b.conn, f"SET LOCK_TIMEOUT {SAFETY_LOCK_TIMEOUT_MS}")
    b.start(f"UPDATE {t} SET v = v + N'+b' WHERE id = 1")
    time.sleep(SETTLE_SECS)
    assert b.waiting()
    a.conn.close()
    assert b.join() is None
    assert _rows(b.conn, f"SELECT id, v FROM {t} ORDER BY id") == [(1, "one+b"), (2, "two")]
