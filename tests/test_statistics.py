"""Statistics for analysts and admins: who may ask, which periods, whole months, rounded
counts, differencing attacks that gain nothing, and never a person's data.

The figures tests record their applications with the clock pinned to months of 2025 that no
other test uses, each test at an office of its own, so their counts are known exactly.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.models import Application
from tests.conftest import gql, sign_in, sign_up
from tests.helpers import (
    APPLICATION_STATUSES,
    SERVICE_CODES,
    beijing,
    beijing_today,
    gid,
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
    from to roundingBase appointmentsBooked appointmentsCancelled noShows slotUtilisation
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


def by_status(stats: dict) -> dict[str, int]:
    return {row["status"]: row["count"] for row in stats["applicationsByStatus"]}


def medians(stats: dict) -> dict[str, int | None]:
    return {row["service"]: row["count"] for row in stats["medianDaysToDecision"]}


def last_of_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


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
    start = today - timedelta(days=30)
    stats = await figures(client, token, start, today)
    assert stats["from"] == start.replace(day=1).isoformat()
    assert stats["to"] == last_of_month(today).isoformat()
    assert stats["roundingBase"] == 5
    assert [row["status"] for row in stats["applicationsByStatus"]] == APPLICATION_STATUSES
    counts = [stats["appointmentsBooked"], stats["appointmentsCancelled"], stats["noShows"]]
    counts += [row["count"] for row in stats["applicationsByStatus"]]
    for count in counts:
        assert isinstance(count, int) and count >= 0 and count % 5 == 0, stats
    for row in stats["medianDaysToDecision"]:
        assert row["count"] is None or row["count"] >= 0, row
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
    ("start", "end", "counted"),
    [
        ("2026-03-01", "2026-03-01", ("2026-03-01", "2026-03-31")),  # one day: its month
        ("2024-02-10", "2024-02-10", ("2024-02-01", "2024-02-29")),  # leap February
        ("2025-11-30", "2025-12-01", ("2025-11-01", "2025-12-31")),  # two days, two months
        ("2024-01-01", "2024-12-31", ("2024-01-01", "2024-12-31")),  # 366 days, whole months
        ("2025-01-01", "2026-01-01", ("2025-01-01", "2026-01-31")),  # 366 days, 13 months
    ],
)
async def test_periods_up_to_366_days_snap_outward_to_whole_months(client, start, end, counted):
    token = await sign_in(client, "analyst@demo.test")
    stats = await figures(client, token, date.fromisoformat(start), date.fromisoformat(end))
    assert (stats["from"], stats["to"]) == counted


@pytest.mark.parametrize(
    "office",
    ["not-an-office", gid("Office", 999_999), gid("Person", 1)],
    ids=["malformed", "no-such-office", "another-type"],
)
async def test_an_office_id_naming_no_office_is_bad_user_input(client, office):
    """Zeros for an office that does not exist would read as an office where nothing
    happened."""
    token = await sign_in(client, "analyst@demo.test")
    body = await statistics(client, token, "2026-01-01", "2026-01-31", office)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "No office has this ID."


# -------------------------------------------------------------------------- rounded counts


async def test_counts_are_rounded_to_the_nearest_five(client, clock):
    """1 and 2 are published as 0, 3 to 7 as 5, 8 as 10: never the exact small count."""
    day = date(2025, 3, 11)
    admin = await admin_at(client, clock, beijing(day, 10))
    office = await office_id(client, "CD-WH")
    analyst = await sign_in(client, "analyst@demo.test")

    published = []
    for _ in range(8):  # eight people: one application per person and service is open
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)
        stats = await figures(client, analyst, day, day, office)
        published.append(by_status(stats)["SUBMITTED"])
        assert all(by_status(stats)[s] == 0 for s in APPLICATION_STATUSES[1:]), stats

    assert published == [0, 0, 5, 5, 5, 5, 5, 10]
    assert stats["roundingBase"] == 5
    assert (stats["appointmentsBooked"], stats["appointmentsCancelled"], stats["noShows"]) == (
        0,
        0,
        0,
    )
    assert stats["medianDaysToDecision"] == [
        {"service": code, "count": None} for code in SERVICE_CODES
    ]


async def test_each_status_is_rounded_from_its_own_count(client, clock):
    day = date(2025, 3, 18)
    admin = await admin_at(client, clock, beijing(day, 9, 15))
    office = await office_id(client, "HZ-SC")
    applications = []
    for _ in range(7):
        applications.append(
            await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)
        )
    for application in applications[:4]:
        await move(client, admin, application, "ACCEPTED")

    analyst = await sign_in(client, "analyst@demo.test")
    counts = by_status(await figures(client, analyst, day - timedelta(days=3), day, office))
    assert counts["ACCEPTED"] == 5  # 4
    assert counts["SUBMITTED"] == 5  # 3, not "7 rounded minus 4 rounded"
    # Without the office filter the month holds at least these (and another test's March).
    everywhere = by_status(await figures(client, analyst, day, day))
    assert everywhere["ACCEPTED"] >= 5
    assert everywhere["SUBMITTED"] >= 5


async def test_months_are_counted_in_beijing_time(client, clock):
    day = date(2025, 5, 1)
    # 00:30 on 1 May in Beijing is still 30 April in UTC.
    admin = await admin_at(client, clock, beijing(day, 0, 30))
    office = await office_id(client, "CD-GX")
    for _ in range(5):
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)

    analyst = await sign_in(client, "analyst@demo.test")
    may = await figures(client, analyst, day, day, office)
    assert (may["from"], may["to"]) == ("2025-05-01", "2025-05-31")
    assert by_status(may)["SUBMITTED"] == 5
    april = date(2025, 4, 30)
    assert by_status(await figures(client, analyst, april, april, office))["SUBMITTED"] == 0


# ------------------------------------------------------------------ differencing attacks


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The UTC bounds of the Beijing calendar month starting on `first`."""
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return beijing(first, 0), beijing(following, 0)


