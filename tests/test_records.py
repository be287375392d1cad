"""Records through HTTP: applications and their status machine, issued documents, PR cards and
passport binding, as officers record them and as applicants and helpers see them.

Every flow works on persons it creates itself (an officer registers a person with a unique
passport number, a fresh account links to it with linkIdentity), so tests never collide on
the shared session database. Tests that depend on dates pin the clock and sign in again after
each pin (access tokens are issued for "now").
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.calendar import official_calendar
from domain.identifiers import decode_pr_card_number, make_pr_card_number
from persistence import records as records_store
from persistence.demo.records import person_with_records
from schema.common import to_global_id
from tests.conftest import gql, sign_in, sign_up
from tests.helpers import (
    APPLICATION_STATUSES,
    CHECK_IN,
    ISSUE_CARD,
    NOT_PERMITTED,
    SHANGHAI,
    Applicant,
    available,
    beijing,
    beijing_today,
    book,
    far_passport_end,
    helper_in_database,
    linked_applicant,
    office_id,
    officer_token,
    other_office_officer,
    passport_number,
    person_input,
    pk_of,
    register_person_as,
)

CALENDAR = official_calendar([2026, 2027])
OPEN = ("SUBMITTED", "ACCEPTED", "UNDER_REVIEW", "MATERIALS_REQUESTED")
# The statuses passed on the way to each status, from SUBMITTED.
PATH_TO = {
    "SUBMITTED": [],
    "ACCEPTED": ["ACCEPTED"],
    "UNDER_REVIEW": ["ACCEPTED", "UNDER_REVIEW"],
    "MATERIALS_REQUESTED": ["ACCEPTED", "UNDER_REVIEW", "MATERIALS_REQUESTED"],
    "APPROVED": ["ACCEPTED", "UNDER_REVIEW", "APPROVED"],
    "REJECTED": ["ACCEPTED", "UNDER_REVIEW", "REJECTED"],
    "READY_FOR_COLLECTION": ["ACCEPTED", "UNDER_REVIEW", "APPROVED", "READY_FOR_COLLECTION"],
    "COLLECTED": ["ACCEPTED", "UNDER_REVIEW", "APPROVED", "READY_FOR_COLLECTION", "COLLECTED"],
    "WITHDRAWN": ["WITHDRAWN"],
}
NUMBER = re.compile(r"^BJ-DC-(\d{4})-\d{6}$")
DOCUMENT_KINDS = ("VISA", "STAY_PERMIT", "RESIDENCE_PERMIT")

# ------------------------------------------------------------------------ GraphQL documents

APPLICATION_FIELDS = """
  id number service status submittedAt expectedDecisionOn office { code }
  events { status at note }
