"""pymssql (FreeTDS)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import pymssql  # noqa: E402


class Pymssql(common.Driver):
    dist = "pymssql"
    modes = {
        "rows": {"fetchall()": "read_rows"},
        "write": {"executemany": "executemany"},
    }
    not_available = {"arrow": "no Arrow API"}

    def connect(self):
        s = self.server
        return pymssql.connect(server=s["host"], port=str(s["port"]), user=s["user"], password=s["password"],
                               database=s["database"], tds_version="7.4", encryption="off", autocommit=True)

    def execute(self, conn, sql: str) -> None:
        conn.cursor().execute(sql)

    def count(self, conn, table: str) -> int:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]

    def read_rows(self, conn, sql: str) -> int:
        cursor = conn.cursor()
        cursor.execute(sql)
        return common.touch_rows(cursor.fetchall())

    def lookup(self, conn, key: int) -> int:
        cursor = conn.cursor()
        cursor.execute(common.LOOKUP_SQL.format("%s"), (key,))
        return common.touch_rows(cursor.fetchall())

    def executemany(self, conn, table: str, rows) -> None:
        placeholders = ", ".join("%s" for _ in common.MIXED_COLUMNS)
        conn.cursor().executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)


if __name__ == "__main__":
    common.main(Pymssql)
