"""China's official calendar as stored data: seeding it, and loading it into the domain."""

from __future__ import annotations

import logging

from domain.calendar import CalendarDay as DomainDay
from domain.calendar import DayKind, WorkingCalendar, known_year, official_days
from persistence.models import CalendarDay, CalendarYear

log = logging.getLogger(__name__)


async def seed_years(years: range) -> None:
    """Store the official days of each year; replace provisional years that are now published.

    chinese-calendar knows only the years the State Council has published; for others the
    fixed-date statutory holidays are stored as provisional, and admins add closures.
    """
    for year in years:
        stored = await CalendarYear.get_or_none(year=year)
        published = known_year(year)
        if stored is not None and (stored.provisional is False or not published):
            continue
        if stored is not None:
            await CalendarDay.filter(day__gte=f"{year}-01-01", day__lte=f"{year}-12-31").delete()
            await stored.delete()
        days = official_days(year)
        await CalendarDay.bulk_create(
            [
                CalendarDay(day=d.day, kind=d.kind.value, name=d.name, provisional=d.provisional)
                for d in days
            ],
            ignore_conflicts=True,
        )
        await CalendarYear.create(year=year, provisional=not published)
        if not published:
            log.warning(
                "calendar %s is not published in chinese-calendar yet: only fixed-date statutory "
                "holidays are closed (provisional); add closures for the rest",
                year,
            )


async def load_calendar() -> WorkingCalendar:
    """The stored calendar, read once at start-up; the calendar answers dates of other years
    itself (chinese-calendar, or the provisional fixed-date holidays), without the database."""
    days = await CalendarDay.all()
    years = await CalendarYear.all().values_list("year", "provisional")
    return WorkingCalendar(
        (
            DomainDay(day=d.day, kind=DayKind(d.kind), name=d.name, provisional=d.provisional)
            for d in days
        ),
        provisional_years=[year for year, provisional in years if provisional],
        years=[year for year, _ in years],
    )