"""

RECORD = f"""
mutation($input: RecordApplicationInput!) {{
  recordApplication(input: $input) {{
    __typename
    ... on ApplicationRecorded {{ application {{ {APPLICATION_FIELDS} }} }}
    ... on ValidationError {{ message field }}
    ... on NotPermitted {{ message }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateApplicationStatusInput!) {{
  updateApplicationStatus(input: $input) {{
    __typename
    ... on ApplicationStatusUpdated {{ application {{ {APPLICATION_FIELDS} }} }}
    ... on InvalidTransition {{ message from to }}
    ... on NotPermitted {{ message }}
  }}
}}"""

DOCUMENT_FIELDS = """
  id kind category number validFrom validUntil entries durationOfStayDays
  issuedBy { code } daysRemaining extensionDeadline
"""

ISSUE_DOCUMENT = f"""
mutation($input: IssueDocumentInput!) {{
  issueDocument(input: $input) {{
    __typename
    ... on DocumentIssued {{ document {{ {DOCUMENT_FIELDS} }} }}
    ... on ValidationError {{ message field }}
    ... on NotPermitted {{ message }}
  }}
}}"""

BIND = """
mutation($input: BindPassportInput!) {
  bindPassport(input: $input) {
    __typename
    ... on PassportBound {
      passport { id number issuingCountry validUntil current boundFrom boundUntil }
      previous { id number issuingCountry validUntil current boundFrom boundUntil }
    }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

MY_APPLICATIONS = f"""
{{ viewer {{ person {{ id applications {{ edges {{ node {{ {APPLICATION_FIELDS} }} }} }} }} }} }}"""

MY_DOCUMENTS = f"""
query($kind: DocumentKind, $validOn: Date) {{
  viewer {{ person {{ id documents(kind: $kind, validOn: $validOn) {{ {DOCUMENT_FIELDS} }} }} }}
}}"""

MY_CARD = "{ viewer { person { permanentResidentCard { id number issuedOn validUntil } } } }"
MY_PASSPORTS = """
{ viewer { person {
    passports { number issuingCountry validUntil current boundFrom boundUntil } } } }"""

NODE_STATUS = "query($id: ID!) { node(id: $id) { id ... on Application { status } } }"
APPOINTMENT_NODE = "query($id: ID!) { node(id: $id) { id ... on Appointment { status } } }"

BOOK = """
mutation($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    __typename
    ... on BookingConfirmed { appointment { id status startsAt } }
    ... on SlotUnavailable { message }
    ... on AlreadyBooked { message }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""

# ------------------------------------------------------------------------------- helpers


def random_birth_date() -> date:
    return date(1950, 1, 1) + timedelta(days=random.randrange(0, 365 * 50))


async def register_person(
    client: httpx.AsyncClient,
    token: str,
    *,
    nationality: str = "GBR",
    sex: str = "X",
    birth_date: date | None = None,
    surname: str = "Recordson",
    passport_valid_until: str | None = None,
) -> tuple[dict, str]:
    """Register a person as `token`; returns (the four identity facts, the person's ID)."""
    facts = {
        "surname": surname,
        "nationality": nationality,
        "birthDate": (birth_date or random_birth_date()).isoformat(),
        "passportNumber": passport_number("R"),
    }
    values = person_input(
        facts,
        given_names="Sam",
        passport_valid_until=passport_valid_until or far_passport_end(),
        sex=sex,
    )
    person = await register_person_as(client, token, values)
    return facts, person["id"]


async def new_applicant(client: httpx.AsyncClient, **person: Any) -> Applicant:
    """The officer registers a person; a new account links itself to that person."""
    facts, person_id = await register_person(client, await officer_token(client), **person)
    return await linked_applicant(client, facts, person_id)


async def record(
    client: httpx.AsyncClient,
    token: str | None,
    person_id: str,
    service: str = "RESIDENCE_PERMIT_EXTENSION",
    **extra: str,
) -> dict:
    body = await gql(
        client, RECORD, {"input": {"applicantId": person_id, "service": service, **extra}}, token
    )
    assert "errors" not in body, body
    return body["data"]["recordApplication"]


async def record_ok(
    client: httpx.AsyncClient,
    token: str,
    person_id: str,
    service: str = "RESIDENCE_PERMIT_EXTENSION",
    **extra: str,
) -> dict:
    result = await record(client, token, person_id, service, **extra)
    assert result["__typename"] == "ApplicationRecorded", result
    return result["application"]


async def move(
    client: httpx.AsyncClient,
    token: str | None,
    application_id: str,
    status: str,
    note: str | None = None,
) -> dict:
    data: dict[str, Any] = {"applicationId": application_id, "status": status}
    if note is not None:
        data["note"] = note
    body = await gql(client, UPDATE, {"input": data}, token)
    assert "errors" not in body, body
    return body["data"]["updateApplicationStatus"]


async def move_ok(
    client: httpx.AsyncClient, token: str, application_id: str, status: str, note: str | None = None
) -> dict:
    result = await move(client, token, application_id, status, note)
    assert result["__typename"] == "ApplicationStatusUpdated", result
    assert result["application"]["status"] == status
    return result["application"]


async def application_in(
    client: httpx.AsyncClient,
    token: str,
    person_id: str,
    status: str,
    service: str = "RESIDENCE_PERMIT_EXTENSION",
) -> dict:
    """A new application of the person at BJ-DC, moved along to `status` (its document
    issued before it is ready for collection)."""
    application = await record_ok(client, token, person_id, service)
    for step in PATH_TO[status]:
        if step == "READY_FOR_COLLECTION":
            kind = next(k for k in DOCUMENT_KINDS if service.startswith(k))
            extra = {"category": "M", "entries": "SINGLE", "durationOfStayDays": 30}
            issued = await issue(
                client, token, application["id"], kind=kind, **(extra if kind == "VISA" else {})
            )
            assert issued["__typename"] == "DocumentIssued", issued
        application = await move_ok(client, token, application["id"], step)
    return application


async def issue(client: httpx.AsyncClient, token: str | None, application_id: str, **data: Any):
    """issueDocument; by default a two-year work permit starting in 39 days (still to come
    whatever the date: a document issued must not have ended)."""
    start = beijing_today() + timedelta(days=39)
    if (start.month, start.day) == (2, 29):
        start += timedelta(days=1)
    values = {
        "applicationId": application_id,
        "kind": "RESIDENCE_PERMIT",
        "category": "WORK",
        "validFrom": start.isoformat(),
        "validUntil": (start.replace(year=start.year + 2) - timedelta(days=1)).isoformat(),
        **data,
    }
    body = await gql(client, ISSUE_DOCUMENT, {"input": values}, token)
    assert "errors" not in body, body
    return body["data"]["issueDocument"]


# A legacy (15-character) card was issued before 1 December 2023.
LEGACY_DATES = {"issuedOn": "2019-05-10", "validUntil": "2029-05-09"}


async def issue_card(client: httpx.AsyncClient, token: str | None, person_id: str, **data: Any):
    values = {"personId": person_id, "issuedOn": "2026-11-20", "validUntil": "2036-11-19", **data}
    body = await gql(client, ISSUE_CARD, {"input": values}, token)
    assert "errors" not in body, body
    return body["data"]["issuePermanentResidentCard"]


async def bind(
    client: httpx.AsyncClient,
    token: str | None,
    person_id: str,
    number: str,
    country: str = "GBR",
    valid_until: str = "2036-01-31",
) -> dict:
    values = {
        "personId": person_id,
        "passportNumber": number,
        "issuingCountry": country,
        "validUntil": valid_until,
    }
    body = await gql(client, BIND, {"input": values}, token)
    assert "errors" not in body, body
    return body["data"]["bindPassport"]


async def my_applications(client: httpx.AsyncClient, who: Applicant) -> list[dict]:
    body = await gql(client, MY_APPLICATIONS, token=who.token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["viewer"]["person"]["applications"]["edges"]]


async def my_application(client: httpx.AsyncClient, who: Applicant, application_id: str) -> dict:
    (found,) = [a for a in await my_applications(client, who) if a["id"] == application_id]
    return found


async def my_documents(client: httpx.AsyncClient, who: Applicant, **filters: str) -> list[dict]:
    body = await gql(client, MY_DOCUMENTS, filters, token=who.token)
    assert "errors" not in body, body
    return body["data"]["viewer"]["person"]["documents"]


async def status_of(client: httpx.AsyncClient, token: str, application_id: str) -> str:
    body = await gql(client, NODE_STATUS, {"id": application_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]["status"]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ----------------------------------------------------------------- the whole officer flow


async def test_officer_flow_from_registration_to_collection_as_the_applicant_sees_it(client, clock):
    submitted_on = date(2026, 12, 21)  # a Monday
    clock.pinned = beijing(submitted_on, 9, 30)
    who = await new_applicant(client, nationality="AUS")
    desk = await officer_token(client)

    # Recorded: SUBMITTED, numbered by office and year, one event in Beijing time.
    recorded = await record_ok(client, desk, who.person_id, "RESIDENCE_PERMIT_EXTENSION")
    assert NUMBER.fullmatch(recorded["number"]), recorded["number"]
    assert NUMBER.fullmatch(recorded["number"]).group(1) == "2026"
    assert recorded["status"] == "SUBMITTED"
    assert recorded["service"] == "RESIDENCE_PERMIT_EXTENSION"
    assert recorded["office"] == {"code": "BJ-DC"}
    application_id = recorded["id"]

    seen = await my_application(client, who, application_id)
    assert seen["number"] == recorded["number"]
    assert seen["status"] == "SUBMITTED"
    assert len(seen["events"]) == 1
    (submitted,) = seen["events"]
    assert submitted["status"] == "SUBMITTED"
    assert submitted["note"] is None
    assert submitted["at"].endswith("+08:00"), submitted["at"]
    assert instant(submitted["at"]) == beijing(submitted_on, 9, 30)
    assert instant(seen["submittedAt"]) == beijing(submitted_on, 9, 30)
    # Until accepted, the statutory time runs from submission (15 working days here).
    assert seen["expectedDecisionOn"] == CALENDAR.add_working_days(submitted_on, 15).isoformat()

    # Accepted two days later: the time now runs from the acceptance date (across New Year).
    accepted_on = date(2026, 12, 23)
    clock.pinned = beijing(accepted_on, 10)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    updated = await move_ok(client, desk, application_id, "ACCEPTED")
    expected = CALENDAR.add_working_days(accepted_on, 15)
    assert expected != CALENDAR.add_working_days(submitted_on, 15)
    assert updated["expectedDecisionOn"] == expected.isoformat()
    seen = await my_application(client, who, application_id)
    assert seen["status"] == "ACCEPTED"
    assert seen["expectedDecisionOn"] == expected.isoformat()

    # Under review: the decision date stays counted from acceptance.
    clock.pinned = beijing(date(2026, 12, 24), 11)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    await move_ok(client, desk, application_id, "UNDER_REVIEW")
    seen = await my_application(client, who, application_id)
    assert seen["status"] == "UNDER_REVIEW"
    assert seen["expectedDecisionOn"] == expected.isoformat()

    # Materials requested, with a note for the applicant.
    note = "Please bring your employer's letter and a recent photo."
    clock.pinned = beijing(date(2026, 12, 28), 14, 15)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    await move_ok(client, desk, application_id, "MATERIALS_REQUESTED", note)
    seen = await my_application(client, who, application_id)
    assert seen["status"] == "MATERIALS_REQUESTED"
    assert seen["events"][-1] == {
        "status": "MATERIALS_REQUESTED",
        "at": seen["events"][-1]["at"],
        "note": note,
    }
    assert instant(seen["events"][-1]["at"]) == beijing(date(2026, 12, 28), 14, 15)

    # Back under review, then approved: no decision date any more.
    clock.pinned = beijing(date(2026, 12, 30), 9)
    desk = await officer_token(client)
    await move_ok(client, desk, application_id, "UNDER_REVIEW")
    approved_on = date(2027, 1, 5)
    clock.pinned = beijing(approved_on, 16)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    approved = await move_ok(client, desk, application_id, "APPROVED")
    assert approved["expectedDecisionOn"] is None
    seen = await my_application(client, who, application_id)
    assert seen["status"] == "APPROVED"
    assert seen["expectedDecisionOn"] is None

    # The residence permit is issued; its number is generated.
    valid_from, valid_until = date(2027, 1, 10), date(2029, 1, 9)
    issued = await issue(
        client,
        desk,
        application_id,
        kind="RESIDENCE_PERMIT",
        category="WORK",
        validFrom=valid_from.isoformat(),
        validUntil=valid_until.isoformat(),
    )
    assert issued["__typename"] == "DocumentIssued", issued
    document = issued["document"]
    assert document["kind"] == "RESIDENCE_PERMIT"
    assert document["category"] == "WORK"
    assert len(document["number"]) >= 5
    assert document["validFrom"] == valid_from.isoformat()
    assert document["validUntil"] == valid_until.isoformat()
    assert document["issuedBy"] == {"code": "BJ-DC"}
    assert document["daysRemaining"] == (valid_until - approved_on).days
    assert document["extensionDeadline"] == (valid_until - timedelta(days=30)).isoformat()
    assert document["entries"] is None
    assert document["durationOfStayDays"] is None
    mine = await my_documents(client, who)
    assert [d["id"] for d in mine] == [document["id"]]
    assert mine[0]["number"] == document["number"]
    assert mine[0]["extensionDeadline"] == document["extensionDeadline"]
    assert mine[0]["daysRemaining"] == (valid_until - approved_on).days

    # Ready for collection, then collected.
    clock.pinned = beijing(date(2027, 1, 8), 10)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    await move_ok(client, desk, application_id, "READY_FOR_COLLECTION", "Your permit is ready.")
    clock.pinned = beijing(date(2027, 1, 11), 9, 5)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    await move_ok(client, desk, application_id, "COLLECTED")

    seen = await my_application(client, who, application_id)
    assert seen["status"] == "COLLECTED"
    assert seen["expectedDecisionOn"] is None
    assert [e["status"] for e in seen["events"]] == [
        "SUBMITTED",
        "ACCEPTED",
        "UNDER_REVIEW",
        "MATERIALS_REQUESTED",
        "UNDER_REVIEW",
        "APPROVED",
        "READY_FOR_COLLECTION",
        "COLLECTED",
    ]
    assert all(e["at"].endswith("+08:00") for e in seen["events"]), seen["events"]
    times = [instant(e["at"]) for e in seen["events"]]
    assert times == sorted(times)
    assert [e["note"] for e in seen["events"]] == [
        None,
        None,
        None,
        note,
        None,
        None,
        "Your permit is ready.",
        None,
    ]

    # Nothing follows COLLECTED.
    for status in APPLICATION_STATUSES:
        refused = await move(client, desk, application_id, status)
        assert refused["__typename"] == "InvalidTransition", (status, refused)
        assert refused["from"] == "COLLECTED"
        assert refused["to"] == status
        assert refused["message"]
    assert (await my_application(client, who, application_id))["status"] == "COLLECTED"


async def test_expected_decision_date_uses_the_services_working_days(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    body = await gql(client, "{ services { code processingWorkingDays } }")
    days = {s["code"]: s["processingWorkingDays"] for s in body["data"]["services"]}
    assert days["RESIDENCE_PERMIT_EXTENSION"] == 15
    assert days["VISA_EXTENSION"] == 7

    visa = await record_ok(client, desk, who.person_id, "VISA_EXTENSION")
    today = datetime.fromisoformat(visa["submittedAt"]).astimezone(SHANGHAI).date()
    assert visa["expectedDecisionOn"] == CALENDAR.add_working_days(today, 7).isoformat()
    accepted = await move_ok(client, desk, visa["id"], "ACCEPTED")
    assert accepted["expectedDecisionOn"] == CALENDAR.add_working_days(today, 7).isoformat()


async def test_application_numbers_are_distinct_and_follow_the_office_and_year(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    first = await record_ok(client, desk, who.person_id, "VISA_EXTENSION")
    second = await record_ok(client, desk, who.person_id, "STAY_PERMIT_EXTENSION")
    year = datetime.fromisoformat(first["submittedAt"]).astimezone(SHANGHAI).year
    for application in (first, second):
        match = NUMBER.fullmatch(application["number"])
        assert match, application["number"]
        assert match.group(1) == str(year)
    assert first["number"] != second["number"]
    assert int(second["number"][-6:]) > int(first["number"][-6:])
    # The applicant sees both, latest first.
    assert [a["id"] for a in await my_applications(client, who)] == [second["id"], first["id"]]


async def test_submitted_at_carries_the_offices_offset_like_the_events(client, clock):
    clock.pinned = beijing(date(2026, 12, 2), 15, 45)
    who = await new_applicant(client)
    desk = await officer_token(client)
    recorded = await record_ok(client, desk, who.person_id, "VISA_EXTENSION")
    # The same moment as the SUBMITTED event, shown in the office's zone (Asia/Shanghai).
    assert recorded["events"][0]["at"] == "2026-12-02T15:45:00+08:00"
    assert recorded["submittedAt"] == "2026-12-02T15:45:00+08:00"


async def test_concurrent_recordings_get_distinct_numbers(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    services = ["VISA_EXTENSION", "VISA_RENEWAL", "VISA_REISSUANCE", "STAY_PERMIT_ISSUANCE",
                "STAY_PERMIT_EXTENSION", "STAY_PERMIT_RENEWAL"]  # fmt: skip
    results = await asyncio.gather(*(record(client, desk, who.person_id, s) for s in services))
    assert all(r["__typename"] == "ApplicationRecorded" for r in results), results
    numbers = [r["application"]["number"] for r in results]
    assert len(set(numbers)) == len(numbers), numbers


async def test_concurrent_identical_transitions_move_the_application_once(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await record_ok(client, desk, who.person_id, "VISA_EXTENSION")
    results = await asyncio.gather(
        *(move(client, desk, application["id"], "ACCEPTED") for _ in range(4))
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["ApplicationStatusUpdated"] + ["InvalidTransition"] * 3, results
    for refused in (r for r in results if r["__typename"] == "InvalidTransition"):
        assert refused["to"] == "ACCEPTED"
    seen = await my_application(client, who, application["id"])
    assert [e["status"] for e in seen["events"]] == ["SUBMITTED", "ACCEPTED"]


# ------------------------------------------------------------------------- status machine


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("SUBMITTED", "APPROVED"),
        ("SUBMITTED", "UNDER_REVIEW"),
        ("SUBMITTED", "REJECTED"),
        ("SUBMITTED", "COLLECTED"),
        ("SUBMITTED", "SUBMITTED"),
        ("ACCEPTED", "APPROVED"),
        ("ACCEPTED", "MATERIALS_REQUESTED"),
        ("MATERIALS_REQUESTED", "APPROVED"),
        ("APPROVED", "COLLECTED"),
        ("APPROVED", "REJECTED"),
        ("APPROVED", "UNDER_REVIEW"),
        ("READY_FOR_COLLECTION", "APPROVED"),
    ],
)
async def test_an_invalid_transition_is_refused_with_from_and_to(client, start, target):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, start)
    events_before = (await my_application(client, who, application["id"]))["events"]

    refused = await move(client, desk, application["id"], target, "should not be kept")

    assert refused["__typename"] == "InvalidTransition", refused
    assert refused["from"] == start
    assert refused["to"] == target
    assert refused["message"]
    seen = await my_application(client, who, application["id"])
    assert seen["status"] == start
    assert seen["events"] == events_before


@pytest.mark.parametrize("start", ["REJECTED", "WITHDRAWN"])
async def test_rejected_and_withdrawn_are_final(client, start):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, start)
    assert application["expectedDecisionOn"] is None
    for target in APPLICATION_STATUSES:
        refused = await move(client, desk, application["id"], target)
        assert refused["__typename"] == "InvalidTransition", (target, refused)
        assert (refused["from"], refused["to"]) == (start, target)
    assert (await my_application(client, who, application["id"]))["status"] == start


@pytest.mark.parametrize("start", OPEN)
async def test_withdrawn_is_allowed_from_every_open_state(client, start):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, start)

    withdrawn = await move_ok(client, desk, application["id"], "WITHDRAWN", "Applicant withdrew.")

    assert withdrawn["expectedDecisionOn"] is None
    seen = await my_application(client, who, application["id"])
    assert seen["status"] == "WITHDRAWN"
    assert seen["events"][-1]["status"] == "WITHDRAWN"
    assert seen["events"][-1]["note"] == "Applicant withdrew."
    assert [e["status"] for e in seen["events"]] == ["SUBMITTED", *PATH_TO[start], "WITHDRAWN"]


@pytest.mark.parametrize("start", ["APPROVED", "REJECTED", "READY_FOR_COLLECTION", "COLLECTED"])
async def test_withdrawn_is_refused_once_decided(client, start):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, start)

    refused = await move(client, desk, application["id"], "WITHDRAWN")

    assert refused["__typename"] == "InvalidTransition", refused
    assert (refused["from"], refused["to"]) == (start, "WITHDRAWN")
    assert (await my_application(client, who, application["id"]))["status"] == start


async def test_rejected_application_has_no_decision_date_and_the_applicant_sees_the_note(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, "UNDER_REVIEW")
    rejected = await move_ok(
        client, desk, application["id"], "REJECTED", "The employment contract has ended."
    )
    assert rejected["expectedDecisionOn"] is None
    seen = await my_application(client, who, application["id"])
    assert seen["status"] == "REJECTED"
    assert seen["events"][-1]["note"] == "The employment contract has ended."


async def test_a_note_longer_than_2000_characters_is_refused(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, "UNDER_REVIEW")
    body = await gql(
        client,
        """mutation($input: UpdateApplicationStatusInput!) {
             updateApplicationStatus(input: $input) { __typename } }""",
        {"input": {"applicationId": application["id"], "status": "REJECTED", "note": "x" * 2001}},
        token=desk,
    )
    # Refused as data (never a 500); the application does not move.
    assert "errors" not in body, body
    assert body["data"]["updateApplicationStatus"]["__typename"] != "ApplicationStatusUpdated"
    assert (await my_application(client, who, application["id"]))["status"] == "UNDER_REVIEW"


async def test_the_applicants_status_filter_lists_only_that_status(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    submitted = await record_ok(client, desk, who.person_id, "VISA_EXTENSION")
    review = await application_in(client, desk, who.person_id, "UNDER_REVIEW", "VISA_RENEWAL")
    body = await gql(
        client,
        """query($s: ApplicationStatus) { viewer { person {
             applications(status: $s) { edges { node { id status } } } } } }""",
        {"s": "UNDER_REVIEW"},
        token=who.token,
    )
    edges = body["data"]["viewer"]["person"]["applications"]["edges"]
    assert [e["node"] for e in edges] == [{"id": review["id"], "status": "UNDER_REVIEW"}]
    assert submitted["id"] not in [e["node"]["id"] for e in edges]


# ------------------------------------------------------------------------------ documents


@pytest.mark.parametrize("status", ["SUBMITTED", "UNDER_REVIEW", "REJECTED", "WITHDRAWN"])
async def test_issuing_a_document_for_an_application_not_approved_is_validation_error(
    client, status
):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, status)

    result = await issue(client, desk, application["id"])

    assert result["__typename"] == "ValidationError", result
    assert result["message"]
    assert await my_documents(client, who) == []


async def test_issuing_a_document_of_the_wrong_kind_for_the_service_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    permit = await application_in(client, desk, who.person_id, "APPROVED")
    visa = await application_in(client, desk, who.person_id, "APPROVED", "VISA_EXTENSION")

    wrong_for_permit = await issue(
        client,
        desk,
        permit["id"],
        kind="VISA",
        category="Z",
        entries="SINGLE",
        durationOfStayDays=30,
    )
    wrong_for_visa = await issue(client, desk, visa["id"], kind="STAY_PERMIT", category="WORK")

    for result in (wrong_for_permit, wrong_for_visa):
        assert result["__typename"] == "ValidationError", result
        assert result["field"] == "kind"
    assert await my_documents(client, who) == []


async def test_issuing_with_an_unknown_category_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    permit = await application_in(client, desk, who.person_id, "APPROVED")
    result = await issue(client, desk, permit["id"], category="TOURISM")
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "category"


async def test_a_document_ending_before_it_starts_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    permit = await application_in(client, desk, who.person_id, "APPROVED")
    result = await issue(
        client, desk, permit["id"], validFrom="2027-03-01", validUntil="2027-01-01"
    )
    assert result["__typename"] == "ValidationError", result


async def test_a_visa_has_an_extension_deadline_seven_days_before_it_ends(client, clock):
    today = date(2026, 12, 1)
    clock.pinned = beijing(today, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    visa_application = await application_in(
        client, desk, who.person_id, "APPROVED", "VISA_EXTENSION"
    )
    valid_until = date(2027, 2, 28)

    issued = await issue(
        client,
        desk,
        visa_application["id"],
        kind="VISA",
        category="z",  # normalised to upper case
        validFrom="2026-12-02",
        validUntil=valid_until.isoformat(),
        entries="MULTIPLE",
        durationOfStayDays=90,
    )

    assert issued["__typename"] == "DocumentIssued", issued
    visa = issued["document"]
    assert visa["kind"] == "VISA"
    assert visa["category"] == "Z"
    assert visa["entries"] == "MULTIPLE"
    assert visa["durationOfStayDays"] == 90
    assert visa["number"]
    assert visa["extensionDeadline"] == (valid_until - timedelta(days=7)).isoformat()
    assert visa["daysRemaining"] == (valid_until - today).days
    (seen,) = await my_documents(client, who)
    assert seen["id"] == visa["id"]
    assert seen["extensionDeadline"] == "2027-02-21"
    assert seen["daysRemaining"] == (valid_until - today).days


async def test_a_stay_permit_has_an_extension_deadline_seven_days_before_it_ends(client, clock):
    # Its documents' fixed dates must be still to come when issued (validUntil not passed).
    clock.pinned = beijing(date(2026, 12, 2), 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(
        client, desk, who.person_id, "APPROVED", "STAY_PERMIT_ISSUANCE"
    )
    issued = await issue(
        client,
        desk,
        application["id"],
        kind="STAY_PERMIT",
        category="PRIVATE_AFFAIRS",
        validFrom="2027-01-01",
        validUntil="2027-06-30",
    )
    assert issued["__typename"] == "DocumentIssued", issued
    assert issued["document"]["extensionDeadline"] == "2027-06-23"


async def test_a_visa_without_entries_or_duration_of_stay_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, "APPROVED", "VISA_RENEWAL")
    no_entries = await issue(
        client, desk, application["id"], kind="VISA", category="Z", durationOfStayDays=30
    )
    no_stay = await issue(
        client, desk, application["id"], kind="VISA", category="Z", entries="SINGLE"
    )
    for result in (no_entries, no_stay):
        assert result["__typename"] == "ValidationError", result


async def test_a_given_document_number_is_kept_and_generated_numbers_are_distinct(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    first = await application_in(
        client, desk, who.person_id, "APPROVED", "RESIDENCE_PERMIT_RENEWAL"
    )
    second = await application_in(client, desk, who.person_id, "APPROVED", "STAY_PERMIT_RENEWAL")
    third = await application_in(client, desk, who.person_id, "APPROVED")
    given = f"BJ2027R{secrets.token_hex(3).upper()}"

    with_number = await issue(client, desk, first["id"], number=given)
    generated = await issue(client, desk, second["id"], kind="STAY_PERMIT", category="STUDY")
    duplicate = await issue(client, desk, third["id"], number=given)

    assert with_number["__typename"] == "DocumentIssued", with_number
    assert with_number["document"]["number"] == given
    assert generated["__typename"] == "DocumentIssued", generated
    assert generated["document"]["number"] not in ("", given)
    assert duplicate["__typename"] == "ValidationError", duplicate


async def test_a_typed_number_cannot_take_the_form_the_service_gives(client):
    """Otherwise an officer typing 112026R0001234 would take the number the service gives the
    document of application 1234, and that issue would fail on a number nobody typed."""
    who = await new_applicant(client)
    desk = await officer_token(client)
    typed = await application_in(client, desk, who.person_id, "APPROVED")
    later = await application_in(client, desk, who.person_id, "APPROVED", "STAY_PERMIT_RENEWAL")
    year = beijing_today().year
    taken = f"11{year}S{pk_of(later['id']):07d}"

    refused = await issue(client, desk, typed["id"], number=f" {taken.lower()} ")
    generated = await issue(client, desk, later["id"], kind="STAY_PERMIT", category="STUDY")

    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "number" and "leave number empty" in refused["message"]
    assert generated["__typename"] == "DocumentIssued", generated
    assert generated["document"]["number"] == taken


async def test_documents_filter_by_kind_and_valid_on(client, clock):
    # Its documents' fixed dates must be still to come when issued (validUntil not passed).
    clock.pinned = beijing(date(2026, 12, 2), 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    visa_app = await application_in(client, desk, who.person_id, "APPROVED", "VISA_EXTENSION")
    permit_app = await application_in(client, desk, who.person_id, "APPROVED")
    visa = await issue(
        client,
        desk,
        visa_app["id"],
        kind="VISA",
        category="X1",
        validFrom="2026-10-01",
        validUntil="2026-12-31",
        entries="SINGLE",
        durationOfStayDays=30,
    )
    permit = await issue(
        client,
        desk,
        permit_app["id"],
        kind="RESIDENCE_PERMIT",
        category="STUDY",
        validFrom="2027-01-01",
        validUntil="2028-12-31",
    )
    visa_id, permit_id = visa["document"]["id"], permit["document"]["id"]

    everything = await my_documents(client, who)
    assert [d["id"] for d in everything] == [permit_id, visa_id]  # latest ending first
    assert [d["id"] for d in await my_documents(client, who, kind="VISA")] == [visa_id]
    assert [d["id"] for d in await my_documents(client, who, kind="RESIDENCE_PERMIT")] == [
        permit_id
    ]
    assert await my_documents(client, who, kind="STAY_PERMIT") == []
    assert [d["id"] for d in await my_documents(client, who, validOn="2026-11-15")] == [visa_id]
    assert [d["id"] for d in await my_documents(client, who, validOn="2026-12-31")] == [visa_id]
    assert [d["id"] for d in await my_documents(client, who, validOn="2027-01-01")] == [permit_id]
    assert [d["id"] for d in await my_documents(client, who, validOn="2028-12-31")] == [permit_id]
    assert await my_documents(client, who, validOn="2026-09-30") == []
    assert await my_documents(client, who, validOn="2029-01-01") == []
    assert await my_documents(client, who, kind="VISA", validOn="2027-06-01") == []
    assert [
        d["id"]
        for d in await my_documents(client, who, kind="RESIDENCE_PERMIT", validOn="2027-06-01")
    ] == [permit_id]


async def test_an_expired_document_has_zero_days_remaining(client, clock):
    clock.pinned = beijing(date(2026, 12, 2), 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    application = await application_in(client, desk, who.person_id, "APPROVED", "VISA_REISSUANCE")
    issued = await issue(
        client,
        desk,
        application["id"],
        kind="VISA",
        category="L",
        validFrom="2026-11-01",
        validUntil="2026-12-10",
        entries="SINGLE",
        durationOfStayDays=30,
    )
    assert issued["__typename"] == "DocumentIssued", issued
    assert issued["document"]["daysRemaining"] == 8
    clock.pinned = beijing(date(2026, 12, 20), 10)  # it has ended since
    await who.sign_in_again(client)
    (seen,) = await my_documents(client, who)
    assert seen["daysRemaining"] == 0


# -------------------------------------------------------------------------- who may do what


async def test_another_offices_officer_cannot_act_on_or_record_at_bj_dc(app, client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    review = await application_in(client, desk, who.person_id, "UNDER_REVIEW")
    approved = await application_in(client, desk, who.person_id, "APPROVED", "VISA_EXTENSION")
    shanghai = await other_office_officer(app, client, "SH-PD")

    moved = await move(client, shanghai, review["id"], "APPROVED")
    issued = await issue(
        client,
        shanghai,
        approved["id"],
        kind="VISA",
        category="Z",
        entries="SINGLE",
        durationOfStayDays=30,
    )
    recorded = await record(
        client, shanghai, who.person_id, "VISA_RENEWAL", officeId=await office_id(client, "BJ-DC")
    )

    for result in (moved, issued, recorded):
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert await status_of(client, desk, review["id"]) == "UNDER_REVIEW"
    assert await my_documents(client, who) == []
    assert [a["id"] for a in await my_applications(client, who)] == [approved["id"], review["id"]]

    # At their own office they may record and move applications.
    own = await record_ok(client, shanghai, who.person_id, "VISA_RENEWAL")
    assert own["office"] == {"code": "SH-PD"}
    assert re.fullmatch(r"SH-PD-\d{4}-\d{6}", own["number"]), own["number"]
    assert (await move_ok(client, shanghai, own["id"], "ACCEPTED"))["status"] == "ACCEPTED"
    # ... and the BJ-DC officer may not move theirs.
    refused = await move(client, desk, own["id"], "UNDER_REVIEW")
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


async def test_admin_acts_at_any_office(client):
    who = await new_applicant(client)
    admin = await sign_in(client, "admin@demo.test")
    recorded = await record_ok(
        client, admin, who.person_id, "VISA_EXTENSION", officeId=await office_id(client, "GZ-TH")
    )
    assert recorded["office"] == {"code": "GZ-TH"}
    assert (await move_ok(client, admin, recorded["id"], "ACCEPTED"))["status"] == "ACCEPTED"
    desk = await officer_token(client)
    bj = await record_ok(client, desk, who.person_id, "VISA_RENEWAL")
    assert (await move_ok(client, admin, bj["id"], "ACCEPTED"))["status"] == "ACCEPTED"


async def test_recording_for_a_service_the_office_does_not_offer_is_validation_error(client):
    who = await new_applicant(client)
    admin = await sign_in(client, "admin@demo.test")
    # BJ-SY offers visa and stay-permit services only.
    result = await record(
        client,
        admin,
        who.person_id,
        "RESIDENCE_PERMIT_ISSUANCE",
        officeId=await office_id(client, "BJ-SY"),
    )
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "service"


async def test_an_applicant_gets_not_permitted_for_officer_mutations(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    review = await application_in(client, desk, who.person_id, "UNDER_REVIEW")
    approved = await application_in(client, desk, who.person_id, "APPROVED", "VISA_EXTENSION")
    demo_applicant = await sign_in(client, "applicant@demo.test")

    for token in (who.token, demo_applicant):
        results = [
            await record(client, token, who.person_id, "VISA_RENEWAL"),
            await move(client, token, review["id"], "APPROVED"),
            await issue(
                client,
                token,
                approved["id"],
                kind="VISA",
                category="Z",
                entries="SINGLE",
                durationOfStayDays=30,
            ),
            await issue_card(client, token, who.person_id),
            await bind(client, token, who.person_id, passport_number("R")),
        ]
        for result in results:
            assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result

    assert await status_of(client, desk, review["id"]) == "UNDER_REVIEW"
    assert len(await my_applications(client, who)) == 2
    assert await my_documents(client, who) == []
    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"] is None
    body = await gql(client, MY_PASSPORTS, token=who.token)
    assert len(body["data"]["viewer"]["person"]["passports"]) == 1


async def test_an_analyst_gets_not_permitted_for_officer_mutations(client):
    who = await new_applicant(client)
    analyst = await sign_in(client, "analyst@demo.test")
    result = await record(client, analyst, who.person_id, "VISA_RENEWAL")
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    result = await bind(client, analyst, who.person_id, passport_number("R"))
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result


async def test_anonymous_officer_mutations_are_unauthenticated(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    review = await application_in(client, desk, who.person_id, "UNDER_REVIEW")
    calls = [
        (RECORD, {"input": {"applicantId": who.person_id, "service": "VISA_RENEWAL"}}),
        (UPDATE, {"input": {"applicationId": review["id"], "status": "APPROVED"}}),
        (
            ISSUE_DOCUMENT,
            {
                "input": {
                    "applicationId": review["id"],
                    "kind": "RESIDENCE_PERMIT",
                    "category": "WORK",
                    "validFrom": "2027-01-01",
                    "validUntil": "2028-01-01",
                }
            },
        ),
        (
            ISSUE_CARD,
            {
                "input": {
                    "personId": who.person_id,
                    "issuedOn": "2026-11-20",
                    "validUntil": "2036-11-19",
                }
            },
        ),
        (
            BIND,
            {
                "input": {
                    "personId": who.person_id,
                    "passportNumber": passport_number("R"),
                    "issuingCountry": "GBR",
                    "validUntil": "2036-01-01",
                }
            },
        ),
    ]
    for query, variables in calls:
        body = await gql(client, query, variables)
        assert body.get("errors"), body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
        assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    assert await status_of(client, desk, review["id"]) == "UNDER_REVIEW"


async def test_unknown_ids_are_not_permitted_with_the_same_message(client):
    desk = await officer_token(client)
    unknown_application = to_global_id("Application", 987654321)
    unknown_person = to_global_id("Person", 987654321)
    results = [
        await move(client, desk, unknown_application, "ACCEPTED"),
        await issue(client, desk, unknown_application),
        await record(client, desk, unknown_person, "VISA_RENEWAL"),
        await issue_card(client, desk, unknown_person),
        await bind(client, desk, unknown_person, passport_number("R")),
        await move(client, desk, "not-a-global-id", "ACCEPTED"),
    ]
    for result in results:
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result


async def test_another_person_cannot_see_an_application_or_document(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    approved = await application_in(client, desk, who.person_id, "APPROVED")
    issued = await issue(client, desk, approved["id"])
    assert issued["__typename"] == "DocumentIssued", issued
    stranger = (await sign_up(client))["accessToken"]
    other = await new_applicant(client)
    query = "query($id: ID!) { node(id: $id) { id } }"
    for token in (stranger, other.token):
        for object_id in (approved["id"], issued["document"]["id"], who.person_id):
            body = await gql(client, query, {"id": object_id}, token=token)
            assert body["data"]["node"] is None, (object_id, body)
    # The person themselves sees both.
    for object_id in (approved["id"], issued["document"]["id"]):
        body = await gql(client, query, {"id": object_id}, token=who.token)
        assert body["data"]["node"] == {"id": object_id}


# --------------------------------------------------------- applications from appointments


async def _booked_appointment_at_bj_dc(
    app: Any, client: httpx.AsyncClient, who: Applicant, service: str
) -> dict:
    """A BJ-DC appointment booked by the applicant for a slot 2 to 12 working days ahead."""
    today = beijing_today()
    calendar = app.state.services.calendar
    slots = await available(
        client,
        "BJ-DC",
        service,
        calendar.add_working_days(today, 2),
        calendar.add_working_days(today, 12),
    )
    slots = [s for s in slots if s["remaining"] >= 1]
    assert slots, "no open BJ-DC slot"
    slot = max(slots, key=lambda s: (s["remaining"], random.random()))
    booked = await book(client, who.token, who.person_id, slot["id"], service, document=BOOK)
    assert booked["__typename"] == "BookingConfirmed", booked
    return booked["appointment"]


async def test_recording_from_a_checked_in_appointment_completes_it(app, client, clock):
    who = await new_applicant(client)
    service = "RESIDENCE_PERMIT_RENEWAL"
    appointment = await _booked_appointment_at_bj_dc(app, client, who, service)
    day = datetime.fromisoformat(appointment["startsAt"]).astimezone(SHANGHAI).date()

    clock.pinned = beijing(day, 8)
    desk = await officer_token(client)
    checked_in = (await gql(client, CHECK_IN, {"id": appointment["id"]}, token=desk))["data"][
        "checkInAppointment"
    ]
    assert checked_in["__typename"] == "AppointmentCheckedIn", checked_in
    assert checked_in["appointment"]["status"] == "CHECKED_IN"

    recorded = await record_ok(
        client, desk, who.person_id, service, appointmentId=appointment["id"]
    )

    assert recorded["status"] == "SUBMITTED"
    assert recorded["service"] == service
    await who.sign_in_again(client)
    body = await gql(client, APPOINTMENT_NODE, {"id": appointment["id"]}, token=who.token)
    assert body["data"]["node"]["status"] == "COMPLETED"
    assert [a["id"] for a in await my_applications(client, who)] == [recorded["id"]]

    # One application per service awaits a decision at a time; and once that one is
    # withdrawn, the completed appointment still cannot lead to a second.
    twice = await record(client, desk, who.person_id, service)
    assert twice["__typename"] == "ValidationError", twice
    assert twice["field"] == "service" and recorded["number"] in twice["message"]
    await move_ok(client, desk, recorded["id"], "WITHDRAWN")
    again = await record(client, desk, who.person_id, service, appointmentId=appointment["id"])
    assert again["__typename"] == "ValidationError", again
    assert again["field"] == "appointmentId"
    assert len(await my_applications(client, who)) == 1


async def test_a_second_application_for_a_service_awaiting_a_decision_is_refused(client):
    """Fifteen identical recordApplication calls at once used to make fifteen open
    applications, each to be decided: now one is recorded and the others are told which
    one awaits a decision. Another service, or the same once decided, is recorded."""
    who = await new_applicant(client)
    desk = await officer_token(client)
    service = "VISA_REISSUANCE"
    answers = await asyncio.gather(
        *(record(client, desk, who.person_id, service) for _ in range(15))
    )
    recorded = [a for a in answers if a["__typename"] == "ApplicationRecorded"]
    assert len(recorded) == 1, answers
    number = recorded[0]["application"]["number"]
    for refused in (a for a in answers if a["__typename"] != "ApplicationRecorded"):
        assert refused["__typename"] == "ValidationError", refused
        assert refused["field"] == "service" and number in refused["message"]
    assert len(await my_applications(client, who)) == 1

    other = await record(client, desk, who.person_id, "VISA_RENEWAL")
    assert other["__typename"] == "ApplicationRecorded", other
    await move_ok(client, desk, recorded[0]["application"]["id"], "WITHDRAWN")
    after = await record(client, desk, who.person_id, service)
    assert after["__typename"] == "ApplicationRecorded", after


async def test_recording_from_an_appointment_not_checked_in_is_validation_error(app, client):
    who = await new_applicant(client)
    service = "VISA_RENEWAL"
    appointment = await _booked_appointment_at_bj_dc(app, client, who, service)
    desk = await officer_token(client)

    result = await record(client, desk, who.person_id, service, appointmentId=appointment["id"])

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "appointmentId"
    body = await gql(client, APPOINTMENT_NODE, {"id": appointment["id"]}, token=who.token)
    assert body["data"]["node"]["status"] == "BOOKED"
    assert await my_applications(client, who) == []


async def test_recording_from_someone_elses_appointment_is_validation_error(app, client):
    owner = await new_applicant(client)
    other = await new_applicant(client)
    appointment = await _booked_appointment_at_bj_dc(app, client, owner, "VISA_REISSUANCE")
    desk = await officer_token(client)
    result = await record(
        client, desk, other.person_id, "VISA_REISSUANCE", appointmentId=appointment["id"]
    )
    assert result["__typename"] == "ValidationError", result
    assert await my_applications(client, other) == []


@pytest.mark.parametrize(
    "spelling",
    ["padded", "empty", "garbage", "a person's"],
)
async def test_an_appointment_or_office_id_not_as_issued_is_validation_error(
    app, client, clock, spelling
):
    """An optional ID that is given but not as issued names nothing: a ValidationError, not
    an application recorded without the appointment (or at the officer's own office)."""
    who = await new_applicant(client)
    service = "VISA_RENEWAL"
    appointment = await _booked_appointment_at_bj_dc(app, client, who, service)
    day = datetime.fromisoformat(appointment["startsAt"]).astimezone(SHANGHAI).date()
    clock.pinned = beijing(day, 8)
    desk = await officer_token(client)
    checked_in = await gql(client, CHECK_IN, {"id": appointment["id"]}, token=desk)
    assert checked_in["data"]["checkInAppointment"]["__typename"] == "AppointmentCheckedIn"
    bad = {
        "padded": appointment["id"] + "=" * (-len(appointment["id"]) % 4 or 4),
        "empty": "",
        "garbage": "xyz",
        "a person's": who.person_id,
    }[spelling]

    by_appointment = await record(client, desk, who.person_id, service, appointmentId=bad)
    assert by_appointment["__typename"] == "ValidationError", by_appointment
    assert by_appointment["field"] == "appointmentId"
    at_office = await record(client, desk, who.person_id, service, officeId=bad)
    assert at_office["__typename"] == "ValidationError", at_office
    assert at_office["field"] == "officeId"

    await who.sign_in_again(client)
    assert await my_applications(client, who) == []
    body = await gql(client, APPOINTMENT_NODE, {"id": appointment["id"]}, token=who.token)
    assert body["data"]["node"]["status"] == "CHECKED_IN"


# ---------------------------------------------------------------------------- PR cards


@pytest.mark.parametrize(("sex", "odd"), [("M", True), ("F", False), ("X", False)])
async def test_a_pr_card_without_a_number_gets_a_2023_format_number(client, sex, odd):
    born = random_birth_date()
    who = await new_applicant(client, nationality="CAN", sex=sex, birth_date=born)
    desk = await officer_token(client)

    result = await issue_card(
        client, desk, who.person_id, issuedOn="2026-11-25", validUntil="2036-11-24"
    )

    assert result["__typename"] == "PermanentResidentCardIssued", result
    card = result["card"]
    number = card["number"]
    assert len(number) == 18, number
    assert number[0] == "9"
    decoded = decode_pr_card_number(number)
    assert decoded.format == "2023"
    assert decoded.province_code == "11"  # BJ-DC is in Beijing
    assert decoded.nationality_alpha3 == "CAN"
    assert decoded.birth_date == born
    assert (int(number[16]) % 2 == 1) is odd
    assert card["issuedOn"] == "2026-11-25"
    assert card["validUntil"] == "2036-11-24"

    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"] == card


async def test_two_generated_pr_card_numbers_of_the_same_facts_differ(client):
    born = random_birth_date()
    desk = await officer_token(client)
    _, first = await register_person(client, desk, nationality="NZL", sex="M", birth_date=born)
    _, second = await register_person(client, desk, nationality="NZL", sex="M", birth_date=born)
    a = await issue_card(client, desk, first)
    b = await issue_card(client, desk, second)
    assert a["__typename"] == b["__typename"] == "PermanentResidentCardIssued", (a, b)
    assert a["card"]["number"] != b["card"]["number"]
    for card in (a["card"], b["card"]):
        decoded = decode_pr_card_number(card["number"])
        assert (decoded.nationality_alpha3, decoded.birth_date, decoded.sex) == ("NZL", born, "M")


async def test_a_generated_pr_card_number_follows_a_typed_one_of_the_same_facts(client):
    born = random_birth_date()
    desk = await officer_token(client)
    _, first = await register_person(client, desk, nationality="NZL", sex="M", birth_date=born)
    _, second = await register_person(client, desk, nationality="NZL", sex="M", birth_date=born)
    typed = make_pr_card_number("11", "NZL", born, "M", 1)  # BJ-DC is in Beijing (11)
    a = await issue_card(client, desk, first, number=typed)
    b = await issue_card(client, desk, second)

    assert a["__typename"] == b["__typename"] == "PermanentResidentCardIssued", (a, b)
    assert b["card"]["number"] == make_pr_card_number("11", "NZL", born, "M", 2)


async def test_a_generated_pr_card_number_ignores_the_other_sex_sequences(client):
    born = random_birth_date()
    desk = await officer_token(client)
    _, woman = await register_person(client, desk, nationality="NZL", sex="F", birth_date=born)
    _, man = await register_person(client, desk, nationality="NZL", sex="M", birth_date=born)
    typed = make_pr_card_number("11", "NZL", born, "F", 4)
    a = await issue_card(client, desk, woman, number=typed)
    b = await issue_card(client, desk, man)

    assert a["__typename"] == b["__typename"] == "PermanentResidentCardIssued", (a, b)
    assert b["card"]["number"] == make_pr_card_number("11", "NZL", born, "M", 0)


async def test_concurrently_generated_pr_card_numbers_of_the_same_facts_all_succeed(client):
    born = random_birth_date()
    desk = await officer_token(client)
    persons = [
        (await register_person(client, desk, nationality="NZL", sex="F", birth_date=born))[1]
        for _ in range(4)
    ]

    results = await asyncio.gather(*(issue_card(client, desk, person) for person in persons))

    assert {r["__typename"] for r in results} == {"PermanentResidentCardIssued"}, results
    numbers = sorted(r["card"]["number"] for r in results)
    assert numbers == [make_pr_card_number("11", "NZL", born, "F", i) for i in range(4)]


async def test_a_generated_pr_card_number_clashing_every_try_is_validation_error(
    client, monkeypatch
):
    async def taken(**values: object) -> None:
        return None

    who = await new_applicant(client, nationality="NZL", sex="M")
    desk = await officer_token(client)
    monkeypatch.setattr(records_store, "create_card", taken)

    result = await issue_card(client, desk, who.person_id)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "number"
    assert "same moment" in result["message"]


@pytest.mark.parametrize(
    ("nationality", "sex", "first_birth_day", "days"),
    [
        ("CAN", "F", date(1985, 7, 14), 3000),
        # Its two-digit year alone would read as 2020-2022; the person's birth date decides.
        ("USA", "M", date(1920, 1, 1), 365 * 3),
    ],
)
async def test_a_pr_card_with_a_valid_legacy_number_is_accepted(
    client, nationality, sex, first_birth_day, days
):
    born = first_birth_day + timedelta(days=random.randrange(0, days))
    who = await new_applicant(client, nationality=nationality, sex=sex, birth_date=born)
    desk = await officer_token(client)
    legacy = f"{nationality}1100{born:%y%m%d}{random.randrange(0, 100):02d}"

    result = await issue_card(client, desk, who.person_id, number=legacy, **LEGACY_DATES)

    assert result["__typename"] == "PermanentResidentCardIssued", result
    assert result["card"]["number"] == legacy
    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"]["number"] == legacy


async def test_a_legacy_number_of_another_birth_date_is_validation_error(client):
    born = date(1920, 1, 1) + timedelta(days=random.randrange(0, 365 * 3))
    who = await new_applicant(client, nationality="USA", sex="M", birth_date=born)
    desk = await officer_token(client)
    legacy = f"USA1100{born + timedelta(days=1):%y%m%d}01"

    result = await issue_card(client, desk, who.person_id, number=legacy, **LEGACY_DATES)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "number"


async def test_a_valid_2023_number_given_by_the_officer_is_kept(client):
    born = random_birth_date()
    who = await new_applicant(client, nationality="FRA", sex="M", birth_date=born)
    desk = await officer_token(client)
    number = make_pr_card_number("31", "FRA", born, "M", random.randrange(0, 400))
    result = await issue_card(client, desk, who.person_id, number=number)
    assert result["__typename"] == "PermanentResidentCardIssued", result
    assert result["card"]["number"] == number


async def test_a_pr_card_number_with_a_corrupted_check_character_is_validation_error(client):
    born = random_birth_date()
    who = await new_applicant(client, nationality="CAN", sex="M", birth_date=born)
    desk = await officer_token(client)
    valid = make_pr_card_number("11", "CAN", born, "M", random.randrange(0, 400))
    check_chars = "10X98765432"
    corrupted = valid[:17] + check_chars[(check_chars.index(valid[17]) + 1) % 11]

    result = await issue_card(client, desk, who.person_id, number=corrupted)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "number"
    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"] is None


@pytest.mark.parametrize("problem", ["nationality", "birth date", "length", "letters"])
async def test_a_pr_card_number_not_matching_the_person_is_validation_error(client, problem):
    born = date(1980, 3, 3) + timedelta(days=random.randrange(0, 3000))
    who = await new_applicant(client, nationality="CAN", sex="M", birth_date=born)
    desk = await officer_token(client)
    number = {
        "nationality": make_pr_card_number("11", "USA", born, "M", 3),
        "birth date": make_pr_card_number("11", "CAN", born + timedelta(days=1), "M", 3),
        "length": "9110123",
        "letters": f"USA1100{born:%y%m%d}01",
    }[problem]
    result = await issue_card(client, desk, who.person_id, number=number)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "number"


@pytest.mark.parametrize(("person_sex", "number_sex"), [("M", "F"), ("F", "M")])
async def test_a_pr_card_number_of_the_other_sex_is_validation_error(
    client, person_sex, number_sex
):
    born = random_birth_date()
    who = await new_applicant(client, nationality="CAN", sex=person_sex, birth_date=born)
    desk = await officer_token(client)
    number = make_pr_card_number("11", "CAN", born, number_sex, random.randrange(0, 400))

    result = await issue_card(client, desk, who.person_id, number=number)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "number"
    assert "sex" in result["message"]
    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"] is None


@pytest.mark.parametrize("number_sex", ["M", "F"])
async def test_a_pr_card_number_of_either_sex_is_accepted_for_sex_x(client, number_sex):
    born = random_birth_date()
    who = await new_applicant(client, nationality="CAN", sex="X", birth_date=born)
    desk = await officer_token(client)
    number = make_pr_card_number("11", "CAN", born, number_sex, random.randrange(0, 400))

    result = await issue_card(client, desk, who.person_id, number=number)

    assert result["__typename"] == "PermanentResidentCardIssued", result
    assert result["card"]["number"] == number


async def test_a_pr_card_valid_until_before_issue_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    result = await issue_card(
        client, desk, who.person_id, issuedOn="2026-11-20", validUntil="2026-11-19"
    )
    assert result["__typename"] == "ValidationError", result


# ----------------------------------------------------------------------------- passports


async def test_binding_a_passport_supersedes_the_current_one(client, clock):
    registered_on, day = date(2026, 12, 1), date(2026, 12, 3)
    clock.pinned = beijing(registered_on, 10)
    who = await new_applicant(client, nationality="GBR")
    clock.pinned = beijing(day, 10)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    old_number = who.facts["passportNumber"]
    new_number = passport_number("R")

    result = await bind(client, desk, who.person_id, new_number.lower(), "gbr", "2036-01-31")

    assert result["__typename"] == "PassportBound", result
    assert result["passport"]["number"] == new_number
    assert result["passport"]["issuingCountry"] == "GBR"
    assert result["passport"]["validUntil"] == "2036-01-31"
    assert result["passport"]["current"] is True
    assert result["passport"]["boundFrom"] == day.isoformat()
    assert result["passport"]["boundUntil"] is None
    assert result["previous"]["number"] == old_number
    assert result["previous"]["current"] is False
    assert result["previous"]["boundUntil"] == day.isoformat()

    body = await gql(client, MY_PASSPORTS, token=who.token)
    passports = body["data"]["viewer"]["person"]["passports"]
    assert [p["number"] for p in passports] == [new_number, old_number]  # current first
    assert [p["current"] for p in passports] == [True, False]
    assert passports[0]["boundUntil"] is None
    assert passports[1]["boundUntil"] == day.isoformat()
    assert passports[1]["boundFrom"] == registered_on.isoformat()

    # A third passport later on: only it is current, both older ones keep their dates.
    later = date(2026, 12, 10)
    clock.pinned = beijing(later, 10)
    desk = await officer_token(client)
    await who.sign_in_again(client)
    third = passport_number("R")
    result = await bind(client, desk, who.person_id, third)
    assert result["__typename"] == "PassportBound", result
    assert result["previous"]["number"] == new_number
    body = await gql(client, MY_PASSPORTS, token=who.token)
    passports = body["data"]["viewer"]["person"]["passports"]
    assert [p["number"] for p in passports] == [third, new_number, old_number]
    assert [p["current"] for p in passports] == [True, False, False]
    assert [p["boundUntil"] for p in passports] == [None, later.isoformat(), day.isoformat()]
    assert passports[1]["boundFrom"] == day.isoformat()
    assert passports[2]["boundFrom"] == registered_on.isoformat()


async def test_binding_a_passport_already_bound_is_validation_error(client):
    who = await new_applicant(client)
    other = await new_applicant(client)
    desk = await officer_token(client)
    fresh = passport_number("R")
    assert (await bind(client, desk, who.person_id, fresh))["__typename"] == "PassportBound"

    again_same_person = await bind(client, desk, who.person_id, fresh)
    to_another_person = await bind(client, desk, other.person_id, fresh)
    someone_elses = await bind(client, desk, who.person_id, other.facts["passportNumber"])
    superseded = await bind(client, desk, who.person_id, who.facts["passportNumber"])

    for result in (again_same_person, to_another_person, someone_elses, superseded):
        assert result["__typename"] == "ValidationError", result
        assert result["message"]
    body = await gql(client, MY_PASSPORTS, token=who.token)
    passports = body["data"]["viewer"]["person"]["passports"]
    assert [(p["number"], p["current"]) for p in passports] == [
        (fresh, True),
        (who.facts["passportNumber"], False),
    ]
    body = await gql(client, MY_PASSPORTS, token=other.token)
    passports = body["data"]["viewer"]["person"]["passports"]
    assert [(p["number"], p["current"]) for p in passports] == [
        (other.facts["passportNumber"], True)
    ]


async def test_binding_an_expired_or_malformed_passport_is_validation_error(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    expired = await bind(
        client, desk, who.person_id, passport_number("R"), valid_until="2020-01-01"
    )
    malformed = await bind(client, desk, who.person_id, "AB-12")
    unknown_country = await bind(client, desk, who.person_id, passport_number("R"), country="XXX")
    for result in (expired, malformed, unknown_country):
        assert result["__typename"] == "ValidationError", result
    assert [r["field"] for r in (expired, malformed, unknown_country)] == [
        "validUntil",
        "passportNumber",
        "issuingCountry",
    ]
    body = await gql(client, MY_PASSPORTS, token=who.token)
    assert len(body["data"]["viewer"]["person"]["passports"]) == 1


async def test_two_passports_bound_to_one_person_at_once_take_turns(client):
    """Two desks bind two new passports to one person at the same moment: both are bound,
    the later superseding the earlier, one current; neither is told it is someone else's."""
    who = await new_applicant(client)
    desks = [await officer_token(client), await sign_in(client, "admin@demo.test")]
    numbers = [passport_number("T"), passport_number("T")]
    results = await asyncio.gather(
        *(bind(client, desk, who.person_id, n) for desk, n in zip(desks, numbers, strict=True))
    )
    assert [r["__typename"] for r in results] == ["PassportBound"] * 2, results
    body = await gql(client, MY_PASSPORTS, token=who.token)
    passports = body["data"]["viewer"]["person"]["passports"]
    assert {p["number"] for p in passports} >= set(numbers)
    assert sum(1 for p in passports if p["current"]) == 1, passports


# ------------------------------------------------------------------------ helpers' scopes

HELPER_VIEW = """
{ viewer { applicants {
    id surname grantedScopes
    applications { edges { node { number status } } }
    documents { number kind }
    permanentResidentCard { number }
    passports { number current }
} } }"""


async def test_a_helper_sees_only_the_scopes_granted_for_each_dependant(client):
    helper = await sign_in(client, "helper@demo.test")
    body = await gql(client, HELPER_VIEW, token=helper)
    assert "errors" not in body, body
    by_surname = {p["surname"]: p for p in body["data"]["viewer"]["applicants"]}

    elder = by_surname["Kim"]
    assert sorted(elder["grantedScopes"]) == ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"]
    assert elder["applications"] is not None
    assert [e["node"]["status"] for e in elder["applications"]["edges"]] != []
    assert elder["documents"] is None
    assert elder["permanentResidentCard"] is None
    assert elder["passports"] is None

    child = by_surname["Tanaka"]
    assert sorted(child["grantedScopes"]) == [
        "BOOK_APPOINTMENTS",
        "VIEW_APPLICATIONS",
        "VIEW_DOCUMENTS",
    ]
    assert child["applications"] is not None
    assert {"number": "BJ2026R001177", "kind": "RESIDENCE_PERMIT"} in child["documents"]
    assert child["passports"] is not None
    assert [p["current"] for p in child["passports"]][:1] == [True]
    assert child["permanentResidentCard"] is None  # the child has none


async def _helper_of(client: httpx.AsyncClient, dependant_id: str, scopes: list[str]) -> str:
    """A fresh account with an ACTIVE delegation for the dependant (made in the database)."""
    token, _ = await helper_in_database(client, dependant_id, scopes, "PARENT")
    return token


async def test_fields_outside_a_helpers_scopes_are_null_for_a_fresh_dependant(client, clock):
    # Its documents' fixed dates must be still to come when issued (validUntil not passed).
    clock.pinned = beijing(date(2026, 12, 2), 10)
    desk = await officer_token(client)
    facts, dependant = await register_person(client, desk, nationality="KOR", sex="F")
    approved = await application_in(client, desk, dependant, "APPROVED", "STAY_PERMIT_RENEWAL")
    issued = await issue(
        client,
        desk,
        approved["id"],
        kind="STAY_PERMIT",
        category="FAMILY_REUNION",
        validFrom="2027-01-01",
        validUntil="2027-12-31",
    )
    assert issued["__typename"] == "DocumentIssued", issued
    card = await issue_card(client, desk, dependant)
    assert card["__typename"] == "PermanentResidentCardIssued", card
    limited = await _helper_of(client, dependant, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"])
    full = await _helper_of(
        client, dependant, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]
    )

    body = await gql(client, HELPER_VIEW, token=limited)
    (seen,) = [p for p in body["data"]["viewer"]["applicants"] if p["id"] == dependant]
    assert [e["node"]["number"] for e in seen["applications"]["edges"]] == [approved["number"]]
    assert seen["documents"] is None
    assert seen["permanentResidentCard"] is None
    assert seen["passports"] is None
    node = "query($id: ID!) { node(id: $id) { id } }"
    body = await gql(client, node, {"id": issued["document"]["id"]}, token=limited)
    assert body["data"]["node"] is None
    body = await gql(client, node, {"id": card["card"]["id"]}, token=limited)
    assert body["data"]["node"] is None
    body = await gql(client, node, {"id": approved["id"]}, token=limited)
    assert body["data"]["node"] == {"id": approved["id"]}

    body = await gql(client, HELPER_VIEW, token=full)
    (seen,) = [p for p in body["data"]["viewer"]["applicants"] if p["id"] == dependant]
    assert seen["documents"] == [{"number": issued["document"]["number"], "kind": "STAY_PERMIT"}]
    assert seen["permanentResidentCard"] == {"number": card["card"]["number"]}
    assert seen["passports"] == [{"number": facts["passportNumber"], "current": True}]


async def test_a_persons_applications_page_with_complete_page_info(client, clock):
    email = await person_with_records(5, surname="Paging", now=clock.now())
    token = await sign_in(client, email)
    query = """query($after: String) { viewer { person { applications(first: 2, after: $after) {
        edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"""
    pages, after = [], None
    for _ in range(3):
        body = await gql(client, query, {"after": after}, token=token)
        connection = body["data"]["viewer"]["person"]["applications"]
        pages.append(connection)
        after = connection["pageInfo"]["endCursor"]
    assert [len(p["edges"]) for p in pages] == [2, 2, 1]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    for p in pages:
        assert p["pageInfo"]["startCursor"] == p["edges"][0]["cursor"]
        assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]


async def test_a_card_issue_date_must_fit_the_number_format_and_not_be_in_the_future(client, clock):
    """Legacy (15-character) numbers were issued until 30 November 2023 and 2023-format ones
    from 1 December 2023; a card is recorded once issued, never ahead of its issue day."""
    today = beijing_today(clock)
    born = date(1985, 7, 14) + timedelta(days=random.randrange(0, 3000))
    who = await new_applicant(client, nationality="CAN", sex="F", birth_date=born)
    desk = await officer_token(client)
    legacy = f"CAN1100{born:%y%m%d}{random.randrange(0, 100):02d}"
    late_legacy = await issue_card(
        client, desk, who.person_id, number=legacy, issuedOn="2023-12-01", validUntil="2033-11-30"
    )
    assert late_legacy["__typename"] == "ValidationError", late_legacy
    assert late_legacy["field"] == "number"
    early_2023 = await issue_card(
        client, desk, who.person_id, issuedOn="2023-11-30", validUntil="2033-11-29"
    )
    assert early_2023["__typename"] == "ValidationError", early_2023
    assert early_2023["field"] == "number"
    ahead = await issue_card(
        client,
        desk,
        who.person_id,
        issuedOn=(today + timedelta(days=1)).isoformat(),
        validUntil=(today + timedelta(days=3651)).isoformat(),
    )
    assert ahead["__typename"] == "ValidationError", ahead
    assert ahead["field"] == "issuedOn"
    body = await gql(client, MY_CARD, token=who.token)
    assert body["data"]["viewer"]["person"]["permanentResidentCard"] is None
    # The same number on its own era's dates is accepted.
    accepted = await issue_card(client, desk, who.person_id, number=legacy, **LEGACY_DATES)
    assert accepted["__typename"] == "PermanentResidentCardIssued", accepted


async def test_ready_for_collection_needs_the_issued_document_and_one_document_is_issued(client):
    """An approved application is ready for collection only once its document is issued
    (else the permit could never be issued: documents are issued for APPROVED applications
    only), and it gets one document, however often it is asked for."""
    who = await new_applicant(client)
    desk = await officer_token(client)
    approved = await application_in(client, desk, who.person_id, "APPROVED")

    early = await move(client, desk, approved["id"], "READY_FOR_COLLECTION")
    assert early["__typename"] == "InvalidTransition", early
    assert "Issue the application's document" in early["message"]

    first, second = await asyncio.gather(
        *(issue(client, desk, approved["id"], number=f"R{n}{secrets.token_hex(4)}") for n in (1, 2))
    )
    kinds = sorted(r["__typename"] for r in (first, second))
    assert kinds == ["DocumentIssued", "ValidationError"], (first, second)
    ready = await move(client, desk, approved["id"], "READY_FOR_COLLECTION")
    assert ready["__typename"] == "ApplicationStatusUpdated", ready


# ------------------------------------------------------------------ numbers and dates kept


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("ＡＢ{n}", "AB{n}"),  # full-width: the same number in ASCII
        (" ab {n} ", "AB{n}"),  # spaces and case
    ],
    ids=["full-width", "spaced"],
)
async def test_a_document_number_is_kept_in_one_spelling(client, typed, kept):
    """Two numbers that look alike are one number: a full-width or spaced spelling is kept
    as plain uppercase ASCII, so the second one issued is the duplicate it is."""
    who = await new_applicant(client)
    desk = await officer_token(client)
    first = await application_in(client, desk, who.person_id, "APPROVED")
    second = await application_in(client, desk, who.person_id, "APPROVED")
    digits = "".join(random.choice("0123456789") for _ in range(7))
    wide_digits = "".join(chr(ord("０") + int(d)) for d in digits) if "Ａ" in typed else digits

    issued = await issue(client, desk, first["id"], number=typed.format(n=wide_digits))
    assert issued["__typename"] == "DocumentIssued", issued
    assert issued["document"]["number"] == kept.format(n=digits)
    again = await issue(client, desk, second["id"], number=kept.format(n=digits))
    assert again["__typename"] == "ValidationError", again
    assert again["field"] == "number"


@pytest.mark.parametrize(
    "number",
    ["AB\u200b1234567", "AB-1234567", "ABC1", "A" * 41],
    ids=["zero-width", "dash", "short", "long"],
)
async def test_a_document_number_of_other_characters_is_refused(client, number):
    who = await new_applicant(client)
    desk = await officer_token(client)
    approved = await application_in(client, desk, who.person_id, "APPROVED")
    refused = await issue(client, desk, approved["id"], number=number)
    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "number"
    assert await my_documents(client, who) == []


async def test_nothing_is_issued_as_valid_before_its_holder_was_born(client):
    # Born well after the 2023 card format began (its number is generated), whatever today is.
    born = beijing_today() - timedelta(days=400)
    day_before = (born - timedelta(days=1)).isoformat()
    until = (born + timedelta(days=4 * 365)).isoformat()  # still valid, under five years
    desk = await officer_token(client)
    _, person_id = await register_person(client, desk, birth_date=born)
    approved = await application_in(client, desk, person_id, "APPROVED")
    document = await issue(client, desk, approved["id"], validFrom=day_before, validUntil=until)
    assert document["__typename"] == "ValidationError", document
    assert document["field"] == "validFrom"
    card = await issue_card(client, desk, person_id, issuedOn=day_before, validUntil=until)
    assert card["__typename"] == "ValidationError", card
    assert card["field"] == "issuedOn"
    # From the day of birth on, both are issued.
    document = await issue(
        client, desk, approved["id"], validFrom=born.isoformat(), validUntil=until
    )
    assert document["__typename"] == "DocumentIssued", document
    card = await issue_card(client, desk, person_id, issuedOn=born.isoformat(), validUntil=until)
    assert card["__typename"] == "PermanentResidentCardIssued", card


# ------------------------------------------------------------- what a document may grant


async def _approved(client: httpx.AsyncClient, desk: str, who: Any, service: str) -> str:
    return (await application_in(client, desk, who.person_id, "APPROVED", service))["id"]


@pytest.mark.parametrize(
    ("purpose", "days", "issued"),
    [
        ("WORK", 89, False),
        ("WORK", 90, True),
        ("STUDY", 179, False),
        ("STUDY", 180, True),
        ("FAMILY_REUNION", 30, False),
    ],
)
async def test_a_residence_permit_lasts_at_least_what_its_purpose_allows(
    client, purpose, days, issued
):
    who = await new_applicant(client)
    desk = await officer_token(client)
    start = beijing_today() + timedelta(days=10)
    until = start + timedelta(days=days - 1)  # both days count
    application = await _approved(client, desk, who, "RESIDENCE_PERMIT_EXTENSION")
    result = await issue(
        client,
        desk,
        application,
        category=purpose,
        validFrom=start.isoformat(),
        validUntil=until.isoformat(),
    )
    if issued:
        assert result["__typename"] == "DocumentIssued", result
    else:
        assert result["__typename"] == "ValidationError", result
        assert result["field"] == "validUntil"
        assert f"at least {90 if purpose == 'WORK' else 180} days" in result["message"]
        assert not await records_store.has_document(pk_of(application))


async def test_a_residence_permit_lasts_five_years_at_the_most(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    start = beijing_today() + timedelta(days=10)
    if (start.month, start.day) == (2, 29):
        start += timedelta(days=1)
    last = start.replace(year=start.year + 5) - timedelta(days=1)  # five years, both ends
    application = await _approved(client, desk, who, "RESIDENCE_PERMIT_EXTENSION")
    longer = await issue(
        client,
        desk,
        application,
        validFrom=start.isoformat(),
        validUntil=(last + timedelta(days=1)).isoformat(),
    )
    assert longer["__typename"] == "ValidationError", longer
    assert "5 years at the most" in longer["message"]
    five = await issue(
        client, desk, application, validFrom=start.isoformat(), validUntil=last.isoformat()
    )
    assert five["__typename"] == "DocumentIssued", five


async def test_a_document_is_valid_no_longer_than_the_holders_passport(client):
    """A permit is entered in the passport (domain/documents.WITHIN_PASSPORT): one ending
    after the passport does was issued as asked; now it is refused, naming the passport's
    last day, and one ending with the passport is issued."""
    passport_end = beijing_today() + timedelta(days=400)
    who = await new_applicant(client, passport_valid_until=passport_end.isoformat())
    desk = await officer_token(client)
    application = await _approved(client, desk, who, "RESIDENCE_PERMIT_EXTENSION")
    start = (beijing_today() + timedelta(days=10)).isoformat()

    longer = await issue(
        client,
        desk,
        application,
        validFrom=start,
        validUntil=(passport_end + timedelta(days=1)).isoformat(),
    )
    assert longer["__typename"] == "ValidationError", longer
    assert longer["field"] == "validUntil"
    assert passport_end.isoformat() in longer["message"]
    within = await issue(
        client, desk, application, validFrom=start, validUntil=passport_end.isoformat()
    )
    assert within["__typename"] == "DocumentIssued", within


async def test_a_document_that_would_have_ended_already_is_refused(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    yesterday = beijing_today() - timedelta(days=1)
    application = await _approved(client, desk, who, "STAY_PERMIT_EXTENSION")
    result = await issue(
        client,
        desk,
        application,
        kind="STAY_PERMIT",
        category="PRIVATE_AFFAIRS",
        validFrom=(yesterday - timedelta(days=60)).isoformat(),
        validUntil=yesterday.isoformat(),
    )
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "validUntil"
    assert not await records_store.has_document(pk_of(application))


async def test_visa_extensions_keep_the_visa_and_add_up_to_its_original_stay_at_most(client):
    who = await new_applicant(client)
    desk = await officer_token(client)
    today = beijing_today()

    async def visa(service: str, **terms: Any) -> dict:
        values = {"category": "M", "entries": "SINGLE", "durationOfStayDays": 30, **terms}
        application = await _approved(client, desk, who, service)
        return await issue(
            client,
            desk,
            application,
            kind="VISA",
            validFrom=today.isoformat(),
            validUntil=(today + timedelta(days=90)).isoformat(),
            **values,
        )

    # The visa held: M, single entry, a stay of 30 days.
    assert (await visa("VISA_RENEWAL"))["__typename"] == "DocumentIssued"
    longer = await visa("VISA_EXTENSION", durationOfStayDays=31)
    assert longer["__typename"] == "ValidationError", longer
    assert longer["field"] == "durationOfStayDays"
    assert "original stay of 30 days" in longer["message"]
    other = await visa("VISA_EXTENSION", category="Z")
    assert (other["__typename"], other["field"]) == ("ValidationError", "category"), other
    more = await visa("VISA_EXTENSION", entries="MULTIPLE")
    assert (more["__typename"], more["field"]) == ("ValidationError", "entries"), more

    assert (await visa("VISA_EXTENSION", durationOfStayDays=20))["__typename"] == "DocumentIssued"
    past_it = await visa("VISA_EXTENSION", durationOfStayDays=11)  # 20 + 11 > 30
    assert past_it["__typename"] == "ValidationError", past_it
    assert "20 days granted already" in past_it["message"]
    assert (await visa("VISA_EXTENSION", durationOfStayDays=10))["__typename"] == "DocumentIssued"


async def test_a_visa_extension_for_a_visa_the_records_do_not_hold_is_issued_as_asked(client):
    """A visa issued abroad need not be in these records: nothing to hold the extension to."""
    who = await new_applicant(client)
    desk = await officer_token(client)
    today = beijing_today()
    application = await _approved(client, desk, who, "VISA_EXTENSION")
    result = await issue(
        client,
        desk,
        application,
        kind="VISA",
        category="L",
        entries="SINGLE",
        durationOfStayDays=30,
        validFrom=today.isoformat(),
        validUntil=(today + timedelta(days=60)).isoformat(),
    )
    assert result["__typename"] == "DocumentIssued", result
