"""Running a batch through a DB-API connection of any of the independent clients."""

from __future__ import annotations

from typing import Any


def execute(conn: Any, sql: str) -> None:
    """Runs `sql`, reading no results."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def result_sets(conn: Any, sql: str) -> list[list[tuple[Any, ...]]]:
    """The rows of every result set of `sql` that has columns, in order."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        sets = []
        while True:
            if cursor.description is not None:
                sets.append([tuple(row) for row in cursor.fetchall()])
            if not cursor.nextset():
                return sets
    finally:
        cursor.close()


def rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    """The rows of the one result set of `sql`."""
    sets = result_sets(conn, sql)
    assert len(sets) == 1, sets
    return sets[0]
