"""Notifications through HTTP and the WebSocket: each kind reaches the person's own account and
each helper whose scopes cover it, nobody else; the inbox follows the one policy (a helper's
view of a dependant's notifications ends with the delegation or its scope); marking read,
preferences and the account's language."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from domain.notifications import Kind
from persistence.models import Delegation as DelegationRow
from persistence.models import Delivery
from persistence.models import Notification as NotificationRow
from resolvers.paging import canonical_base64
from tests.conftest import gql, sign_in
from tests.helpers import (
    CANCEL,
    ISSUE_CARD,
    RESCHEDULE,
    SHANGHAI,
    Member,
    add_ok,
    available,
    beijing,
    beijing_today,
    book,
    book_open_slot,
    generate_day,
    gid,
    graphql_ws,
    link_identity_ok,
    member_with_person,
    move_application,
    mutate,
    new_member,
    officer_token,
    open_slots,
    pick_slots,
    pk_of,
    record_application,
    register_person,
    respond,
    revoke,
    running_servers,
    server_environment,
    working_day,
)
from tests.test_certificates import REVOKE as REVOKE_CERTIFICATE

INBOX = """
query($first: Int, $unread: Boolean) { viewer { notifications(first: $first, unreadOnly: $unread) {
  unreadCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id kind title body createdAt readAt
    person { id surname }
    subject { __typename id } } }
} } }"""

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Notification { kind title person { id } } } }"""

MARK_READ = """
mutation($ids: [ID!], $all: Boolean) { markNotificationsRead(ids: $ids, all: $all) {
  __typename
  ... on NotificationsMarkedRead { count }
  ... on ValidationError { message field }
} }"""

SET_PREFERENCES = """
mutation($language: Language, $prefs: [NotificationPreferenceInput!]) {
  setPreferences(language: $language, notifications: $prefs) {
    __typename
    ... on PreferencesSaved { account { language emailVerified
      notificationPreferences { kind channels } } }
    ... on ValidationError { message field }
  }
}"""

ACCOUNT = (
    "{ viewer { account { language emailVerified notificationPreferences { kind channels } } } }"
)

ADD_CLOSURE = """
mutation($input: AddOfficeClosureInput!) { addOfficeClosure(input: $input) {
  __typename ... on OfficeClosureAdded { cancelledAppointments }
  ... on ValidationError { message } ... on NotPermitted { message } } }"""

CERTIFICATE = """
mutation($id: ID!) { issuePassportCertificate(personId: $id) {
  __typename ... on CertificateIssued { certificate { id issuedAt } } } }"""

SUBSCRIBE = "subscription { notifications { id kind title person { id } subject { id } } }"


async def inbox(client: httpx.AsyncClient, token: str, **variables: Any) -> dict:
    body = await gql(client, INBOX, {"first": 100, **variables}, token=token)
    assert "errors" not in body, body
    return body["data"]["viewer"]["notifications"]


async def of_kind(client: httpx.AsyncClient, token: str, kind: str) -> list[dict]:
    return [e["node"] for e in (await inbox(client, token))["edges"] if e["node"]["kind"] == kind]


async def about(client: httpx.AsyncClient, token: str, kind: str, subject_id: str) -> list[dict]:
    """The viewer's notifications of `kind` about the object `subject_id`."""
    return [
        n
        for n in await of_kind(client, token, kind)
        if n["subject"] is not None and n["subject"]["id"] == subject_id
    ]


async def helper_of(
    client: httpx.AsyncClient, dependant: Member, scopes: list[str]
) -> tuple[Member, dict]:
    """A fresh helper whose delegation for `dependant` (who has an account) was accepted."""
    assert dependant.person is not None
    helper = await new_member(client)
    added = await add_ok(client, helper.token, dependant.person, scopes=scopes)
    answered = await respond(client, dependant.token, added["id"], True)
    assert answered["delegation"]["status"] == "ACTIVE", answered
    return helper, answered["delegation"]


async def family(client: httpx.AsyncClient) -> dict[str, Any]:
    """A person with an account, a helper per scope, a helper with all three, and a stranger."""
    person = await member_with_person(client)
    book_helper, _ = await helper_of(client, person, ["BOOK_APPOINTMENTS"])
    apps_helper, _ = await helper_of(client, person, ["VIEW_APPLICATIONS"])
    docs_helper, _ = await helper_of(client, person, ["VIEW_DOCUMENTS"])
    stranger = await new_member(client)
    return {
        "person": person,
        "book": book_helper,
        "apps": apps_helper,
        "docs": docs_helper,
        "stranger": stranger,
    }


async def receivers(
    client: httpx.AsyncClient, people: dict[str, Any], kind: str, subject_id: str
) -> dict[str, int]:
    """How many notifications of `kind` about `subject_id` each of the people has."""
    return {
        name: len(await about(client, member.token, kind, subject_id))
        for name, member in people.items()
    }


