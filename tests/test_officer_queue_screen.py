"""The officer's morning queue, built from one query: today's appointments at the office (to
check in) with the applicants' names, and the office's applications under review (first
submitted first) with applicant and history; and finding a person by passport number or by
surname and birth date. Only the office's officers and admins see the lists, only staff may
search, and every person shown is recorded in that person's trail.

The day is a Wednesday of March 2027 at BJ-DC (the demo officer's office) with the clock
pinned before and on it; no other test books or records anything then.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import gql, sign_in
from tests.helpers import (
    ACTIONS,
    Applicant,
    Member,
    Registered,
    available,
    beijing,
    book_ok,
    generate_day,
    link_identity_ok,
    move_application,
    new_applicant,
    new_member,
    new_surname,
    office_id,
    other_office_officer,
    record_application,
    register_person,
)

DAY = date(2027, 3, 17)  # a Wednesday: a working day at BJ-DC
EVE = date(2027, 3, 15)

MORNING_QUEUE = """
query MorningQueue($office: ID!, $today: Date!) {
  node(id: $office) { ... on Office {
    code
    appointments(on: $today, first: 100) {
      edges { node {
        id reference status service startsAt
        applicant { id surname givenNames }
      } }
      pageInfo { hasNextPage endCursor }
    }
    applications(status: UNDER_REVIEW, first: 100) {
      edges { cursor node {
        id number service status submittedAt expectedDecisionOn
        applicant { id surname givenNames }
        events { status at note }
      } }
      pageInfo { hasNextPage endCursor }
    }
  } }
}"""

PERSONS = """
query Persons($search: PersonSearchInput!, $first: Int, $after: String) {
  persons(search: $search, first: $first, after: $after) {
    edges { cursor node { id surname givenNames birthDate passports { number current } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


@dataclass
class Morning:
    officer: str
    variables: dict[str, str]
    early: Applicant  # booked at 09:00, applied first
    late: Applicant  # booked at 10:00, applied second (but under review first)
    appointments: dict[str, dict]  # by applicant person id
    applications: dict[str, dict]  # by applicant person id


def _slot_at(slots: list[dict], hour: int) -> dict:
    return next(s for s in slots if datetime.fromisoformat(s["startsAt"]).hour == hour)


async def _morning(app: Any, client: httpx.AsyncClient, clock: Any) -> Morning:
    """Two fresh applicants booked for DAY at BJ-DC and with an application under review
    each; the clock then stands at 08:00 on DAY, with the demo officer signed in."""
    clock.pinned = beijing(EVE, 9)
    await generate_day(app, "BJ-DC", DAY)
    early = await new_applicant(client, surname=new_surname("Early"))
    late = await new_applicant(client, surname=new_surname("Late"))
    slots = await available(client, "BJ-DC", "VISA_EXTENSION", DAY, DAY)
    appointments = {
        early.person_id: await book_ok(client, early, _slot_at(slots, 9)["id"]),
        late.person_id: await book_ok(client, late, _slot_at(slots, 10)["id"]),
    }
    first = await record_application(client, early.person_id)
    clock.pinned = beijing(EVE, 9, 30)
    second = await record_application(client, late.person_id)
    clock.pinned = beijing(EVE, 10)
    await move_application(client, second["id"], "ACCEPTED", "UNDER_REVIEW")
    clock.pinned = beijing(EVE, 10, 30)
    await move_application(client, first["id"], "ACCEPTED")
    await move_application(client, first["id"], "UNDER_REVIEW", note="Checking.")

    clock.pinned = beijing(DAY, 8)
    for who in (early, late):
        await who.sign_in_again(client)
    return Morning(
        officer=await sign_in(client, "officer@demo.test"),
        variables={"office": await office_id(client, "BJ-DC"), "today": DAY.isoformat()},
        early=early,
        late=late,
        appointments=appointments,
        applications={early.person_id: first, late.person_id: second},
    )


async def _queue(client: httpx.AsyncClient, morning: Morning, token: str | None) -> dict:
    body = await gql(client, MORNING_QUEUE, morning.variables, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def _trail(client: httpx.AsyncClient, token: str) -> list[dict]:
    body = await gql(client, ACTIONS, token=token)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]


# -------------------------------------------------------------------------- the queue


async def test_officer_morning_queue_lists_todays_appointments_and_the_review_queue(
    app, client, clock
):
    morning = await _morning(app, client, clock)
    office = await _queue(client, morning, morning.officer)

    assert office["code"] == "BJ-DC"
    listed = {e["node"]["applicant"]["id"]: e["node"] for e in office["appointments"]["edges"]}
    for who, hour in ((morning.early, 9), (morning.late, 10)):
        appointment = listed[who.person_id]
        assert appointment["reference"] == morning.appointments[who.person_id]["reference"]
        assert appointment["status"] == "BOOKED"
        assert appointment["applicant"]["surname"] == who.facts["surname"]
        assert appointment["applicant"]["givenNames"] == "Alex"
        starts = datetime.fromisoformat(appointment["startsAt"])
        assert (starts.date(), starts.hour, starts.utcoffset()) == (DAY, hour, timedelta(hours=8))
    starts = [e["node"]["startsAt"] for e in office["appointments"]["edges"]]
    assert all(datetime.fromisoformat(s).date() == DAY for s in starts)
    assert starts == sorted(starts)

    queue = [e["node"] for e in office["applications"]["edges"]]
    assert {a["status"] for a in queue} == {"UNDER_REVIEW"}
    submitted = [datetime.fromisoformat(a["submittedAt"]) for a in queue]
    assert submitted == sorted(submitted), "first submitted, first served"
    position = {a["applicant"]["id"]: i for i, a in enumerate(queue)}
    # Applied first, so listed first, though its review began after the other's.
    assert position[morning.early.person_id] < position[morning.late.person_id]
    early = queue[position[morning.early.person_id]]
    assert early["number"] == morning.applications[morning.early.person_id]["number"]
    assert early["applicant"]["surname"] == morning.early.facts["surname"]
    assert [(e["status"], e["note"]) for e in early["events"]] == [
        ("SUBMITTED", None),
        ("ACCEPTED", None),
        ("UNDER_REVIEW", "Checking."),
    ]
    assert datetime.fromisoformat(early["events"][-1]["at"]) == beijing(EVE, 10, 30)
    assert early["expectedDecisionOn"] is not None
    # The demo applicant's application under review at BJ-DC is in the queue too.
    assert "Schmidt" in {a["applicant"]["surname"] for a in queue}


async def test_queue_lists_are_null_for_other_offices_officers_applicants_and_anonymous(
    app, client, clock
):
    morning = await _morning(app, client, clock)
    elsewhere = await other_office_officer(app, client, "SH-PD")
    for token in (elsewhere, morning.early.token, None):
        office = await _queue(client, morning, token)
        assert office["code"] == "BJ-DC"
        assert office["appointments"] is None
        assert office["applications"] is None
    # Positive control: an admin of no office sees both lists of any office.
    admin = await _queue(client, morning, await sign_in(client, "admin@demo.test"))
    assert morning.early.person_id in {
        e["node"]["applicant"]["id"] for e in admin["applications"]["edges"]
    }
    assert admin["appointments"]["edges"]


async def test_every_application_in_the_queue_is_audited_as_read_by_the_officer(app, client, clock):
    morning = await _morning(app, client, clock)
    await _queue(client, morning, morning.officer)
    number = morning.applications[morning.early.person_id]["number"]
    reference = morning.appointments[morning.early.person_id]["reference"]
    reads = [
        (e["action"], e["target"], e["actor"]["kind"], e["actor"]["displayName"])
        for e in await _trail(client, morning.early.token)
        if datetime.fromisoformat(e["at"]) == clock.now()
    ]
    assert ("READ_APPLICATIONS", number, "OFFICER", "Officer Li Wei") in reads
    assert ("READ_APPOINTMENTS", reference, "OFFICER", "Officer Li Wei") in reads
    # Someone who was refused the lists leaves no trace in the trail.
    clock.pinned = beijing(DAY, 8, 5)
    await _queue(client, morning, await other_office_officer(app, client, "SH-PD"))
    assert not [
        e
        for e in await _trail(client, morning.early.token)
        if e["at"].startswith("2027-03-17T08:05")
    ]


async def test_queue_pages_follow_the_cursor_without_gaps_or_repeats(app, client, clock):
    morning = await _morning(app, client, clock)
    page_query = """
    query($office: ID!, $after: String) { node(id: $office) { ... on Office {
      applications(first: 2, after: $after) {
        edges { node { number submittedAt } } pageInfo { hasNextPage hasPreviousPage endCursor }
      } } } }"""
    whole = await gql(
        client,
        """query($office: ID!) { node(id: $office) { ... on Office {
             applications(first: 100) { edges { node { number } } } } } }""",
        {"office": morning.variables["office"]},
        token=morning.officer,
    )
    expected = [e["node"]["number"] for e in whole["data"]["node"]["applications"]["edges"]][:6]
    seen: list[str] = []
    after = None
    for page in range(3):
        body = await gql(
            client,
            page_query,
            {"office": morning.variables["office"], "after": after},
            token=morning.officer,
        )
        assert "errors" not in body, body
        connection = body["data"]["node"]["applications"]
        assert connection["pageInfo"]["hasPreviousPage"] == (page > 0)
        seen += [e["node"]["number"] for e in connection["edges"]]
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected


async def test_a_big_queue_page_is_costed_by_its_size_and_refused_over_the_limit(app, client):
    officer = await sign_in(client, "officer@demo.test")
    office = await office_id(client, "BJ-DC")
    small = """query($office: ID!, $first: Int) { node(id: $office) { ... on Office {
      applications(first: $first) { edges { node { number applicant { surname } } } } } } }"""
    costs = []
    for first in (5, 50):
        body = await gql(client, small, {"office": office, "first": first}, token=officer)
        assert "errors" not in body, body
        costs.append(body["extensions"]["cost"]["requestedQueryCost"])
    # node 1 + applications 1 + first x (edges 1 + node 1 + applicant 1)
    assert costs == [2 + 5 * 3, 2 + 50 * 3]
    big = """query($office: ID!) { node(id: $office) { ... on Office {
      applications(first: 100) { edges { node { number
        applicant { applications(first: 100) { edges { node { number } } } } } } } } } }"""
    response = await client.post(
        "/graphql",
        json={"query": big, "variables": {"office": office}},
        headers={"authorization": f"Bearer {officer}"},
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # 100 applications each with a page of 100 of the applicant's: counted, not guessed.
    assert "would cost 20402 points" in error["message"]
    assert response.json()["data"] is None


# ----------------------------------------------------------------------- finding persons


async def _persons(
    client: httpx.AsyncClient, token: str | None, search: dict, **variables: Any
) -> dict:
    return await gql(client, PERSONS, {"search": search, **variables}, token=token)


def _found(body: dict) -> list[dict]:
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["persons"]["edges"]]


async def test_officer_finds_the_demo_applicant_by_passport_number_or_surname_and_birth_date(
    client,
):
    officer = await sign_in(client, "officer@demo.test")
    for search in (
        {"passportNumber": "C01X00T47"},
        {"passportNumber": " c01x 00t47 "},  # spaces and case as typed at a counter
        {"surname": "SCHMIDT", "birthDate": "1990-04-12"},
        {"surname": "  schmidt ", "birthDate": "1990-04-12", "passportNumber": "C01X00T47"},
    ):
        found = _found(await _persons(client, officer, search))
        anna = [p for p in found if p["givenNames"] == "Anna Maria"]
        assert len(anna) == 1, (search, found)
        assert anna[0]["surname"] == "Schmidt"
        assert anna[0]["passports"] == [{"number": "C01X00T47", "current": True}]
    # All given facts must match: the right passport with another birth date finds no one.
    assert (
        _found(
            await _persons(
                client,
                officer,
                {"passportNumber": "C01X00T47", "surname": "Schmidt", "birthDate": "1990-04-13"},
            )
        )
        == []
    )


async def test_a_superseded_passport_still_finds_its_person(client):
    admin = await sign_in(client, "admin@demo.test")
    (johnson,) = _found(await _persons(client, admin, {"passportNumber": "488812345"}))
    assert johnson["surname"] == "Johnson"
    assert {"number": "488812345", "current": False} in johnson["passports"]


async def test_persons_is_refused_to_everyone_but_staff(client):
    search = {"passportNumber": "C01X00T47"}
    anonymous = await _persons(client, None, search)
    assert anonymous["data"]["persons"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for email in ("applicant@demo.test", "helper@demo.test", "analyst@demo.test"):
        body = await _persons(client, await sign_in(client, email), search)
        assert body["data"]["persons"] is None, email
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN", (email, error)
        assert "Schmidt" not in str(body)
    # Refused before the search is even read: a too-broad search is FORBIDDEN too.
    body = await _persons(client, await sign_in(client, "applicant@demo.test"), {"surname": "X"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_too_broad_or_malformed_searches_are_bad_user_input(client):
    officer = await sign_in(client, "officer@demo.test")
    for search in (
        {"surname": "Schmidt"},
        {"birthDate": "1990-04-12"},
        {},
        {"surname": "   ", "birthDate": "1990-04-12"},
        {"passportNumber": "C01"},
        {"passportNumber": "C01X-00T47"},
    ):
        body = await _persons(client, officer, search)
        assert body["data"]["persons"] is None, search
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (search, error)


async def _same_surname_and_birth_date(
    client: httpx.AsyncClient, officer: str, count: int
) -> tuple[str, list[tuple[Registered, Member]]]:
    """`count` fresh persons sharing a new surname and a birth date, each with an account
    linked to it (to read their trails), in the order a search lists them."""
    surname = new_surname("Found")
    pairs = []
    for _ in range(count):
        person = await register_person(
            client, surname=surname, birth_date="1975-06-01", officer=officer
        )
        member = await new_member(client)
        await link_identity_ok(client, member.token, person.facts(), person.id)
        pairs.append((person, member))
    pairs.sort(key=lambda pair: pair[0].given_names)
    return surname, pairs


async def _found_at(client: httpx.AsyncClient, member: Member, moment: datetime) -> list[tuple]:
    """The FIND_PERSON entries of the member's trail made at `moment`."""
    return [
        (e["target"], e["actor"]["kind"], e["actor"]["displayName"])
        for e in await _trail(client, await member.refresh(client))
        if e["action"] == "FIND_PERSON" and datetime.fromisoformat(e["at"]) == moment
    ]


async def test_every_person_found_is_audited_and_a_page_audits_only_whom_it_shows(client, clock):
    """Three persons share a surname and birth date: a page of two shows two and audits
    those two only; the next page shows and audits the third."""
    surname, pairs = await _same_surname_and_birth_date(
        client, await sign_in(client, "officer@demo.test"), 3
    )
    moment = beijing(DAY, 11, secrets.randbelow(59) + 1)
    clock.pinned = moment
    officer = await sign_in(client, "officer@demo.test")
    search = {"surname": surname.upper(), "birthDate": "1975-06-01"}
    first = await _persons(client, officer, search, first=2)
    assert [p["id"] for p in _found(first)] == [person.id for person, _ in pairs[:2]]
    page_info = first["data"]["persons"]["pageInfo"]
    assert page_info["hasNextPage"] and not page_info["hasPreviousPage"]
    found = ("by surname and birth date", "OFFICER", "Officer Li Wei")
    for _, member in pairs[:2]:
        assert await _found_at(client, member, moment) == [found]
    assert await _found_at(client, pairs[2][1], moment) == []

    rest = await _persons(client, officer, search, first=2, after=page_info["endCursor"])
    assert [p["id"] for p in _found(rest)] == [pairs[2][0].id]
    assert rest["data"]["persons"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["data"]["persons"]["edges"][0]["cursor"],
    }
    assert await _found_at(client, pairs[2][1], moment) == [found]

    later = moment + timedelta(minutes=1)
    clock.pinned = later
    person, member = pairs[0]
    by_passport = {"passportNumber": person.passport_number.lower()}
    officer = await sign_in(client, "officer@demo.test")
    assert [p["id"] for p in _found(await _persons(client, officer, by_passport))] == [person.id]
    assert await _found_at(client, member, later) == [
        ("by passport number", "OFFICER", "Officer Li Wei")
    ]


async def test_a_big_persons_page_is_costed_by_its_size_and_refused_over_the_limit(client):
    officer = await sign_in(client, "officer@demo.test")
    small = """query($first: Int) { persons(search: {passportNumber: "C01X00T47"}, first: $first)
      { edges { node { surname passports { number } } } } }"""
    costs = []
    for first in (5, 50):
        body = await gql(client, small, {"first": first}, token=officer)
        assert "errors" not in body, body
        costs.append(body["extensions"]["cost"]["requestedQueryCost"])
    # persons 1 + first x (edges 1 + node 1 + passports: 1 + an estimated 10 passports at 1)
    assert costs == [1 + 5 * (2 + 11), 1 + 50 * (2 + 11)]
    big = """{ persons(search: {passportNumber: "C01X00T47"}, first: 100) { edges { node {
      applications(first: 100) { edges { node { number } } } } } } }"""
    response = await client.post(
        "/graphql", json={"query": big}, headers={"authorization": f"Bearer {officer}"}
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # 100 persons each with a page of 100 applications: counted, not guessed.
    assert "would cost 20301 points" in error["message"]
    assert response.json()["data"] is None


async def test_an_officer_finds_their_queues_through_the_viewer_without_knowing_an_id(
    app, client, clock
):
    morning = await _morning(app, client, clock)
    query = MORNING_QUEUE.replace(
        "query MorningQueue($office: ID!, $today: Date!)", "query MorningQueue($today: Date!)"
    ).replace("node(id: $office) { ... on Office {", "viewer { office {")
    variables = {"today": morning.variables["today"]}
    body = await gql(client, query, variables, token=morning.officer)
    assert "errors" not in body, body
    via_viewer = body["data"]["viewer"]["office"]
    assert via_viewer == await _queue(client, morning, morning.officer)
    applicant = await sign_in(client, "applicant@demo.test")
    body = await gql(client, query, variables, token=applicant)
    assert body["data"]["viewer"]["office"] is None


QUEUE_PAGE = """
query($office: ID!, $status: ApplicationStatus, $first: Int, $after: String) {
  node(id: $office) { ... on Office {
    applications(status: $status, first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { id number } } } } } }"""


async def test_working_through_the_queue_page_by_page_skips_no_application(client):
    """An officer lists SUBMITTED applications two at a time and accepts each page before
    asking for the next: with cursors that were places in the list, the accepted ones left
    it and the next page skipped as many. Cursors now name the application."""
    admin = await sign_in(client, "admin@demo.test")
    office = await office_id(client, "NJ-XW")
    recorded = []
    for _ in range(5):
        person = await register_person(client, officer=admin)
        application = await record_application(
            client, person.id, "VISA_EXTENSION", officer=admin, officeId=office
        )
        recorded.append(application["id"])

    async def page(after: str | None) -> dict:
        variables = {"office": office, "status": "SUBMITTED", "first": 2, "after": after}
        body = await gql(client, QUEUE_PAGE, variables, admin)
        assert "errors" not in body, body
        return body["data"]["node"]["applications"]

    seen: list[str] = []
    after = None
    while True:
        listed = await page(after)
        assert listed["pageInfo"]["hasPreviousPage"] == (after is not None)
        for edge in listed["edges"]:
            seen.append(edge["node"]["id"])
            await move_application(client, edge["node"]["id"], "ACCEPTED", officer=admin)
        if not listed["pageInfo"]["hasNextPage"]:
            break
        after = listed["pageInfo"]["endCursor"]

    assert [s for s in seen if s in recorded] == recorded
