"""Statistics for analysts and admins: who may ask, which periods, small counts withheld, and
never a person's data.

The figures tests record their applications with the clock pinned to days in 2025 that no
other test uses, each test at an office of its own, so their counts are exact.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import gql, sign_in, sign_up
from tests.helpers import (
    APPLICATION_STATUSES,
    beijing,
    beijing_today,
    move_application,
    office_id,
    passport_number,
    person_input,
    record_application,
    register_person_as,
)

PERSON_LEVEL = {"name", "surname", "givenNames", "person", "applicant", "email", "birthDate"}

STATISTICS = """
query($from: Date!, $to: Date!, $office: ID) {
  statistics(from: $from, to: $to, officeId: $office) {
    from to appointmentsBooked appointmentsCancelled noShows slotUtilisation
    applicationsByStatus { status count }
    medianDaysToDecision { service count }
  }
}"""

# ------------------------------------------------------------------------------- helpers


async def statistics(
    client: httpx.AsyncClient,
    token: str | None,
    start: date | str,
    end: date | str,
    office: str | None = None,
) -> dict:
    return await gql(
        client,
        STATISTICS,
        {"from": str(start), "to": str(end), "office": office},
        token=token,
    )


async def figures(
    client: httpx.AsyncClient, token: str, start: date, end: date, office: str | None = None
) -> dict:
    body = await statistics(client, token, start, end, office)
    assert "errors" not in body, body
    return body["data"]["statistics"]


def by_status(stats: dict) -> dict[str, int | None]:
    return {row["status"]: row["count"] for row in stats["applicationsByStatus"]}


def medians(stats: dict) -> dict[str, int | None]:
    return {row["service"]: row["count"] for row in stats["medianDaysToDecision"]}


def error_code(body: dict) -> str:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def register(client: httpx.AsyncClient, token: str, surname: str = "Statson") -> str:
    facts = {
        "surname": surname,
        "nationality": "NLD",
        "birthDate": "1984-08-08",
        "passportNumber": passport_number("R"),
    }
    values = person_input(facts, given_names="Pat", passport_valid_until="2035-01-01")
    return (await register_person_as(client, token, values))["id"]


async def record(
    client: httpx.AsyncClient, token: str, person: str, service: str, office: str
) -> str:
    application = await record_application(client, person, service, token, officeId=office)
    return application["id"]


async def move(client: httpx.AsyncClient, token: str, application: str, status: str) -> None:
    await move_application(client, application, status, officer=token)


async def admin_at(client: httpx.AsyncClient, clock: Any, moment: datetime) -> str:
    """Pin the clock and sign the admin in for that moment."""
    clock.pinned = moment
    return await sign_in(client, "admin@demo.test")


# --------------------------------------------------------------------------- who may ask


@pytest.mark.parametrize("email", ["analyst@demo.test", "admin@demo.test"])
async def test_analysts_and_admins_get_statistics(client, email):
    token = await sign_in(client, email)
    today = beijing_today()
    stats = await figures(client, token, today - timedelta(days=30), today)
    assert stats["from"] == (today - timedelta(days=30)).isoformat()
    assert stats["to"] == today.isoformat()
    assert [row["status"] for row in stats["applicationsByStatus"]] == APPLICATION_STATUSES
    for value in (stats["appointmentsBooked"], stats["appointmentsCancelled"], stats["noShows"]):
        assert value is None or value >= 5, stats
    for row in [*stats["applicationsByStatus"], *stats["medianDaysToDecision"]]:
        assert row["count"] is None or row["count"] >= 0, row
    for row in stats["applicationsByStatus"]:
        assert row["count"] is None or row["count"] >= 5, row
    assert stats["slotUtilisation"] is None or 0 <= stats["slotUtilisation"] <= 1


@pytest.mark.parametrize("email", ["applicant@demo.test", "officer@demo.test", "pr@demo.test"])
async def test_applicants_and_officers_are_forbidden(client, email):
    token = await sign_in(client, email)
    body = await statistics(client, token, "2026-01-01", "2026-01-31")
    assert error_code(body) == "FORBIDDEN"
    assert body.get("data") is None


async def test_a_new_account_is_forbidden(client):
    token = (await sign_up(client))["accessToken"]
    body = await statistics(client, token, "2026-01-01", "2026-01-31")
    assert error_code(body) == "FORBIDDEN"
    assert body.get("data") is None


async def test_anonymous_is_unauthenticated(client):
    body = await statistics(client, None, "2026-01-01", "2026-01-31")
    assert error_code(body) == "UNAUTHENTICATED"
    assert body.get("data") is None


async def test_an_invalid_token_is_unauthenticated_with_401(client):
    response = await client.post(
        "/graphql",
        json={"query": STATISTICS, "variables": {"from": "2026-01-01", "to": "2026-01-31"}},
        headers={"authorization": "Bearer not.a.token"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ------------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-02", "2026-03-01"),  # to before from
        ("2025-01-01", "2026-01-02"),  # 367 days
        ("2020-01-01", "2026-01-01"),
    ],
)
async def test_a_bad_period_is_bad_user_input(client, start, end):
    token = await sign_in(client, "analyst@demo.test")
    body = await statistics(client, token, start, end)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-01", "2026-03-01"),  # one day
        ("2024-01-01", "2024-12-31"),  # 366 days (leap year)
        ("2025-01-01", "2026-01-01"),  # 366 days
    ],
)
async def test_periods_up_to_366_days_are_accepted(client, start, end):
    token = await sign_in(client, "analyst@demo.test")
    stats = await figures(client, token, date.fromisoformat(start), date.fromisoformat(end))
    assert (stats["from"], stats["to"]) == (start, end)


async def test_a_malformed_office_id_is_bad_user_input(client):
    token = await sign_in(client, "analyst@demo.test")
    body = await statistics(client, token, "2026-01-01", "2026-01-31", "not-an-office")
    assert error_code(body) == "BAD_USER_INPUT"


# --------------------------------------------------------------------- withheld small counts


async def test_counts_under_five_are_null_and_five_is_shown(client, clock):
    day = date(2025, 3, 11)
    admin = await admin_at(client, clock, beijing(day, 10))
    office = await office_id(client, "CD-WH")
    person = await register(client, admin)
    for service in ("VISA_EXTENSION", "VISA_RENEWAL", "STAY_PERMIT_EXTENSION"):
        await record(client, admin, person, service, office)

    analyst = await sign_in(client, "analyst@demo.test")
    three = await figures(client, analyst, day, day, office)
    assert [row["status"] for row in three["applicationsByStatus"]] == APPLICATION_STATUSES
    assert set(by_status(three).values()) == {None}, three
    assert three["appointmentsBooked"] is None
    assert three["appointmentsCancelled"] is None
    assert three["noShows"] is None
    assert three["medianDaysToDecision"] == [] or set(medians(three).values()) == {None}

    clock.pinned = beijing(day, 11)
    admin = await sign_in(client, "admin@demo.test")
    for service in ("RESIDENCE_PERMIT_EXTENSION", "RESIDENCE_PERMIT_RENEWAL"):
        await record(client, admin, await register(client, admin), service, office)

    analyst = await sign_in(client, "analyst@demo.test")
    five = await figures(client, analyst, day, day, office)
    counts = by_status(five)
    assert counts["SUBMITTED"] == 5
    assert all(counts[s] is None for s in APPLICATION_STATUSES if s != "SUBMITTED"), counts
    # Across all offices the same day holds at least these five.
    everywhere = by_status(await figures(client, analyst, day, day))
    assert everywhere["SUBMITTED"] is not None and everywhere["SUBMITTED"] >= 5
    # A day later nothing was submitted there.
    next_day = day + timedelta(days=1)
    later = await figures(client, analyst, next_day, next_day, office)
    assert by_status(later)["SUBMITTED"] is None


async def test_at_least_five_applications_at_an_office_are_counted(client, clock):
    day = date(2025, 3, 18)
    admin = await admin_at(client, clock, beijing(day, 9, 15))
    office = await office_id(client, "HZ-SC")
    applications = []
    for _ in range(7):
        applications.append(
            await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)
        )
    for application in applications[:5]:
        await move(client, admin, application, "ACCEPTED")

    analyst = await sign_in(client, "analyst@demo.test")
    counts = by_status(await figures(client, analyst, day - timedelta(days=3), day, office))
    assert counts["ACCEPTED"] == 5
    assert counts["SUBMITTED"] is None  # 2 left: withheld
    # Without the office filter the period holds at least these.
    everywhere = by_status(await figures(client, analyst, day, day))
    assert everywhere["ACCEPTED"] is not None and everywhere["ACCEPTED"] >= 5


async def test_days_are_counted_in_beijing_time(client, clock):
    day = date(2025, 5, 6)
    # 00:30 in Beijing is still the previous day in UTC.
    admin = await admin_at(client, clock, beijing(day, 0, 30))
    office = await office_id(client, "CD-GX")
    for _ in range(5):
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)

    analyst = await sign_in(client, "analyst@demo.test")
    assert by_status(await figures(client, analyst, day, day, office))["SUBMITTED"] == 5
    before = day - timedelta(days=1)
    assert by_status(await figures(client, analyst, before, before, office))["SUBMITTED"] is None


# ---------------------------------------------------------------------- time to decision


async def test_median_days_to_decision_needs_five_decided_applications(client, clock):
    start = date(2025, 4, 7)
    admin = await admin_at(client, clock, beijing(start, 9))
    office = await office_id(client, "HZ-BJ")
    visa_days = [2, 3, 5, 8, 9]  # median 5
    stay_days = [1, 2, 3, 4]  # only four: withheld
    visas = [
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)
        for _ in visa_days
    ]
    stays = [
        await record(client, admin, await register(client, admin), "STAY_PERMIT_EXTENSION", office)
        for _ in stay_days
    ]
    for application in visas + stays:
        await move(client, admin, application, "ACCEPTED")
        await move(client, admin, application, "UNDER_REVIEW")

    decisions = sorted(
        [
            (d, a, "APPROVED" if i % 2 == 0 else "REJECTED")
            for i, (d, a) in enumerate(zip(visa_days, visas, strict=True))
        ]
        + [(d, a, "APPROVED") for d, a in zip(stay_days, stays, strict=True)]
    )
    for days, application, outcome in decisions:
        admin = await admin_at(client, clock, beijing(start + timedelta(days=days), 9))
        await move(client, admin, application, outcome)

    clock.pinned = beijing(start + timedelta(days=20), 9)
    analyst = await sign_in(client, "analyst@demo.test")
    stats = await figures(client, analyst, start, start + timedelta(days=14), office)
    found = medians(stats)
    assert found.get("VISA_EXTENSION") == 5, stats
    assert found.get("STAY_PERMIT_EXTENSION") is None, stats
    assert all(isinstance(v, int) or v is None for v in found.values())

    # A period that holds only some of the decisions withholds the median again.
    early = await figures(client, analyst, start, start + timedelta(days=4), office)
    assert medians(early).get("VISA_EXTENSION") is None, early


async def test_a_withdrawal_is_not_a_decision(client, clock):
    start = date(2025, 6, 2)
    admin = await admin_at(client, clock, beijing(start, 10))
    office = await office_id(client, "SZ-NS")
    applications = [
        await record(client, admin, await register(client, admin), "VISA_RENEWAL", office)
        for _ in range(5)
    ]
    admin = await admin_at(client, clock, beijing(start + timedelta(days=3), 10))
    for application in applications:
        await move(client, admin, application, "WITHDRAWN")

    analyst = await sign_in(client, "analyst@demo.test")
    stats = await figures(client, analyst, start, start + timedelta(days=10), office)
    assert medians(stats).get("VISA_RENEWAL") is None, stats
    assert by_status(stats)["WITHDRAWN"] == 5


# --------------------------------------------------------------------- never a person's data


async def test_statistics_types_have_no_person_level_fields(client):
    body = await gql(
        client,
        """{
          statistics: __type(name: "Statistics") { fields { name type { ...Ref } } }
          status: __type(name: "StatusCount") { fields { name } }
          service: __type(name: "ServiceCount") { fields { name } }
        }
        fragment Ref on __Type {
          name ofType { name ofType { name ofType { name ofType { name } } } }
        }""",
    )
    assert "errors" not in body, body
    statistics_fields = {f["name"] for f in body["data"]["statistics"]["fields"]}
    assert statistics_fields >= {
        "from",
        "to",
        "appointmentsBooked",
        "appointmentsCancelled",
        "noShows",
        "slotUtilisation",
        "applicationsByStatus",
        "medianDaysToDecision",
    }
    for type_name in ("statistics", "status", "service"):
        names = {f["name"] for f in body["data"][type_name]["fields"]}
        assert not names & PERSON_LEVEL, (type_name, names)
    # Nothing in Statistics leads to a type that could carry a person.
    reachable = {named(field["type"]) for field in body["data"]["statistics"]["fields"]}
    assert reachable <= {"Date", "Int", "Float", "StatusCount", "ServiceCount"}, reachable


def named(type_ref: dict) -> str:
    """The named type under NON_NULL / LIST wrappers."""
    while type_ref["name"] is None:
        type_ref = type_ref["ofType"]
    return type_ref["name"]


async def test_the_response_names_no_one(client, clock):
    day = date(2025, 7, 8)
    admin = await admin_at(client, clock, beijing(day, 10))
    office = await office_id(client, "GZ-YX")
    surname = f"Secret{secrets.token_hex(3)}"
    for _ in range(5):
        await record(
            client, admin, await register(client, admin, surname), "VISA_EXTENSION", office
        )
    analyst = await sign_in(client, "analyst@demo.test")
    body = await statistics(client, analyst, day, day, office)
    assert "errors" not in body, body
    assert by_status(body["data"]["statistics"])["SUBMITTED"] == 5
    text = json.dumps(body)
    assert surname not in text
    assert "@" not in text
