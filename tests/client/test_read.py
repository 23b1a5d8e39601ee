"""`read_arrow`/`read_polars`/`read_pandas`: whole results, and partitioned reads that equal the single query."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from decimal import Decimal

import pyarrow as pa
import pytest

import fastmssql
from fastmssql._partition import Partition, range_plan

from .support import bounded

ROWS = 400


@pytest.fixture
async def keyed(conn: fastmssql.Connection) -> AsyncIterator[str]:
    """ROWS rows with keys of every partitionable kind, NULL in every 9th row (and a uuid, a string)."""
    name = f"fm_read_{uuid.uuid4().hex[:12]}"
    await bounded(
        conn.execute(
            f"CREATE TABLE {name} (id int PRIMARY KEY, k int NULL, amount decimal(12,3) NULL, day date NULL, "
            "at datetime2(3) NULL, clock time(6) NULL, label nvarchar(20) NULL, g uniqueidentifier NULL)"
        )
    )
    values = []
    for i in range(ROWS):
        if i % 9 == 4:
            values.append(f"({i}, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
            continue
        k = (i * 37) % 1000 - 300
        values.append(
            f"({i}, {k}, {k / 8:.3f}, '{date.fromordinal(737425 + i * 3).isoformat()}', "
            f"'2021-03-04T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}', "
            f"'{i % 24:02d}:{(i * 13) % 60:02d}:{i % 60:02d}.{i:06d}', N'row {i}', '{uuid.UUID(int=i * 7919)}')"
        )
    for start in range(0, ROWS, 200):
        await bounded(conn.execute(f"INSERT INTO {name} VALUES {', '.join(values[start:start + 200])}"))
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


def by_id(table: pa.Table) -> pa.Table:
    return table.sort_by("id")


@pytest.mark.parametrize("column", ["k", "amount", "day", "at", "clock"])
async def test_four_partitions_equal_the_single_query(conn: fastmssql.Connection, keyed: str, column: str) -> None:
    sql = f"SELECT id, k, amount, day, at, clock, label, g FROM {keyed}"
    single = (await bounded(conn.query(sql))).to_arrow()
    parted = await bounded(conn.read_arrow(sql, partition_on=column, partitions=4))
    assert parted.schema.equals(single.schema, check_metadata=True)
    assert parted.num_rows == ROWS
    assert by_id(parted).equals(by_id(single))
    assert parted.column(column).null_count == single.column(column).null_count > 0


async def test_partition_queries_each_return_part_of_the_rows(conn: fastmssql.Connection, keyed: str) -> None:
    sql = f"SELECT id, k FROM {keyed} WHERE id >= @P1"
    plan = range_plan(sql, [0], "k", -300, 699, 4)
    assert len(plan) == 5  # NULL keys, then four ranges
    counts = [len(await bounded(conn.query(p.sql, p.params))) for p in plan.partitions]
    assert sum(counts) == ROWS
    assert all(n > 0 for n in counts), counts
    # Plain data: the plan crosses processes as it is.
    assert pickle.loads(pickle.dumps(plan)) == plan


async def test_params_and_a_given_range(conn: fastmssql.Connection, keyed: str) -> None:
    sql = f"SELECT id, k, label FROM {keyed} WHERE id < @P1"
    single = (await bounded(conn.query(sql, [300]))).to_arrow()
    # A range narrower than the keys: the outer partitions are open-ended, no row is lost.
    parted = await bounded(conn.read_arrow(sql, [300], partition_on="k", partitions=3, partition_range=(0, 100)))
    assert by_id(parted).equals(by_id(single))
    named = await bounded(
        conn.read_arrow(f"SELECT id, k FROM {keyed} WHERE id < @top", {"top": 300}, partition_on="id", partitions=2)
    )
    assert named.num_rows == 300


async def test_an_explicit_list_of_queries(conn: fastmssql.Connection, keyed: str) -> None:
    queries = [f"SELECT id, label FROM {keyed} WHERE id < 100", f"SELECT id, label FROM {keyed} WHERE id >= 100"]
    table = await bounded(conn.read_arrow(queries))
    assert table.num_rows == ROWS
    assert table.column("id").to_pylist() == list(range(ROWS))


async def test_more_partitions_than_keys_and_an_empty_result(conn: fastmssql.Connection, keyed: str) -> None:
    few = await bounded(conn.read_arrow(f"SELECT id FROM {keyed} WHERE id < 3", partition_on="id", partitions=8))
    assert sorted(few.column("id").to_pylist()) == [0, 1, 2]
    none = await bounded(conn.read_arrow(f"SELECT id, k FROM {keyed} WHERE id < 0", partition_on="k", partitions=4))
    assert none.num_rows == 0 and none.column_names == ["id", "k"]


async def test_polars_and_pandas(conn: fastmssql.Connection, keyed: str) -> None:
    polars = pytest.importorskip("polars")
    pandas = pytest.importorskip("pandas")
    sql = f"SELECT id, k, amount, label, g FROM {keyed}"
    frame = await bounded(conn.read_polars(sql, partition_on="id", partitions=3))
    whole = (await bounded(conn.query(sql))).to_polars()
    assert frame.sort("id").equals(whole.sort("id"))
    assert frame.schema["g"] == polars.String
    arrow_backed = await bounded(conn.read_pandas(sql, partition_on="id", partitions=3))
    assert isinstance(arrow_backed["k"].dtype, pandas.ArrowDtype)
    assert arrow_backed.sort_values("id")["amount"].iloc[1] == Decimal("-32.875")
    numpy_backed = await bounded(conn.read_pandas(sql, dtype_backend="numpy"))
    assert numpy_backed["id"].dtype == "int32"
    with pytest.raises(ValueError, match="dtype_backend"):
        await conn.read_pandas(sql, dtype_backend="arrow")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"partitions": 4}, "need partition_on"),
        ({"partition_on": "k"}, "partitions=N"),
        ({"partition_on": "k", "partitions": 0}, "positive int"),
        ({"partition_on": "k", "partitions": 2, "partition_range": (5, 1)}, "low <= high"),
        ({"partition_on": "label", "partitions": 2}, "cannot partition on a key of type str"),
        ({"partition_on": "k", "partitions": 2, "partition_range": 7}, "pair"),
    ],
)
async def test_bad_partitioning_is_refused(conn: fastmssql.Connection, keyed: str, kwargs: dict, says: str) -> None:
    with pytest.raises((ValueError, TypeError), match=says):
        await bounded(conn.read_arrow(f"SELECT id, k, label FROM {keyed}", **kwargs))


def test_module_level_readers(test_url: str) -> None:
    table = fastmssql.read_arrow(test_url, "SELECT 1 AS a, N'x' AS b UNION ALL SELECT 2, N'y'")
    assert table.to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    frame = fastmssql.read_polars(test_url, "SELECT @P1 AS a", [5])
    assert frame["a"].to_list() == [5]
    pandas = pytest.importorskip("pandas")
    df = fastmssql.read_pandas(test_url, "SELECT CAST(NULL AS int) AS a UNION ALL SELECT 3")
    assert isinstance(df["a"].dtype, pandas.ArrowDtype)
    assert df["a"].isna().tolist() == [True, False] and df["a"].iloc[1] == 3
    df = fastmssql.read_pandas(test_url, "SELECT CAST(NULL AS int) AS a UNION ALL SELECT 3", dtype_backend="numpy")
    assert str(df["a"].dtype) == "float64"


async def test_module_level_reader_inside_a_running_loop(test_url: str, keyed: str) -> None:
    # A script helper called from async code runs on a loop of its own in another thread.
    table = fastmssql.read_arrow(test_url, f"SELECT id, k FROM {keyed}", partition_on="k", partitions=2)
    assert sorted(table.column("id").to_pylist()) == list(range(ROWS))


@pytest.mark.parametrize(
    ("lo", "hi", "inner"),
    [
        (0, 10, [3, 5, 8]),
        (Decimal("0.00"), Decimal("1.00"), [Decimal("0.25"), Decimal("0.50"), Decimal("0.75")]),
        (date(2024, 1, 1), date(2024, 1, 9), [date(2024, 1, 3), date(2024, 1, 5), date(2024, 1, 7)]),
        (datetime(2024, 1, 1), datetime(2024, 1, 1, 4), [datetime(2024, 1, 1, h) for h in (1, 2, 3)]),
        (time(0), time(4), [time(1), time(2), time(3)]),
        (5, 6, [6]),
        (Decimal("0.00"), Decimal("0.01"), [Decimal("0.01")]),
        (5, 5, []),
    ],
)
def test_range_bounds(lo: object, hi: object, inner: list) -> None:
    plan = range_plan("SELECT x FROM t", None, "x", lo, hi, 4)
    assert plan.partitions[0] == Partition(
        "SELECT * FROM (\nSELECT x FROM t\n) AS fastmssql_t WHERE fastmssql_t.[x] IS NULL", None
    )
    bounds = [b for p in plan.partitions[1:] for b in (p.params or ())]
    assert sorted(set(bounds)) == inner
    assert len(plan) == len(inner) + 2


async def test_a_plan_runs_partition_by_partition_anywhere(test_url: str, keyed: str) -> None:
    # What a Ray or Spark task does: the plan pickled to it, each partition read on its own connection.
    sql = f"SELECT id, k, amount FROM {keyed} WHERE id >= @P1"
    plan = pickle.loads(pickle.dumps(fastmssql.plan_partitions(test_url, sql, [10], partition_on="amount", partitions=3)))
    assert isinstance(plan, fastmssql.PartitionPlan) and len(plan) == 4
    parts = [fastmssql.read_arrow(test_url, p.sql, p.params) for p in plan.partitions]
    single = fastmssql.read_arrow(test_url, sql, [10])
    assert by_id(pa.concat_tables(parts)).equals(by_id(single))
