"""Every example in examples/ runs to the end against the test server and prints what it says it does."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
TIMEOUT_SECS = 300


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("quickstart.py", "Connected to:"),
        ("dataframes.py", "result set 1:"),
        ("stream_to_parquet.py", "20000 rows in 5 batches of at most 4096"),
        ("transactions.py", "call_proc: {'sum': 5} return status 0"),
        ("polars_query.py", "polars from a query:"),
        ("partitioned_read.py", "partitioned read equals the single query: 50000 rows"),
        ("load_pandas.py", "pandas frame loaded: 200000 rows"),
        ("copy_table.py", "copied 90000 rows"),
        ("dask_read.py", "dask read: 20000 rows in 5 partitions"),
    ],
)
def test_example_runs(script: str, expected: str, test_url: str) -> None:
    env = dict(os.environ, FASTMSSQL_URL=test_url)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], cwd=EXAMPLES, env=env, capture_output=True, text=True,
        timeout=TIMEOUT_SECS,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    assert expected in done.stdout, done.stdout
