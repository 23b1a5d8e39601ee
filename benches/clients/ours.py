"""This package (the wheel built from the work tree): the Arrow path and the rows() path."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import pyarrow  # noqa: E402
from fastmssql import Connection, PoolConfig  # noqa: E402


STREAM_BATCH_ROWS = 65536
# The partitioned read's connections (read_arrow(partition_on=...) runs one range query on each at once).
PARTITIONS = 2
# stream() and bulk_insert() arrived during the first benchmark runs: a wheel without them lacks those modes.
CAN_STREAM = hasattr(Connection, "stream")
CAN_BULK_INSERT = hasattr(Connection, "bulk_insert")
CAN_PARTITION = hasattr(Connection, "read_arrow")


class Ours(common.Driver):
    dist = "fastmssql"
    modes = {
        "arrow": {"pyarrow.table(result)": "read_arrow",
                  **({"stream(): async for batch": "read_arrow_stream"} if CAN_STREAM else {}),
                  **({f"read_arrow(partition_on='id', partitions={PARTITIONS})": "read_arrow_partitioned"}
                     if CAN_PARTITION else {})},
        "rows": {"rows()": "read_rows"},
        "write": {"bulk_insert(pyarrow.Table)": "bulk_insert"} if CAN_BULK_INSERT else {},
    }
    not_available = {**({} if CAN_BULK_INSERT else {"write": "not yet available: the package has no bulk API yet"}),
                     **({} if CAN_STREAM else {"stream": "not yet available: a result is held in memory as a whole"})}
    oltp_async = True

    def _connection(self, pool_size: int) -> Connection:
        s = self.server
        return Connection(
            f"Server={s['host']},{s['port']};Database={s['database']};User Id={s['user']};"
            f"Password={{{s['password']}}};{common.encryption(s)}",
            pool_config=PoolConfig(max_size=pool_size, min_idle=min(pool_size, 2)),
        )

    async def connect(self):
        # PARTITIONS connections, for the partitioned read; every other mode uses one of them.
        conn = self._connection(PARTITIONS)
        await conn.connect()
        return conn

    async def open_pool(self, size: int):
        conn = self._connection(size)
        await conn.connect()
        return conn

    async def execute(self, conn, sql: str) -> None:
        await conn.execute(sql)

    async def count(self, conn, table: str) -> int:
        return (await conn.query(f"SELECT COUNT(*) FROM {table}")).rows()[0][0]

    async def read_arrow(self, conn, sql: str) -> int:
        return pyarrow.table(await conn.query(sql)).num_rows

    async def read_arrow_stream(self, conn, sql: str) -> int:
        rows = 0
        async for batch in await conn.stream(sql, batch_size=STREAM_BATCH_ROWS):
            rows += pyarrow.table(batch).num_rows
        return rows

    async def read_arrow_partitioned(self, conn, sql: str) -> int:
        return (await conn.read_arrow(sql, partition_on="id", partitions=PARTITIONS)).num_rows

    async def read_rows(self, conn, sql: str) -> int:
        return common.touch_rows((await conn.query(sql)).rows())

    def prepare_bulk_insert(self, rows):
        return common.mixed_arrow_table(rows, guid_as_bytes=True)

    async def bulk_insert(self, conn, table: str, source) -> None:
        await conn.bulk_insert(table, source)

    async def lookup(self, pool, key: int) -> int:
        return common.touch_rows((await pool.query(common.LOOKUP_SQL.format("@P1"), [key])).rows())


if __name__ == "__main__":
    common.main(Ours)
