"""pyodbc with the ODBC Driver 18 that mssql-python bundles; pandas.to_sql through SQLAlchemy on it."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import pyodbc  # noqa: E402

INSERT_SQL = f"INSERT INTO {{}} VALUES ({', '.join('?' for _ in common.MIXED_COLUMNS)})"


class Pyodbc(common.Driver):
    dist = "pyodbc"
    modes = {
        "rows": {"fetchall()": "read_rows"},
        "write": {"executemany (fast_executemany)": "fast_executemany",
                  "pandas.to_sql (SQLAlchemy, fast_executemany)": "to_sql"},
    }
    not_available = {"arrow": "no Arrow API"}

    def connect(self):
        return pyodbc.connect(common.odbc_connection_string(self.server), autocommit=True)

    def execute(self, conn, sql: str) -> None:
        conn.execute(sql)

    def count(self, conn, table: str) -> int:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def read_rows(self, conn, sql: str) -> int:
        return common.touch_rows(conn.execute(sql).fetchall())

    def lookup(self, conn, key: int) -> int:
        return common.touch_rows(conn.execute(common.LOOKUP_SQL.format("?"), key).fetchall())

    def fast_executemany(self, conn, table: str, rows) -> None:
        cursor = conn.cursor()
        cursor.fast_executemany = True
        cursor.executemany(INSERT_SQL.format(table), rows)

    def prepare_to_sql(self, rows):
        import pandas

        return pandas.DataFrame.from_records(rows, columns=[name for name, _ in common.MIXED_COLUMNS])

    def to_sql(self, conn, table: str, frame) -> None:
        import sqlalchemy

        engine = sqlalchemy.create_engine(
            "mssql+pyodbc://", creator=self.connect, fast_executemany=True, poolclass=sqlalchemy.pool.StaticPool
        )
        try:
            frame.to_sql(table, engine, if_exists="append", index=False, chunksize=100_000)
        finally:
            engine.dispose()


if __name__ == "__main__":
    common.main(Pyodbc)
