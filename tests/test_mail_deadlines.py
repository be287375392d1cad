"""Mail that would mislead once a moment has passed is given up, never sent, from that moment:
a one-time link after it stops working, an appointment's reminder once the appointment has
begun, a waitlist offer after the place went to someone else. Mail without such a moment is
sent however late (the outbox's other tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from persistence import outbox
from persistence.models import Appointment, Delegation, Delivery, WaitlistEntry
from resolvers import mail_delivery, reminders
from resolvers.context import FixedClock
from resolvers.mail_delivery import DeliveryWorker
from tests.conftest import gql, sign_up, unique_email
from tests.helpers import (
    CANCEL,
    SHANGHAI,
    beijing_today,
    book_open_slot,
    member_with_person,
    mutate,
    new_applicant,
    pk_of,
)
from tests.mail_server import smtp_server
from tests.test_notifications import helper_of
from tests.test_outbox_mail import drain, sent, verification_mail_of, worker_for
from tests.test_reminders import at, household, residence_permit
from tests.test_waitlist import booked_in_line
from tests.waitlist_lines import fresh_line, join_ok


async def given_up_unsent(row_id: int) -> Delivery:
    row = await outbox.by_id(row_id)
    assert row is not None
    assert row.sent_at is None and row.failed_at is not None
    assert row.last_error == outbox.RAN_OUT
    return row


async def test_a_link_that_stopped_working_while_mail_could_not_go_is_never_sent(
    client: httpx.AsyncClient, test_settings: Any
) -> None:
    """An SMTP outage longer than a verification link's life: when the server is back the
    link is dead, and the mail saying "click within 30 minutes" is given up, its link wiped,
    not sent. One signed up later, whose link still works, goes out in the same round."""
    late, fresh = unique_email(), unique_email()
    await sign_up(client, late)
    stale = await verification_mail_of(late)
    assert stale.send_before == stale.created_at + timedelta(
        minutes=test_settings.account_token_minutes
    )
    await sign_up(client, fresh)
    live = await verification_mail_of(fresh)
    # Back one second after the first link stopped working; the second still works.
    await Delivery.filter(id=live.id).update(send_before=stale.send_before + timedelta(hours=1))
    clock = FixedClock(stale.send_before + timedelta(seconds=1))
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url, clock)
        await drain(worker, sent(live.id))
        await drain(worker, sent(stale.id))
        (got,) = await server.wait_for(fresh)
        assert server.to(late) == []
    assert got.message_id == live.message_id
    dropped = await given_up_unsent(stale.id)
    assert dropped.body == "" and dropped.attempts == 0


class SlowServer:
    """A sender whose first mail takes so long that the clock passes a deadline meanwhile."""

    def __init__(self, clock: FixedClock, after_first: datetime) -> None:
        self.clock, self.after_first = clock, after_first
        self.sent: list[str] = []

    async def send(self, message: EmailMessage, to_address: str) -> None:
        self.sent.append(to_address)
        self.clock.at = self.after_first

    async def finish(self) -> None:
        pass


async def test_mail_claimed_in_time_but_reached_too_late_in_its_round_is_not_sent(
    client: httpx.AsyncClient, test_settings: Any, monkeypatch: Any
) -> None:
    """Both mails are claimed in one round while both links work; sending the first takes
    the clock past the second's end, and the second is then given up, not sent."""
    # One round takes all the waiting mail (earlier tests leave some), these two included.
    monkeypatch.setattr(mail_delivery, "BATCH", 100_000)
    first, second = unique_email(), unique_email()
    await sign_up(client, first)
    await sign_up(client, second)
    one, two = await verification_mail_of(first), await verification_mail_of(second)
    start = datetime.now(UTC) + timedelta(seconds=1)
    await Delivery.filter(id=one.id).update(send_before=start + timedelta(hours=1))
    await Delivery.filter(id=two.id).update(send_before=start + timedelta(minutes=1))
    clock = FixedClock(start)
    server = SlowServer(clock, start + timedelta(minutes=2))
    worker = DeliveryWorker(test_settings.with_(smtp_url="smtp://unused"), clock, server)
    await drain(worker, sent(two.id))
    assert first in server.sent and second not in server.sent
    assert (await outbox.by_id(one.id)).sent_at is not None
    dropped = await given_up_unsent(two.id)
    assert dropped.body == "" and dropped.attempts == 1


async def test_a_reminder_not_mailed_before_the_appointment_begins_is_never_mailed(
    client: httpx.AsyncClient, app: Any, clock: Any, test_settings: Any
) -> None:
    people = await household(client)
    person = people["person"]
    booked = await book_open_slot(client, person.token, person.person.id)
    appointment = await Appointment.get(id=pk_of(booked["id"]))
    day_before = at(appointment.starts_at.astimezone(SHANGHAI).date() - timedelta(days=1), 10)
    clock.pinned = day_before
    await reminders.run_due(app.state.services)
    mails = await Delivery.filter(
        kind="APPOINTMENT_REMINDER", account_id=pk_of(person.account_id)
    ).order_by("id")
    mail = mails[-1]
    assert mail.send_before == appointment.starts_at
    assert booked["reference"] in mail.body
    # The mail server was down until the appointment began.
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url, FixedClock(appointment.starts_at))
        await drain(worker, sent(mail.id))
        assert mail.message_id not in {got.message_id for got in server.to(person.email)}
    await given_up_unsent(mail.id)


