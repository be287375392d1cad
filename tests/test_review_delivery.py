"""Mail, reminders and live events under faults, tried as an attacker or a bad day would: one
mail whose outcome cannot be recorded does not hold up the others; a subject with line breaks
goes out on one line (no header injected); one reminder that fails does not stop the others
and is made on a later round; a lost Redis connection does not end live events for the whole
process; a fault after a commit does not turn a committed change into an error."""

from __future__ import annotations

import asyncio
import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from persistence import outbox
from persistence.models import Delivery, Document, ScheduledReminder
from resolvers import reminders
from resolvers.context import Clock
from resolvers.events import ACCOUNT_CHANGED, EventBus
from resolvers.mail_delivery import DeliveryWorker, message_of, sender_for
from tests.conftest import sign_up, unique_email
from tests.helpers import beijing_today, member_with_person, pk_of
from tests.mail_server import smtp_server
from tests.test_reminders import at, residence_permit


def worker_for(test_settings: Any, url: str) -> DeliveryWorker:
    settings = test_settings.with_(smtp_url=url)
    return DeliveryWorker(settings, Clock(), sender_for(settings))


async def settled(delivery_id: int) -> bool:
    row = await outbox.by_id(delivery_id)
    return row is not None and (
        row.sent_at is not None or row.failed_at is not None or row.last_error is not None
    )


async def run_until(worker: DeliveryWorker, ids: list[int], rounds: int = 100) -> None:
    """Run the worker's rounds (each must not raise) until every mail of `ids` was sent,
    given up, or failed once."""
    for _ in range(rounds):
        if all([await settled(i) for i in ids]):
            return
        if not await worker.run_once():
            await asyncio.sleep(0.02)
    raise AssertionError("the worker did not get there")


async def mail_to(address: str, subject: str = "Appointment booked") -> Delivery:
    return await outbox.add(
        account_id=None,
        notification_id=None,
        kind="APPOINTMENT_BOOKED",
        to_address=address,
        subject=subject,
        body="Sign in to see it.",
        message_id=f"<{secrets.token_hex(8)}@review.test>",
        secret=False,
        now=datetime.now(UTC),
    )


# ------------------------------------------------------------------------------ the outbox


async def test_a_mail_whose_failure_cannot_be_recorded_does_not_hold_up_the_others(
    app, test_settings, monkeypatch
):
    """The database refuses to record one mail's failed attempt (a lost connection, a value
    it will not store): the round goes on with the rest of its mail."""
    poisoned, *others = [await mail_to(unique_email()) for _ in range(3)]
    record = outbox.mark_failed

    async def failing_for_one(delivery: Delivery, *args: Any) -> None:
        if delivery.id == poisoned.id:
            raise ConnectionError("the database went away")
        await record(delivery, *args)

    monkeypatch.setattr(outbox, "mark_failed", failing_for_one)
    with smtp_server() as (server, url):
        server.refuse[poisoned.to_address] = "451 4.3.0 try later"
        await run_until(worker_for(test_settings, url), [o.id for o in others])
        for row in others:
            assert (await outbox.by_id(row.id)).sent_at is not None
            assert len(server.to(row.to_address)) == 1


async def test_a_subject_with_line_breaks_goes_out_on_one_line(app, test_settings):
    """A reference number is text someone typed: CR/LF in it must not add a header (Bcc) or
    a recipient, nor make the mail unsendable."""
    address = unique_email()
    row = await mail_to(address, "Appointment A1\r\nBcc: thief@evil.test\nX-Evil: 1")
    message = message_of(row, test_settings)
    assert message["Bcc"] is None and message["X-Evil"] is None
    with smtp_server() as (server, url):
        await run_until(worker_for(test_settings, url), [row.id])
        (got,) = server.to(address)
        assert got.to == [address]
        assert server.to("thief@evil.test") == []
        assert got.message["Bcc"] is None and got.message["X-Evil"] is None
        subject = got.message["Subject"]
        assert "\r" not in subject and "\n" not in subject
        assert subject.startswith("Appointment A1") and "thief@evil.test" in subject
    assert (await outbox.by_id(row.id)).sent_at is not None


