"""The cursor over a result of several rows, read from a temporary table filled in the same batch.

(A temporary table lives in its session, so the whole batch goes in one query() call; the SELECT
is the batch's first result set. On the local server this needs its table support.)
"""

from __future__ import annotations

import pyarrow as pa
import pytest

IDS = [1, 2, 3, 4, 5]
NAMES = ["a", "b", None, "d", "e"]
FIVE_ROWS = (
    "CREATE TABLE #five (id int NOT NULL, name nvarchar(20) NULL); "
    "INSERT INTO #five (id, name) VALUES (1, N'a'), (2, N'b'), (3, NULL), (4, N'd'), (5, N'e'); "
    "SELECT id, name FROM #five ORDER BY id; "
    "DROP TABLE #five"
)


@pytest.fixture
async def result(query):
    return await query(FIVE_ROWS)


def ids(rows) -> list[int]:
    return [row["id"] for row in rows]


async def test_rows_and_len(result) -> None:
    assert result.columns == ["id", "name"]
    assert len(result) == 5
    rows = result.rows()
    assert [r.to_tuple() for r in rows] == list(zip(IDS, NAMES))
    assert rows[2] == {"id": 3, "name": None}
    assert rows[4]["name"] == "e" and rows[4][-1] == "e"


async def test_fetchone_walks_every_row_then_none(result) -> None:
    assert [result.fetchone()["id"] for _ in IDS] == IDS
    assert result.fetchone() is None


async def test_fetchmany_takes_the_next_n(result) -> None:
    assert ids(result.fetchmany(2)) == [1, 2]
    assert ids(result.fetchmany(2)) == [3, 4]
    assert ids(result.fetchmany(2)) == [5]
    assert result.fetchmany(2) == []


async def test_fetchall_takes_the_rest(result) -> None:
    assert result.fetchone()["id"] == 1
    assert ids(result.fetchall()) == [2, 3, 4, 5]
    assert result.fetchall() == []
    assert len(result.rows()) == 5


async def test_async_for_continues_the_cursor(result) -> None:
    assert result.fetchone()["id"] == 1
    assert [row["id"] async for row in result] == [2, 3, 4, 5]


async def test_for_goes_over_every_row(result) -> None:
    assert result.fetchone()["id"] == 1
    assert ids(result) == IDS


async def test_arrow_holds_every_row(result) -> None:
    table = pa.table(result)
    assert table.num_rows == 5
    assert table.column("id").to_pylist() == IDS
    assert table.column("name").to_pylist() == NAMES
    assert table.schema.field("id").type == pa.int32()
    assert table.schema.field("name").type == pa.string()
