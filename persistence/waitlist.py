"""Waitlist entries and the places held for their offers: the line of an office and service
group, the conditional writes that offer, hold, pass on and book, and the lock that keeps each
line's changes one at a time.

Every write that changes a line (joining, offering a freed place, ending an offer) runs in a
transaction that first takes the line's lock (`lock_lines`), before any slot or entry row: so
a join never misses a place freed at the same moment, and no two transactions wait for each
other's rows in opposite orders (PostgreSQL); SQLite runs one transaction at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from tortoise import connections
from tortoise.expressions import F

from domain.booking import SERVICE_GROUPS
from domain.waitlist import EXPIRED, IN_LINE, OFFERED, WAITING
from persistence.appointments import claim_place, offices_by_zone, slots_with_places
from persistence.models import Slot, WaitlistEntry
from persistence.unique import create_or_raise

# The first key of the lines' advisory locks (the second is the line's own); two-key locks
# live apart from the one-key locks other jobs take.
_LOCK_SPACE = 0x5741
# The first key of the applicants' locks, one per applicant and service (see lock_applicant).
_APPLICANT_SPACE = 0x4150
_SERVICES = sorted(SERVICE_GROUPS)


class AlreadyInLine(Exception):
    """The applicant already has an entry in line for the service."""


def _line_key(office_id: int, group: str) -> int:
    groups = sorted(set(SERVICE_GROUPS.values()))
    return office_id * len(groups) + groups.index(group)


def _postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def lock_lines(lines: Iterable[tuple[int, str]]) -> None:
    """Take the locks of these (office, service group) lines until the transaction ends, in
    one order for everyone. Call inside a transaction, before touching their slots or
    entries."""
    if not _postgres():
        return
    client = connections.get("default")
    for office_id, group in sorted(set(lines)):
        await client.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [_LOCK_SPACE, _line_key(office_id, group)]
        )


async def lock_applicant(person_id: int, service: str) -> None:
    """Take the applicant's lock for the service until the transaction ends: a booking and
    a join (or an accepted offer) of one applicant and service run one at a time, so none
    misses the other (booked and waiting at once). Take it before any line's lock. Two
    applicants may share a key past 195 million people; they then only wait for each other."""
    if not _postgres():
        return
    key = (person_id * len(_SERVICES) + _SERVICES.index(service)) % 2**31
    await connections.get("default").execute_query(
        "SELECT pg_advisory_xact_lock($1, $2)", [_APPLICANT_SPACE, key]
    )


async def write_first() -> None:
    """On SQLite, as a transaction's first statement: take the one writer's lock now (a write
    that changes nothing), waiting for another process's writer as long as the busy timeout
    allows. A transaction that read first would instead fail at its first write whenever
    another process wrote since its reads (SQLITE_BUSY_SNAPSHOT, which no waiting cures).
    Nothing on PostgreSQL."""
    if _postgres():
        return
    await connections.get("default").execute_query('UPDATE "slot" SET "held" = "held" WHERE 0')


async def try_lock_line(office_id: int, group: str) -> bool:
    """Take the line's lock if nobody holds it (False: another transaction is working on the
    line now, and will do what this one would)."""
    if not _postgres():
        return True
    _, rows = await connections.get("default").execute_query(
        "SELECT pg_try_advisory_xact_lock($1, $2) AS got",
        [_LOCK_SPACE, _line_key(office_id, group)],
    )
    return bool(rows[0]["got"])


# ------------------------------------------------------------------------------ entries


async def entry(entry_id: int) -> WaitlistEntry | None:
    return await WaitlistEntry.get_or_none(id=entry_id)


async def in_line(applicant_id: int, service: str) -> WaitlistEntry | None:
    """The applicant's entry in line (WAITING or OFFERED) for the service, if any."""
    return await WaitlistEntry.filter(
        applicant_id=applicant_id, service=service, status__in=list(IN_LINE)
    ).first()


