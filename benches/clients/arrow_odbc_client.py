"""arrow-odbc with the ODBC Driver 18 that mssql-python bundles: record batches straight from ODBC."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import arrow_odbc  # noqa: E402
import pyarrow  # noqa: E402

BATCH_ROWS = 65536
# nvarchar(max) has no bound: arrow-odbc needs one for its buffers (the data set has at most 1000).
MAX_TEXT_CHARS = 4 * common.STRING_MAX_CHARS


class ArrowOdbc(common.Driver):
    dist = "arrow-odbc"
    modes = {"arrow": {"connect().read_arrow_batches()": "read_arrow"}}
    not_available = {
        "rows": "Arrow batches only, no Python rows",
        "write": "insert_into_table exists but is not in this comparison yet",
    }

    def connect(self):
        return arrow_odbc.connect(common.odbc_connection_string(self.server))

    def _read(self, conn, sql: str, parameters=None, batch_rows=BATCH_ROWS):
        reader = conn.read_arrow_batches(sql, batch_size=batch_rows, parameters=parameters,
                                         max_text_size=MAX_TEXT_CHARS)
        return pyarrow.Table.from_batches(list(reader), schema=reader.schema)

    def count(self, conn, table: str) -> int:
        return self._read(conn, f"SELECT COUNT(*) FROM {table}").column(0)[0].as_py()

    def read_arrow(self, conn, sql: str) -> int:
        return self._read(conn, sql).num_rows

    def lookup(self, conn, key: int) -> int:
        # arrow-odbc allocates its buffers for batch_size rows up front: one row here.
        return self._read(conn, common.LOOKUP_SQL.format("?"), [str(key)], batch_rows=1).num_rows

if __name__ == "__main__":
    common.main(ArrowOdbc)