async def test_all_offices_minus_the_others_does_not_reveal_one_application(client, clock):
    """Office O gets a single application. An attacker subtracts the other offices' figures
    from the all-offices figure; with every figure rounded on its own, the published numbers
    are the same with and without that one record, so the subtraction learns nothing."""
    first = date(2025, 9, 1)
    day = date(2025, 9, 16)
    admin = await admin_at(client, clock, beijing(day, 10))
    lone, other = await office_id(client, "XA-YT"), await office_id(client, "WH-JA")
    # Make the month's exact total across all offices a non-zero multiple of 5 (whatever
    # other data it holds), so the single record below is the case to protect: with exact
    # counts "all minus the others" would read 1.
    lower, upper = month_bounds(first)
    held = await Application.filter(
        submitted_at__gte=lower, submitted_at__lt=upper, status="SUBMITTED"
    ).count()
    padding = -held % 5 or (5 if held == 0 else 0)
    for _ in range(padding):
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", other)

    analyst = await sign_in(client, "analyst@demo.test")

    async def published() -> tuple[dict, dict, dict]:
        return (
            await figures(client, analyst, day, day),
            await figures(client, analyst, day, day, lone),
            await figures(client, analyst, day, day, other),
        )

    without = await published()
    await record(client, admin, await register(client, admin), "VISA_EXTENSION", lone)
    with_it = await published()

    assert with_it == without
    everywhere, at_lone = (by_status(stats)["SUBMITTED"] for stats in with_it[:2])
    assert at_lone == 0
    assert everywhere >= 5