async def test_a_one_time_link_given_up_on_is_not_kept_in_the_outbox(client, test_settings):
    """A sent security mail's body (its single-use link, in clear) is blanked; one the server
    refused for good must be too, or the link stays readable in the database."""
    email = unique_email()
    await sign_up(client, email)
    row = await Delivery.get(to_address=email, kind="EMAIL_VERIFICATION")
    assert "#token=" in row.body
    with smtp_server() as (server, url):
        server.refuse[email] = "550 5.1.1 no such mailbox"
        await run_until(worker_for(test_settings, url), [row.id])
    refused = await outbox.by_id(row.id)
    assert refused.failed_at is not None and refused.body == ""


# ------------------------------------------------------------------------------ reminders


async def test_one_failing_reminder_does_not_stop_the_others(client, app, clock, monkeypatch):
    first, second = await member_with_person(client), await member_with_person(client)
    ending = beijing_today() + timedelta(days=30)
    poisoned = await residence_permit(first, ending, kind="VISA")
    healthy = await residence_permit(second, ending, kind="VISA")
    assert poisoned.id < healthy.id  # the failing one comes first in the round
    make = reminders.notify

    async def failing_for_one(kind: Any, *, about_person_id: int, **rest: Any) -> None:
        if about_person_id == pk_of(first.person.id):
            raise ConnectionError("the database went away")
        await make(kind, about_person_id=about_person_id, **rest)

    monkeypatch.setattr(reminders, "notify", failing_for_one)
    clock.pinned = at(beijing_today(), 9)
    await reminders.run_due(app.state.services)
    made = ScheduledReminder.filter(kind="DOCUMENT_EXPIRING", subject_type="Document")
    assert await made.filter(subject_id=healthy.id).count() == 1
    assert await made.filter(subject_id=poisoned.id).count() == 0  # rolled back with it

    # The fault gone, the next round makes the one that failed.
    monkeypatch.setattr(reminders, "notify", make)
    await reminders.run_due(app.state.services)
    assert await made.filter(subject_id=poisoned.id).count() == 1
    await Document.filter(id__in=[poisoned.id, healthy.id]).delete()


# ------------------------------------------------------------------------------ live events

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_live_events_survive_a_lost_redis_connection():
    """One listener serves every subscription of a process: Redis closing its connection (a
    restart, a failover, an idle timeout) must not end live events for all of them. Once it
    listens again, every subscription re-checks its session and rights (an ACCOUNT_CHANGED
    published while it was away is not lost), and new events arrive."""
    import redis.asyncio as redis

    assert REDIS_URL is not None
    namespace, name = f"review-{secrets.token_hex(4)}", f"review-{secrets.token_hex(4)}"
    separator = "&" if "?" in REDIS_URL else "?"
    bus = EventBus(f"{REDIS_URL}{separator}client_name={name}", namespace)
    publisher = EventBus(REDIS_URL, namespace)
    admin = redis.from_url(REDIS_URL)
    await bus.start()
    await publisher.start()
    try:
        async with bus.subscribe_inbox(7) as queue, bus.watch_account(7, queue):
            await publisher.publish_notification(7, 1)
            assert await asyncio.wait_for(queue.get(), 5) == 1
            listeners = [c["id"] for c in await admin.client_list(_type="pubsub")]
            ours = [c["id"] for c in await admin.client_list(_type="pubsub") if c["name"] == name]
            assert ours and set(ours) <= set(listeners)
            for client_id in ours:
                await admin.client_kill_filter(_id=client_id)
            assert await asyncio.wait_for(queue.get(), 15) is ACCOUNT_CHANGED
            await publisher.publish_notification(7, 2)
            assert await asyncio.wait_for(queue.get(), 5) == 2
    finally:
        await bus.close()
        await publisher.close()
        await admin.aclose()


# ----------------------------------------------------------------------------- after commit


async def test_a_fault_after_the_commit_does_not_turn_the_change_into_an_error(app, client):
    """Publishing to Redis fails after a sign-up committed (its verification mail woke the
    worker, its session was started): the answer is still the session, not a 500 for a
    change that happened (a client retrying would find EmailTaken)."""
    services = app.state.services
    calls: list[str] = []

    def broken_wake() -> None:
        calls.append("wake")
        raise ConnectionError("redis went away")

    saved = services.on_outbox_change
    services.on_outbox_change = broken_wake
    try:
        email = unique_email()
        session = await sign_up(client, email)
    finally:
        services.on_outbox_change = saved
    assert session["account"]["email"] == email and calls == ["wake"]


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
