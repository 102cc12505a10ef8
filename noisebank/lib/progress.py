"""A progress bar for the terminal that stays quiet when output is not a terminal."""

import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, *, label: str, stream: TextIO, width: int = 30) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.is_tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_draw = 0.0

    def update(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        now = time.monotonic()
        if not self.is_tty or (now - self._last_draw < 0.1 and done < self.total):
            return
        self._last_draw = now
        frac = done / self.total if self.total else 1.0
        filled = int(frac * self.width)
        rate = done / max(now - self.started, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0
        bar = "█" * filled + "░" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} {bar} {frac:6.1%}  {done:,}/{self.total:,}  {rate:,.0f}/s  "
            f"ETA {eta:4.0f} s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.is_tty:
            self.stream.write("\n")
            self.stream.flush()
