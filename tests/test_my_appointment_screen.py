"""The "my appointment" screen, built from one query through HTTP: the booking rules, and for
each appointment where, when, what can still change and until when. What the screen says is
checked against what cancelAppointment and rescheduleAppointment then do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from persistence.models import Appointment as AppointmentRow
from tests import helpers
from tests.conftest import gql, sign_in
from tests.helpers import (
    CANCEL,
    RESCHEDULE,
    Applicant,
    book_ok,
    new_applicant,
    pick_slots,
    running_servers,
    server_environment,
)

MY_APPOINTMENT_SCREEN = """
query MyAppointment {
  bookingRules {
    horizonWorkingDays minLeadMinutes rescheduleLimit changeWindowHours slotMinutes
  }
  viewer { person { id appointments(first: 20) { edges { node {
    id reference status service startsAt endsAt
    office { code name address phone timeZone hours { weekday opens closes } }
    changeDeadline reschedulesLeft cancellable reschedulable
  } } } } }
}"""

CHANGE_FIELDS = """
query($id: ID!) { node(id: $id) { ... on Appointment {
  status startsAt changeDeadline reschedulesLeft cancellable reschedulable } } }"""

RULES = (
    "{ bookingRules { horizonWorkingDays minLeadMinutes rescheduleLimit changeWindowHours "
    "slotMinutes } }"
)
GQL = "application/graphql-response+json"


async def screen(client: httpx.AsyncClient, who: Applicant) -> dict[str, Any]:
    """The whole screen (one request): the rules and the viewer's appointments by ID."""
    body = await gql(client, MY_APPOINTMENT_SCREEN, token=who.token)
    assert "errors" not in body, body
    person = body["data"]["viewer"]["person"]
    appointments = {e["node"]["id"]: e["node"] for e in person["appointments"]["edges"]}
    return {"rules": body["data"]["bookingRules"], "appointments": appointments}


async def cancel(client: httpx.AsyncClient, token: str, appointment_id: str) -> dict:
    return await helpers.mutate(client, CANCEL, token, id=appointment_id)