# ------------------------------------------------------------------------- who hears what


async def test_a_booking_reaches_the_person_and_helpers_with_book_appointments_only(client):
    people = await family(client)
    person = people["person"]
    appointment = await book_open_slot(client, person.token, person.person.id)

    counts = await receivers(client, people, "APPOINTMENT_BOOKED", appointment["id"])
    assert counts == {"person": 1, "book": 1, "apps": 0, "docs": 0, "stranger": 0}

    (seen,) = await about(client, people["book"].token, "APPOINTMENT_BOOKED", appointment["id"])
    assert seen["person"]["id"] == person.person.id
    assert seen["subject"] == {"__typename": "Appointment", "id": appointment["id"]}
    assert appointment["reference"] in seen["body"]
    assert seen["readAt"] is None


async def test_a_status_change_reaches_view_applications_with_the_materials_note(client):
    people = await family(client)
    person = people["person"]
    application = await record_application(client, person.person.id)
    note = "Bring a colour photo 33x48 mm and the lease contract."
    await move_application(client, application["id"], "ACCEPTED")
    await move_application(client, application["id"], "UNDER_REVIEW")
    await move_application(client, application["id"], "MATERIALS_REQUESTED", note=note)

    counts = await receivers(client, people, "APPLICATION_STATUS_CHANGED", application["id"])
    assert counts == {"person": 3, "book": 0, "apps": 3, "docs": 0, "stranger": 0}
    latest = (await about(client, person.token, "APPLICATION_STATUS_CHANGED", application["id"]))[0]
    assert note in latest["body"] and application["number"] in latest["body"]
    accepted = (await about(client, person.token, "APPLICATION_STATUS_CHANGED", application["id"]))[
        -1
    ]
    assert "accepted" in accepted["body"] and note not in accepted["body"]

    # The mail carries the kind and the number only: the officer's note stays in the inbox.
    mails = await Delivery.filter(
        account_id=pk_of((await viewer_account(client, person.token))["id"]),
        kind="APPLICATION_STATUS_CHANGED",
    )
    assert len(mails) == 3
    for mail in mails:
        assert application["number"] in mail.subject + mail.body
        assert note not in mail.body and "photo" not in mail.body
        assert "/sign-in" in mail.body


async def viewer_account(client: httpx.AsyncClient, token: str) -> dict:
    body = await gql(client, "{ viewer { account { id email } } }", token=token)
    return body["data"]["viewer"]["account"]


async def test_a_rescheduled_appointment_reaches_the_same_people(client):
    people = await family(client)
    person = people["person"]
    booked = await book_open_slot(client, person.token, person.person.id)
    (slot,) = await open_slots(client)
    moved = await mutate(
        client,
        RESCHEDULE,
        person.token,
        input={"appointmentId": booked["id"], "slotId": slot["id"]},
    )
    assert moved["__typename"] == "AppointmentRescheduled", moved
    new_id = moved["appointment"]["id"]
    counts = await receivers(client, people, "APPOINTMENT_CHANGED", new_id)
    assert counts == {"person": 1, "book": 1, "apps": 0, "docs": 0, "stranger": 0}
    (seen,) = await about(client, person.token, "APPOINTMENT_CHANGED", new_id)
    assert booked["reference"] in seen["body"]


async def test_an_office_closure_tells_everyone_whose_appointment_it_cancelled(app, client, clock):
    # A day of its own to close, months past the days other tests book or close "any open
    # slot" in (closing a random open slot's office could empty a day a test with fixed dates
    # counts on), and not one of the waitlist tests' line days either.
    clock.pinned = beijing(beijing_today() + timedelta(days=91), 10)
    people = await family(client)
    person = people["person"]
    day = working_day(app, clock, 3)
    await generate_day(app, "BJ-FT", day)
    slot, *_ = await available(client, "BJ-FT", "VISA_EXTENSION", day, day)
    booked = await book(client, person.token, person.person.id, slot["id"])
    assert booked["__typename"] == "BookingConfirmed", booked
    appointment = booked["appointment"]
    node = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Appointment { startsAt office { id } } } }",
        {"id": appointment["id"]},
        token=person.token,
    )
    starts = datetime.fromisoformat(node["data"]["node"]["startsAt"]).astimezone(SHANGHAI)
    admin = await sign_in(client, "admin@demo.test")
    closed = await mutate(
        client,
        ADD_CLOSURE,
        admin,
        input={
            "officeId": node["data"]["node"]["office"]["id"],
            "date": starts.date().isoformat(),
            "reason": "Burst water pipe",
        },
    )
    assert closed["__typename"] == "OfficeClosureAdded", closed
    counts = await receivers(client, people, "APPOINTMENT_CANCELLED_BY_OFFICE", appointment["id"])
    assert counts == {"person": 1, "book": 1, "apps": 0, "docs": 0, "stranger": 0}
    (seen,) = await about(
        client, person.token, "APPOINTMENT_CANCELLED_BY_OFFICE", appointment["id"]
    )
    assert "Burst water pipe" in seen["body"]