async def test_a_waitlist_offer_is_not_mailed_after_the_place_went_on(
    app: Any, client: httpx.AsyncClient, clock: Any, test_settings: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 4)
    waiting = await new_applicant(client)
    joined = await join_ok(client, waiting.token, line.input(waiting.person_id))
    cancelled = await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert cancelled["__typename"] == "AppointmentCancelled"
    entry = await WaitlistEntry.get(id=pk_of(joined["id"]))
    assert entry.status == "OFFERED" and entry.offer_expires_at is not None
    me = await gql(client, "{ viewer { account { id } } }", token=waiting.token)
    account_id = pk_of(me["data"]["viewer"]["account"]["id"])
    (mail,) = await Delivery.filter(kind="WAITLIST_OFFER", account_id=account_id)
    assert mail.send_before == entry.offer_expires_at
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url, FixedClock(entry.offer_expires_at))
        await drain(worker, sent(mail.id))
        assert mail.message_id not in {got.message_id for got in server.to(waiting.email)}
    await given_up_unsent(mail.id)


async def test_the_claim_itself_passes_over_mail_whose_moment_has_come() -> None:
    """Even before a round gives it up (another worker's round claiming in between)."""
    now = datetime.now(UTC)
    late = await outbox.add(
        now=now - timedelta(minutes=5),
        account_id=None,
        notification_id=None,
        kind="EMAIL_VERIFICATION",
        to_address=unique_email(),
        subject="s",
        body="b",
        message_id=f"<{unique_email()}>",
        secret=True,
        send_before=now - timedelta(seconds=1),
    )
    claimed = await outbox.claim(now, 60, 100_000)
    assert late.id not in {row.id for row in claimed}
    assert (await outbox.by_id(late.id)).attempts == 0


async def test_moments_in_another_zone_are_compared_as_moments() -> None:
    """A link with 30 minutes left is not given up by a round whose clock reads Beijing time
    (SQLite compares stored times as text: every moment is kept in UTC)."""
    now = datetime.now(UTC)
    row = await outbox.add(
        now=now.astimezone(SHANGHAI),
        account_id=None,
        notification_id=None,
        kind="EMAIL_VERIFICATION",
        to_address=unique_email(),
        subject="s",
        body="b",
        message_id=f"<{unique_email()}>",
        secret=True,
        send_before=(now + timedelta(minutes=30)).astimezone(SHANGHAI),
    )
    await outbox.give_up_ran_out(now.astimezone(SHANGHAI))
    kept = await outbox.by_id(row.id)
    assert kept.failed_at is None and kept.body == "b"
    await outbox.give_up_ran_out((now + timedelta(minutes=31)).astimezone(SHANGHAI))
    assert (await given_up_unsent(row.id)).body == ""


async def test_a_link_replaced_by_a_newer_one_is_not_mailed_after_it(
    client: httpx.AsyncClient, test_settings: Any
) -> None:
    """Asking for a new verification link ends the old one: its mail, still waiting, is
    given up; only the new link goes out."""
    email = unique_email()
    session = await sign_up(client, email)
    first = await verification_mail_of(email)
    again = await mutate(
        client,
        "mutation { requestEmailVerification { __typename } }",
        session["accessToken"],
    )
    assert again["__typename"] == "EmailVerificationSent", again
    second = await Delivery.filter(to_address=email, kind="EMAIL_VERIFICATION").order_by("-id")
    assert [row.id for row in second][1] == first.id
    newest = second[0]
    with smtp_server() as (server, url):
        worker = worker_for(test_settings, url)
        await drain(worker, sent(newest.id))
        await drain(worker, sent(first.id))
        (got,) = await server.wait_for(email)
    assert got.message_id == newest.message_id
    await given_up_unsent(first.id)


async def test_a_request_to_help_is_not_mailed_after_it_lapsed(client: httpx.AsyncClient) -> None:
    person = await member_with_person(client)
    _, delegation = await helper_of(client, person, ["VIEW_DOCUMENTS"])
    row = await Delegation.get(id=pk_of(delegation["id"]))
    (mail,) = (
        await Delivery.filter(kind="DELEGATION_REQUESTED", account_id=pk_of(person.account_id))
        .order_by("-id")
        .limit(1)
    )
    assert row.pending_until is not None and mail.send_before == row.pending_until


async def test_document_reminders_are_not_mailed_once_their_last_day_has_passed(
    client: httpx.AsyncClient, app: Any, clock: Any
) -> None:
    """ "Apply for an extension" stops being mailable after the last day to apply, "your
    document is ending" after the document's last day: each at the next midnight, Beijing
    time."""
    people = await household(client)
    person = people["person"]
    today = beijing_today()
    permit = await residence_permit(person, today + timedelta(days=120))
    deadline = today + timedelta(days=90)  # a residence permit: 30 days before it ends
    clock.pinned = at(deadline - timedelta(days=3), 9)
    await reminders.run_due(app.state.services)
    clock.pinned = at(permit.valid_until - timedelta(days=7), 9)
    await reminders.run_due(app.state.services)
    mails = {
        mail.kind: mail
        for mail in await Delivery.filter(
            account_id=pk_of(person.account_id),
            kind__in=["EXTENSION_WINDOW_OPEN", "DOCUMENT_EXPIRING"],
        ).order_by("id")
    }
    midnight = datetime.min.time()
    after_deadline = datetime.combine(deadline + timedelta(days=1), midnight, tzinfo=SHANGHAI)
    after_end = datetime.combine(permit.valid_until + timedelta(days=1), midnight, SHANGHAI)
    assert mails["EXTENSION_WINDOW_OPEN"].send_before == after_deadline
    assert mails["DOCUMENT_EXPIRING"].send_before == after_end
