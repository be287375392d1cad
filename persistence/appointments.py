"""Slots and appointments: generating slots, and the atomic writes that book and free places."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from domain.booking import ACTIVE_STATUSES, SERVICE_GROUPS, active_key
from domain.calendar import WorkingCalendar
from domain.office_hours import intervals_on, parse_hours, slot_windows
from persistence.by_ids import loader_of
from persistence.combined_reads import select
from persistence.models import (
    Appointment,
    AppointmentStatus,
    Office,
    OfficeClosure,
    OfficeHours,
    OfficeService,
    Slot,
)
from persistence.unique import create_or_raise


class ActiveAppointmentExists(Exception):
    """The applicant already holds an active appointment for the service."""


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the zone, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


async def office_ids() -> list[int]:
    """Every office, by id (slots are generated office by office)."""
    return list(await Office.all().order_by("id").values_list("id", flat=True))


async def generate_slots(
    calendar: WorkingCalendar,
    start: date,
    end: date,
    slot_minutes: int,
    office_ids: Sequence[int] | None = None,
) -> int:
    """Create the slots of every office for days start..end; idempotent. Returns how many
    were created."""
    query = Office.all()
    if office_ids is not None:
        query = query.filter(id__in=list(office_ids))
    offices = await query
    ids = [o.id for o in offices]
    hours: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for row in await OfficeHours.filter(office_id__in=ids):
        hours[row.office_id].append((row.weekday, row.opens, row.closes))
    groups: dict[int, set[str]] = defaultdict(set)
    for office_id, service in await OfficeService.filter(office_id__in=ids).values_list(
        "office_id", "service"
    ):
        groups[office_id].add(SERVICE_GROUPS[service])
    closed: dict[int, set[date]] = defaultdict(set)
    for office_id, day in await OfficeClosure.filter(
        office_id__in=ids, date__gte=start, date__lte=end
    ).values_list("office_id", "date"):
        closed[office_id].add(day)
    created = 0
    # Offices share their hours: a day's windows (in UTC) are worked out once per opening
    # intervals and zone.
    windows: dict[tuple[date, tuple[tuple[time, time], ...], str], list] = {}
    for office in offices:
        tz = ZoneInfo(office.time_zone)
        parsed = parse_hours(hours[office.id])
        capacity = {"VISA": office.counters_visa, "RESIDENCE": office.counters_residence}
        rows: list[tuple[str, datetime, datetime, int]] = []
        day = start
        while day <= end:
            intervals = tuple(intervals_on(day, parsed, calendar, closed[office.id]))
            key = (day, intervals, office.time_zone)
            if key not in windows:
                windows[key] = [
                    (begin.astimezone(UTC), finish.astimezone(UTC))
                    for begin, finish in slot_windows(day, intervals, slot_minutes, tz)
                ]
            for begin, finish in windows[key]:
                for group in sorted(groups[office.id]):
                    if capacity[group] > 0:
                        rows.append((group, begin, finish, capacity[group]))
            day += timedelta(days=1)
        if rows:
            created += await _insert_missing_slots(office.id, rows)
    return created


# (office, group, start) is unique: the slots that exist already are left as they are.
_INSERT_SLOTS = (
    "WITH made AS (INSERT INTO slot (office_id, service_group, starts_at, ends_at, capacity, "
    "booked, held, open) SELECT $1, g, s, e, c, 0, 0, true FROM unnest($2::text[], "
    "$3::timestamptz[], $4::timestamptz[], $5::smallint[]) AS t(g, s, e, c) "
    "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) AS n FROM made"
)


async def _insert_missing_slots(
    office_id: int, rows: list[tuple[str, datetime, datetime, int]]
) -> int:
    """Insert the office's slots that do not exist yet; how many were new. Every upkeep
    round of every process offers the whole horizon again: on PostgreSQL that is one
    statement per office (one INSERT per row took ~50 s a round at 500 offices)."""
    client = Slot._choose_db(for_write=True)
    if client.capabilities.dialect == "postgres":
        columns = [list(column) for column in zip(*rows, strict=True)]
        _, result = await client.execute_query(_INSERT_SLOTS, [office_id, *columns])
        return int(result[0]["n"])
    before = await Slot.filter(office_id=office_id).count()
    await Slot.bulk_create(
        [
            Slot(office_id=office_id, service_group=g, starts_at=s, ends_at=e, capacity=c)
            for g, s, e, c in rows
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return await Slot.filter(office_id=office_id).count() - before


async def slot(slot_id: int) -> Slot | None:
    return await Slot.get_or_none(id=slot_id)


slots_by_ids = loader_of(Slot)


# An open slot's place is left when it is neither booked nor held for a waitlist offer.
_PLACE_LEFT = Q(open=True, booked__lt=F("capacity") - F("held"))


def slots_with_places(
    office_id: int, group: str, start: datetime, end: datetime, earliest: datetime
) -> QuerySet[Slot]:
    """Slots of the office and group starting in [start, end) and not before `earliest`, with
    places left (neither booked nor held for a waitlist offer), earliest first."""
    return Slot.filter(
        _PLACE_LEFT,
        office_id=office_id,
        service_group=group,
        starts_at__gte=max(start, earliest),
        starts_at__lt=end,
    ).order_by("starts_at")


async def has_opening(
    office_id: int, group: str, start: datetime, end: datetime, earliest: datetime
) -> bool:
    """Whether the office holds any slot of the group in [start, end), not before `earliest`,
    on a day it is open (full or not): a day with none (a Sunday, a closure) never frees one."""
    return await Slot.filter(
        open=True,
        office_id=office_id,
        service_group=group,
        starts_at__gte=max(start, earliest),
        starts_at__lt=end,
    ).exists()


async def open_slots(
    office_id: int, group: str, start: datetime, end: datetime, earliest: datetime
) -> list[Slot]:
    return await slots_with_places(office_id, group, start, end, earliest)


async def claim_place(slot_id: int, column: str) -> bool:
    """Count one of the slot's places in `column` ("booked", "held") if one is left: the
    database decides, atomically."""
    return await Slot.filter(_PLACE_LEFT, id=slot_id).update(**{column: F(column) + 1}) == 1


async def take_place(slot_id: int) -> bool:
    """Take one place if one is left. A place held for a waitlist offer is not left (booked +
    held < capacity); only accepting the offer books it."""
    return await claim_place(slot_id, "booked")


async def free_place(slot_id: int) -> None:
    await Slot.filter(id=slot_id, booked__gt=0).update(booked=F("booked") - 1)


async def active_appointment(applicant_id: int, service: str) -> Appointment | None:
    """The appointment holding the applicant's one active booking of the service: BOOKED or
    CHECKED_IN, until its day has ended (see `end_past_days`)."""
    return await Appointment.get_or_none(active_key=active_key(applicant_id, service))


async def create_appointment(**values: object) -> Appointment:
    return await create_or_raise(Appointment, "active_key", ActiveAppointmentExists, **values)


async def appointment(appointment_id: int) -> Appointment | None:
    return await Appointment.get_or_none(id=appointment_id)


appointments_by_ids = loader_of(Appointment)


async def rescheduled_to(ids: Sequence[int]) -> list[Appointment | None]:
    rows = {
        a.rescheduled_from_id: a for a in await select(Appointment, {"rescheduled_from_id": ids})
    }
    return [rows.get(i) for i in ids]


async def change_status(
    appointment_id: int, from_status: str, to_status: str, **extra: object
) -> bool:
    """Move an appointment between statuses only if it is still in `from_status`."""
    values: dict[str, object] = {"status": to_status, **extra}
    if to_status not in ACTIVE_STATUSES:
        values["active_key"] = None
    return await Appointment.filter(id=appointment_id, status=from_status).update(**values) == 1


async def office_appointments(
    office_id: int, start: datetime, end: datetime, offset: int, limit: int
) -> list[Appointment]:
    return await select(
        Appointment,
        {"office_id": [office_id], "starts_at__gte": start, "starts_at__lt": end},
        ("starts_at", "id"),
        offset=offset,
        limit=limit,
    )


async def close_day(office_id: int, start: datetime, end: datetime, now: datetime) -> list[int]:
    """Close the office's slots in [start, end) and cancel their booked appointments that
    have not started by `now` as CANCELLED_BY_OFFICE (one already started is attended, or a
    no-show, not the office's to cancel); each place is freed once. Returns the ids of the
    appointments this call cancelled (none that another closure cancelled before).

    The slots are closed first: on PostgreSQL that waits for bookings in flight on them (they
    hold the slot rows), so their appointments are committed, and seen, before cancelling.
    """
    await Slot.filter(office_id=office_id, starts_at__gte=start, starts_at__lt=end).update(
        open=False
    )
    # The day's booked appointments not started yet, in one statement each way (a closure of
    # an office-day runs under the office's line locks: nothing else cancels them meanwhile).
    booked = await Appointment.filter(
        office_id=office_id,
        status=AppointmentStatus.BOOKED,
        starts_at__gte=max(start, now),
        starts_at__lt=end,
    ).values_list("id", "slot_id")
    if not booked:
        return []
    ids = [appointment_id for appointment_id, _ in booked]
    await Appointment.filter(id__in=ids, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED_BY_OFFICE, active_key=None
    )
    cancelled = await Appointment.filter(
        id__in=ids, status=AppointmentStatus.CANCELLED_BY_OFFICE
    ).values_list("id", "slot_id")
    freed: dict[int, int] = {}
    for _, slot_id in cancelled:
        freed[slot_id] = freed.get(slot_id, 0) + 1
    for slot_id, count in freed.items():  # each place freed once
        await Slot.filter(id=slot_id).update(booked=F("booked") - count)
    return [appointment_id for appointment_id, _ in cancelled]


async def open_slots_on(
    days: Sequence[date], office_ids: Sequence[int] | None = None
) -> list[tuple[int, ZoneInfo, date]]:
    """(office, its zone, day) for each of the days an office (of `office_ids`, when given)
    has open slots on, in the office's own zone: one statement per zone in use and day."""
    found: list[tuple[int, ZoneInfo, date]] = []
    for tz, every in (await offices_by_zone()).items():
        ids = every if office_ids is None else [i for i in every if i in set(office_ids)]
        if not ids:
            continue
        for day in days:
            start, end = local_day_bounds(day, tz)
            offices = await (
                Slot.filter(office_id__in=ids, open=True, starts_at__gte=start, starts_at__lt=end)
                .distinct()
                .values_list("office_id", flat=True)
            )
            found.extend((office_id, tz, day) for office_id in sorted(set(offices)))
    return found


async def offices_by_zone() -> dict[ZoneInfo, list[int]]:
    """The offices of each time zone in use (jobs over past days: one statement per zone)."""
    zones: dict[str, list[int]] = defaultdict(list)
    for office_id, zone in await Office.all().values_list("id", "time_zone"):
        zones[zone].append(office_id)
    return {ZoneInfo(zone): office_ids for zone, office_ids in zones.items()}


async def _before_today(now: datetime) -> list[tuple[list[int], datetime]]:
    """The offices of each time zone in use, with the start of that zone's today (UTC)."""
    return [
        (office_ids, local_day_bounds(now.astimezone(tz).date(), tz)[0])
        for tz, office_ids in (await offices_by_zone()).items()
    ]


async def mark_no_shows(now: datetime) -> int:
    """BOOKED appointments whose day has ended (in their office's zone) become NO_SHOW: one
    statement per time zone in use. Returns how many."""
    changed = 0
    for office_ids, today_start in await _before_today(now):
        changed += await Appointment.filter(
            status=AppointmentStatus.BOOKED, office_id__in=office_ids, starts_at__lt=today_start
        ).update(status=AppointmentStatus.NO_SHOW, active_key=None)
    return changed


async def release_past_check_ins(now: datetime) -> int:
    """CHECKED_IN appointments whose day has ended stop holding the applicant's one active
    booking of the service, so the applicant can book it again (materials were missing, say).
    They stay CHECKED_IN: the visit took place, and an officer may still record the
    application from it. Returns how many."""
    changed = 0
    for office_ids, today_start in await _before_today(now):
        changed += await Appointment.filter(
            status=AppointmentStatus.CHECKED_IN,
            active_key__isnull=False,
            office_id__in=office_ids,
            starts_at__lt=today_start,
        ).update(active_key=None)
    return changed


async def appointments_pages(keys: Sequence[tuple[int, int, int]]) -> list[list[Appointment]]:
    """Pages (person, offset, limit) of several persons' appointments in one statement."""
    grouped: dict[int, list[Appointment]] = defaultdict(list)
    rows = await select(Appointment, {"applicant_id": [k[0] for k in keys]}, ("-starts_at", "-id"))
    for row in rows:
        grouped[row.applicant_id].append(row)
    return [grouped[p][offset : offset + limit] for p, offset, limit in keys]
