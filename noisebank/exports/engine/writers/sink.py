"""A write-only file object that collects what a library writes until the generator drains it.

Libraries that write to a file (zipfile, pyarrow's ParquetWriter) are given one of these; after
each step the writer yields `drain()`, so bytes flow out as they are made and nothing piles up.
It can tell its position but not seek, which tells those libraries to write front to back.
"""


class ChunkSink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        block = bytes(data)
        self.parts.append(block)
        self.position += len(block)
        return len(block)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data
