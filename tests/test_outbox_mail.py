"""The mail outbox through a real SMTP server (aiosmtpd on 127.0.0.1): mail is sent and marked
sent, retried with exponential back-off, never lost by a worker killed with SIGKILL, sent
again after a fault between the server's 250 and our commit with the same Message-ID, never
sent twice by two workers; without SMTP_URL it stays in the outbox and is printed; the server
process sends within seconds; production refuses to start without SMTP_URL."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import settings as settings_module
from persistence import outbox
from persistence.models import Delivery
from resolvers.context import Clock, FixedClock
from resolvers.mail_delivery import DeliveryWorker, sender_for
from settings import ConfigurationError
from tests.conftest import sign_up, unique_email
from tests.helpers import ROOT, free_port, server_command, server_environment, wait_ready
from tests.mail_server import smtp_server


def worker_for(test_settings: Any, url: str | None, clock: Clock | None = None, **changes: Any):
    settings = test_settings.with_(smtp_url=url, **changes)
    return DeliveryWorker(settings, clock or Clock(), sender_for(settings))


async def verification_mail_of(email: str) -> Delivery:
    """The outbox row of the verification mail sign-up wrote for `email`."""
    return await Delivery.get(to_address=email, kind="EMAIL_VERIFICATION")


async def drain(worker: DeliveryWorker, done: Any, rounds: int = 200) -> None:
    """Run the worker's rounds until `done()` (an awaitable predicate) holds."""
    for _ in range(rounds):
        if await done():
            return
        if not await worker.run_once():
            await asyncio.sleep(0.02)
    raise AssertionError("the worker did not get there")


def sent(delivery_id: int):
    async def check() -> bool:
        row = await outbox.by_id(delivery_id)
        return row is not None and (row.sent_at is not None or row.failed_at is not None)

    return check


async def test_a_mail_is_sent_through_smtp_and_marked_sent(client, test_settings):
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    assert row.sent_at is None and "#token=" in row.body
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url)
        await drain(worker, sent(row.id))
        (got,) = await server.wait_for(email)
    assert got.message_id == row.message_id
    assert got.message["From"] == test_settings.mail_from
    assert got.message["Subject"] == "Confirm your e-mail address"
    assert got.link_token() is not None
    after = await outbox.by_id(row.id)
    assert after.sent_at is not None and after.attempts == 1 and after.last_error is None
    # The one-time link does not stay in the database once it went out.
    assert after.body == ""


async def test_a_temporary_refusal_is_retried_with_exponential_back_off(client, test_settings):
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    start = datetime.now(UTC) + timedelta(seconds=1)
    clock = FixedClock(start)
    with smtp_server() as (server, url):
        server.refuse[email] = "451 4.3.0 try again later"
        worker = worker_for(
            test_settings, url, clock, mail_retry_base_seconds=30, mail_retry_cap_seconds=100
        )
        waits = []
        for attempt in (1, 2, 3, 4):
            await drain(worker, failed_attempts(row.id, attempt))
            again = await outbox.by_id(row.id)
            assert again.sent_at is None and again.failed_at is None
            assert "451" in again.last_error
            waits.append((again.next_attempt_at - clock.now()).total_seconds())
            # Not before its time: a round now leaves it alone.
            await worker.run_once()
            assert (await outbox.by_id(row.id)).attempts == attempt
            clock.at = again.next_attempt_at
        assert waits == [30, 60, 100, 100]  # base, 2 base, then the cap
        del server.refuse[email]
        await drain(worker, sent(row.id))
        (got,) = await server.wait_for(email)
    final = await outbox.by_id(row.id)
    assert final.sent_at is not None and final.attempts == 5
    assert got.message_id == row.message_id


def failed_attempts(delivery_id: int, count: int):
    async def check() -> bool:
        row = await outbox.by_id(delivery_id)
        return row.attempts >= count and row.claimed_until is None

    return check