async def create_entry(**values: object) -> WaitlistEntry:
    return await create_or_raise(WaitlistEntry, "active_key", AlreadyInLine, **values)


async def entries_of(person_id: int) -> list[WaitlistEntry]:
    """The person's entries, newest first."""
    return await WaitlistEntry.filter(applicant_id=person_id).order_by("-created_at", "-id")


# Each listed entry's count of the WAITING entries ahead of it in its line: same office and
# service group, joined before, waiting for a day it waits for. One statement for a whole page.
_AHEAD = (
    'SELECT e."id" AS "id", (SELECT COUNT(*) FROM "waitlist_entry" a WHERE a."status" = '
    '\'WAITING\' AND a."office_id" = e."office_id" AND a."service_group" = '
    'e."service_group" AND a."id" < e."id" AND a."first_day" <= e."last_day" AND '
    'a."last_day" >= e."first_day") AS "ahead" FROM "waitlist_entry" e WHERE e."id" IN ({ids})'
)


async def positions(entries: Sequence[WaitlistEntry]) -> list[int | None]:
    """Each entry's place in its line while WAITING, else None: 1 + the WAITING entries of the
    same line (office and service group: a freed place goes to the first of them whose range
    holds its day, whatever their service) that joined before it and wait for a day it waits
    for. One statement for all of them (a DataLoader's batch)."""
    waiting = sorted({int(e.id) for e in entries if e.status == WAITING})
    ahead: dict[int, int] = {}
    if waiting:
        sql = _AHEAD.format(ids=", ".join(str(i) for i in waiting))  # integers only
        _, rows = await connections.get("default").execute_query(sql)
        ahead = {int(row["id"]): int(row["ahead"]) for row in rows}
    return [ahead[e.id] + 1 if e.status == WAITING and e.id in ahead else None for e in entries]


async def waiting_for_day(
    office_id: int, group: str, day: date, limit: int = 20
) -> list[WaitlistEntry]:
    """The first WAITING entries of the line (join order) whose range holds `day`."""
    return (
        await WaitlistEntry.filter(
            office_id=office_id,
            service_group=group,
            status=WAITING,
            first_day__lte=day,
            last_day__gte=day,
        )
        .order_by("id")
        .limit(limit)
    )


async def anyone_waiting(office_id: int, group: str) -> bool:
    """Whether the line has a WAITING entry at all."""
    return await WaitlistEntry.filter(
        office_id=office_id, service_group=group, status=WAITING
    ).exists()


async def waiting_in_line(office_id: int, group: str) -> list[WaitlistEntry]:
    """Every WAITING entry of the line, in join order."""
    return await WaitlistEntry.filter(
        office_id=office_id, service_group=group, status=WAITING
    ).order_by("id")


