"""Transactions, savepoints and pinned sessions over the native ``Session``.

Only context-manager glue lives here: what runs on the connection (begin,
commit, rollback, cancelling an interrupted request, returning the
connection to the pool) is the native session's work.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from fastmssql._core import ProgrammingError, Session
from fastmssql._stream import StreamCall

_SAVEPOINT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}\Z")
_savepoint_numbers = itertools.count(1)


class Savepoint:
    """``async with tx.savepoint():`` — on an exception inside the block the
    transaction goes back to where the block began and the exception
    propagates; the transaction itself stays open."""

    def __init__(self, session: Session, name: str | None) -> None:
        if name is None:
            name = f"fastmssql_sp{next(_savepoint_numbers)}"
        elif not _SAVEPOINT_NAME.match(name):
            raise ProgrammingError(f"savepoint name {name!r} must be an identifier of at most 32 characters")
        self._session = session
        self.name = name

    async def __aenter__(self) -> Savepoint:
        if not self._session.in_transaction:
            raise ProgrammingError("a savepoint needs an open transaction")
        await self._session.execute(f"SAVE TRANSACTION {self.name}")
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self._session.in_transaction:
            await self._session.execute(f"ROLLBACK TRANSACTION {self.name}")


class Acquire:
    """``async with conn.acquire() as session:`` — one pooled connection for
    the block (temp tables and SET options last between its calls),
    returned to the pool at the end."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._session: Session | None = None

    async def __aenter__(self) -> Session:
        self._session = await self._connection.session()
        return self._session

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._session is not None:
            await self._session.release()


class Transaction:
    """A transaction on one pooled connection.

    ``async with conn.transaction() as tx:`` begins it, commits on normal
    exit and rolls back on an exception or task cancellation; the
    connection then goes back to the pool. fastmssql 0.7.7's form,
    ``Transaction(connection_string, ...)`` with ``begin()``, ``commit()``,
    ``rollback()`` and ``close()``, opens a connection of its own.
    """

    def __init__(
        self,
        connection_string: str | None = None,
        ssl_config: Any = None,
        azure_credential: Any = None,
        server: str | None = None,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
        application_intent: Any = None,
        port: int | None = None,
        instance_name: str | None = None,
        application_name: str | None = None,
        *,
        connection: Any = None,
        isolation_level: str | None = None,
    ) -> None:
        from fastmssql import Connection, PoolConfig

        self._owns_connection = connection is None
        if connection is None:
            connection = Connection(
                connection_string,
                ssl_config=ssl_config,
                azure_credential=azure_credential,
                server=server,
                database=database,
                username=username,
                password=password,
                application_intent=application_intent,
                port=port,
                instance_name=instance_name,
                application_name=application_name,
                pool_config=PoolConfig(max_size=1, min_idle=0),
            )
        self._connection = connection
        self._isolation_level = isolation_level
        self._session: Session | None = None
        self._ended = False

    async def _current(self) -> Session:
        if self._ended:
            raise ProgrammingError("this transaction has ended; start a new one with conn.transaction()")
        if self._session is None:
            self._session = await self._connection.session()
        return self._session

    async def begin(self) -> None:
        """Begins the transaction (at its isolation level, if one was given)."""
        session = await self._current()
        await session.begin(self._isolation_level)

    async def commit(self) -> None:
        await (await self._current()).commit()

    async def rollback(self) -> None:
        await (await self._current()).rollback()

    async def close(self) -> None:
        """Rolls back anything uncommitted and gives the connection back."""
        self._ended = True
        session, self._session = self._session, None
        try:
            if session is not None:
                await session.release()
        finally:
            if self._owns_connection:
                await self._connection.close()

    def is_connected(self) -> bool:
        return not self._ended and self._connection.is_connected()

    @property
    def in_transaction(self) -> bool:
        return self._session is not None and self._session.in_transaction

    def savepoint(self, name: str | None = None) -> Savepoint:
        """``async with tx.savepoint():`` see :class:`Savepoint`."""
        if self._session is None or self._ended:
            raise ProgrammingError("a savepoint needs an open transaction")
        return Savepoint(self._session, name)

    async def __aenter__(self) -> Transaction:
        await self.begin()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                await self.commit()
        finally:
            # Rolls back whatever was not committed (an exception, a
            # cancellation, a failed commit) and returns the connection.
            await self.close()

    async def query(self, sql: str, params: Any = None, **options: Any) -> Any:
        return await (await self._current()).query(sql, params, **options)

    async def execute(self, sql: str, params: Any = None, **options: Any) -> int:
        return await (await self._current()).execute(sql, params, **options)

    async def executemany(self, sql: str, seq_of_params: Any, **options: Any) -> int:
        return await (await self._current()).executemany(sql, seq_of_params, **options)

    async def execute_batch(self, commands: Any, **options: Any) -> list[int]:
        return await (await self._current()).execute_batch(commands, **options)

    async def query_batch(self, queries: Any, **options: Any) -> list[Any]:
        return await (await self._current()).query_batch(queries, **options)

    async def simple_query(self, sql: str) -> Any:
        return await (await self._current()).query(sql)

    async def call_proc(self, name: str, params: Any = None, **options: Any) -> Any:
        return await (await self._current()).call_proc(name, params, **options)

    def stream(self, sql: str, params: Any = None, **options: Any) -> StreamCall:
        async def open_stream() -> Any:
            return await (await self._current()).stream(sql, params, **options)

        return StreamCall(open_stream())

    async def bulk_insert(self, table: str, data: Any, rows: Any = None, **options: Any) -> int:
        from fastmssql._compat import arrow_from_rows

        session = await self._current()
        return await session.bulk_insert(table, data if rows is None else arrow_from_rows(data, rows), **options)

    def __repr__(self) -> str:
        state = "ended" if self._ended else ("open" if self.in_transaction else "not begun")
        return f"Transaction({state})"
