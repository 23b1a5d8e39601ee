"""OLTP with fastmssql: a transfer in a transaction (and one that fails and leaves nothing behind),
a batch of inserts in one round trip, a stored procedure with OUTPUT and RETURN, PRINT messages,
and a timeout that cancels a slow statement while the connection stays usable.

Like quickstart.py, it uses FASTMSSQL_URL when set and the local TDS test server otherwise.
"""

from __future__ import annotations

import asyncio
import uuid

from fastmssql import Connection, IntegrityError, QueryTimeoutError
from quickstart import server_url


async def balances(conn: Connection, table: str) -> dict[int, int]:
    result = await conn.query(f"SELECT id, balance FROM {table} ORDER BY id")
    return {row["id"]: row["balance"] for row in result.rows()}


async def main(url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    accounts, proc = f"example_accounts_{suffix}", f"example_add_{suffix}"
    async with Connection(url, message_handler=lambda m: print("server says:", m.message)) as conn:
        await conn.execute(f"CREATE TABLE {accounts} (id int PRIMARY KEY, balance int NOT NULL)")
        try:
            # 1,000 inserts, one request, one count each.
            counts = await conn.execute_batch(
                [(f"INSERT INTO {accounts} VALUES (@P1, @P2)", [i, 100]) for i in range(1, 1001)]
            )
            print(f"execute_batch: {len(counts)} statements, {sum(counts)} rows in one round trip")

            async with conn.transaction() as tx:
                await tx.execute(f"UPDATE {accounts} SET balance = balance - 30 WHERE id = 1")
                await tx.execute(f"UPDATE {accounts} SET balance = balance + 30 WHERE id = 2")
            print("after the transfer:", {k: v for k, v in (await balances(conn, accounts)).items() if k <= 2})

            try:
                async with conn.transaction() as tx:
                    await tx.execute(f"UPDATE {accounts} SET balance = balance - 30 WHERE id = 1")
                    await tx.execute(f"INSERT INTO {accounts} VALUES (2, 0)")  # duplicate key
            except IntegrityError as error:
                print(f"failed transfer rolled back (error {error.number}):", {
                    k: v for k, v in (await balances(conn, accounts)).items() if k <= 2
                })

            await conn.execute(
                f"CREATE PROCEDURE {proc} @a int, @b int, @sum int OUTPUT AS "
                "BEGIN PRINT 'adding'; SET @sum = @a + @b; RETURN 0 END"
            )
            result = await conn.call_proc(proc, {"a": 2, "b": 3}, output={"sum": "int"})
            print("call_proc:", result.output, "return status", result.return_status)

            try:
                await conn.query("WAITFOR DELAY '00:00:05'", timeout=0.5)
            except QueryTimeoutError as error:
                print("timeout:", error)
            print("the pool is still usable:", (await conn.query("SELECT 1 AS one")).rows())
        finally:
            await conn.execute(f"IF OBJECT_ID('{proc}') IS NOT NULL DROP PROCEDURE {proc}")
            await conn.execute(f"DROP TABLE {accounts}")


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
