"""This package's synchronous DB-API interface (fastmssql.connect): threads with a connection each,
as the other synchronous clients."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import fastmssql  # noqa: E402

CAN_CONNECT = hasattr(fastmssql, "connect")


class OursSync(common.Driver):
    dist = "fastmssql"
    modes = {
        "arrow": {"cursor.fetch_arrow_table()": "read_arrow"},
        "rows": {"fetchall()": "read_rows"},
        "write": {"executemany": "executemany"},
    } if CAN_CONNECT else {}
    not_available = {} if CAN_CONNECT else {"oltp": "not yet available: the package has no synchronous API"}

    def connect(self):
        s = self.server
        return fastmssql.connect(
            f"Server={s['host']},{s['port']};Database={s['database']};User Id={s['user']};"
            f"Password={{{s['password']}}};{common.encryption(s)}",
            autocommit=True,
        )

    def execute(self, conn, sql: str) -> None:
        conn.cursor().execute(sql)

    def count(self, conn, table: str) -> int:
        return conn.cursor().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def read_arrow(self, conn, sql: str) -> int:
        return conn.cursor().execute(sql).fetch_arrow_table().num_rows

    def read_rows(self, conn, sql: str) -> int:
        return common.touch_rows(conn.cursor().execute(sql).fetchall())

    def lookup(self, conn, key: int) -> int:
        return common.touch_rows(conn.cursor().execute(common.LOOKUP_SQL.format("?"), [key]).fetchall())

    def executemany(self, conn, table: str, rows) -> None:
        placeholders = ", ".join("?" for _ in common.MIXED_COLUMNS)
        conn.cursor().executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)


if __name__ == "__main__":
    common.main(OursSync)
