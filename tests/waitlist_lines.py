"""What the waitlist tests share: their GraphQL documents, and full days ("lines") at offices
no other test books at, each (office, day) used by one test only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from tortoise.expressions import F

from domain.waitlist import OFFERED, WAITING
from persistence.appointments import local_day_bounds
from persistence.models import Office, Slot, WaitlistEntry
from tests.conftest import gql
from tests.helpers import LINE_OFFICES, SHANGHAI, gid, office_id, working_day

ENTRY_FIELDS = """
  id status position from to service createdAt
  office { code } applicant { id }
  offer { expiresAt slot { id remaining startsAt } }
"""

JOIN = f"""
mutation($input: JoinWaitlistInput!) {{ joinWaitlist(input: $input) {{
  __typename
  ... on WaitlistJoined {{ entry {{ {ENTRY_FIELDS} }} }}
  ... on AlreadyWaiting {{ message code existingEntry {{ id status }} }}
  ... on PlacesAvailable {{ message code slots {{ id remaining startsAt }} }}
  ... on AlreadyBooked {{ message existing {{ id }} }}
  ... on NotPermitted {{ message }}
  ... on ValidationError {{ message field }}
  ... on RateLimited {{ message retryAfterSeconds }}
}} }}"""

ACCEPT = """
mutation($id: ID!) { acceptWaitlistOffer(id: $id) {
  __typename
  ... on BookingConfirmed { appointment { id reference status service applicant { id } } }
  ... on OfferExpired { message code }
  ... on AlreadyBooked { message existing { id } }
  ... on SlotUnavailable { message }
  ... on NotPermitted { message }
  ... on ValidationError { message field }
} }"""

LEAVE = f"""
mutation($id: ID!) {{ leaveWaitlist(id: $id) {{
  __typename
  ... on WaitlistLeft {{ entry {{ {ENTRY_FIELDS} }} }}
  ... on NotPermitted {{ message }}
}} }}"""

ENTRY = f"""
query($id: ID!) {{ node(id: $id) {{ __typename ... on WaitlistEntry {{ {ENTRY_FIELDS} }} }} }}"""

PERSON_WAITLIST = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Person {{ waitlist {{ {ENTRY_FIELDS} }} }} }} }}"""

SERVICE = "VISA_EXTENSION"

_used: set[tuple[str, date]] = set()


@dataclass
class Line:
    """A full day at an office for the VISA group: every open slot's capacity is what is
    booked, so there is no free place until a test makes one."""

    code: str
    office: str  # global ID
    day: date
    slots: list[Slot]

    def input(self, applicant_id: str, service: str = SERVICE, **days: date) -> dict[str, Any]:
        first, last = days.get("first", self.day), days.get("last", self.day)
        return {
            "applicantId": applicant_id,
            "officeId": self.office,
            "service": service,
            "from": first.isoformat(),
            "to": last.isoformat(),
        }

    def slot_id(self, index: int = 0) -> str:
        return gid("Slot", self.slots[index].id)


async def fresh_line(
    app: Any, client: httpx.AsyncClient, clock: Any, *, first: int = 3, min_slots: int = 9
) -> Line:
    """A day no test used yet (from the `first`-th working day to the booking horizon) with at
    least `min_slots` VISA slots, made full. The waitlist, fairness and message tests take
    about 25 lines in one run: the whole horizon leaves room for days another test closed or
    a short Saturday."""
    horizon = app.state.services.settings.booking_horizon_working_days
    passed_over: list[str] = []  # why each day was not taken, for the failure message
    for n in range(first, horizon + 1):
        day = working_day(app, clock, n)
        for code in LINE_OFFICES:
            if (code, day) in _used:
                passed_over.append(f"{code} {day}: used")
                continue
            _used.add((code, day))
            office = await Office.get(code=code)
            start, end = local_day_bounds(day, SHANGHAI)
            rows = await Slot.filter(
                office_id=office.id,
                service_group="VISA",
                open=True,
                starts_at__gte=start,
                starts_at__lt=end,
            ).order_by("starts_at")
            # Fresh: nobody booked or holds a place that day (tests that book "any open slot"
            # may have landed there), and no entry of an earlier test waits for it (it would
            # be offered this line's freed places).
            if len(rows) < min_slots or any(r.held or r.booked for r in rows):
                taken = sum(1 for r in rows if r.held or r.booked)
                passed_over.append(f"{code} {day}: {len(rows)} slots, {taken} booked or held")
                continue
            if await WaitlistEntry.filter(
                office_id=office.id,
                status__in=[WAITING, OFFERED],
                first_day__lte=day,
                last_day__gte=day,
            ).exists():
                passed_over.append(f"{code} {day}: an earlier entry waits for it")
                continue
            for row in rows:
                await Slot.filter(id=row.id).update(capacity=row.booked)
            return Line(code, await office_id(client, code), day, rows)
    raise AssertionError(
        "no unused day left at the line offices: " + "; ".join(passed_over or ["no day"])
    )


async def add_place(slot_db_id: int) -> None:
    """One more place in the slot (test set-up, not a path of the service)."""
    await Slot.filter(id=slot_db_id).update(capacity=F("capacity") + 1)


async def join(client: httpx.AsyncClient, token: str, data: dict[str, Any]) -> dict:
    body = await gql(client, JOIN, {"input": data}, token=token)
    assert "errors" not in body, body
    return body["data"]["joinWaitlist"]


async def join_ok(client: httpx.AsyncClient, token: str, data: dict[str, Any]) -> dict:
    result = await join(client, token, data)
    assert result["__typename"] == "WaitlistJoined", result
    return result["entry"]


async def entry(client: httpx.AsyncClient, token: str, entry_id: str) -> dict | None:
    body = await gql(client, ENTRY, {"id": entry_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def accept(client: httpx.AsyncClient, token: str, entry_id: str) -> dict:
    body = await gql(client, ACCEPT, {"id": entry_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["acceptWaitlistOffer"]


async def leave(client: httpx.AsyncClient, token: str, entry_id: str) -> dict:
    body = await gql(client, LEAVE, {"id": entry_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["leaveWaitlist"]


async def slot_counts(slot_db_id: int) -> tuple[int, int, int]:
    """(capacity, booked, held) of the slot as stored."""
    row = await Slot.get(id=slot_db_id)
    return row.capacity, row.booked, row.held


async def stored_entry(entry_id: str) -> WaitlistEntry:
    from tests.helpers import pk_of

    return await WaitlistEntry.get(id=pk_of(entry_id))


def offset_time(moment: str) -> datetime:
    return datetime.fromisoformat(moment)
