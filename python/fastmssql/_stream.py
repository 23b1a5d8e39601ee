"""``conn.stream(sql)``'s return value: awaited it is the ``ResultStream``
(today's form), and ``async for`` reads it directly without the await."""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any


class StreamCall:
    """A ``stream()`` call: ``await`` gives the ``ResultStream``, ``async for`` its batches."""

    __slots__ = ("_call", "_stream")

    def __init__(self, call: Awaitable[Any]) -> None:
        self._call = call
        self._stream: Any = None

    async def _open(self) -> Any:
        if self._stream is None:
            self._stream = await self._call
        return self._stream

    def __await__(self) -> Generator[Any, None, Any]:
        return self._open().__await__()

    def __aiter__(self) -> StreamCall:
        return self

    async def __anext__(self) -> Any:
        return await (await self._open()).__anext__()
