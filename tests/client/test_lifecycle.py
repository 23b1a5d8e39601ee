"""Process lifecycle: fork() after use, thousands of connections opened and closed without growth of
file descriptors, threads or memory, and interpreter exit with queries still in flight.

fork() and exit run in a subprocess of their own (the test runner must not fork or exit), which gets
the server's connection string in FASTMSSQL_LIFECYCLE_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from fastmssql import Connection, PoolConfig

from .support import bounded

CHILD_TIMEOUT_SECS = 120


def run_script(script: str, url: str) -> subprocess.CompletedProcess[str]:
    """Runs `script` in a new interpreter; a hang is a failure, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "FASTMSSQL_LIFECYCLE_URL": url},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECS,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_fork_after_use_child_has_its_own_pool_and_the_parent_s_is_untouched(test_url: str) -> None:
    result = run_script(
        """
        import asyncio, os, sys
        import fastmssql

        url = os.environ["FASTMSSQL_LIFECYCLE_URL"]
        conn = fastmssql.Connection(url, pool_config=fastmssql.PoolConfig(max_size=1, min_idle=1))

        async def spid(connection, marker):
            result = await asyncio.wait_for(connection.query("SELECT @@SPID AS spid, @P1 AS marker", [marker]), 30)
            [row] = result.rows()
            assert row["marker"] == marker, row
            return row["spid"]

        parent_spid = asyncio.run(spid(conn, "before"))
        created = conn.pool_stats()["connections_created"]
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                async def child():
                    # The inherited Connection opens a pool of its own; the parent's sockets are not touched.
                    inherited = await spid(conn, "child-inherited")
                    assert inherited != parent_spid, (inherited, parent_spid)
                    own = fastmssql.Connection(url)
                    await spid(own, "child-own")
                    await own.close()
                    await conn.close()
                asyncio.run(child())
                status = 0
            finally:
                os._exit(status)
        _, wait_status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(wait_status) == 0, wait_status
        # The same pooled session, in step, and no connection was replaced.
        assert asyncio.run(spid(conn, "after")) == parent_spid
        stats = conn.pool_stats()
        assert (stats["connections_created"], stats["connections_closed_broken"]) == (created, 0), stats
        async def close():
            await conn.close()
        asyncio.run(close())
        print("fork ok")
        """,
        test_url,
    )
    assert result.returncode == 0 and result.stdout.strip() == "fork ok", result.stdout + result.stderr


def test_interpreter_exit_with_queries_in_flight_neither_hangs_nor_aborts(test_url: str) -> None:
    result = run_script(
        """
        import asyncio, os, threading
        import fastmssql

        url = os.environ["FASTMSSQL_LIFECYCLE_URL"]
        started = threading.Barrier(2)

        # A DB-API query blocked in Rust (GIL released) in a daemon thread. Cut off by the exit, it
        # may end with an OperationalError (the runtime is shutting down), never anything worse.
        def blocking():
            try:
                with fastmssql.connect(url) as dbapi:
                    started.wait()
                    dbapi.cursor().execute("WAITFOR DELAY '00:00:30'")
            except fastmssql.OperationalError:
                pass
        threading.Thread(target=blocking, daemon=True).start()

        # asyncio queries in flight on a loop that is never finished.
        loop = asyncio.new_event_loop()
        conn = fastmssql.Connection(url)

        async def query(sql):
            return await conn.query(sql)
        loop.run_until_complete(query("SELECT 1 AS warm"))
        tasks = [loop.create_task(query("WAITFOR DELAY '00:00:30'")) for _ in range(4)]
        loop.run_until_complete(asyncio.sleep(0.5))
        started.wait(timeout=30)
        loop.run_until_complete(asyncio.sleep(0.3))  # the DB-API query is on the wire by now
        print("exiting", flush=True)
        """,
        test_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exiting"
    for sign in ("Fatal Python error", "panicked", "Traceback", "Aborted"):
        assert sign not in result.stderr, result.stderr


def process_figures() -> tuple[int, int, int]:
    """(open file descriptors, OS threads, resident set size in KiB) of this process."""
    fds = len(os.listdir("/proc/self/fd"))
    threads = len(os.listdir("/proc/self/task"))
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return fds, threads, rss


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc")
async def test_thousands_of_connections_opened_and_closed_leave_no_fds_threads_or_memory(test_url: str) -> None:
    async def cycle(marker: int) -> None:
        connection = Connection(test_url, pool_config=PoolConfig(max_size=1, min_idle=1))
        result = await bounded(connection.query("SELECT @P1 AS marker", [marker]))
        assert result.rows() == [{"marker": marker}]
        await bounded(connection.close())

    # Warm up: the runtime's worker threads, allocator arenas, imports.
    for marker in range(200):
        await cycle(marker)
    fds_before, threads_before, rss_before = process_figures()
    for marker in range(2000):
        await cycle(marker)
    fds_after, threads_after, rss_after = process_figures()
    print(
        f"\n2000 connections: fds {fds_before}->{fds_after}, threads {threads_before}->{threads_after}, "
        f"RSS {rss_before}->{rss_after} KiB"
    )
    # A leak of one fd or thread per connection would show as thousands; allow a little slack for
    # sockets still closing and blocking threads the runtime keeps for a while.
    assert fds_after - fds_before <= 10, (fds_before, fds_after)
    assert threads_after - threads_before <= 8, (threads_before, threads_after)
    # 2000 leaked connections of even 16 KiB each would add 32 MiB.
    assert rss_after - rss_before < 24 * 1024, (rss_before, rss_after)
