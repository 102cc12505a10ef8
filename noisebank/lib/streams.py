"""Hand a blocking iterator of bytes to asyncio: it runs in a thread of its own, ahead of the
consumer by at most a few chunks.

Django under ASGI reads a synchronous streaming iterator into a list before sending a byte, so a
large download would sit in memory and its first byte would wait for the last. This runs the
iterator (database reads, formatting) in a dedicated thread while the event loop sends what is
ready: the two overlap, memory holds at most `ahead` chunks, and a consumer that stops (a client
that disconnects) stops the producer at its next chunk, whose iterator is then closed in the
producer's thread (so a database cursor is closed by the thread that used it).
"""

import asyncio
import concurrent.futures
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator

logger = logging.getLogger(__name__)

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadedStream:
    """An async iterable over `chunks`, produced in a thread; `close()` also releases an unread
    stream (it calls `on_close`, e.g. to end a database snapshot that was never read)."""

    def __init__(
        self, chunks: Iterator[bytes], *, on_close: Callable[[], None], ahead: int = 4
    ) -> None:
        self._chunks = chunks
        self._on_close = on_close
        self._ahead = ahead
        self._stop = threading.Event()
        self._started = False
        # Safety net: a stream dropped without being read or closed still frees its resources.
        self._finalizer = weakref.finalize(self, on_close)

    def close(self) -> None:
        """Stop producing; release everything once the producer (if any) has let go."""
        self._stop.set()
        if not self._started:
            self._finalizer()

    def _produce(self, loop: asyncio.AbstractEventLoop, queue: "asyncio.Queue[object]") -> None:
        def put(item: object) -> bool:
            try:
                future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            except RuntimeError:  # the event loop is gone
                return False
            while True:
                try:
                    future.result(timeout=0.25)
                    return True
                except concurrent.futures.TimeoutError:
                    if self._stop.is_set():
                        future.cancel()
                        return False
                except concurrent.futures.CancelledError:
                    return False

        try:
            for chunk in self._chunks:
                if self._stop.is_set() or not put(chunk):
                    break
            else:
                put(_DONE)
        except BaseException as error:
            logger.exception("stream failed while producing")
            put(_Failed(error))
        finally:
            close = getattr(self._chunks, "close", None)
            try:
                if close is not None:
                    close()
            finally:
                self._finalizer()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue(self._ahead)
        self._started = True
        thread = threading.Thread(
            target=self._produce, args=(loop, queue), name="export-stream", daemon=True
        )
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                assert isinstance(item, bytes | bytearray | memoryview)
                yield bytes(item)
        finally:
            # Normal end, failure or a cancelled request (client gone): the producer stops at
            # its next chunk and closes the iterator in its own thread.
            self._stop.set()
