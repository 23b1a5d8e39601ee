"""Issue 4: cancelling a long result. python-tds reads rows as they are fetched, so `cursor.cancel()`
after the first row of a 50,000-row result sends the Attention while the result is still being
received; the server ends the response with DONE_ATTN (stopping the result if it is still sending it,
as tests/tds_server/tests/protocol_replay.rs checks byte by byte) and the session answers the next query."""

from __future__ import annotations

import uuid

from .clients import ADAPTERS

ROWS = 50_000
ROWS_PER_INSERT = 1000


def test_pytds_cancel_during_a_long_result_leaves_the_session_usable(local_server) -> None:
    conn = ADAPTERS["pytds"].connect(local_server, "off")
    table = f"cancel_{uuid.uuid4().hex[:12]}"
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, label nvarchar(40))")
        for start in range(1, ROWS + 1, ROWS_PER_INSERT):
            values = ",".join(f"({i}, N'label of row {i}')" for i in range(start, start + ROWS_PER_INSERT))
            cur.execute(f"INSERT INTO {table} VALUES {values}")
        cur.execute(f"SELECT id, label FROM {table}")
        assert cur.fetchone() is not None
        cur.cancel()
        cur.execute(f"SELECT count(*) AS n FROM {table}")
        assert cur.fetchall() == [(ROWS,)]
        cur.execute(f"DROP TABLE {table}")
    finally:
        conn.close()
