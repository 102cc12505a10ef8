"""A real SMTP server for tests (aiosmtpd, in a thread of the test process) that keeps what it
receives: Django's SMTP backend, or a `noisebank serve` process, sends to it like to any other."""

import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any


class Inbox:
    """An aiosmtpd handler keeping every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first match of `pattern` in a message to `to` (waiting for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if to in str(message["To"]):
                    found = re.search(pattern, message.get_content())
                    if found:
                        return found
            time.sleep(0.1)
        raise AssertionError(f"no e-mail to {to} matching {pattern!r} within {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """(inbox, port) of a running SMTP server on 127.0.0.1, stopped afterwards."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