async def test_an_appointment_staff_cancel_is_told_to_the_applicant_and_an_own_one_is_not(
    app, client, clock
):
    """The applicant did not cancel it: they (and their BOOK_APPOINTMENTS helpers) hear it
    as APPOINTMENT_CANCELLED_BY_OFFICE. One they cancel themselves tells nobody."""
    people = await family(client)
    person = people["person"]
    by_staff, by_self = await pick_slots(app, client, clock, count=2, office="BJ-DC")
    appointments = []
    for slot in (by_staff, by_self):
        booked = await book(client, person.token, person.person.id, slot["id"])
        assert booked["__typename"] == "BookingConfirmed", booked
        appointments.append(booked["appointment"]["id"])
        # One active appointment per service: the second is booked once the first is gone.
        token = await officer_token(client) if slot is by_staff else person.token
        cancelled = await mutate(client, CANCEL, token, id=appointments[-1])
        assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    kind = "APPOINTMENT_CANCELLED_BY_OFFICE"
    counts = await receivers(client, people, kind, appointments[0])
    assert counts == {"person": 1, "book": 1, "apps": 0, "docs": 0, "stranger": 0}
    (seen,) = await about(client, person.token, kind, appointments[0])
    assert "call the office" in seen["body"]
    nobody = {"person": 0, "book": 0, "apps": 0, "docs": 0, "stranger": 0}
    assert await receivers(client, people, kind, appointments[1]) == nobody


async def test_a_certificate_reaches_the_holder_and_view_documents_helpers(client):
    people = await family(client)
    person = people["person"]
    officer = await officer_token(client)
    today = datetime.now(SHANGHAI).date()
    issued = await mutate(
        client,
        ISSUE_CARD,
        officer,
        input={
            "personId": person.person.id,
            "issuedOn": (today - timedelta(days=365)).isoformat(),
            "validUntil": (today + timedelta(days=9 * 365)).isoformat(),
        },
    )
    assert issued["__typename"] == "PermanentResidentCardIssued", issued
    result = await mutate(client, CERTIFICATE, person.token, id=person.person.id)
    assert result["__typename"] == "CertificateIssued", result
    certificate_id = result["certificate"]["id"]
    counts = await receivers(client, people, "CERTIFICATE_ISSUED", certificate_id)
    assert counts == {"person": 1, "book": 0, "apps": 0, "docs": 1, "stranger": 0}

    # Its revocation reaches the same people once, however often it is revoked.
    for reason in ("Issued in error.", "A second thought."):
        revoked = await mutate(
            client,
            REVOKE_CERTIFICATE,
            officer,
            input={"certificateId": certificate_id, "reason": reason},
        )
        assert revoked["__typename"] == "CertificateRevoked", revoked
    counts = await receivers(client, people, "CERTIFICATE_REVOKED", certificate_id)
    assert counts == {"person": 1, "book": 0, "apps": 0, "docs": 1, "stranger": 0}
    (notice,) = await about(client, person.token, "CERTIFICATE_REVOKED", certificate_id)
    assert notice["title"] == "Certificate revoked"
    issued_on = result["certificate"]["issuedAt"][:10]
    assert f"issued on {issued_on} was revoked" in notice["body"], notice


async def test_delegation_requests_reach_the_person_asked_and_answers_the_helper(client):
    dependant = await member_with_person(client)
    helper = await new_member(client)
    bystander, _ = await helper_of(client, dependant, ["BOOK_APPOINTMENTS"])
    added = await add_ok(client, helper.token, dependant.person, scopes=["VIEW_DOCUMENTS"])

    requested = await about(client, dependant.token, "DELEGATION_REQUESTED", added["id"])
    assert len(requested) == 1
    assert "Test User" in requested[0]["body"] and "documents" in requested[0]["body"]
    assert await about(client, helper.token, "DELEGATION_REQUESTED", added["id"]) == []
    assert await about(client, bystander.token, "DELEGATION_REQUESTED", added["id"]) == []

    await respond(client, dependant.token, added["id"], False)
    answered = await of_kind(client, helper.token, "DELEGATION_ANSWERED")
    assert len(answered) == 1
    assert answered[0]["subject"]["id"] == added["id"]
    assert "declined" in answered[0]["body"]
    # Declined: the helper never sees the person, only what it typed.
    assert answered[0]["person"] is None
    assert dependant.person.surname.upper() in answered[0]["body"]
    assert await about(client, dependant.token, "DELEGATION_ANSWERED", added["id"]) == []
    assert await about(client, bystander.token, "DELEGATION_ANSWERED", added["id"]) == []


