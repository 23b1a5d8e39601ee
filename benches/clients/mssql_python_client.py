"""mssql-python (Microsoft's driver with the ODBC Driver 18 core): cursor.arrow(), arrow_reader(), fetchall()."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import mssql_python  # noqa: E402

ARROW_BATCH_ROWS = 65536


class MssqlPython(common.Driver):
    dist = "mssql-python"
    modes = {
        "arrow": {"cursor.arrow()": "read_arrow", "cursor.arrow_reader()": "read_arrow_reader"},
        "rows": {"fetchall()": "read_rows"},
        "write": {"bulkcopy_arrow": "bulkcopy_arrow"},
    }
    not_available = {}

    def connect(self):
        s = self.server
        return mssql_python.connect(
            f"Server={s['host']},{s['port']};Database={s['database']};UID={s['user']};"
            f"PWD={{{s['password']}}};{common.encryption(s)}",
            autocommit=True,
        )

    def execute(self, conn, sql: str) -> None:
        conn.cursor().execute(sql)

    def count(self, conn, table: str) -> int:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]

    def _cursor(self, conn, sql: str):
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor

    def read_arrow(self, conn, sql: str) -> int:
        return self._cursor(conn, sql).arrow(batch_size=ARROW_BATCH_ROWS).num_rows

    def read_arrow_reader(self, conn, sql: str) -> int:
        with self._cursor(conn, sql).arrow_reader(batch_size=ARROW_BATCH_ROWS) as reader:
            return sum(batch.num_rows for batch in reader)

    def read_rows(self, conn, sql: str) -> int:
        return common.touch_rows(self._cursor(conn, sql).fetchall())

    def lookup(self, conn, key: int) -> int:
        cursor = conn.cursor()
        cursor.execute(common.LOOKUP_SQL.format("?"), key)
        return common.touch_rows(cursor.fetchall())

    def prepare_bulkcopy_arrow(self, rows):
        return common.mixed_arrow_table(rows, guid_as_bytes=False)

    def bulkcopy_arrow(self, conn, table: str, source) -> None:
        conn.cursor().bulkcopy_arrow(table, source, timeout=0)

if __name__ == "__main__":
    common.main(MssqlPython)