async def test_windows_inside_one_month_get_the_same_answer(client, clock):
    """Overlapping windows, and windows that differ by one day (the day of one record), are
    the same question: each snaps to the month and is answered alike."""
    office = await office_id(client, "NJ-XW")
    for day in (date(2025, 10, 3), date(2025, 10, 15), date(2025, 10, 28)):
        admin = await admin_at(client, clock, beijing(day, 11))
        await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)
    # A record just outside the month, which the October windows must not count.
    admin = await admin_at(client, clock, beijing(date(2025, 11, 1), 9))
    await record(client, admin, await register(client, admin), "VISA_EXTENSION", office)

    analyst = await sign_in(client, "analyst@demo.test")
    windows = [
        (date(2025, 10, 1), date(2025, 10, 31)),
        (date(2025, 10, 4), date(2025, 10, 14)),  # holds none of the three
        (date(2025, 10, 3), date(2025, 10, 14)),  # one day more: holds one
        (date(2025, 10, 15), date(2025, 10, 15)),
        (date(2025, 10, 14), date(2025, 10, 16)),
        (date(2025, 10, 10), date(2025, 10, 29)),
        (date(2025, 10, 29), date(2025, 10, 31)),
    ]
    answers = [await figures(client, analyst, start, end, office) for start, end in windows]
    assert all(answer == answers[0] for answer in answers), answers
    assert (answers[0]["from"], answers[0]["to"]) == ("2025-10-01", "2025-10-31")
    assert by_status(answers[0])["SUBMITTED"] == 5  # three applications

    # A window reaching into November covers both months, and says so.
    both = await figures(client, analyst, date(2025, 10, 31), date(2025, 11, 1), office)
    assert (both["from"], both["to"]) == ("2025-10-01", "2025-11-30")
    assert by_status(both)["SUBMITTED"] == 5  # four


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

    # A window holding only some of the decisions is the same month: the same answer.
    early = await figures(client, analyst, start, start + timedelta(days=4), office)
    assert early == stats
    # The month before holds none of them.
    march = await figures(client, analyst, date(2025, 3, 31), date(2025, 3, 31), office)
    assert medians(march).get("VISA_EXTENSION") is None, march


async def test_one_decided_case_does_not_change_the_median_list(client, clock):
    """A service's row in medianDaysToDecision is there whether or not anything was decided:
    every service, in the enum's order, null under five cases. Were the row there only after
    a decision, it would reveal one to four decided cases that every count rounds to 0."""
    start = date(2025, 8, 11)
    admin = await admin_at(client, clock, beijing(start, 9))
    office = await office_id(client, "XA-YT")
    analyst = await sign_in(client, "analyst@demo.test")
    none_decided = await figures(client, analyst, start, start, office)

    application = await record(
        client, admin, await register(client, admin, "Solo"), "RESIDENCE_PERMIT_REISSUANCE", office
    )
    await move(client, admin, application, "ACCEPTED")
    await move(client, admin, application, "UNDER_REVIEW")
    admin = await admin_at(client, clock, beijing(start + timedelta(days=2), 9))
    await move(client, admin, application, "REJECTED")

    analyst = await sign_in(client, "analyst@demo.test")
    one_decided = await figures(client, analyst, start, start, office)
    assert one_decided == none_decided  # same rows, same nulls, every count still 0
    assert one_decided["medianDaysToDecision"] == [
        {"service": code, "count": None} for code in SERVICE_CODES
    ]
    assert set(by_status(one_decided).values()) == {0}


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
        "roundingBase",
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


async def test_a_withheld_lone_decision_cannot_be_read_by_differencing_medians(client, clock):
    """July 2024 at TJ-HP: five decided after 2, 4, 6, 10 and 12 days (median 6, published).
    August: one, after 8 days, withheld on its own. July-August would be (6 + 8) / 2 = 7 over
    six cases, and 2 x 7 - 6 = 8 the lone case: that median is withheld too."""
    office = await office_id(client, "TJ-HP")

    async def decided_after(submitted_on: date, days: int) -> None:
        admin = await admin_at(client, clock, beijing(submitted_on, 9))
        application = await record(
            client, admin, await register(client, admin), "VISA_EXTENSION", office
        )
        await move(client, admin, application, "ACCEPTED")
        await move(client, admin, application, "UNDER_REVIEW")
        admin = await admin_at(client, clock, beijing(submitted_on + timedelta(days=days), 9))
        await move(client, admin, application, "APPROVED")

    for n, days in enumerate([2, 4, 6, 10, 12]):
        await decided_after(date(2024, 7, 1 + n), days)
    await decided_after(date(2024, 8, 5), 8)

    clock.pinned = beijing(date(2024, 9, 20), 9)
    analyst = await sign_in(client, "analyst@demo.test")

    async def median_of(first: date, last: date) -> int | None:
        return medians(await figures(client, analyst, first, last, office))["VISA_EXTENSION"]

    assert await median_of(date(2024, 7, 1), date(2024, 7, 31)) == 6
    assert await median_of(date(2024, 8, 1), date(2024, 8, 31)) is None
    assert await median_of(date(2024, 7, 1), date(2024, 8, 31)) is None