async def reschedule(client: httpx.AsyncClient, token: str, appointment_id: str, slot: str) -> dict:
    return await helpers.mutate(
        client, RESCHEDULE, token, input={"appointmentId": appointment_id, "slotId": slot}
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def pin(clock: Any, client: httpx.AsyncClient, who: Applicant, moment: datetime) -> None:
    """Move the server's clock and sign in again (the old access token may have expired)."""
    clock.pinned = moment.astimezone(UTC)
    await who.sign_in_again(client)


def expected_rules(app: Any) -> dict[str, int]:
    s = app.state.services.settings
    return {
        "horizonWorkingDays": s.booking_horizon_working_days,
        "minLeadMinutes": s.booking_min_lead_minutes,
        "rescheduleLimit": s.reschedule_limit,
        "changeWindowHours": s.change_window_hours,
        "slotMinutes": s.slot_minutes,
    }


# ------------------------------------------------------------------------------- the screen


async def test_one_query_shows_a_fresh_booking_with_its_office_rules_and_what_can_change(
    app, client, clock
):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    booked = await book_ok(client, who, slot["id"])

    seen = await screen(client, who)

    rules = seen["rules"]
    assert rules == expected_rules(app)
    assert rules == {
        "horizonWorkingDays": 14,
        "minLeadMinutes": 120,
        "rescheduleLimit": 2,
        "changeWindowHours": 24,
        "slotMinutes": 30,
    }
    mine = seen["appointments"][booked["id"]]
    assert mine["reference"] == booked["reference"]
    assert (mine["status"], mine["service"]) == ("BOOKED", "VISA_EXTENSION")
    assert (mine["startsAt"], mine["endsAt"]) == (slot["startsAt"], slot["endsAt"])
    office = mine["office"]
    assert office["code"] == slot["office"]["code"]
    assert office["name"] and office["address"] and office["phone"]
    assert office["timeZone"] == "Asia/Shanghai"
    assert office["hours"] and {"weekday", "opens", "closes"} <= set(office["hours"][0])
    starts = at(mine["startsAt"])
    deadline = at(mine["changeDeadline"])
    assert deadline == starts - timedelta(hours=rules["changeWindowHours"])
    assert deadline.utcoffset() == starts.utcoffset() == timedelta(hours=8)
    assert mine["reschedulesLeft"] == rules["rescheduleLimit"]
    assert (mine["cancellable"], mine["reschedulable"]) == (True, True)

    # What the screen offered works, and the screen then says nothing is left to change.
    cancelled = await cancel(client, who.token, booked["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    after = (await screen(client, who))["appointments"][booked["id"]]
    assert after["status"] == "CANCELLED"
    assert after["changeDeadline"] is None
    assert (after["reschedulesLeft"], after["cancellable"], after["reschedulable"]) == (
        0,
        False,
        False,
    )


async def test_just_before_the_change_deadline_rescheduling_still_works(app, client, clock):
    who = await new_applicant(client)
    # The new slot starts after the old one, so it is far enough ahead to be booked.
    old_slot, new_slot = sorted(
        await pick_slots(app, client, clock, count=2), key=lambda s: at(s["startsAt"])
    )
    booked = await book_ok(client, who, old_slot["id"])
    deadline = at((await screen(client, who))["appointments"][booked["id"]]["changeDeadline"])
    await pin(clock, client, who, deadline - timedelta(seconds=1))

    mine = (await screen(client, who))["appointments"][booked["id"]]
    assert (mine["cancellable"], mine["reschedulable"]) == (True, True)
    moved = await reschedule(client, who.token, booked["id"], new_slot["id"])
    assert moved["__typename"] == "AppointmentRescheduled", moved


async def test_past_the_change_deadline_only_cancelling_remains(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    booked = await book_ok(client, who, old_slot["id"])
    deadline = at((await screen(client, who))["appointments"][booked["id"]]["changeDeadline"])
    await pin(clock, client, who, deadline)

    mine = (await screen(client, who))["appointments"][booked["id"]]
    assert at(mine["changeDeadline"]) == deadline  # still shown, now passed
    assert mine["reschedulesLeft"] == 2
    assert (mine["cancellable"], mine["reschedulable"]) == (True, False)

    refused = await reschedule(client, who.token, booked["id"], new_slot["id"])
    assert refused["__typename"] == "ChangeWindowClosed", refused
    cancelled = await cancel(client, who.token, booked["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled


async def test_once_it_has_started_nothing_can_change(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    booked = await book_ok(client, who, old_slot["id"])
    await pin(clock, client, who, at(old_slot["startsAt"]))

    mine = (await screen(client, who))["appointments"][booked["id"]]
    assert mine["status"] == "BOOKED"
    assert (mine["cancellable"], mine["reschedulable"]) == (False, False)
    cancelled = await cancel(client, who.token, booked["id"])
    assert cancelled["__typename"] == "ChangeWindowClosed", cancelled
    moved = await reschedule(client, who.token, booked["id"], new_slot["id"])
    assert moved["__typename"] == "ChangeWindowClosed", moved


async def test_two_reschedules_leave_none_and_a_third_reaches_the_limit(app, client, clock):
    who = await new_applicant(client)
    a, b, c, d = await pick_slots(app, client, clock, count=4)
    current = (await book_ok(client, who, a["id"]))["id"]
    for left, target in ((1, b), (0, c)):
        moved = await reschedule(client, who.token, current, target["id"])
        assert moved["__typename"] == "AppointmentRescheduled", moved
        previous, current = current, moved["appointment"]["id"]
        seen = (await screen(client, who))["appointments"]
        assert seen[current]["reschedulesLeft"] == left
        assert seen[current]["cancellable"] is True
        assert seen[previous]["status"] == "RESCHEDULED"
        assert (seen[previous]["cancellable"], seen[previous]["reschedulable"]) == (False, False)

    last = (await screen(client, who))["appointments"][current]
    assert last["reschedulable"] is False
    assert last["changeDeadline"] is None  # it can never be rescheduled again
    third = await reschedule(client, who.token, current, d["id"])
    assert third["__typename"] == "RescheduleLimitReached", third
    # Cancelling is still offered, and works.
    cancelled = await cancel(client, who.token, current)
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled


async def test_staff_see_and_meet_the_same_rules_as_the_applicant(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    booked = await book_ok(client, who, slot["id"])
    await pin(clock, client, who, at(slot["startsAt"]) - timedelta(hours=1))
    # An officer of the appointment's office (officers change appointments there only).
    row = await AppointmentRow.get(id=helpers.pk_of(booked["id"])).prefetch_related("office")
    officer = await helpers.other_office_officer(app, client, row.office.code)
    elsewhere = await helpers.other_office_officer(
        app, client, "SH-PD" if row.office.code != "SH-PD" else "BJ-DC"
    )
    as_elsewhere = await helpers.mutate(client, CHANGE_FIELDS, elsewhere, id=booked["id"])
    assert (as_elsewhere["cancellable"], as_elsewhere["reschedulable"]) == (False, False)
    assert (await cancel(client, elsewhere, booked["id"]))["__typename"] == "NotPermitted"

    as_officer = await helpers.mutate(client, CHANGE_FIELDS, officer, id=booked["id"])
    as_applicant = await helpers.mutate(client, CHANGE_FIELDS, who.token, id=booked["id"])
    assert as_officer == as_applicant
    assert (as_officer["cancellable"], as_officer["reschedulable"]) == (True, False)

    clock.pinned = at(slot["startsAt"]).astimezone(UTC) + timedelta(minutes=1)
    officer = await helpers.other_office_officer(app, client, row.office.code)
    late = await helpers.mutate(client, CHANGE_FIELDS, officer, id=booked["id"])
    assert late["cancellable"] is False
    refused = await cancel(client, officer, booked["id"])
    assert refused["__typename"] == "ChangeWindowClosed", refused


# ------------------------------------------------------------------------ the rules, cached


async def test_the_rules_are_public_and_cacheable(app, client):
    first = await client.get("/graphql", params={"query": RULES}, headers={"accept": GQL})
    assert first.status_code == 200
    assert first.json() == {"data": {"bookingRules": expected_rules(app)}}
    assert first.headers["cache-control"].startswith("public")
    again = await client.get(
        "/graphql",
        params={"query": RULES},
        headers={"accept": GQL, "if-none-match": first.headers["etag"]},
    )
    assert again.status_code == 304
    # Signed in, the same GET is the same shared answer; with personal data it is not shared.
    token = await sign_in(client, "applicant@demo.test")
    signed_in = await client.get(
        "/graphql",
        params={"query": RULES},
        headers={"accept": GQL, "authorization": f"Bearer {token}"},
    )
    assert signed_in.headers["etag"] == first.headers["etag"]
    personal = await client.get(
        "/graphql",
        params={"query": "{ bookingRules { rescheduleLimit } viewer { account { id } } }"},
        headers={"accept": GQL, "authorization": f"Bearer {token}"},
    )
    assert personal.headers["cache-control"] == "no-store"
    assert "etag" not in personal.headers


async def test_a_restart_with_other_rules_answers_them_and_an_old_etag_no_longer_matches(
    app, client, test_settings
):
    """The rules change only with the configuration, i.e. with a restart: the cache lives in
    the process, so the new process answers the new rules, and a client or CDN revalidating
    the old answer by its ETag gets the new one."""
    old = await client.get("/graphql", params={"query": RULES}, headers={"accept": GQL})
    env = server_environment(test_settings, RESCHEDULE_LIMIT="3", CHANGE_WINDOW_HOURS="48")
    async with running_servers(1, env, ready_attempts=300) as (port,):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            new = await c.get(
                "/graphql",
                params={"query": RULES},
                headers={"accept": GQL, "if-none-match": old.headers["etag"]},
            )
    assert new.status_code == 200
    rules = new.json()["data"]["bookingRules"]
    assert (rules["rescheduleLimit"], rules["changeWindowHours"]) == (3, 48)
    assert rules["horizonWorkingDays"] == expected_rules(app)["horizonWorkingDays"]
    assert new.headers["etag"] != old.headers["etag"]
