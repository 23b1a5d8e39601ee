"""fastmssql 0.7.7 from PyPI (same module name as this package: hence its own virtual environment)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

from fastmssql import Connection, PoolConfig  # noqa: E402


class Fastmssql077(common.Driver):
    dist = "fastmssql"
    modes = {
        "rows": {"rows()": "read_rows"},
    }
    # Its bulk_insert is a parameterized multi-row INSERT that raises on Decimal and UUID values and binds
    # datetime values as `date` (the time of day is lost), so it cannot load bench_mixed exactly.
    not_available = {
        "arrow": "no Arrow API (rows only)",
        "write": "its bulk_insert refuses Decimal and UUID values and sends datetimes as dates (time of day lost)",
    }
    oltp_async = True

    def _connection(self, pool_size: int) -> Connection:
        s = self.server
        return Connection(
            f"Server={s['host']},{s['port']};Database={s['database']};User Id={s['user']};"
            f"Password={s['password']};Encrypt=false;TrustServerCertificate=true",
            pool_config=PoolConfig(max_size=pool_size, min_idle=min(pool_size, 2)),
        )

    async def connect(self):
        conn = self._connection(1)
        await conn.connect()
        return conn

    async def open_pool(self, size: int):
        conn = self._connection(size)
        await conn.connect()
        return conn

    async def execute(self, conn, sql: str) -> None:
        await conn.execute(sql)

    async def count(self, conn, table: str) -> int:
        return (await conn.query(f"SELECT COUNT(*) FROM {table}")).rows()[0].get_by_index(0)

    async def read_rows(self, conn, sql: str) -> int:
        return common.touch_rows((await conn.query(sql)).rows(), values=lambda row: row.values())

    async def lookup(self, pool, key: int) -> int:
        rows = (await pool.query(common.LOOKUP_SQL.format("@P1"), [key])).rows()
        return common.touch_rows(rows, values=lambda row: row.values())


if __name__ == "__main__":
    common.main(Fastmssql077)
