"""`Connection.bulk_insert()`: Arrow data loaded with INSERT BULK and read back exactly; bad input
refused before anything is written, and a server error rejecting the whole load."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql

from .support import bounded

UTC = timezone.utc
GUID = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")


@pytest.fixture
async def table(conn: fastmssql.Connection) -> AsyncIterator[str]:
    name = f"fm_bulk_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


async def count(conn: fastmssql.Connection, table: str) -> int:
    return (await bounded(conn.query(f"SELECT count(*) AS n FROM {table}"))).rows()[0]["n"]


TYPED = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int32()),
        "flag": pa.array([True, False, None]),
        "tiny": pa.array([0, 255, None], pa.uint8()),
        "small": pa.array([-32768, 32767, None], pa.int16()),
        "big": pa.array([-(2**63), 2**63 - 1, None], pa.int64()),
        "r": pa.array([1.5, -0.25, None], pa.float32()),
        "f": pa.array([0.1, 1e308, None], pa.float64()),
        "dec": pa.array([Decimal("-12345.6789"), Decimal("0.0001"), None], pa.decimal128(18, 4)),
        "cash": pa.array([Decimal("922337203685477.5807"), Decimal("-1.5"), None], pa.decimal128(19, 4)),
        "name": pa.array(["héllo 😀", "", None]),
        "code": pa.array(["plain", "x" * 20, None]),
        "data": pa.array([b"\x00\x01\xff", b"", None]),
        "guid": pa.array([GUID.bytes, bytes(16), None], pa.binary(16)),
        "d": pa.array([date(1, 1, 1), date(9999, 12, 31), None]),
        "t": pa.array([time(23, 59, 59, 999999), time(0), None], pa.time64("us")),
        "dt2": pa.array([datetime(2024, 2, 29, 12, 0, 0, 123456), datetime(1, 1, 1), None], pa.timestamp("us")),
        "dt": pa.array([datetime(2024, 1, 2, 3, 4, 5, 3000), datetime(1753, 1, 1), None], pa.timestamp("us")),
        "dto": pa.array(
            [datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), None],
            pa.timestamp("us", tz="UTC"),
        ),
    }
)
DECLARED = (
    "id int PRIMARY KEY, flag bit, tiny tinyint, small smallint, big bigint, r real, f float, dec decimal(18,4), "
    "cash money, name nvarchar(20), code varchar(20), data varbinary(max), guid uniqueidentifier, d date, "
    "t time(6), dt2 datetime2(7), dt datetime, dto datetimeoffset(7)"
)


async def test_every_type_loads_and_reads_back_exactly(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} ({DECLARED})"))
    assert await bounded(conn.bulk_insert(table, TYPED)) == 3
    back = (await bounded(conn.query(f"SELECT * FROM {table} ORDER BY id"))).to_arrow()
    for name in TYPED.column_names:
        column = back.column(name).combine_chunks()
        if isinstance(column.type, pa.BaseExtensionType):  # arrow.uuid: compare the 16 bytes
            column = column.storage
        assert column.to_pylist() == TYPED.column(name).to_pylist(), name


async def test_many_batches_from_polars_read_back(conn: fastmssql.Connection, table: str) -> None:
    polars = pytest.importorskip("polars")
    rows = 25_000
    frame = polars.DataFrame(
        {
            "id": polars.Series(range(rows), dtype=polars.Int64),
            "label": [f"row {i}" if i % 7 else None for i in range(rows)],
            "amount": polars.Series([Decimal(i) / 100 for i in range(rows)], dtype=polars.Decimal(12, 2)),
        }
    )
    await bounded(conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, label nvarchar(30), amount decimal(12,2))"))
    assert await bounded(conn.bulk_insert(table, frame)) == rows
    back = (await bounded(conn.query(f"SELECT id, label, amount FROM {table} ORDER BY id"))).to_polars()
    assert back["id"].to_list() == frame["id"].to_list()
    assert back["label"].to_list() == frame["label"].to_list()
    assert back["amount"].to_list() == frame["amount"].to_list()


async def test_columns_are_matched_by_name_and_identity_is_assigned(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, a nvarchar(5), b int)"))
    data = pa.table({"b": pa.array([10, 20], pa.int32()), "a": ["x", "y"]})
    assert await bounded(conn.bulk_insert(table, data)) == 2
    rows = (await bounded(conn.query(f"SELECT id, a, b FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(1, "x", 10), (2, "y", 20)]


@pytest.mark.parametrize(
    ("column", "values", "error", "says"),
    [
        ("tiny", pa.array([1] * 4999 + [300], pa.int32()), fastmssql.DataError, "row 4999"),
        ("dec", pa.array([Decimal("1.23456")] * 5000, pa.decimal128(10, 5)), fastmssql.DataError, "losing digits"),
        ("n", pa.array([1] * 4999 + [None], pa.int32()), fastmssql.IntegrityError, "does not allow NULLs"),
        ("tiny", pa.array(["seven"] * 5000), fastmssql.DataError, "cannot be written to a tinyint column"),
        ("tiny", pa.array([[1]] * 5000), fastmssql.DataError, "cannot be sent"),
    ],
    ids=["out-of-range", "lost-digits", "null-into-not-null", "string-into-int", "list-type"],
)
async def test_bad_input_is_refused_before_anything_is_written(
    conn: fastmssql.Connection, table: str, column: str, values: pa.Array, error: type, says: str
) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, tiny tinyint, dec decimal(10,2), n int NOT NULL)"))
    data = {"id": pa.array(range(5000), pa.int32()), column: values}
    if column != "n":
        data["n"] = pa.array([0] * 5000, pa.int32())
    with pytest.raises(error, match=says):
        await bounded(conn.bulk_insert(table, pa.table(data)))
    assert await count(conn, table) == 0


async def test_a_server_error_rejects_the_whole_load(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    data = pa.table({"id": pa.array(list(range(10_000)) + [5], pa.int32())})
    with pytest.raises(fastmssql.IntegrityError) as info:
        await bounded(conn.bulk_insert(table, data))
    assert info.value.number == 2627
    assert await count(conn, table) == 0
    # The pool goes on: the same data without the duplicate loads.
    assert await bounded(conn.bulk_insert(table, data.slice(0, 10_000))) == 10_000


async def test_unknown_table_or_column_raise_the_server_error(conn: fastmssql.Connection, table: str) -> None:
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await bounded(conn.bulk_insert(table, pa.table({"id": [1]})))
    assert info.value.number == 208
    await bounded(conn.execute(f"CREATE TABLE {table} (id int)"))
    with pytest.raises(fastmssql.ProgrammingError) as info:
        await bounded(conn.bulk_insert(table, pa.table({"nope": [1]})))
    assert info.value.number == 207


@pytest.mark.parametrize("name", ["t; DROP TABLE x", "t--", "[t", "a b", ""])
async def test_table_names_are_checked_before_sending(conn: fastmssql.Connection, name: str) -> None:
    with pytest.raises(fastmssql.ProgrammingError, match="not a valid table name"):
        await bounded(conn.bulk_insert(name, pa.table({"id": [1]})))


async def test_non_arrow_data_is_a_type_error(conn: fastmssql.Connection) -> None:
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        conn.bulk_insert("t", [{"id": 1}])


async def test_zero_rows_store_nothing(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int)"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([], pa.int32())}))) == 0
    assert await count(conn, table) == 0


async def test_a_query_result_loads_into_another_table(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int, name nvarchar(10), g uniqueidentifier)"))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (1, N'one', @P1), (2, N'two', NULL)", [GUID]))
    source = await bounded(conn.query(f"SELECT id + 10 AS id, name, g FROM {table}"))
    assert await bounded(conn.bulk_insert(table, source)) == 2
    rows = (await bounded(conn.query(f"SELECT id, name, g FROM {table} WHERE id > 10 ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(11, "one", str(GUID)), (12, "two", None)]


async def test_identity_values_the_data_carries_are_kept_and_reseed(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, a nvarchar(5))"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([5, 9], pa.int32()), "a": ["x", "y"]}))) == 2
    await bounded(conn.execute(f"INSERT INTO {table} (a) VALUES (N'z')"))
    rows = (await bounded(conn.query(f"SELECT id, a FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(5, "x"), (9, "y"), (10, "z")]


# ---------------------------------------------------------------------------
# The loader's options: batches, INSERT BULK options, pandas and streamed input,
# progress, all-or-none loads
# ---------------------------------------------------------------------------


async def test_batch_rows_splits_the_load_and_a_late_failure_keeps_the_earlier_batches(
    conn: fastmssql.Connection, table: str
) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    data = pa.table({"id": pa.array(list(range(10_000)) + [5], pa.int32())})
    with pytest.raises(fastmssql.IntegrityError, match="stored 10000 rows") as info:
        await bounded(conn.bulk_insert(table, data, batch_rows=2_500))
    assert info.value.number == 2627
    # Four INSERT BULKs of 2,500 were stored on their own; the fifth (the duplicate) was not.
    assert await count(conn, table) == 10_000


async def test_atomic_leaves_the_table_unchanged_after_a_server_error(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (-1)"))
    data = pa.table({"id": pa.array(list(range(10_000)) + [5], pa.int32())})
    with pytest.raises(fastmssql.IntegrityError) as info:
        await bounded(conn.bulk_insert(table, data, batch_rows=2_500, atomic=True))
    assert info.value.number == 2627
    assert await count(conn, table) == 1
    assert await bounded(conn.bulk_insert(table, data.slice(0, 10_000), batch_rows=2_500, atomic=True)) == 10_000


def numbered_batches(rows: int, batch: int, bad_row: int | None = None) -> pa.RecordBatchReader:
    """A streamed input of `rows` ids in batches of `batch`, a value too large for tinyint at `bad_row`."""
    schema = pa.schema([("id", pa.int32()), ("tiny", pa.int32())])

    def batches():
        for start in range(0, rows, batch):
            ids = pa.array(range(start, min(start + batch, rows)), pa.int32())
            tiny = pa.array([300 if i == bad_row else i % 200 for i in range(start, min(start + batch, rows))], pa.int32())
            yield pa.record_batch([ids, tiny], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


async def test_atomic_streamed_load_with_a_bad_value_deep_in_the_input(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, tiny tinyint)"))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES (-1, 0)"))
    # Row 500,000 is in the middle of an input batch, after 80,000 rows of the fifth INSERT BULK went out.
    reader = numbered_batches(600_000, 30_000, bad_row=500_000)
    with pytest.raises(fastmssql.DataError, match="column 'tiny', row 500000"):
        await bounded(conn.bulk_insert(table, reader, batch_rows=100_000, atomic=True), timeout=300)
    assert await count(conn, table) == 1
    # Without atomic the INSERT BULKs finished before the bad row stay, the one it is in does not.
    with pytest.raises(fastmssql.DataError, match="stored 500000 rows.*row 560000"):
        await bounded(conn.bulk_insert(table, numbered_batches(600_000, 50_000, 560_000), batch_rows=100_000), timeout=300)
    assert await count(conn, table) == 500_001


async def test_a_stream_of_another_query_copies_table_to_table(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, label nvarchar(20), amount decimal(12,2))"))
    values = ", ".join(f"({i}, N'row {i}', {i}.25)" for i in range(1, 1001))
    await bounded(conn.execute(f"INSERT INTO {table} VALUES {values}"))
    copy = f"{table}_copy"
    await bounded(conn.execute(f"CREATE TABLE {copy} (id int PRIMARY KEY, label nvarchar(20), amount decimal(12,2))"))
    try:
        seen = []
        stream = await bounded(conn.stream(f"SELECT id, label, amount FROM {table}", batch_size=128))
        assert await bounded(conn.bulk_insert(copy, stream, progress=seen.append)) == 1000
        assert seen[-1] == 1000 and seen == sorted(seen) and len(seen) > 2
        original = (await bounded(conn.query(f"SELECT * FROM {table} ORDER BY id"))).to_arrow()
        copied = (await bounded(conn.query(f"SELECT * FROM {copy} ORDER BY id"))).to_arrow()
        assert copied.equals(original)
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {copy}"))


async def test_pandas_frames_load_without_their_index(conn: fastmssql.Connection, table: str) -> None:
    pandas = pytest.importorskip("pandas")
    await bounded(conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name nvarchar(10), at datetime2(6), x float)"))
    frame = pandas.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", None, "c"],
            "at": pandas.to_datetime(["2024-01-01 10:00:00.123456", None, "1999-12-31 00:00:00.000000"]),
            "x": [1.5, float("nan"), -2.0],
        },
        index=[10, 20, 30],
    )
    assert await bounded(conn.bulk_insert(table, frame)) == 3
    back = (await bounded(conn.query(f"SELECT id, name, at, x FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in back] == [
        (1, "a", datetime(2024, 1, 1, 10, 0, 0, 123456), 1.5),
        (2, None, None, None),
        (3, "c", datetime(1999, 12, 31), -2.0),
    ]


async def test_keep_identity_false_lets_the_server_number_the_rows(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, a nvarchar(5))"))
    data = pa.table({"id": pa.array([5, 9], pa.int32()), "a": ["x", "y"]})
    assert await bounded(conn.bulk_insert(table, data, keep_identity=False)) == 2
    rows = (await bounded(conn.query(f"SELECT id, a FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(1, "x"), (2, "y")]


async def test_keep_nulls_keeps_a_null_where_the_column_has_a_default(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int NULL DEFAULT 7)"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([1], pa.int32()), "v": pa.array([None], pa.int32())}))) == 1
    assert await bounded(
        conn.bulk_insert(table, pa.table({"id": pa.array([2], pa.int32()), "v": pa.array([None], pa.int32())}), keep_nulls=True)
    ) == 1
    rows = (await bounded(conn.query(f"SELECT id, v FROM {table} ORDER BY id"))).rows()
    assert [r.to_tuple() for r in rows] == [(1, 7), (2, None)]


async def test_the_other_insert_bulk_options_are_accepted(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int)"))
    data = pa.table({"id": pa.array([1, 2, 3], pa.int32()), "v": pa.array([3, 2, 1], pa.int32())})
    stored = await bounded(
        conn.bulk_insert(
            table, data, tablock=True, check_constraints=True, fire_triggers=True, order=["id", ("v", "DESC")]
        )
    )
    assert stored == 3
    assert await count(conn, table) == 3


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"batch_rows": 0}, ValueError, "batch_rows"),
        ({"order": "id"}, TypeError, "order is a list"),
        ({"order": [("id", "UP")]}, ValueError, "ASC or DESC"),
        ({"order": ["nope"]}, fastmssql.ProgrammingError, "not a column of the load"),
        ({"progress": 3}, TypeError, "progress must be"),
    ],
)
async def test_bad_options_are_refused_before_anything_is_written(
    conn: fastmssql.Connection, table: str, options: dict, error: type, says: str
) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    with pytest.raises(error, match=says):
        await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([1], pa.int32())}), **options))
    assert await count(conn, table) == 0


async def test_progress_true_draws_a_tqdm_bar(conn: fastmssql.Connection, table: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    assert await bounded(conn.bulk_insert(table, pa.table({"id": pa.array(range(3000), pa.int32())}), progress=True)) == 3000
    err = capsys.readouterr().err
    assert table in err and "3.00k/3.00k" in err, err


async def test_a_failing_progress_callback_stops_the_load(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))

    def fail(rows: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(fastmssql.InterfaceError, match="stop here"):
        await bounded(conn.bulk_insert(table, pa.table({"id": pa.array([1], pa.int32())}), progress=fail))
    assert await count(conn, table) == 0


async def test_in_a_transaction_a_rollback_undoes_the_load(conn: fastmssql.Connection, table: str) -> None:
    await bounded(conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match="undo"):
        async with conn.transaction() as tx:
            assert await bounded(tx.bulk_insert(table, pa.table({"id": pa.array(range(100), pa.int32())}), batch_rows=30)) == 100
            raise RuntimeError("undo")
    assert await count(conn, table) == 0