async def test_the_last_attempt_gives_up_and_keeps_the_error(client, test_settings):
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    clock = FixedClock(datetime.now(UTC) + timedelta(seconds=1))
    with smtp_server() as (server, url):
        server.refuse[email] = "421 4.7.0 closing"
        worker = worker_for(test_settings, url, clock, mail_max_attempts=2)
        await drain(worker, failed_attempts(row.id, 1))
        clock.at = (await outbox.by_id(row.id)).next_attempt_at
        await drain(worker, sent(row.id))
    given_up = await outbox.by_id(row.id)
    assert given_up.failed_at is not None and given_up.sent_at is None
    assert given_up.attempts == 2 and "421" in given_up.last_error


async def test_a_permanent_refusal_is_given_up_at_once(client, test_settings):
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    with smtp_server() as (server, url):
        server.refuse[email] = "550 5.1.1 no such mailbox"
        worker = worker_for(test_settings, url)
        await drain(worker, sent(row.id))
        assert server.to(email) == []
    refused = await outbox.by_id(row.id)
    assert refused.failed_at is not None and refused.attempts == 1
    assert "550" in refused.last_error


async def test_a_server_taking_no_mail_drops_none_and_sends_it_all_once_it_does(
    client, test_settings
):
    """The server refuses our sender (a relay's account locked, say: every mail alike). That
    is no mail's fault: the round stops, nothing is given up however long it lasts, no
    attempt is used up, and the server retried after a growing back-off; once it takes mail
    again, the mail goes out."""
    clock = FixedClock(datetime.now(UTC) + timedelta(seconds=1))
    with smtp_server() as (server, url):
        worker = worker_for(
            test_settings,
            url,
            clock,
            mail_max_attempts=2,
            mail_retry_base_seconds=30,
            mail_retry_cap_seconds=100,
        )
        # Earlier tests' mail goes first, so that a round claims exactly these two.
        for _ in range(500):
            if not await worker.run_once():
                break
        emails = [unique_email() for _ in range(2)]
        for email in emails:
            await sign_up(client, email)
        rows = [await verification_mail_of(email) for email in emails]
        server.refuse_sender = "550 5.7.1 sender not allowed"
        waits = []
        for _ in range(4):  # twice the attempts a mail has: none is used up
            await worker.run_once()
            for row in rows:
                kept = await outbox.by_id(row.id)
                assert kept.failed_at is None and kept.sent_at is None, kept.last_error
                assert kept.attempts == 0 and kept.claimed_until is None
                assert "550" in kept.last_error
            due = (await outbox.by_id(rows[0].id)).next_attempt_at
            waits.append((due - clock.now()).total_seconds())
            clock.at = due
        assert waits == [30, 60, 100, 100]
        assert all(server.to(email) == [] for email in emails)

        server.refuse_sender = None
        for row in rows:
            await drain(worker, sent(row.id))
        for email, row in zip(emails, rows, strict=True):
            (got,) = await server.wait_for(email)
            assert got.message_id == row.message_id
            assert (await outbox.by_id(row.id)).sent_at is not None


async def test_a_fault_after_the_250_resends_with_the_same_message_id(
    client, test_settings, monkeypatch
):
    """The server accepted the mail (250) but our commit of "sent" failed: the claim runs
    out and the mail goes again, with the Message-ID it had."""
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    clock = FixedClock(datetime.now(UTC) + timedelta(seconds=1))
    real_mark_sent = outbox.mark_sent
    faults = []

    async def fail_once(delivery: Delivery, now: datetime) -> None:
        if delivery.id == row.id and not faults:
            faults.append(delivery.id)
            raise ConnectionResetError("the database went away before the commit")
        await real_mark_sent(delivery, now)

    monkeypatch.setattr(outbox, "mark_sent", fail_once)
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url, clock, mail_claim_seconds=60)
        # The fault is logged and the round goes on (the rest of its mail is not held up).
        for _ in range(200):
            await worker.run_once()
            if faults:
                break
        assert faults == [row.id]
        (first,) = await server.wait_for(email)
        held = await outbox.by_id(row.id)
        assert held.sent_at is None and held.claimed_until is not None
        # While the claim holds, nobody sends it again.
        await worker.run_once()
        assert len(server.to(email)) == 1
        clock.at = held.claimed_until + timedelta(seconds=1)
        await drain(worker, sent(row.id))
        copies = await server.wait_for(email, 2)
    assert len(copies) == 2
    assert copies[0].message_id == copies[1].message_id == row.message_id
    assert copies[0].body == copies[1].body == first.body
    done = await outbox.by_id(row.id)
    assert done.sent_at is not None and done.attempts == 2


