"""The delivery worker: sends the outbox's mail through SMTP, at least once, with retries and
exponential back-off; without SMTP_URL (development) it prints what waits instead.

A mail is claimed for MAIL_CLAIM_SECONDS, sent, then marked sent. A worker killed before the
server's 250 leaves the mail unsent: its claim runs out and it is sent again. A worker killed
between the 250 and its commit sends it twice, both times with the Message-ID fixed when the
mail was written, so the recipient's software can tell the copies for one."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from tortoise.transactions import in_transaction

from domain.accounts import email_problem
from domain.notifications import retry_delay_s
from persistence import outbox
from persistence.models import Delivery
from resolvers.account_mail import answer_reset_request
from resolvers.context import Clock
from settings import Settings

log = logging.getLogger("mail")

BATCH = 20


class PermanentFailure(Exception):
    """The server refused this mail for good (5xx to its recipient or its data): retrying
    cannot help."""


class ServerUnavailable(Exception):
    """The server takes no mail now: it cannot be reached, or it refuses our greeting, our
    login or our sender. Not the fault of any one mail: none is given up for it."""


class Sender(Protocol):
    async def send(self, message: EmailMessage, to_address: str) -> None:
        """Hand the message to the server; returns once it answered 250 to the data."""

    async def finish(self) -> None:
        """The round is over: let go of what `send` kept open."""


@dataclass(frozen=True)
class SmtpServer:
    """Where SMTP_URL points: smtp://[user:password@]host[:port] (STARTTLS when the server
    offers it) or smtps://... (TLS from the first byte)."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit_tls,
        )


