import asyncio
import threading
from collections.abc import Iterator

import pytest

from noisebank.lib.streams import ThreadedStream


class Source:
    """A blocking chunk source that records what happened to it."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.produced = 0
        self.closed = threading.Event()
        self.thread_names: set[str] = set()

    def chunks(self) -> Iterator[bytes]:
        try:
            for i in range(self.n):
                self.thread_names.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise ValueError("broken source")
                self.produced += 1
                yield f"{i},".encode()
        finally:
            self.closed.set()


def test_chunks_arrive_in_order_from_another_thread() -> None:
    source = Source(50)
    released = threading.Event()
    stream = ThreadedStream(source.chunks(), on_close=released.set)

    async def read() -> bytes:
        return b"".join([c async for c in stream])

    assert asyncio.run(read()) == b"".join(f"{i},".encode() for i in range(50))
    assert source.thread_names == {"export-stream"}
    assert source.closed.wait(5) and released.wait(5)


def test_producer_stays_a_few_chunks_ahead() -> None:
    source = Source(1000)
    stream = ThreadedStream(source.chunks(), on_close=lambda: None, ahead=3)

    async def read_two() -> int:
        it = aiter(stream)
        await anext(it)
        await anext(it)
        await asyncio.sleep(0.2)  # let the producer run as far as it can
        ahead = source.produced
        await it.aclose()  # type: ignore[attr-defined]
        return ahead

    assert asyncio.run(read_two()) <= 2 + 3 + 1
    assert source.closed.wait(5)


def test_a_consumer_that_stops_stops_the_producer() -> None:
    source = Source(10**9)
    released = threading.Event()
    stream = ThreadedStream(source.chunks(), on_close=released.set)

    async def read_then_cancel() -> None:
        async def consume() -> None:
            async for _ in stream:
                await asyncio.sleep(0)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()  # what Django does when the client disconnects
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(read_then_cancel())
    assert released.wait(5) and source.closed.is_set()
    assert source.produced < 10**9


def test_a_failing_source_fails_the_stream() -> None:
    source = Source(10, fail_at=4)
    stream = ThreadedStream(source.chunks(), on_close=lambda: None)

    async def read() -> list[bytes]:
        return [c async for c in stream]

    with pytest.raises(ValueError, match="broken source"):
        asyncio.run(read())


def test_a_stream_closed_unread_releases_at_once() -> None:
    source = Source(3)
    released: list[bool] = []
    ThreadedStream(source.chunks(), on_close=lambda: released.append(True)).close()
    assert released == [True]