async def test_two_workers_never_send_one_mail_twice(client, test_settings):
    emails = [unique_email() for _ in range(12)]
    for email in emails:
        await sign_up(client, email)
    rows = [await verification_mail_of(e) for e in emails]
    with smtp_server() as (server, url):
        workers = [worker_for(test_settings, url) for _ in range(2)]

        async def all_sent() -> bool:
            return all([(await outbox.by_id(r.id)).sent_at is not None for r in rows])

        await asyncio.gather(*(drain(w, all_sent) for w in workers))
        for email, row in zip(emails, rows, strict=True):
            (got,) = server.to(email)
            assert got.message_id == row.message_id


async def test_a_mail_another_worker_claimed_after_the_claim_ran_out_is_not_sent_again(
    client, test_settings
):
    """A worker's batch outlives its claim (the server held its first mail at RCPT for longer
    than MAIL_CLAIM_SECONDS) and a second worker claims and sends the rest: the first one,
    when it gets on, does not send that rest again."""
    clock = FixedClock(datetime.now(UTC) + timedelta(seconds=1))
    with smtp_server() as (server, url):
        first = worker_for(test_settings, url, clock, mail_claim_seconds=60)
        for _ in range(500):  # earlier tests' mail first, so that a batch is these two
            if not await first.run_once():
                break
        slow, other = unique_email(), unique_email()
        for email in (slow, other):
            await sign_up(client, email)
        server.hold.add(slow)
        round_ = asyncio.create_task(first.run_once())
        assert await asyncio.to_thread(server.holding.wait, 15)
        server.hold.discard(slow)
        # The first worker's claim has run out: a second worker takes the batch and sends it.
        later = FixedClock(clock.now() + timedelta(seconds=61))
        second = worker_for(test_settings, url, later, mail_claim_seconds=60)
        row = await verification_mail_of(other)
        await drain(second, sent(row.id))
        server.release.set()
        await round_
        assert len(server.to(other)) == 1
        assert (await outbox.by_id(row.id)).sent_at is not None


WORKER = [sys.executable, "manage.py", "deliver-mail"]


async def test_a_worker_killed_mid_send_loses_no_mail(client, test_settings):
    """A worker process is killed with SIGKILL while the server holds one of its mails at
    RCPT (before any 250 for it); a new worker sends what is left once the dead one's claim
    runs out: every mail arrives, each exactly once, with its own Message-ID."""
    emails = [unique_email() for _ in range(6)]
    for email in emails:
        await sign_up(client, email)
    rows = {e: await verification_mail_of(e) for e in emails}
    held = emails[3]
    with smtp_server() as (server, url):
        server.hold.add(held)
        env = server_environment(
            test_settings, SMTP_URL=url, MAIL_CLAIM_SECONDS="3", MAIL_POLL_SECONDS="1"
        )
        first = subprocess.Popen(WORKER, cwd=ROOT, env=env)
        try:
            assert await asyncio.to_thread(server.holding.wait, 60), "never reached the held mail"
            for email in emails[:3]:
                await server.wait_for(email)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
        assert server.to(held) == []
        dead_claim = await outbox.by_id(rows[held].id)
        assert dead_claim.sent_at is None and dead_claim.claimed_until is not None
        server.hold.discard(held)
        server.release.set()

        second = subprocess.Popen(WORKER, cwd=ROOT, env=env)
        try:
            for email in emails:
                await server.wait_for(email, within=30)
            for row in rows.values():
                for _ in range(100):
                    if (await outbox.by_id(row.id)).sent_at is not None:
                        break
                    await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
    for email, row in rows.items():
        (got,) = server.to(email)
        assert got.message_id == row.message_id
        assert (await outbox.by_id(row.id)).sent_at is not None


