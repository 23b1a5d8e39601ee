"""Partitioned reads: a query split into range queries over one column.

A plan is plain data (picklable, no connection): the same plan runs on the
pooled connections of one process (``Connection.read_arrow``), on Dask
workers (``fastmssql.dask``), or on any engine that can run one function per
partition (Ray Data, Spark; see the README).

Each range query is ``SELECT * FROM (<sql>) AS t WHERE col >= lo AND col < hi``
with the bounds bound as parameters; the first range has no lower bound and
the last no upper bound, so every non-NULL key falls in exactly one range
whatever the column's precision, and NULL keys get a partition of their own.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

_ALIAS = "fastmssql_t"
_LOWER = "fastmssql_lo"
_UPPER = "fastmssql_hi"


@dataclass(frozen=True)
class Partition:
    """One query of a plan and its parameters (a tuple for ``@P1..``, a dict for ``@name``, or None)."""

    sql: str
    params: tuple[Any, ...] | dict[str, Any] | None = None


@dataclass(frozen=True)
class PartitionPlan:
    """The queries whose results, concatenated in order, are the whole result."""

    partitions: tuple[Partition, ...]

    def __len__(self) -> int:
        return len(self.partitions)


def _quoted(column: str) -> str:
    if not column or any(ord(c) < 32 for c in column):
        raise ValueError(f"partition_on must be a column name, got {column!r}")
    return "[" + column.replace("]", "]]") + "]"


def _derived(sql: str) -> str:
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("the query must be a non-empty str")
    # A line break before the closing parenthesis keeps a trailing -- comment inside.
    return f"(\n{sql.rstrip().rstrip(';')}\n) AS {_ALIAS}"


def _frozen_params(params: Any) -> tuple[Any, ...] | dict[str, Any] | None:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise TypeError(f"params must be a sequence or a dict, got {type(params).__name__}")
    return tuple(params)


def bounds_query(sql: str, column: str) -> str:
    """The query returning the smallest and largest key (columns ``lo``, ``hi``) of ``sql``'s rows."""
    key = f"{_ALIAS}.{_quoted(column)}"
    return f"SELECT MIN({key}) AS lo, MAX({key}) AS hi FROM {_derived(sql)}"


def schema_query(sql: str) -> str:
    """A query with ``sql``'s columns and no rows."""
    return f"SELECT * FROM {_derived(sql)} WHERE 1 = 0"


def _split(lo: Any, hi: Any, count: int) -> list[Any]:
    """Up to ``count - 1`` increasing inner bounds between ``lo`` and ``hi``, of their type."""
    if isinstance(lo, bool) or type(lo) is not type(hi):
        raise TypeError(f"cannot partition on a key of type {type(lo).__name__}")
    if isinstance(lo, int):
        # Rounded up, so two neighbouring keys still make two ranges.
        span = hi - lo
        cuts = [lo - (-span * i // count) for i in range(1, count)]
    elif isinstance(lo, Decimal):
        # Bounds keep the key's scale: a comparison never meets more digits than the column has.
        exponent = min(lo.as_tuple().exponent, hi.as_tuple().exponent)  # type: ignore[type-var]
        quantum = Decimal(1).scaleb(exponent)
        span = hi - lo
        cuts = [(lo + span * i / count).quantize(quantum, rounding=ROUND_CEILING) for i in range(1, count)]
    elif isinstance(lo, float):
        cuts = [lo + (hi - lo) * i / count for i in range(1, count)]
    elif isinstance(lo, _dt.datetime):
        span = hi - lo
        cuts = [lo + span * i // count for i in range(1, count)]
    elif isinstance(lo, _dt.date):
        days = (hi - lo).days
        cuts = [lo + _dt.timedelta(days=days * i // count) for i in range(1, count)]
    elif isinstance(lo, _dt.time):
        if lo.tzinfo is not None:
            raise TypeError("cannot partition on a time with a time zone")
        micros = [(t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000 + t.microsecond for t in (lo, hi)]
        span = micros[1] - micros[0]
        cuts = []
        for i in range(1, count):
            seconds, micro = divmod(micros[0] + span * i // count, 1_000_000)
            cuts.append(_dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro))
    else:
        raise TypeError(
            f"cannot partition on a key of type {type(lo).__name__}: partition_on needs an integer, decimal, "
            "float, date, time or datetime column"
        )
    inner: list[Any] = []
    for cut in cuts:
        if lo < cut <= hi and (not inner or cut > inner[-1]):
            inner.append(cut)
    return inner


def _with_bounds(params: tuple[Any, ...] | dict[str, Any] | None, bounds: list[Any]) -> tuple[list[str], Any]:
    """Placeholders for ``bounds`` after the query's own parameters, and all the parameters."""
    if isinstance(params, dict):
        names = [_LOWER, _UPPER][: len(bounds)]
        taken = {name.lstrip("@").lower() for name in params}
        if any(name in taken for name in names):
            raise ValueError(f"the parameter names {names} are used by partitioned reads")
        return [f"@{name}" for name in names], {**params, **dict(zip(names, bounds))}
    own = params or ()
    return [f"@P{len(own) + i + 1}" for i in range(len(bounds))], (*own, *bounds)


def range_plan(sql: str, params: Any, column: str, lo: Any, hi: Any, count: int) -> PartitionPlan:
    """At most ``count`` range queries of ``sql`` on ``column`` between ``lo`` and ``hi`` (the first and
    last open-ended) after one for NULL keys; ``lo``/``hi`` None (no keys) gives ``sql`` alone."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"partitions must be a positive int, got {count!r}")
    base = f"SELECT * FROM {_derived(sql)}"
    key = f"{_ALIAS}.{_quoted(column)}"
    params = _frozen_params(params)
    if lo is None or hi is None:
        return PartitionPlan((Partition(sql, params),))
    if hi < lo:
        raise ValueError(f"partition_range must be (low, high) with low <= high, got ({lo!r}, {hi!r})")
    inner = _split(lo, hi, count)
    partitions = [Partition(f"{base} WHERE {key} IS NULL", params)]
    edges: list[Any] = [None, *inner, None]
    for low, high in zip(edges, edges[1:]):
        bounds = [b for b in (low, high) if b is not None]
        names, all_params = _with_bounds(params, bounds)
        conditions = []
        if low is not None:
            conditions.append(f"{key} >= {names.pop(0)}")
        if high is not None:
            conditions.append(f"{key} < {names.pop(0)}")
        where = " AND ".join(conditions) if conditions else f"{key} IS NOT NULL"
        partitions.append(Partition(f"{base} WHERE {where}", all_params))
    return PartitionPlan(tuple(partitions))


def explicit_plan(queries: Sequence[str], params: Any = None) -> PartitionPlan:
    """A plan of the given queries, each run with ``params``."""
    if isinstance(queries, str) or not queries:
        raise ValueError("expected a non-empty list of queries")
    frozen = _frozen_params(params)
    for query in queries:
        _derived(query)
    return PartitionPlan(tuple(Partition(query, frozen) for query in queries))