# ------------------------------------------------------------------- the policy over time


async def test_a_request_to_help_leaves_the_inbox_of_an_account_unlinked_from_the_person(client):
    """Who asks to help a person, and for what, is the person's: once an officer unlinks
    the account (a wrong match, say), the request no longer shows in its inbox; the helper
    keeps the answer to their own request."""
    dependant = await member_with_person(client)
    helper = await new_member(client)
    added = await add_ok(client, helper.token, dependant.person)
    assert len(await about(client, dependant.token, "DELEGATION_REQUESTED", added["id"])) == 1
    await respond(client, dependant.token, added["id"], True)
    officer = await officer_token(client)
    unlinked = await mutate(
        client,
        """mutation($id: ID!) { unlinkIdentity(personId: $id) { __typename } }""",
        officer,
        id=dependant.person.id,
    )
    assert unlinked["__typename"] == "IdentityUnlinked", unlinked
    token = await dependant.refresh(client)
    assert await of_kind(client, token, "DELEGATION_REQUESTED") == []
    assert (await inbox(client, token))["unreadCount"] == 0
    assert len(await about(client, helper.token, "DELEGATION_ANSWERED", added["id"])) == 1


async def test_when_the_delegation_ends_its_notifications_leave_the_helpers_inbox(client):
    person = await member_with_person(client)
    helper, delegation = await helper_of(client, person, ["BOOK_APPOINTMENTS", "VIEW_DOCUMENTS"])
    appointment = await book_open_slot(client, person.token, person.person.id)
    (seen,) = await about(client, helper.token, "APPOINTMENT_BOOKED", appointment["id"])
    before = await inbox(client, helper.token)
    assert (await gql(client, NODE, {"id": seen["id"]}, token=helper.token))["data"]["node"]

    revoked = await revoke(client, person.token, delegation["id"])
    assert revoked["__typename"] == "DelegationRevoked"

    after = await inbox(client, helper.token)
    assert seen["id"] not in [e["node"]["id"] for e in after["edges"]]
    assert after["unreadCount"] == before["unreadCount"] - 1
    node = await gql(client, NODE, {"id": seen["id"]}, token=helper.token)
    assert node["data"]["node"] is None
    marked = await mutate(client, MARK_READ, helper.token, ids=[seen["id"]])
    assert marked == {"__typename": "NotificationsMarkedRead", "count": 0}
    # The person's own copy stays.
    assert len(await about(client, person.token, "APPOINTMENT_BOOKED", appointment["id"])) == 1


