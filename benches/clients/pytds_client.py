"""python-tds (pure Python TDS)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import common  # noqa: E402

import pytds  # noqa: E402
from pytds import tds_base, tds_types  # noqa: E402

# copy_to declares every column nvarchar(4000) unless given typed columns: these are bench_mixed's.
BULK_COLUMNS = [
    tds_base.Column(name=name, type=sql_type, flags=0 if name == "id" else tds_base.Column.fNullable)
    for (name, _), sql_type in zip(common.MIXED_COLUMNS, (
        tds_types.IntType(), tds_types.BigIntType(), tds_types.FloatType(), tds_types.DecimalType(18, 4),
        tds_types.NVarCharType(50), tds_types.VarCharType(20), tds_types.DateTime2Type(7), tds_types.DateType(),
        tds_types.BitType(), tds_types.UniqueIdentifierType()))
]


class Pytds(common.Driver):
    dist = "python-tds"
    modes = {
        "rows": {"fetchall()": "read_rows"},
        "write": {"copy_to (bulk copy)": "copy_to"},
    }
    not_available = {"arrow": "no Arrow API"}

    def connect(self):
        s = self.server
        return pytds.connect(s["host"], port=s["port"], database=s["database"], user=s["user"],
                             password=s["password"], autocommit=True)

    def execute(self, conn, sql: str) -> None:
        with conn.cursor() as cursor:
            cursor.execute(sql)

    def count(self, conn, table: str) -> int:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            return cursor.fetchone()[0]

    def read_rows(self, conn, sql: str) -> int:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return common.touch_rows(cursor.fetchall())

    def lookup(self, conn, key: int) -> int:
        with conn.cursor() as cursor:
            cursor.execute(common.LOOKUP_SQL.format("%s"), (key,))
            return common.touch_rows(cursor.fetchall())

    def copy_to(self, conn, table: str, rows) -> None:
        with conn.cursor() as cursor:
            cursor.copy_to(table_or_view=table, data=rows, columns=BULK_COLUMNS)


if __name__ == "__main__":
    common.main(Pytds)
