"""DataLoaders of one request: every relation a list can reach is fetched in one batch."""

from __future__ import annotations

import time

from strawberry.dataloader import DataLoader

from persistence import (
    accounts,
    appointments,
    certificates,
    delegations,
    notifications,
    offices,
    persons,
    records,
    waitlist,
)


class Loaders:
    """Created per request, so nothing cached here outlives the request that loaded it."""

    def __init__(self) -> None:
        self.office = DataLoader(load_fn=offices.offices_by_ids)
        self.office_hours = DataLoader(load_fn=offices.hours_by_office)
        self.office_services = DataLoader(load_fn=offices.services_by_office)
        self.office_closures = DataLoader(load_fn=offices.closures_by_office)
        self.service_type = DataLoader(load_fn=_service_types)
        self.passports = DataLoader(load_fn=persons.passports_by_person)
        self.person = DataLoader(load_fn=persons.persons_by_ids)
        self.account = DataLoader(load_fn=accounts.accounts_by_ids)
        self.appointment = DataLoader(load_fn=appointments.appointments_by_ids)
        self.rescheduled_to = DataLoader(load_fn=appointments.rescheduled_to)
        self.application = DataLoader(load_fn=records.applications_by_ids)
        self.application_events = DataLoader(load_fn=records.events_by_application)
        self.documents = DataLoader(load_fn=records.documents_by_person)
        self.pr_cards = DataLoader(load_fn=records.cards_by_person)
        self.certificates = DataLoader(load_fn=certificates.certificates_by_person)
        self.delegation = DataLoader(load_fn=delegations.delegations_by_ids)
        # What notifications are about, by (type name, id): one query per type in a page.
        self.notification_subject = DataLoader(load_fn=notifications.subjects)
        self.application_pages = DataLoader(load_fn=records.applications_pages)
        # Places in line of the waitlist entries of a list, by entry (one statement).
        self.waitlist_position = DataLoader(
            load_fn=waitlist.positions, cache_key_fn=lambda entry: entry.id
        )
        self.appointment_pages = DataLoader(load_fn=appointments.appointments_pages)


async def _service_types(codes: list[str]) -> list:
    rows = _catalogue_cached()
    if rows is None:
        rows = {row.code: row for row in await offices.service_types()}
        _CATALOGUE.update(rows=rows, at=time.monotonic())
    return [rows.get(code) for code in codes]


_CATALOGUE: dict[str, object] = {}


def _catalogue_cached() -> dict[str, object] | None:
    """The service catalogue is reference data: kept for a minute per process."""
    loaded = _CATALOGUE.get("at")
    if isinstance(loaded, float) and time.monotonic() - loaded < 60:
        return _CATALOGUE["rows"]  # type: ignore[return-value]
    return None
