"""fastmssql 0.7.7's README examples run unchanged (connection string aside) on this package."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import fastmssql
from fastmssql import Connection

from .support import bounded

EXAMPLES = Path(__file__).parent / "compat_0_7_7"
CONNECTION_LITERAL = re.compile(r'"Server=[^"]*"')

TABLES = {
    "users": "id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(100), email nvarchar(100), age int, "
    "active bit NOT NULL DEFAULT 1, last_login datetime NULL",
    "user_logs": "id int IDENTITY(1,1) PRIMARY KEY, action nvarchar(50), user_name nvarchar(100)",
    "orders": "id int IDENTITY(1,1) PRIMARY KEY, customer_id int, total decimal(10,2)",
    "order_items": "order_id int, product_id int, qty int",
    "accounts": "id int PRIMARY KEY, balance decimal(10,2)",
}


@pytest.fixture
async def example_tables(conn: Connection) -> AsyncIterator[None]:
    existing = await bounded(conn.query("SELECT name FROM sys.tables"))
    clash = set(TABLES) & {row["name"] for row in existing.rows()}
    if clash:
        pytest.skip(f"the test database already has tables the examples use: {sorted(clash)}")
    for name, columns in TABLES.items():
        await bounded(conn.execute(f"CREATE TABLE {name} ({columns})"))
    await bounded(conn.execute("INSERT INTO accounts VALUES (1, 100), (2, 0)"))
    try:
        yield
    finally:
        for name in TABLES:
            await bounded(conn.execute(f"DROP TABLE {name}"))


def run_example(number: int, url: str) -> str:
    """Runs readme_<number>.py with its connection string replaced; returns what it printed."""
    source = (EXAMPLES / f"readme_{number}.py").read_text()
    patched, replaced = CONNECTION_LITERAL.subn(repr(url).replace("'", '"'), source)
    assert replaced == 1, f"readme_{number}.py: expected one connection string literal"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(patched, f"readme_{number}.py", "exec"), {"__name__": "__main__"})
    return printed.getvalue()


async def example(number: int, url: str) -> str:
    # Each example calls asyncio.run() itself: give it a thread without a running loop.
    return await bounded(asyncio.to_thread(run_example, number, url), timeout=60)


@pytest.mark.parametrize("number", [1, 2, 3])
async def test_connection_examples(number: int, test_url: str) -> None:
    printed = await example(number, test_url)
    assert printed.strip(), "the example printed nothing"
    if number == 2:
        assert printed.splitlines()[0] == "42"


async def test_query_and_execute_example(test_url: str, conn: Connection, example_tables: None) -> None:
    await bounded(conn.execute("INSERT INTO users (name, email, active) VALUES ('Ann', 'ann@example.com', 1)"))
    printed = await example(9, test_url)
    assert printed.splitlines() == ["User 1: Ann (ann@example.com)", "Inserted 1 row(s)", "Updated 0 row(s)"]


async def test_fetch_and_batch_example(test_url: str, conn: Connection, example_tables: None) -> None:
    printed = await example(10, test_url)
    assert "1. fetchone: Oldest user is David Lee (Age: 35)" in printed
    assert "3. fetchall: Retrieved all 2 remaining users: ['Alice Johnson', 'Carol Davis']." in printed
    assert "Updated 1 users, inserted 1 logs" in printed
    logs = await bounded(conn.query("SELECT action, user_name FROM user_logs"))
    assert logs.rows() == [{"action": "login", "user_name": "Alice Johnson"}]


async def test_transaction_examples(test_url: str, conn: Connection, example_tables: None) -> None:
    await example(14, test_url)
    orders = await bounded(conn.query("SELECT customer_id, total FROM orders"))
    assert [tuple(row.values()) for row in orders.rows()] == [(123, fastmssql_decimal("99.99"))]
    await example(15, test_url)
    accounts = await bounded(conn.query("SELECT id, balance FROM accounts ORDER BY id"))
    assert [tuple(row.values()) for row in accounts.rows()] == [(1, fastmssql_decimal("50")), (2, fastmssql_decimal("50"))]


def fastmssql_decimal(text: str):  # noqa: ANN201 - a Decimal
    from decimal import Decimal

    return Decimal(text)


def test_0_7_7_names_are_aliases_of_ours() -> None:
    assert fastmssql.SqlError is fastmssql.DatabaseError
    assert fastmssql.QueryStream is fastmssql.QueryResult
    assert issubclass(fastmssql.ConversionError, fastmssql.Error)
    assert fastmssql.version() == fastmssql.__version__
    assert fastmssql.EncryptionLevel.Disabled == fastmssql.EncryptionLevel.Off
    assert fastmssql.PoolConfig.adaptive(20).max_size == 29
    assert fastmssql.TypedNull.INT.sql_type == "int" and fastmssql.TypedNull.INT.value is None