async def lines_waiting(office_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
    """The (office, service group) lines with someone WAITING."""
    query = WaitlistEntry.filter(status=WAITING)
    if office_ids is not None:
        query = query.filter(office_id__in=list(office_ids))
    rows = await query.distinct().values_list("office_id", "service_group")
    return sorted({(int(o), str(g)) for o, g in rows})


async def claim_for_offer(entry_id: int, slot_id: int, now: datetime, expires: datetime) -> bool:
    """WAITING -> OFFERED with the slot's place, only if the entry is still WAITING."""
    return (
        await WaitlistEntry.filter(id=entry_id, status=WAITING).update(
            status=OFFERED, offer_slot_id=slot_id, offered_at=now, offer_expires_at=expires
        )
        == 1
    )


async def end_offer(entry_id: int, status: str, now: datetime, **extra: object) -> bool:
    """OFFERED -> `status` (BOOKED, EXPIRED, LEFT), only if the entry still holds its offer.
    The hold on the slot is the caller's to pass on or turn into a booking."""
    return (
        await WaitlistEntry.filter(id=entry_id, status=OFFERED).update(
            status=status, active_key=None, ended_at=now, **extra
        )
        == 1
    )


async def end_waiting(entry_id: int, status: str, now: datetime, **extra: object) -> bool:
    """WAITING -> `status` (LEFT, BOOKED), only if the entry is still WAITING."""
    return (
        await WaitlistEntry.filter(id=entry_id, status=WAITING).update(
            status=status, active_key=None, ended_at=now, **extra
        )
        == 1
    )


async def end_past_ranges(now: datetime) -> int:
    """WAITING entries whose last day has ended (in their office's zone) are EXPIRED: nothing
    can be offered to them any more, and they no longer block joining again or count as
    ahead of anyone. One statement per time zone in use. Returns how many. (No line lock: an
    offer is only ever made for a day of the range still to come, so none races this.)"""
    ended = 0
    for tz, office_ids in (await offices_by_zone()).items():
        today = now.astimezone(tz).date()
        ended += await WaitlistEntry.filter(
            status=WAITING, office_id__in=office_ids, last_day__lt=today
        ).update(status=EXPIRED, active_key=None, ended_at=now)
    return ended


async def back_in_line(entry_ids: Sequence[int]) -> int:
    """OFFERED -> WAITING (their place in line is their id, so it is kept)."""
    if not entry_ids:
        return 0
    return await WaitlistEntry.filter(id__in=list(entry_ids), status=OFFERED).update(
        status=WAITING, offer_slot_id=None, offered_at=None, offer_expires_at=None
    )


async def offers_between(office_id: int, start: datetime, end: datetime) -> list[WaitlistEntry]:
    """OFFERED entries of the office holding a place in a slot starting in [start, end)."""
    return await WaitlistEntry.filter(
        office_id=office_id,
        status=OFFERED,
        offer_slot__starts_at__gte=start,
        offer_slot__starts_at__lt=end,
    ).order_by("id")


async def has_run_out(office_id: int, group: str, now: datetime) -> bool:
    """Whether an offer of the line has run out and is still held."""
    return await WaitlistEntry.filter(
        office_id=office_id, service_group=group, status=OFFERED, offer_expires_at__lte=now
    ).exists()


async def run_out(
    office_id: int, group: str, now: datetime, limit: int = 100
) -> list[WaitlistEntry]:
    """The line's offers that have run out, claimed for this transaction: on PostgreSQL
    locked with FOR UPDATE SKIP LOCKED (rows another transaction is ending are left to it),
    on SQLite read by the one writer; ending each is still a conditional update."""
    return (
        await WaitlistEntry.filter(
            office_id=office_id, service_group=group, status=OFFERED, offer_expires_at__lte=now
        )
        .order_by("id")
        .limit(limit)
        .select_for_update(skip_locked=True)
    )


async def lines_run_out(now: datetime) -> list[tuple[int, str]]:
    """The (office, service group) lines with an offer that has run out."""
    rows = (
        await WaitlistEntry.filter(status=OFFERED, offer_expires_at__lte=now)
        .distinct()
        .values_list("office_id", "service_group")
    )
    return sorted({(int(o), str(g)) for o, g in rows})


# ---------------------------------------------------------------------------- held places


async def first_free_place(
    office_id: int, group: str, start: datetime, end: datetime, earliest: datetime
) -> Slot | None:
    """The earliest open slot of the line starting in [start, end), not before `earliest`,
    with a place neither booked nor held."""
    return await slots_with_places(office_id, group, start, end, earliest).first()


async def hold_place(slot_id: int) -> bool:
    """Hold one of the slot's places for an offer, if one is free: the same condition as a
    booking's, decided by the database."""
    return await claim_place(slot_id, "held")


async def release_hold(slot_id: int) -> None:
    await Slot.filter(id=slot_id, held__gt=0).update(held=F("held") - 1)


async def hold_to_booking(slot_id: int) -> bool:
    """Turn one held place of the slot into a booked one, in one statement."""
    return (
        await Slot.filter(id=slot_id, held__gt=0).update(held=F("held") - 1, booked=F("booked") + 1)
        == 1
    )
