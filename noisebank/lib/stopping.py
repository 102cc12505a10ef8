"""How a `noisebank worker` process stops on SIGTERM or SIGINT, at any moment of its life.

Django-free, so the CLI installs it before importing anything else. The process goes through
three stages, and a stop request means something different in each:

- start-up, before the worker has announced itself (no heartbeat row, no task claimed): there
  is nothing to hand back, so the process exits 0 at once (`os._exit`);
- running (heartbeat written, tasks claimed or about to be): the request is noted; code that
  may be interrupted (a task running in the main thread, the rest of the start-up) gets
  WorkerStopped raised at once; the idle loop and the threads look at `requested()` often;
- saying goodbye (handing tasks back, removing the heartbeat): noted only, never interrupted.

A threading.Event is no use here: setting one inside a signal handler can deadlock on the lock
the interrupted main thread holds. A flag and short sleeps are enough.
"""

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class WorkerStopped(BaseException):
    """The worker was told to stop. A BaseException, so a task's `except Exception` cannot
    swallow it; the worker hands the interrupted task back to the queue."""


_EXIT_AT_ONCE, _RAISE, _NOTE = "exit", "raise", "note"
_stage = _EXIT_AT_ONCE
_requested = False
_main = threading.main_thread()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _requested, _stage
    _requested = True
    if _stage == _EXIT_AT_ONCE:
        os._exit(0)
    if _stage == _RAISE:
        _stage = _NOTE  # a second signal must not interrupt the goodbye
        raise WorkerStopped(signal.Signals(signum).name)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def install() -> None:
    """Catch SIGTERM and SIGINT from now on; until `announced()`, either exits 0 at once.

    Before this runs (the interpreter starting, ~0.1 s) a signal meets the default action and
    ends the process by it. A launcher that starts the worker with the two signals blocked
    (`blocked()`, as `noisebank demo` does) closes that window: a signal sent meanwhile waits,
    and is delivered to the handler here."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def blocked() -> Iterator[None]:
    """Start a worker process within this block: it inherits SIGTERM and SIGINT blocked until
    its handlers are installed. (The caller's own signals wait until the block ends.)"""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def announced() -> None:
    """The worker now has state to clean up: from here a stop raises WorkerStopped in the main
    thread (until `shielded()`), so the code around it can hand back and say goodbye."""
    global _stage
    _stage = _RAISE
    if _requested:
        raise WorkerStopped("stop requested during start-up")


def requested() -> bool:
    return _requested


def check() -> None:
    """For loops in other threads (which a signal cannot interrupt): stop here if told to."""
    if _requested:
        raise WorkerStopped("stop requested")


def wait(seconds: float) -> bool:
    """Sleep up to `seconds`, waking early on a stop request; whether one came."""
    deadline = time.monotonic() + seconds
    while not _requested:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.1))
    return True


@contextmanager
def shielded() -> Iterator[None]:
    """Within the block a stop request is only noted (the main thread is not interrupted)."""
    global _stage
    before = _stage
    if threading.current_thread() is _main and _stage == _RAISE:
        _stage = _NOTE
    try:
        yield
    finally:
        if threading.current_thread() is _main and before == _RAISE and _stage == _NOTE:
            _stage = _RAISE
        check()


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block (in the main thread) a stop request raises WorkerStopped at once."""
    global _stage
    check()
    if threading.current_thread() is not _main:
        yield
        return
    before = _stage
    _stage = _RAISE
    try:
        yield
    finally:
        if _stage == _RAISE:
            _stage = before


def goodbye() -> None:
    """From now on a stop request is only noted: the worker is already stopping."""
    global _stage
    _stage = _NOTE


class SignalFlag:
    """What threading.Event offers a signal handler, without its lock: `set()` from a handler,
    `is_set()` and `wait(seconds)` (short sleeps) elsewhere. (Event.set() in a handler can
    deadlock on the lock of an Event.wait() it interrupted.)"""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self._set and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        return self._set
