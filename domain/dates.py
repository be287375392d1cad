"""The days the service reasons about: the home time zone that "today" is counted in, and the
range outside which a date is a client's mistake."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.messages import N_

# China's time: validity dates, the application's submitted day and statistics count in it,
# and it is every office's time zone unless the office says otherwise.
HOME_ZONE_NAME = "Asia/Shanghai"
HOME_ZONE = ZoneInfo(HOME_ZONE_NAME)


def zone(time_zone: str | None = None) -> ZoneInfo:
    """The named time zone (an office's), or the home zone when none is given."""
    return ZoneInfo(time_zone) if time_zone else HOME_ZONE


def local_day(moment: datetime, time_zone: str | None = None) -> date:
    """The calendar day `moment` falls on in the given time zone (the home zone by default)."""
    return moment.astimezone(zone(time_zone)).date()


def end_of_day(day: date, time_zone: str | None = None) -> datetime:
    """The first moment after `day` in the given time zone (the home zone by default): a
    document valid until that day is valid up to, and not at, this moment."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(time_zone))


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def out_of_range(*days: date | datetime | None) -> bool:
    """True when any given day lies outside EARLIEST..LATEST (None is ignored). A moment
    counts by its own calendar day: inside the range, converting it to UTC or to any time
    zone cannot leave the years a datetime can hold."""
    return any(
        d is not None and not EARLIEST <= (d.date() if isinstance(d, datetime) else d) <= LATEST
        for d in days
    )


RANGE_MESSAGE = N_(
    "Dates must lie between %(earliest)s and %(latest)s.",
    earliest=EARLIEST.isoformat(),
    latest=LATEST.isoformat(),
)
