"""`fastmssql.dask.read_sql`: a partitioned read as a Dask DataFrame equals the single query,
on Dask's local scheduler and on a distributed cluster of two worker processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pyarrow as pa
import pytest

import fastmssql

from .support import bounded

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")
pandas = pytest.importorskip("pandas")

ROWS = 3000


@pytest.fixture
async def table(conn: fastmssql.Connection) -> AsyncIterator[str]:
    name = f"fm_dask_{uuid.uuid4().hex[:12]}"
    await bounded(conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, k int NULL, label nvarchar(20), amount decimal(10,2))"))
    data = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int32()),
            "k": pa.array([None if i % 11 == 0 else i * 7 % 500 for i in range(ROWS)], pa.int32()),
            "label": [f"row {i}" for i in range(ROWS)],
            "amount": pa.array([f"{i}.{i % 100:02d}" for i in range(ROWS)]).cast(pa.decimal128(10, 2)),
        }
    )
    await bounded(conn.bulk_insert(name, data))
    try:
        yield name
    finally:
        await bounded(conn.execute(f"DROP TABLE IF EXISTS {name}"))


def sorted_frame(frame: object) -> object:
    return frame.sort_values("id").reset_index(drop=True)


async def test_local_scheduler_read_equals_the_single_query(
    conn: fastmssql.Connection, table: str, test_url: str
) -> None:
    import fastmssql.dask

    sql = f"SELECT id, k, label, amount FROM {table}"
    frame = fastmssql.dask.read_sql(sql, test_url, partition_on="k", npartitions=4)
    assert frame.npartitions == 5  # NULL keys and four ranges
    single = await bounded(conn.read_pandas(sql))
    assert dict(frame.dtypes) == dict(single.dtypes)
    computed = frame.compute(scheduler="threads")
    pandas.testing.assert_frame_equal(sorted_frame(computed), sorted_frame(single))


async def test_two_worker_processes_equal_the_single_query(
    conn: fastmssql.Connection, table: str, test_url: str
) -> None:
    distributed = pytest.importorskip("distributed")
    import fastmssql.dask

    sql = f"SELECT id, k, label, amount FROM {table} WHERE id >= @P1"
    single = await bounded(conn.read_pandas(sql, [100]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            frame = fastmssql.dask.read_sql(sql, test_url, [100], partition_on="id", npartitions=4)
            computed = client.compute(frame).result(timeout=120)
            # Each partition ran in one of the two worker processes.
            where = client.run(lambda: __import__("os").getpid())
            assert len(where) == 2
    pandas.testing.assert_frame_equal(sorted_frame(computed), sorted_frame(single))