async def test_without_smtp_url_mail_stays_in_the_outbox_and_is_printed(
    client, test_settings, caplog
):
    email = unique_email()
    await sign_up(client, email)
    row = await verification_mail_of(email)
    worker = worker_for(test_settings, None)
    with caplog.at_level(logging.INFO, logger="mail"):
        for _ in range(500):
            if not await worker.run_once():
                break
    printed = [r.getMessage() for r in caplog.records if email in r.getMessage()]
    assert printed  # by this worker (and the test app's own, which prints too)
    assert "no SMTP_URL" in printed[0] and row.message_id in printed[0]
    assert "/verify-email#token=" in printed[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mail"):
        await worker.run_once()
    assert not [r for r in caplog.records if email in r.getMessage()]  # once per process
    kept = await outbox.by_id(row.id)
    assert kept.sent_at is None and kept.attempts == 0 and kept.body == row.body


def test_production_refuses_to_start_without_smtp_url():
    environ = {"APP_ENV": "production", "KEY_ENCRYPTION_KEY": "k"}
    with pytest.raises(ConfigurationError, match="SMTP_URL is not set"):
        settings_module.load(environ)
    assert settings_module.load({**environ, "SMTP_URL": "smtp://mail.example:25"}).smtp_url
    with pytest.raises(ConfigurationError, match="SMTP_URL must be"):
        settings_module.load({"SMTP_URL": "http://mail.example"})
    result = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, **environ, "SMTP_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SMTP_URL is not set" in result.stderr


async def test_the_server_process_sends_mail_within_seconds_and_stops_cleanly(test_settings):
    """`make run`'s server runs the delivery worker: a sign-up's verification mail reaches
    the SMTP server within seconds; on SIGTERM the worker and the scheduler stop with it, the
    process exits 0 at once and logs no error."""
    import httpx

    with smtp_server() as (server, url):
        port = free_port()
        env = server_environment(test_settings, SMTP_URL=url)
        process = subprocess.Popen(
            server_command(port), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            await wait_ready(f"http://127.0.0.1:{port}", process, 300)
            email = unique_email()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
                began = asyncio.get_running_loop().time()
                await sign_up(c, email)
                (got,) = await server.wait_for(email, within=10)
                elapsed = asyncio.get_running_loop().time() - began
        finally:
            process.terminate()
            stopping = asyncio.get_running_loop().time()
            _, errors = await asyncio.to_thread(process.communicate, timeout=20)
            stopped_in = asyncio.get_running_loop().time() - stopping
        assert elapsed < 5, elapsed
        assert got.message["Subject"] == "Confirm your e-mail address"
        # Uvicorn shuts down gracefully, then ends with the signal it got (SIGTERM).
        assert process.returncode in (0, -signal.SIGTERM), errors
        assert stopped_in < 5, stopped_in
        assert "Traceback" not in errors and '"level":"ERROR"' not in errors, errors


async def test_one_worker_wakes_at_once_after_a_commit(app, client, test_settings):
    """In the server process the commit wakes the worker: no poll interval to wait out."""
    services = app.state.services
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url, mail_poll_seconds=3600)
        previous = services.on_outbox_change
        services.on_outbox_change = worker.wake
        task = asyncio.create_task(worker.run_forever())
        try:
            await asyncio.sleep(0.5)  # the backlog of earlier tests is sent, then it sleeps
            email = unique_email()
            await sign_up(client, email)
            await server.wait_for(email, within=5)
        finally:
            services.on_outbox_change = previous
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_stored_address_that_is_not_plain_is_given_up_never_sent_elsewhere(
    client, test_settings
):
    """An address stored before addresses were checked as plain (`x<victim@...>`): a mail
    program would deliver it to victim@...; the worker gives it up instead."""
    victim = unique_email()
    await sign_up(client, victim)
    row = await verification_mail_of(victim)
    await Delivery.filter(id=row.id).update(to_address=f"x<{victim}")
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url)
        await drain(worker, sent(row.id))
        assert server.to(victim) == []
    given_up = await outbox.by_id(row.id)
    assert given_up.failed_at is not None and given_up.sent_at is None
    assert given_up.last_error == "not a plain address"