class SmtpSender:
    """Sends through one SMTP server with aiosmtplib: one connection for a round's mail
    (opened again after any failure), one TLS context for the process (making one reads the
    system's certificates: tens of milliseconds)."""

    def __init__(self, server: SmtpServer, timeout_s: float) -> None:
        self.server = server
        self.timeout_s = timeout_s
        self._tls = ssl.create_default_context()
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            # Upgrade with STARTTLS when the server offers it (None: only then).
            start_tls=None if not server.implicit_tls else False,
            tls_context=self._tls,
            timeout=self.timeout_s,
        )
        await client.connect()
        self._client = client
        return client

    async def send(self, message: EmailMessage, to_address: str) -> None:
        try:
            # Connecting greets, upgrades to TLS and logs in: a refusal there is the server's.
            client = await self._connected()
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._reset()
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            await client.send_message(message, recipients=[to_address])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._reset()
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(str(exc)) from exc
            raise
        except aiosmtplib.SMTPSenderRefused as exc:  # MAIL FROM is ours: every mail alike
            await self._reset()
            raise ServerUnavailable(f"{exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise
        except BaseException:
            await self._reset()
            raise

    async def _reset(self) -> None:
        """After a failure the session's state is unknown: the next mail starts afresh."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def finish(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


# Line breaks and other control characters: in a header they would end it and start another
# (a Bcc, a second recipient); the email package refuses them, which would leave the mail
# unsendable. A subject carries a reference number someone typed.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """Header text on one line: each run of control characters becomes one space."""
    return _CONTROLS.sub(" ", text).strip()


def message_of(delivery: Delivery, settings: Settings) -> EmailMessage:
    """The mail as sent: plain text, its fixed Message-ID, dated when it was written."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = delivery.to_address
    message["Subject"] = one_line(delivery.subject)
    message["Message-ID"] = delivery.message_id
    message["Date"] = format_datetime(delivery.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(delivery.body)
    return message


class DeliveryWorker:
    """One per process: claims due mail, sends it, records the outcome; woken at once after a
    commit in this process, otherwise every MAIL_POLL_SECONDS."""

    def __init__(self, settings: Settings, clock: Clock, sender: Sender | None) -> None:
        self.settings = settings
        self.clock = clock
        self.sender = sender
        self._wake = asyncio.Event()
        self._printed_up_to = 0
        self._server_failures = 0  # rounds in a row the server took no mail

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            # Cleared before the round: a wake-up during it makes the wait below return at
            # once, so a commit is never left for the next poll.
            self._wake.clear()
            try:
                busy = await self.run_once()
            except Exception:  # the database may be away for a moment: try again soon
                log.exception("the delivery worker's round failed")
                busy = False
            if busy:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.mail_poll_seconds)
            except TimeoutError:
                pass

    async def run_once(self) -> bool:
        """One round; True when it found work (so another round follows at once)."""
        given_up = await outbox.give_up_ran_out(self.clock.now())
        if given_up:
            log.warning("%d mails not sent: what they were about ran out first", given_up)
        answered = await self._answer_reset_requests()
        if self.sender is None:
            return await self._print_waiting() or answered
        settings = self.settings
        claimed = await outbox.claim(self.clock.now(), settings.mail_claim_seconds, BATCH)
        try:
            for index, delivery in enumerate(claimed):
                # Sending one mail may take minutes with a slow server: the batch's claim may
                # have run out and another worker taken the rest. Each mail is held anew.
                until = self.clock.now() + timedelta(seconds=settings.mail_claim_seconds)
                if not await outbox.hold_claim(delivery, until):
                    log.warning(
                        "mail %s: its claim ran out and another worker took it",
                        delivery.message_id,
                    )
                    continue
                try:
                    await self._deliver(delivery)
                except ServerUnavailable as exc:
                    await self._server_down(claimed[index:], exc)
                    break
                except Exception:  # its outcome not recorded: the rest of the round goes on
                    log.exception(
                        "mail %s: the outcome of its attempt could not be recorded; it is "
                        "tried again once its claim runs out",
                        delivery.message_id,
                    )
        finally:
            await self.sender.finish()
        return bool(claimed) or answered

    async def _answer_reset_requests(self) -> bool:
        """Write the reset mail of each queued request whose address an account has (in the
        outbox, sent by this round or the next); True when one was taken. Each in its own
        transaction: a worker killed midway leaves the request queued, and of two workers
        only one takes it. One that fails stays queued for a later round, and the others
        go on."""
        taken = False
        for request in await outbox.reset_requests(BATCH):
            try:
                async with in_transaction():
                    done = await answer_reset_request(self.settings, request, self.clock.now())
            except Exception:
                log.exception("a password-reset request could not be answered")
                continue
            taken = taken or done
        return taken

    async def _deliver(self, delivery: Delivery) -> None:
        assert self.sender is not None
        settings = self.settings
        try:
            if delivery.send_before is not None and self.clock.now() >= delivery.send_before:
                # Claimed in time but reached late (a slow server, a long round).
                raise PermanentFailure(outbox.RAN_OUT)
            if email_problem(delivery.to_address) is not None:
                # Stored before addresses were checked as plain (`x<someone@else>`): sent,
                # a mail program would read another recipient out of it.
                raise PermanentFailure("not a plain address")
            await self.sender.send(message_of(delivery, settings), delivery.to_address)
        except PermanentFailure as exc:
            log.warning("mail %s given up for good: %s", delivery.message_id, exc)
            await outbox.mark_failed(delivery, self.clock.now(), str(exc), None)
            return
        except ServerUnavailable:
            raise
        except Exception as exc:  # a 4xx, a connection lost midway: this mail again later
            await self._failed(delivery, exc)
            return
        self._server_failures = 0
        await outbox.mark_sent(delivery, self.clock.now())
        log.info("mail %s sent (%s)", delivery.message_id, delivery.kind)

    async def _server_down(self, untried: list[Delivery], exc: ServerUnavailable) -> None:
        """The round stops: its mail not yet tried goes back without the attempt counted, due
        again after a back-off that grows while the server stays down (a wrong password or
        a server in maintenance must not use up every mail's attempts and drop the queue)."""
        settings = self.settings
        self._server_failures += 1
        delay = retry_delay_s(
            self._server_failures, settings.mail_retry_base_seconds, settings.mail_retry_cap_seconds
        )
        log.error(
            "the mail server takes no mail (%s): %d mails wait, tried again in %d s",
            exc,
            len(untried),
            delay,
        )
        retry_at = self.clock.now() + timedelta(seconds=delay)
        await outbox.put_back(untried, retry_at, str(exc))

    async def _failed(self, delivery: Delivery, exc: Exception) -> None:
        settings = self.settings
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"
        if delivery.attempts >= settings.mail_max_attempts:
            log.error(
                "mail %s given up after %d attempts: %s",
                delivery.message_id,
                delivery.attempts,
                error,
            )
            await outbox.mark_failed(delivery, now, error, None)
            return
        delay = retry_delay_s(
            delivery.attempts, settings.mail_retry_base_seconds, settings.mail_retry_cap_seconds
        )
        log.warning(
            "mail %s not sent (attempt %d), again in %d s: %s",
            delivery.message_id,
            delivery.attempts,
            delay,
            error,
        )
        await outbox.mark_failed(delivery, now, error, now + timedelta(seconds=delay))

    async def _print_waiting(self) -> bool:
        """Development without SMTP_URL: log each mail that waits in the outbox, once per
        process (it stays there: set SMTP_URL and it is sent)."""
        rows = await outbox.waiting(self._printed_up_to, BATCH)
        for row in rows:
            log.info(
                "mail kept in the outbox (no SMTP_URL)\nTo: %s\nSubject: %s\nMessage-ID: %s\n\n%s",
                row.to_address,
                row.subject,
                row.message_id,
                row.body,
            )
            self._printed_up_to = row.id
        return bool(rows)


def sender_for(settings: Settings) -> Sender | None:
    """The SMTP sender SMTP_URL names, or None (print instead)."""
    if not settings.smtp_url:
        return None
    return SmtpSender(SmtpServer.from_url(settings.smtp_url), settings.mail_timeout_seconds)
