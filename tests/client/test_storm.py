"""A cancellation storm: random task cancellations and timeouts under 64 concurrent tasks over queries,
streams and transactions, each asking for its own marker. Not one wrong result, not one unexpected
error, no connection leaked or left out of step, and the pool back to idle at the end.

The suite runs 1,000 operations; the full storm of 10,000:

    FASTMSSQL_STORM_OPERATIONS=10000 python -m pytest tests/client/test_storm.py -s

(`-s` shows the figures line: operations, cancellations, timeouts, markers checked.)
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

import fastmssql
from fastmssql import Connection, PoolConfig, QueryTimeoutError

from .support import bounded

OPERATIONS = int(os.environ.get("FASTMSSQL_STORM_OPERATIONS", "1000"))
CONCURRENCY = 64
POOL_SIZE = 16
NUMBERS = 300
DELAYS = ["00:00:00", "00:00:00.005", "00:00:00.020"]


@dataclass
class Tally:
    wrong: list[str] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    cancelled: int = 0
    timed_out: int = 0
    completed: int = 0
    markers_checked: int = 0
    committed: set[int] = field(default_factory=set)
    attempted: set[int] = field(default_factory=set)


@pytest.fixture
async def tables(conn: Connection) -> AsyncIterator[tuple[str, str]]:
    """(numbers, ledger): a table of NUMBERS rows to stream, and one the transactions write."""
    numbers, ledger = (f"fm_storm_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("numbers", "ledger"))
    await bounded(conn.execute(f"CREATE TABLE {numbers} (n int PRIMARY KEY)"))
    await bounded(conn.execute(f"INSERT INTO {numbers} VALUES " + ", ".join(f"({i})" for i in range(NUMBERS))))
    await bounded(conn.execute(f"CREATE TABLE {ledger} (marker int PRIMARY KEY)"))
    try:
        yield numbers, ledger
    finally:
        await bounded(conn.execute(f"DROP TABLE {numbers}"))
        await bounded(conn.execute(f"DROP TABLE {ledger}"))


async def test_cancellation_storm_leaves_no_wrong_result_and_no_leaked_connection(
    test_url: str, tables: tuple[str, str]
) -> None:
    numbers, ledger = tables
    connection = Connection(test_url, pool_config=PoolConfig(max_size=POOL_SIZE, min_idle=4))
    rng = random.Random(20240613)
    tally = Tally()
    limit = asyncio.Semaphore(CONCURRENCY)

    def timeout() -> float | None:
        return rng.choice([None, None, None, rng.uniform(0.002, 0.04)])

    async def query(marker: int) -> None:
        delay = rng.choice(DELAYS)
        result = await connection.query(f"WAITFOR DELAY '{delay}'; SELECT @P1 AS marker", [marker], timeout=timeout())
        tally.markers_checked += 1
        if result.rows() != [{"marker": marker}]:
            tally.wrong.append(f"query {marker}: {result.rows()}")

    async def stream(marker: int) -> None:
        rows = await connection.stream(f"SELECT @P1 AS marker, n FROM {numbers} ORDER BY n", [marker], batch_size=64)
        expected_n = 0
        stop_after = rng.choice([1, 2, None])
        async for batch in rows:
            for row in batch.rows():
                tally.markers_checked += 1
                if (row["marker"], row["n"]) != (marker, expected_n):
                    tally.wrong.append(f"stream {marker}: row {row.to_dict()} where n={expected_n} was due")
                expected_n += 1
            if stop_after is not None and expected_n >= stop_after * 64:
                return  # abandoned: its request is cancelled in the background
        if expected_n != NUMBERS:
            tally.wrong.append(f"stream {marker}: {expected_n} rows")

    async def transaction(marker: int) -> None:
        tally.attempted.add(marker)
        async with connection.transaction() as tx:
            await tx.execute(f"INSERT INTO {ledger} VALUES (@P1)", [marker], timeout=timeout())
            delay = rng.choice(DELAYS)
            result = await tx.query(f"WAITFOR DELAY '{delay}'; SELECT marker FROM {ledger} WHERE marker = @P1", [marker])
            tally.markers_checked += 1
            if result.rows() != [{"marker": marker}]:
                tally.wrong.append(f"transaction {marker}: {result.rows()}")
        tally.committed.add(marker)

    operations = [query, query, stream, transaction]

    async def run(marker: int) -> None:
        async with limit:
            operation = asyncio.ensure_future(rng.choice(operations)(marker))
            if rng.random() < 0.3:
                # Cancelled at a random moment: queued for a connection, mid-request, mid-stream, in a transaction.
                asyncio.get_running_loop().call_later(rng.random() * 0.03, operation.cancel)
            try:
                await operation
                tally.completed += 1
            except QueryTimeoutError:
                tally.timed_out += 1
            except asyncio.CancelledError:
                if not operation.cancelled():
                    raise
                tally.cancelled += 1
            except Exception as error:  # noqa: BLE001 - counted and reported
                tally.unexpected.append(error)

    started = time.monotonic()
    try:
        tasks = [asyncio.create_task(run(marker)) for marker in range(OPERATIONS)]
        await bounded(asyncio.gather(*tasks), timeout=60 + OPERATIONS * 0.1)

        assert tally.unexpected == [], [(error, error.__context__) for error in tally.unexpected[:5]]
        assert tally.wrong == [], tally.wrong[:5]
        assert tally.cancelled > OPERATIONS // 20 and tally.timed_out > 0, tally
        # Nothing leaked: every connection comes back idle, and each is in step and outside a transaction.
        deadline = time.monotonic() + 15
        while (stats := connection.pool_stats())["idle_connections"] != stats["connections"]:
            assert time.monotonic() < deadline, stats
            await asyncio.sleep(0.05)
        assert stats["connections"] <= POOL_SIZE, stats
        checks = await bounded(
            asyncio.gather(*(connection.query("SELECT @P1 AS marker, @@TRANCOUNT AS open_tx", [-m]) for m in range(64)))
        )
        assert [r.rows() for r in checks] == [[{"marker": -m, "open_tx": 0}] for m in range(64)]
        # Committed work is there, and nothing that was not attempted.
        stored = {row["marker"] for row in (await bounded(connection.query(f"SELECT marker FROM {ledger}"))).rows()}
        assert tally.committed <= stored <= tally.attempted
        final = connection.pool_stats()
        print(
            f"\nstorm: {OPERATIONS} operations in {time.monotonic() - started:.1f} s, {tally.completed} completed, "
            f"{tally.cancelled} cancelled, {tally.timed_out} timed out, {tally.markers_checked} markers checked, "
            f"0 wrong; pool {final['connections']} connections all idle, {final['connections_created']} created, "
            f"{final['connections_closed_broken']} discarded as broken"
        )
    finally:
        await bounded(connection.close())
