"""Plain helpers shared by the test modules: GraphQL documents, fresh persons and accounts made
through the API, applications, slots and bookings, global IDs, Beijing time, and real server
processes. Fixtures live in tests/conftest.py, next to gql, sign_in and sign_up.

Every helper that makes something makes it fresh (a new person with a unique passport number,
a new account with a unique e-mail), so tests never collide on the shared session database.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import secrets
import socket
import string
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from persistence import appointments as appointment_store
from persistence.models import Account, AccountRole, Office, Slot
from persistence.models import Appointment as AppointmentRow
from persistence.models import Delegation as DelegationRow
from tests.conftest import gql, sign_in, sign_up, unique_email

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "a-Strong-passphrase-1"
NOT_PERMITTED = "No such object, or you are not permitted to act on it."
ALL_SCOPES = ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]
ADULT_BIRTH_DATE = "1979-05-17"
APPLICATION_STATUSES = [
    "SUBMITTED",
    "ACCEPTED",
    "UNDER_REVIEW",
    "MATERIALS_REQUESTED",
    "APPROVED",
    "REJECTED",
    "READY_FOR_COLLECTION",
    "COLLECTED",
    "WITHDRAWN",
]
SERVICE_CODES = [
    "VISA_EXTENSION",
    "VISA_RENEWAL",
    "VISA_REISSUANCE",
    "STAY_PERMIT_ISSUANCE",
    "STAY_PERMIT_EXTENSION",
    "STAY_PERMIT_RENEWAL",
    "STAY_PERMIT_REISSUANCE",
    "RESIDENCE_PERMIT_ISSUANCE",
    "RESIDENCE_PERMIT_EXTENSION",
    "RESIDENCE_PERMIT_RENEWAL",
    "RESIDENCE_PERMIT_REISSUANCE",
]
# Offices that offer every service and keep standard weekday hours; BJ-DC is the demo
# officer's office and is used where check-in matters.
BOOKING_OFFICES = ("BJ-HD", "BJ-FT", "SH-CN", "SH-JA", "GZ-TH")

# ------------------------------------------------------------------------ GraphQL documents

REGISTER_PERSON = """
mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) {
    __typename
    ... on PersonRegistered { person { id } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

BIND_PASSPORT = """
mutation($input: BindPassportInput!) {
  bindPassport(input: $input) {
    __typename
    ... on PassportBound { passport { id number current } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

LINK_IDENTITY = """
mutation($input: LinkIdentityInput!) {
  linkIdentity(input: $input) {
    __typename
    ... on IdentityLinked { person { id } }
    ... on IdentityNotFound { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""

ISSUE_CARD = """
mutation($input: IssuePermanentResidentCardInput!) {
  issuePermanentResidentCard(input: $input) {
    __typename
    ... on PermanentResidentCardIssued { card { id number issuedOn validUntil } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

RECORD_APPLICATION = """
mutation($input: RecordApplicationInput!) {
  recordApplication(input: $input) {
    __typename
    ... on ApplicationRecorded { application { id number status } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

UPDATE_STATUS = """
mutation($input: UpdateApplicationStatusInput!) {
  updateApplicationStatus(input: $input) {
    __typename
    ... on ApplicationStatusUpdated { application { id status } }
    ... on InvalidTransition { message }
    ... on NotPermitted { message }
  }
}"""

OFFICE_CODES = "{ offices(first: 100) { edges { node { id code } } } }"

OFFICES_OFFERING = """
query($service: ServiceCode!) {
  offices(first: 100, filter: {service: $service}) { edges { node { id code } } }
}"""

SLOTS = """
query($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: $service, from: $from, to: $to) {
    id startsAt endsAt remaining office { code }
  }
}"""

SLOT_NODE = "query($id: ID!) { node(id: $id) { id ... on Slot { remaining startsAt } } }"

# Appointments with only the fields the delegation and security tests look at; the
# appointment tests pass their own documents (every appointment field) as `document`.
BOOK = """
mutation($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    __typename
    ... on BookingConfirmed { appointment { id reference status applicant { id }
                                            bookedBy { id displayName kind } } }
    ... on SlotUnavailable { message }
    ... on AlreadyBooked { message existing { id } }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""

CANCEL = """
mutation($id: ID!) {
  cancelAppointment(id: $id) {
    __typename
    ... on AppointmentCancelled { appointment { id status } }
    ... on ChangeWindowClosed { message }
    ... on NotPermitted { message }
  }
}"""

RESCHEDULE = """
mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) {
    __typename
    ... on AppointmentRescheduled { appointment { id status } previous { id status } }
    ... on SlotUnavailable { message }
    ... on ChangeWindowClosed { message }
    ... on RescheduleLimitReached { message }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
  }
}"""

CHECK_IN = """
mutation($id: ID!) {
  checkInAppointment(id: $id) {
    __typename
    ... on AppointmentCheckedIn { appointment { id status } }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
  }
}"""

DELEGATION_FIELDS = """
  id relationship scopes status validUntil createdAt
  helper { id displayName kind }
  dependant { id surname givenNames nationality birthDate }
  requestedFor { surname nationality birthDate }
"""

ADD_DEPENDANT = f"""
mutation($input: AddDependantInput!) {{
  addDependant(input: $input) {{
    __typename
    ... on DependantAdded {{ delegation {{ {DELEGATION_FIELDS} }} }}
    ... on IdentityNotFound {{ message }}
    ... on LimitReached {{ message limit }}
    ... on ValidationError {{ message field }}
    ... on RateLimited {{ message retryAfterSeconds }}
  }}
}}"""

RESPOND = f"""
mutation($id: ID!, $accept: Boolean!) {{
  respondToDelegation(input: {{delegationId: $id, accept: $accept}}) {{
    __typename
    ... on DelegationResponded {{ delegation {{ {DELEGATION_FIELDS} }} }}
    ... on NotPermitted {{ message }}
  }}
}}"""

REVOKE_DELEGATION = f"""
mutation($id: ID!) {{
  revokeDelegation(id: $id) {{
    __typename
    ... on DelegationRevoked {{ delegation {{ {DELEGATION_FIELDS} }} }}
    ... on NotPermitted {{ message }}
  }}
}}"""

CONFIRM = f"""
mutation($id: ID!) {{
  confirmDelegation(id: $id) {{
    __typename
    ... on DelegationConfirmed {{ delegation {{ {DELEGATION_FIELDS} }} }}
    ... on NotPermitted {{ message }}
  }}
}}"""

PERSON_FIELDS = """
  id surname givenNames nationality birthDate grantedScopes
  appointments(first: 10) { edges { node { id reference status service } } }
  applications(first: 10) { edges { node { id number status } } }
  documents { id number kind }
  permanentResidentCard { id number }
  passports { id number current }
"""

PERSON_NODE = (
    f"query($id: ID!) {{ node(id: $id) {{ __typename id ... on Person {{ {PERSON_FIELDS} }} }} }}"
)

VIEWER = f"""
{{ viewer {{
    account {{ id email }}
    person {{ id }}
    applicants {{ id surname grantedScopes }}
    dependants {{ {DELEGATION_FIELDS} dependant {{ {PERSON_FIELDS} }} }}
    helpers {{ {DELEGATION_FIELDS} }}
}} }}"""

ACTIONS = """
{ viewer { actionsOnMyBehalf(first: 50) { edges { node {
    id action target at onBehalf
    actor { id displayName kind }
    subject { id }
    delegation { id status }
} } } } }"""

# ------------------------------------------------------------------ global IDs and Beijing time


@asynccontextmanager
async def graphql_ws(
    app: Any, *, address: str = "10.250.0.1", headers: dict[str, str] | None = None
) -> AsyncIterator[Any]:
    """A graphql-transport-ws WebSocket to the app under test, in this event loop, from
    `address` (limits are per address), opened with `headers`; not yet initialised."""
    transport = ASGIWebSocketTransport(app=app, client=(address, 5000))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        aconnect_ws(
            "http://testserver/graphql",
            http,
            subprotocols=["graphql-transport-ws"],
            headers=headers or {},
        ) as ws,
    ):
        yield ws


def gid(type_name: str, pk: int | str) -> str:
    """A global ID built by hand: base64url("Type:pk") without padding."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def pk_of(global_id: str) -> int:
    """The primary key in a global ID, decoded by hand."""
    text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(text.partition(":")[2])


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock moment in Beijing as an aware UTC datetime (for pinning the clock)."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def beijing_today(clock: Any | None = None) -> date:
    """Today in Beijing, by the test clock when one is given, else by real time."""
    now = clock.now() if clock is not None else datetime.now(UTC)
    return now.astimezone(SHANGHAI).date()


def working_day(app: Any, clock: Any, n: int) -> date:
    """The n-th working day after today (in Beijing, by the test clock)."""
    return app.state.services.calendar.add_working_days(beijing_today(clock), n)


def minor_birth_date() -> str:
    return date(beijing_today().year - 8, 3, 1).isoformat()


def passport_number(prefix: str) -> str:
    """A passport number no other test uses: the prefix and eight random hex digits."""
    return f"{prefix}{secrets.token_hex(4).upper()}"


def new_surname(prefix: str = "Zz") -> str:
    """A surname no other test uses, so it can be looked for in response texts."""
    return prefix + "".join(random.choices(string.ascii_lowercase, k=10))


# ------------------------------------------------------------------------------- accounts


async def officer_token(client: httpx.AsyncClient) -> str:
    """An access token of the demo officer (of BJ-DC)."""
    return await sign_in(client, "officer@demo.test")


async def other_office_officer(app: Any, client: httpx.AsyncClient, code: str = "SH-PD") -> str:
    """A token of a fresh OFFICER account of another office (made in the database)."""
    office = await Office.get(code=code)
    email = f"officer-{secrets.token_hex(4)}@example.test"
    account = await Account.create(
        email=email,
        display_name=f"Officer of {code}",
        password_hash=app.state.services.hasher.hash(PASSWORD),
        office_id=office.id,
    )
    await AccountRole.create(account_id=account.id, role="OFFICER")
    return await sign_in(client, email, PASSWORD)


async def mutate(client: httpx.AsyncClient, document: str, token: str, **variables: Any) -> dict:
    """Run a one-field operation (no errors allowed) and return that field's result."""
    body = await gql(client, document, variables, token=token)
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return result


# ------------------------------------------------------------------- persons and linking


def person_input(
    facts: dict[str, str], *, given_names: str, passport_valid_until: str, sex: str = "X"
) -> dict[str, str]:
    """A RegisterPersonInput: the four identity facts, and a passport issued by the country
    of nationality."""
    return {
        **facts,
        "givenNames": given_names,
        "sex": sex,
        "passportIssuingCountry": facts["nationality"],
        "passportValidUntil": passport_valid_until,
    }


async def register_person_as(
    client: httpx.AsyncClient, token: str, values: dict, *, document: str = REGISTER_PERSON
) -> dict:
    """registerPerson as `token` (staff); asserts PersonRegistered and returns the person."""
    body = await gql(client, document, {"input": values}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "PersonRegistered", result
    return result["person"]


async def link_identity(
    client: httpx.AsyncClient, token: str, facts: dict, *, document: str = LINK_IDENTITY
) -> dict:
    """linkIdentity's result, whatever it is."""
    body = await gql(client, document, {"input": facts}, token=token)
    return body["data"]["linkIdentity"]


async def link_identity_ok(
    client: httpx.AsyncClient, token: str, facts: dict, person_id: str | None = None
) -> dict:
    """linkIdentity; asserts IdentityLinked (to `person_id` when given), returns the person."""
    linked = await link_identity(client, token, facts)
    assert linked["__typename"] == "IdentityLinked", linked
    if person_id is not None:
        assert linked["person"]["id"] == person_id
    return linked["person"]


@dataclass
class Applicant:
    """A fresh person registered by an officer, with an account of its own linked to it."""

    email: str
    token: str
    person_id: str  # global ID
    facts: dict
    password: str = PASSWORD

    async def sign_in_again(self, client: httpx.AsyncClient) -> str:
        """A new access token, valid for the clock as it is now (after pinning it)."""
        self.token = await sign_in(client, self.email, self.password)
        return self.token


async def linked_applicant(
    client: httpx.AsyncClient, facts: dict, person_id: str | None = None
) -> Applicant:
    """A fresh account (signUp) that links itself (linkIdentity) to the person with these
    identity facts; when `person_id` is given, it must be that person."""
    email = unique_email()
    session = await sign_up(client, email, PASSWORD)
    linked = await link_identity_ok(client, session["accessToken"], facts, person_id)
    return Applicant(email, session["accessToken"], person_id or linked["id"], facts)


def far_passport_end() -> str:
    """A passport end well past every document a test issues (those end within five years
    of today; a document is valid no longer than the passport), whatever today is."""
    return (beijing_today() + timedelta(days=12 * 365)).isoformat()


async def new_applicant(
    client: httpx.AsyncClient,
    *,
    surname: str = "Testperson",
    nationality: str = "GBR",
    birth_date: str = "1988-03-04",
    given_names: str = "Alex",
    sex: str = "X",
    passport_prefix: str = "T",
    passport_valid_until: str | None = None,
) -> Applicant:
    """Officer registers a person with a unique passport; a new account links to it."""
    officer = await officer_token(client)
    facts = {
        "surname": surname,
        "nationality": nationality,
        "birthDate": birth_date,
        "passportNumber": passport_number(passport_prefix),
    }
    values = person_input(
        facts,
        given_names=given_names,
        passport_valid_until=passport_valid_until or far_passport_end(),
        sex=sex,
    )
    person = await register_person_as(client, officer, values)
    return await linked_applicant(client, facts, person["id"])


@dataclass
class Registered:
    """A person registered by an officer: their global ID and the four identity facts."""

    id: str
    surname: str
    given_names: str
    nationality: str
    birth_date: str
    passport_number: str

    def facts(self) -> dict[str, str]:
        return {
            "passportNumber": self.passport_number,
            "nationality": self.nationality,
            "birthDate": self.birth_date,
            "surname": self.surname,
        }


@dataclass
class Member:
    """An account (optionally linked to a registered person)."""

    email: str
    token: str
    account_id: str
    person: Registered | None = None

    async def refresh(self, client: httpx.AsyncClient) -> str:
        """Sign in again (after pinning the clock) for a token valid at the clock's now."""
        self.token = await sign_in(client, self.email, PASSWORD)
        return self.token


async def register_person(
    client: httpx.AsyncClient,
    *,
    birth_date: str = ADULT_BIRTH_DATE,
    nationality: str = "GBR",
    surname: str | None = None,
    officer: str | None = None,
) -> Registered:
    """A person with a surname and given names no other test uses (no account)."""
    officer = officer or await officer_token(client)
    person = Registered(
        id="",
        surname=surname or new_surname(),
        given_names="Secret" + "".join(random.choices(string.ascii_lowercase, k=8)),
        nationality=nationality,
        birth_date=birth_date,
        passport_number=passport_number("D"),
    )
    values = person_input(
        person.facts(), given_names=person.given_names, passport_valid_until=far_passport_end()
    )
    person.id = (await register_person_as(client, officer, values))["id"]
    return person


async def new_member(client: httpx.AsyncClient) -> Member:
    """A fresh sign-up with no person and no delegations."""
    email = unique_email()
    session = await sign_up(client, email, PASSWORD)
    return Member(email, session["accessToken"], session["account"]["id"])


async def member_with_person(
    client: httpx.AsyncClient, *, birth_date: str = ADULT_BIRTH_DATE, officer: str | None = None
) -> Member:
    """A freshly registered person and a fresh account linked to it."""
    person = await register_person(client, birth_date=birth_date, officer=officer)
    member = await new_member(client)
    await link_identity_ok(client, member.token, person.facts(), person.id)
    member.person = person
    return member


# ----------------------------------------------------------------------------- delegations


async def add_dependant(
    client: httpx.AsyncClient,
    token: str,
    facts: dict[str, str],
    scopes: list[str] | None = None,
    relationship: str = "CHILD",
    valid_until: str | None = None,
) -> dict:
    data: dict[str, Any] = {
        **facts,
        "relationship": relationship,
        "scopes": ALL_SCOPES if scopes is None else scopes,
    }
    if valid_until is not None:
        data["validUntil"] = valid_until
    body = await gql(client, ADD_DEPENDANT, {"input": data}, token=token)
    assert "errors" not in body, body
    return body["data"]["addDependant"]


async def add_ok(client: httpx.AsyncClient, token: str, person: Registered, **kwargs: Any) -> dict:
    result = await add_dependant(client, token, person.facts(), **kwargs)
    assert result["__typename"] == "DependantAdded", result
    return result["delegation"]


async def respond(client: httpx.AsyncClient, token: str, delegation_id: str, accept: bool) -> dict:
    return await mutate(client, RESPOND, token, id=delegation_id, accept=accept)


async def revoke(client: httpx.AsyncClient, token: str, delegation_id: str) -> dict:
    return await mutate(client, REVOKE_DELEGATION, token, id=delegation_id)


async def confirm(client: httpx.AsyncClient, token: str, delegation_id: str) -> dict:
    return await mutate(client, CONFIRM, token, id=delegation_id)


async def person_node(client: httpx.AsyncClient, token: str | None, person_id: str) -> dict | None:
    body = await gql(client, PERSON_NODE, {"id": person_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def viewer(client: httpx.AsyncClient, token: str) -> dict:
    body = await gql(client, VIEWER, token=token)
    assert "errors" not in body, body
    return body["data"]["viewer"]


async def active_dependant(
    client: httpx.AsyncClient, scopes: list[str] | None = None
) -> tuple[Member, Registered, dict]:
    """A fresh helper with a fresh minor (no account): ACTIVE at once."""
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())
    delegation = await add_ok(client, helper.token, child, scopes=scopes)
    assert delegation["status"] == "ACTIVE", delegation
    return helper, child, delegation


async def accepted_dependant(
    client: httpx.AsyncClient, scopes: list[str] | None = None
) -> tuple[Member, Member, dict]:
    """A fresh helper and a fresh person with an account who accepted the delegation."""
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    added = await add_ok(client, helper.token, dependant.person, scopes=scopes)
    assert added["status"] == "PENDING", added
    answered = await respond(client, dependant.token, added["id"], True)
    assert answered["__typename"] == "DelegationResponded", answered
    assert answered["delegation"]["status"] == "ACTIVE", answered
    return helper, dependant, answered["delegation"]


async def helper_in_database(
    client: httpx.AsyncClient, dependant_id: str, scopes: list[str], relationship: str
) -> tuple[str, int]:
    """A fresh account with an ACTIVE delegation for the dependant (made in the database):
    its access token and the delegation's primary key."""
    session = await sign_up(client)
    delegation = await DelegationRow.create(
        helper_id=pk_of(session["account"]["id"]),
        dependant_id=pk_of(dependant_id),
        relationship=relationship,
        scopes=scopes,
        status="ACTIVE",
    )
    return session["accessToken"], delegation.id


# ---------------------------------------------------------------------------- applications


async def record_application(
    client: httpx.AsyncClient,
    person_id: str,
    service: str = "RESIDENCE_PERMIT_ISSUANCE",
    officer: str | None = None,
    **extra: str,
) -> dict:
    """recordApplication as `officer` (default: the demo officer); asserts it was recorded."""
    officer = officer or await officer_token(client)
    result = await mutate(
        client,
        RECORD_APPLICATION,
        officer,
        input={"applicantId": person_id, "service": service, **extra},
    )
    assert result["__typename"] == "ApplicationRecorded", result
    return result["application"]


async def move_application(
    client: httpx.AsyncClient,
    application_id: str,
    *statuses: str,
    officer: str | None = None,
    note: str | None = None,
) -> None:
    """updateApplicationStatus to each status in turn; asserts every step is taken."""
    officer = officer or await officer_token(client)
    for status in statuses:
        data = {"applicationId": application_id, "status": status}
        if note is not None:
            data["note"] = note
        result = await mutate(client, UPDATE_STATUS, officer, input=data)
        assert result["__typename"] == "ApplicationStatusUpdated", result


# ---------------------------------------------------------------------- offices and slots

_office_ids: dict[str, str] = {}


async def office_id(client: httpx.AsyncClient, code: str) -> str:
    """The global ID of the office with this code (the directory is read once)."""
    if not _office_ids:
        body = await gql(client, OFFICE_CODES)
        for edge in body["data"]["offices"]["edges"]:
            _office_ids[edge["node"]["code"]] = edge["node"]["id"]
    return _office_ids[code]


async def available(
    client: httpx.AsyncClient, office_code: str, service: str, start: date, end: date
) -> list[dict]:
    body = await gql(
        client,
        SLOTS,
        {
            "office": await office_id(client, office_code),
            "service": service,
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
    )
    assert "errors" not in body, body
    return body["data"]["availableSlots"]


async def pick_slots(
    app: Any,
    client: httpx.AsyncClient,
    clock: Any,
    service: str = "VISA_EXTENSION",
    count: int = 1,
    *,
    office: str | None = None,
    min_remaining: int = 2,
) -> list[dict]:
    """`count` distinct random open slots 2 to 12 working days ahead (over 24 h away)."""
    office = office or random.choice(BOOKING_OFFICES)
    slots = [
        s
        for s in await available(
            client, office, service, working_day(app, clock, 2), working_day(app, clock, 12)
        )
        if s["remaining"] >= min_remaining
    ]
    assert len(slots) >= count, f"only {len(slots)} open slots at {office}"
    return random.sample(slots, count)


async def fresh_slot(app: Any, client: httpx.AsyncClient, clock: Any, capacity: int) -> dict:
    """An open slot nobody has booked, its capacity set to `capacity` in the database."""
    for candidate in await pick_slots(app, client, clock, count=20, min_remaining=1):
        row = await Slot.get(id=pk_of(candidate["id"]))
        if row.booked == 0 and not await AppointmentRow.exists(slot_id=row.id):
            await Slot.filter(id=row.id).update(capacity=capacity, booked=0)
            return {**candidate, "remaining": capacity}
    raise AssertionError("no unbooked slot found")


async def remaining(client: httpx.AsyncClient, slot_id: str) -> int:
    body = await gql(client, SLOT_NODE, {"id": slot_id})
    return body["data"]["node"]["remaining"]


async def generate_day(app: Any, office_code: str, first: date, last: date | None = None) -> None:
    """Generate the slots of these days at one office (generation is idempotent)."""
    office = await Office.get(code=office_code)
    await appointment_store.generate_slots(
        app.state.services.calendar, first, last or first, 30, office_ids=[office.id]
    )


_offices_offering: dict[str, list[str]] = {}

# Offices whose days the waitlist tests make full, each (office, day) for one test: no other
# test books there (tests/waitlist_lines.py), so that a line day is not taken at random.
LINE_OFFICES = ("SUZ-IP", "SZ-FT", "SH-MH", "BJ-XC")


async def open_slots(
    client: httpx.AsyncClient, service: str = "VISA_EXTENSION", count: int = 1
) -> list[dict]:
    """`count` random open slots with places left, at least two days ahead, at an office
    other than the waitlist tests' LINE_OFFICES."""
    if service not in _offices_offering:
        body = await gql(client, OFFICES_OFFERING, {"service": service})
        _offices_offering[service] = [
            e["node"]["id"]
            for e in body["data"]["offices"]["edges"]
            if e["node"]["code"] not in LINE_OFFICES
        ]
    start = beijing_today() + timedelta(days=2)
    offices = list(_offices_offering[service])
    random.shuffle(offices)
    for office in offices:
        body = await gql(
            client,
            SLOTS,
            {
                "office": office,
                "service": service,
                "from": start.isoformat(),
                "to": (start + timedelta(days=20)).isoformat(),
            },
        )
        slots = [s for s in body["data"]["availableSlots"] if s["remaining"] >= 2]
        if len(slots) >= count:
            return random.sample(slots, count)
    raise AssertionError(f"no office has {count} open slots for {service}")


# -------------------------------------------------------------------------------- booking


async def book(
    client: httpx.AsyncClient,
    token: str | None,
    applicant_id: str,
    slot_id: str,
    service: str = "VISA_EXTENSION",
    key: str | None = None,
    *,
    document: str = BOOK,
) -> dict:
    """bookAppointment's result (no GraphQL errors allowed), answered per `document`."""
    data: dict[str, Any] = {"applicantId": applicant_id, "slotId": slot_id, "service": service}
    if key is not None:
        data["idempotencyKey"] = key
    body = await gql(client, document, {"input": data}, token=token)
    assert "errors" not in body, body
    return body["data"]["bookAppointment"]


async def book_ok(
    client: httpx.AsyncClient,
    who: Applicant,
    slot_id: str,
    service: str = "VISA_EXTENSION",
    *,
    document: str = BOOK,
) -> dict:
    """The applicant books the slot for itself; asserts it is confirmed."""
    result = await book(client, who.token, who.person_id, slot_id, service, document=document)
    assert result["__typename"] == "BookingConfirmed", result
    return result["appointment"]


async def book_open_slot(
    client: httpx.AsyncClient, token: str, person_id: str, service: str = "VISA_EXTENSION"
) -> dict:
    """Book a random open slot (see open_slots) for the person; asserts it is confirmed."""
    (slot,) = await open_slots(client, service)
    result = await book(client, token, person_id, slot["id"], service)
    assert result["__typename"] == "BookingConfirmed", result
    return result["appointment"]


# ------------------------------------------------------------------ real server processes


async def asgi_call(
    app: Any,
    method: str,
    headers: list[tuple[bytes, bytes]],
    received: list[dict[str, Any]],
    query_string: bytes = b"",
) -> list[dict[str, Any]]:
    """One request to /graphql sent straight to the ASGI app, as the wire brings it (a query
    string unencoded, a body cut short): the app receives `received`, then a disconnect;
    returns what it sent."""
    sent: list[dict[str, Any]] = []
    pending = list(received)

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("192.0.2.91", 1000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(test_settings: Any, **extra: str) -> dict[str, str]:
    """The environment of a server process on the test session's database and data."""
    return {
        **os.environ,
        "DATABASE_URL": test_settings.database_url,
        "APP_ENV": "development",
        "KEY_ENCRYPTION_KEY": test_settings.key_encryption_key or "",
        "DATA_DIR": str(test_settings.data_dir),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        **extra,
    }


async def wait_ready(base: str, process: subprocess.Popen, attempts: int) -> None:
    """Poll /ready every 0.1 s, at most `attempts` times."""
    async with httpx.AsyncClient() as c:
        for _ in range(attempts):
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if (await c.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


def server_command(port: int) -> list[str]:
    """The command line of one uvicorn process of the app on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


@asynccontextmanager
async def running_servers(
    count: int, env: dict[str, str], *, ready_attempts: int
) -> AsyncIterator[list[int]]:
    """`count` uvicorn processes of the app, each on a free port: yields the ports once all
    are ready, and stops the processes afterwards."""
    processes, ports = [], []
    for _ in range(count):
        port = free_port()
        processes.append(subprocess.Popen(server_command(port), cwd=ROOT, env=env))
        ports.append(port)
    try:
        for port, process in zip(ports, processes, strict=True):
            await wait_ready(f"http://127.0.0.1:{port}", process, ready_attempts)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
