"""A real SMTP server for the mail tests (aiosmtpd, on 127.0.0.1 in a thread of its own) that
keeps what it accepted, and can be told to refuse or to hold a recipient."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message the server accepted (answered 250 to its data)."""

    to: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def body(self) -> str:
        return self.message.get_content()

    def link_token(self) -> str | None:
        found = re.search(r"#token=([A-Za-z0-9_\-]+)", self.body)
        return found.group(1) if found else None


@dataclass
class Handler:
    """Accepts everything, except: `refuse` maps a recipient to the reply its RCPT gets
    (e.g. "451 4.3.0 try later", "550 5.1.1 no such user"); `refuse_sender`, when set, is the
    reply to every MAIL FROM (the server refuses our sender: no mail gets through); a
    recipient in `hold` makes the server wait at RCPT until `release` is set (a client can
    be killed there)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_sender: str | None = None
    hold: set[str] = field(default_factory=set)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list
    ) -> str:
        if self.refuse_sender is not None:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        if address in self.hold:
            self.holding.set()
            await asyncio.to_thread(self.release.wait)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.received.append(Received(list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]

    async def wait_for(self, address: str, count: int = 1, within: float = 15) -> list[Received]:
        """The messages to `address` once at least `count` arrived (AssertionError after
        `within` seconds)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {address} did not arrive: {self.to(address)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[Handler, str]]:
    """A running SMTP server and its SMTP_URL."""
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        handler.release.set()
        controller.stop()
