"""connectorx (Rust, tiberius inside): read_sql to Arrow, as a table and as a record-batch stream."""

import pathlib
import sys
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import connectorx  # noqa: E402

# As this package's partitioned read (clients/ours.py): two connections, one id range each.
PARTITIONS = 2


class Connectorx(common.Driver):
    dist = "connectorx"
    modes = {"arrow": {'return_type="arrow"': "read_arrow", 'return_type="arrow_stream"': "read_arrow_stream",
                       f'return_type="arrow", partition_on="id", partition_num={PARTITIONS}': "read_arrow_partitioned"}}
    not_available = {
        "rows": "returns Arrow/pandas/polars frames, no Python rows",
        "oltp": "no persistent connection: every read_sql call connects anew",
        "write": "read-only",
    }

    def connect(self):
        s = self.server
        return (f"mssql://{urllib.parse.quote(s['user'], safe='')}:{urllib.parse.quote(s['password'], safe='')}"
                f"@{s['host']}:{s['port']}/{s['database']}"
                f"?encrypt={'true' if s.get('encrypt') else 'false'}&trust_server_certificate=true")

    def count(self, url: str, table: str) -> int:
        return connectorx.read_sql(url, f"SELECT COUNT(*) AS n FROM {table}", return_type="arrow").column(0)[0].as_py()

    def read_arrow(self, url: str, sql: str) -> int:
        return connectorx.read_sql(url, sql, return_type="arrow").num_rows

    def read_arrow_partitioned(self, url: str, sql: str) -> int:
        return connectorx.read_sql(url, sql, return_type="arrow", partition_on="id", partition_num=PARTITIONS).num_rows

    def read_arrow_stream(self, url: str, sql: str) -> int:
        reader = connectorx.read_sql(url, sql, return_type="arrow_stream")
        return sum(batch.num_rows for batch in reader)


if __name__ == "__main__":
    common.main(Connectorx)