async def test_when_a_scope_ends_that_kind_leaves_and_the_others_stay(client):
    person = await member_with_person(client)
    helper, delegation = await helper_of(client, person, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"])
    appointment = await book_open_slot(client, person.token, person.person.id)
    application = await record_application(client, person.person.id)
    await move_application(client, application["id"], "ACCEPTED")
    assert len(await about(client, helper.token, "APPOINTMENT_BOOKED", appointment["id"])) == 1

    # The scope is taken away (as an officer's correction would): the policy reads it live.
    await DelegationRow.filter(id=pk_of(delegation["id"])).update(scopes=["VIEW_APPLICATIONS"])
    assert await about(client, helper.token, "APPOINTMENT_BOOKED", appointment["id"]) == []
    assert (
        len(await about(client, helper.token, "APPLICATION_STATUS_CHANGED", application["id"])) == 1
    )


async def test_a_notification_is_no_node_for_anyone_but_its_addressee(client):
    person = await member_with_person(client)
    appointment = await book_open_slot(client, person.token, person.person.id)
    (seen,) = await about(client, person.token, "APPOINTMENT_BOOKED", appointment["id"])
    node = (await gql(client, NODE, {"id": seen["id"]}, token=person.token))["data"]["node"]
    assert node["kind"] == "APPOINTMENT_BOOKED" and node["person"]["id"] == person.person.id

    stranger = await new_member(client)
    officer = await officer_token(client)
    for token in (stranger.token, officer, None):
        body = await gql(client, NODE, {"id": seen["id"]}, token=token)
        assert body["data"]["node"] is None, body
    # A helper of the same person does not see the person's own copy either: theirs is theirs.
    helper, _ = await helper_of(client, person, ["BOOK_APPOINTMENTS"])
    assert (await gql(client, NODE, {"id": seen["id"]}, token=helper.token))["data"]["node"] is None


async def test_the_inbox_needs_a_session(client):
    body = await gql(client, "{ viewer { account { id } } }")
    assert body["data"]["viewer"] is None
    marked = await gql(client, MARK_READ, {"all": True})
    assert marked["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ------------------------------------------------------------------------- reading it


async def test_marking_read_counts_what_changed_and_unread_only_filters(client):
    person = await member_with_person(client)
    for _ in range(3):
        appointment = await book_open_slot(client, person.token, person.person.id)
        cancel = await mutate(
            client,
            """mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }""",
            person.token,
            id=appointment["id"],
        )
        assert cancel["__typename"] == "AppointmentCancelled"
    whole = await inbox(client, person.token)
    total = len(whole["edges"])
    assert whole["unreadCount"] == total >= 3
    newest = whole["edges"][0]["node"]["id"]

    once = await mutate(client, MARK_READ, person.token, ids=[newest])
    assert once["count"] == 1
    again = await mutate(client, MARK_READ, person.token, ids=[newest])
    assert again["count"] == 0
    unread = await inbox(client, person.token, unread=True)
    assert unread["unreadCount"] == total - 1
    assert newest not in [e["node"]["id"] for e in unread["edges"]]
    (read,) = [
        e["node"] for e in (await inbox(client, person.token))["edges"] if e["node"]["id"] == newest
    ]
    assert read["readAt"] is not None

    everything = await mutate(client, MARK_READ, person.token, all=True)
    assert everything["count"] == total - 1
    assert (await inbox(client, person.token))["unreadCount"] == 0


async def test_marking_read_wants_ids_or_all_but_not_both(client):
    person = await new_member(client)
    for variables in ({}, {"ids": []}, {"ids": [gid("Notification", 1)], "all": True}):
        result = await mutate(client, MARK_READ, person.token, **variables)
        assert result["__typename"] == "ValidationError", (variables, result)
        assert result["field"] == "ids"
    many = [gid("Notification", n) for n in range(1, 102)]
    result = await mutate(client, MARK_READ, person.token, ids=many)
    assert result["__typename"] == "ValidationError"
    # A malformed or foreign id names nothing the viewer may see: nothing to mark.
    result = await mutate(client, MARK_READ, person.token, ids=["nonsense", gid("Person", 1)])
    assert result == {"__typename": "NotificationsMarkedRead", "count": 0}


async def test_the_inbox_pages_newest_first(client):
    person = await member_with_person(client)
    application = await record_application(client, person.person.id)
    await move_application(client, application["id"], "ACCEPTED", "UNDER_REVIEW")
    await move_application(client, application["id"], "MATERIALS_REQUESTED", note="A photo")
    page = """query($after: String) { viewer { notifications(first: 2, after: $after) {
        unreadCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { id body } } } } }"""
    first = (await gql(client, page, {}, token=person.token))["data"]["viewer"]["notifications"]
    assert first["unreadCount"] == 3
    assert [e["node"]["body"].split(": ")[1][:19] for e in first["edges"]] == [
        "materials requested",
        "under review.",
    ]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    after = first["pageInfo"]["endCursor"]
    rest = await gql(client, page, {"after": after}, token=person.token)
    second = rest["data"]["viewer"]["notifications"]
    assert [e["node"]["body"] for e in second["edges"]] == [
        f"Application {application['number']} is now: accepted."
    ]
    assert not second["pageInfo"]["hasNextPage"] and second["pageInfo"]["hasPreviousPage"]


# -------------------------------------------------------------------------- preferences


async def test_preferences_choose_channels_per_kind(client):
    person = await member_with_person(client)
    account = (await gql(client, ACCOUNT, token=person.token))["data"]["viewer"]["account"]
    assert account["emailVerified"] is False
    # One preference per kind, every kind on both channels until changed.
    assert [p["kind"] for p in account["notificationPreferences"]] == [k.value for k in Kind]
    assert all(p["channels"] == ["INBOX", "EMAIL"] for p in account["notificationPreferences"])

    saved = await mutate(
        client,
        SET_PREFERENCES,
        person.token,
        prefs=[
            {"kind": "APPOINTMENT_BOOKED", "channels": ["EMAIL"]},
            {"kind": "APPLICATION_STATUS_CHANGED", "channels": []},
        ],
    )
    assert saved["__typename"] == "PreferencesSaved", saved
    chosen = {p["kind"]: p["channels"] for p in saved["account"]["notificationPreferences"]}
    assert chosen["APPOINTMENT_BOOKED"] == ["EMAIL"]
    assert chosen["APPLICATION_STATUS_CHANGED"] == []
    assert chosen["APPOINTMENT_CHANGED"] == ["INBOX", "EMAIL"]

    appointment = await book_open_slot(client, person.token, person.person.id)
    application = await record_application(client, person.person.id)
    assert await about(client, person.token, "APPOINTMENT_BOOKED", appointment["id"]) == []
    assert await of_kind(client, person.token, "APPLICATION_STATUS_CHANGED") == []
    account_id = pk_of((await viewer_account(client, person.token))["id"])
    booked_mail = await Delivery.filter(account_id=account_id, kind="APPOINTMENT_BOOKED")
    assert len(booked_mail) == 1 and appointment["reference"] in booked_mail[0].subject
    assert not await Delivery.filter(account_id=account_id, kind="APPLICATION_STATUS_CHANGED")
    assert application["number"]

    # Another kind changed later keeps the first choice (kinds not listed keep theirs).
    await mutate(
        client,
        SET_PREFERENCES,
        person.token,
        prefs=[{"kind": "APPOINTMENT_BOOKED", "channels": ["INBOX", "EMAIL"]}],
    )
    account = (await gql(client, ACCOUNT, token=person.token))["data"]["viewer"]["account"]
    chosen = {p["kind"]: p["channels"] for p in account["notificationPreferences"]}
    assert chosen["APPOINTMENT_BOOKED"] == ["INBOX", "EMAIL"]
    assert chosen["APPLICATION_STATUS_CHANGED"] == []


async def test_preferences_refuse_a_kind_listed_twice(client):
    person = await new_member(client)
    twice = [
        {"kind": "WAITLIST_OFFER", "channels": ["EMAIL"]},
        {"kind": "WAITLIST_OFFER", "channels": []},
    ]
    result = await mutate(client, SET_PREFERENCES, person.token, prefs=twice)
    assert result["__typename"] == "ValidationError" and result["field"] == "notifications"
    body = await gql(client, SET_PREFERENCES, {"language": "ZH"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_language_is_the_chosen_one_else_the_last_sign_ins(client):
    person = await member_with_person(client)
    token = await sign_in_with_language(client, person.email, "ko-KR,ko;q=0.9,en;q=0.5")
    account = (await gql(client, ACCOUNT, token=token))["data"]["viewer"]["account"]
    assert account["language"] == "KO"
    appointment = await book_open_slot(client, token, person.person.id)
    (seen,) = await about(client, token, "APPOINTMENT_BOOKED", appointment["id"])
    assert seen["title"] == "예약 완료"

    saved = await mutate(client, SET_PREFERENCES, token, language="ZH")
    assert saved["account"]["language"] == "ZH"
    (seen,) = await about(client, token, "APPOINTMENT_BOOKED", appointment["id"])
    assert seen["title"] == "预约成功"
    # An explicit lang wins for one read.
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Notification { title(lang: FR) } } }",
        {"id": seen["id"]},
        token=token,
    )
    assert body["data"]["node"]["title"] == "Rendez-vous réservé"
    # A later sign-in in another language does not undo the choice.
    token = await sign_in_with_language(client, person.email, "ja")
    account = (await gql(client, ACCOUNT, token=token))["data"]["viewer"]["account"]
    assert account["language"] == "ZH"


async def sign_in_with_language(client: httpx.AsyncClient, email: str, accept: str) -> str:
    from tests.conftest import SIGN_IN
    from tests.helpers import PASSWORD

    body = await gql(
        client, SIGN_IN, {"email": email, "password": PASSWORD}, accept_language=accept
    )
    return body["data"]["signIn"]["accessToken"]


# ------------------------------------------------------------------------------ live


async def _init(ws: Any, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
    await ws.send_json({"id": "n", "type": "subscribe", "payload": {"query": SUBSCRIBE}})


async def _listening(app: Any, member_token: str, client: httpx.AsyncClient) -> None:
    """Wait until the account's inbox stream is registered with the event bus."""
    account_id = pk_of((await viewer_account(client, member_token))["id"])
    inboxes = app.state.services.events._inboxes
    for _ in range(200):
        if inboxes.get(account_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscription never started listening")


async def test_new_notifications_arrive_over_the_websocket_for_the_right_people(app, client):
    person = await member_with_person(client)
    helper, delegation = await helper_of(client, person, ["BOOK_APPOINTMENTS"])
    blind, _ = await helper_of(client, person, ["VIEW_DOCUMENTS"])
    async with (
        graphql_ws(app, address="10.251.0.1") as own_ws,
        graphql_ws(app, address="10.251.0.2") as helper_ws,
        graphql_ws(app, address="10.251.0.3") as blind_ws,
    ):
        await _init(own_ws, person.token)
        await _init(helper_ws, helper.token)
        await _init(blind_ws, blind.token)
        for member in (person, helper, blind):
            await _listening(app, member.token, client)

        appointment = await book_open_slot(client, person.token, person.person.id)
        for ws in (own_ws, helper_ws):
            message = await ws.receive_json(timeout=10)
            assert message["type"] == "next", message
            got = message["payload"]["data"]["notifications"]
            assert got["kind"] == "APPOINTMENT_BOOKED"
            assert got["subject"]["id"] == appointment["id"]
            assert got["person"]["id"] == person.person.id
        with pytest.raises(TimeoutError):
            message = await blind_ws.receive_json(timeout=1.5)
            raise AssertionError(f"a helper without the scope was told: {message}")

        # Revoked: the helper's stream stays open but shows nothing more about the person.
        await revoke(client, person.token, delegation["id"])
        await book_open_slot(client, person.token, person.person.id, "VISA_RENEWAL")
        message = await own_ws.receive_json(timeout=10)
        assert message["payload"]["data"]["notifications"]["kind"] == "APPOINTMENT_BOOKED"
        with pytest.raises(TimeoutError):
            message = await helper_ws.receive_json(timeout=1.5)
            raise AssertionError(f"a former helper was told: {message}")


async def test_the_notifications_subscription_needs_a_session(app):
    async with graphql_ws(app, address="10.251.0.9") as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json({"id": "n", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_rolled_back_change_leaves_no_notification(client):
    """notify writes in the change's transaction: a refused booking (the person already holds
    one for the service) leaves neither an inbox row nor mail."""
    person = await member_with_person(client)
    await book_open_slot(client, person.token, person.person.id)
    person_pk = pk_of(person.person.id)
    rows_before = await NotificationRow.filter(person_id=person_pk).count()
    mail_before = await Delivery.filter(kind="APPOINTMENT_BOOKED").count()
    (slot,) = await open_slots(client)
    body = await gql(
        client,
        """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
           __typename } }""",
        {
            "input": {
                "applicantId": person.person.id,
                "slotId": slot["id"],
                "service": "VISA_EXTENSION",
            }
        },
        token=person.token,
    )
    assert body["data"]["bookAppointment"]["__typename"] == "AlreadyBooked"
    assert await NotificationRow.filter(person_id=person_pk).count() == rows_before
    assert await Delivery.filter(kind="APPOINTMENT_BOOKED").count() == mail_before


async def test_dependants_without_accounts_are_heard_of_by_their_helpers_only(client):
    helper = await new_member(client)
    child = await register_person(client, birth_date=f"{datetime.now().year - 6}-02-01")
    delegation = await add_ok(client, helper.token, child, scopes=["BOOK_APPOINTMENTS"])
    assert delegation["status"] == "ACTIVE"
    appointment = await book_open_slot(client, helper.token, child.id)
    (seen,) = await about(client, helper.token, "APPOINTMENT_BOOKED", appointment["id"])
    assert seen["person"]["id"] == child.id


REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_a_notification_made_in_one_process_reaches_a_subscriber_of_another(test_settings):
    """Two server processes sharing Redis: a booking over HTTP on one reaches the person's and
    the helper's subscriptions held by the other, and not a helper without the scope's."""
    env = server_environment(test_settings, REDIS_URL=REDIS_URL)
    async with running_servers(2, env, ready_attempts=300) as (first, second):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{first}", timeout=30) as http,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{second}", timeout=30) as other,
        ):
            person = await member_with_person(http)
            helper, _ = await helper_of(http, person, ["BOOK_APPOINTMENTS"])
            blind, _ = await helper_of(http, person, ["VIEW_APPLICATIONS"])
            url = f"http://127.0.0.1:{second}/graphql"
            protocols = ["graphql-transport-ws"]
            async with (
                aconnect_ws(url, other, subprotocols=protocols) as own_ws,
                aconnect_ws(url, other, subprotocols=protocols) as helper_ws,
                aconnect_ws(url, other, subprotocols=protocols) as blind_ws,
            ):
                for ws, member in ((own_ws, person), (helper_ws, helper), (blind_ws, blind)):
                    await _init(ws, member.token)
                await asyncio.sleep(1.0)  # the subscriptions are listening in the other process
                appointment = await book_open_slot(http, person.token, person.person.id)
                for ws in (own_ws, helper_ws):
                    message = await ws.receive_json(timeout=15)
                    got = message["payload"]["data"]["notifications"]
                    assert got["kind"] == "APPOINTMENT_BOOKED"
                    assert got["subject"]["id"] == appointment["id"]
                with pytest.raises(TimeoutError):
                    message = await blind_ws.receive_json(timeout=1.5)
                    raise AssertionError(f"a helper without the scope was told: {message}")


async def test_notify_belongs_inside_the_unit_of_work_of_the_change(app):
    """Called outside a mutation's unit of work there is no transaction to join: refused."""
    from resolvers.notifications import NotificationKind, notify

    with pytest.raises(RuntimeError, match="unit of work"):
        await notify(NotificationKind.WAITLIST_OFFER, about_person_id=1, subject=None)


async def _statements(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post(
        "/graphql",
        json={"query": INBOX, "variables": {"first": 100}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return int(response.headers["x-sql-statements"])


async def test_an_inbox_page_takes_as_many_statements_with_one_notification_as_with_many(client):
    """Person and subject of every notification of a page come in batches (one query per
    type), for the person and for a helper: the count does not grow with the page."""
    one = await member_with_person(client)
    helper_of_one, _ = await helper_of(client, one, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"])
    many = await member_with_person(client)
    helper_of_many, _ = await helper_of(client, many, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"])
    await book_open_slot(client, one.token, one.person.id)
    application = await record_application(client, one.person.id)
    await move_application(client, application["id"], "ACCEPTED")
    for service in ("VISA_EXTENSION", "VISA_RENEWAL", "STAY_PERMIT_EXTENSION"):
        await book_open_slot(client, many.token, many.person.id, service)
    for service in ("RESIDENCE_PERMIT_ISSUANCE", "VISA_RENEWAL", "VISA_REISSUANCE"):
        application = await record_application(client, many.person.id, service)
        await move_application(client, application["id"], "ACCEPTED", "UNDER_REVIEW")
    assert (
        len((await inbox(client, many.token))["edges"])
        >= 4 * len((await inbox(client, one.token))["edges"]) - 4
    )
    assert await _statements(client, one.token) == await _statements(client, many.token)
    assert await _statements(client, helper_of_one.token) == await _statements(
        client, helper_of_many.token
    )


async def test_a_stream_opened_before_linking_identity_carries_the_persons_notifications(
    app, client
):
    """A client opens its inbox stream at sign-in; the user then links their identity over
    HTTP (onboarding) and books: the booking's notice reaches the open stream."""
    person = await register_person(client)
    member = await new_member(client)
    async with graphql_ws(app) as ws:
        await _init(ws, member.token)
        await _listening(app, member.token, client)
        await link_identity_ok(client, member.token, person.facts(), person.id)
        appointment = await book_open_slot(client, member.token, person.id)
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        got = message["payload"]["data"]["notifications"]
        assert got["kind"] == "APPOINTMENT_BOOKED"
        assert got["subject"]["id"] == appointment["id"]


PAGE = """
query($first: Int, $after: String, $unread: Boolean) { viewer {
  notifications(first: $first, after: $after, unreadOnly: $unread) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id } } } } }"""


async def _page(client: httpx.AsyncClient, token: str, **variables: Any) -> dict:
    body = await gql(client, PAGE, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["viewer"]["notifications"]


async def test_reading_the_unread_page_by_page_skips_none(client):
    """A client that pages through `unreadOnly` and marks each page read used to miss
    notifications: the cursor was a place in the list, and the read ones left the list
    before it. Cursors now name the notification, so every unread one is seen once."""
    member = await member_with_person(client)
    for service in ("VISA_EXTENSION", "VISA_RENEWAL", "VISA_REISSUANCE", "STAY_PERMIT_EXTENSION"):
        await book_open_slot(client, member.token, member.person.id, service)
    unread = [e["node"]["id"] for e in (await inbox(client, member.token, unread=True))["edges"]]
    assert len(unread) >= 4

    seen: list[str] = []
    after = None
    while True:
        page = await _page(client, member.token, first=2, after=after, unread=True)
        ids = [e["node"]["id"] for e in page["edges"]]
        seen += ids
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        marked = await mutate(client, MARK_READ, member.token, ids=ids)
        assert marked == {"__typename": "NotificationsMarkedRead", "count": len(ids)}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == unread


async def test_a_notification_arriving_between_pages_is_not_shown_twice(client):
    member = await member_with_person(client)
    for service in ("VISA_EXTENSION", "VISA_RENEWAL", "VISA_REISSUANCE"):
        await book_open_slot(client, member.token, member.person.id, service)
    everything = [e["node"]["id"] for e in (await inbox(client, member.token))["edges"]]
    first = await _page(client, member.token, first=2)

    await book_open_slot(client, member.token, member.person.id, "STAY_PERMIT_EXTENSION")
    rest = await _page(client, member.token, first=100, after=first["pageInfo"]["endCursor"])

    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert ids == everything


async def test_an_inbox_cursor_not_issued_by_the_api_is_bad_input(client):
    member = await member_with_person(client)
    await book_open_slot(client, member.token, member.person.id)
    cursor = (await _page(client, member.token, first=1))["edges"][0]["cursor"]
    assert await _page(client, member.token, first=1, after=cursor) is not None
    # k:1 (no id), k:1: , k:-1:1, a moment of 20 digits, a leading zero, an id past what
    # the tables hold (k:1:2147483648 and k:1:99999999999: PostgreSQL failed the query, a
    # 500); a stray letter.
    forged = (
        "azox",
        "azoxOg",
        "azotMTox",
        "azo5OTk5OTk5OTk5OTk5OTk5OTk5OTox",
        "azowMTox",
        canonical_base64("k:1:2147483648"),
        canonical_base64("k:1:99999999999"),
    )
    for after in (*forged, cursor + "A"):
        body = await gql(client, PAGE, {"first": 1, "after": after}, token=member.token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (after, body)
