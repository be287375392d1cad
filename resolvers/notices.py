"""What each change tells whom: the facts of each notification kind, gathered where the change
is made and handed to `notify` in the same unit of work."""

from __future__ import annotations

from datetime import datetime

from domain.dates import zone
from domain.languages import LANGUAGES
from domain.messages import Message
from persistence import notifications as store
from persistence import offices as office_store
from persistence.models import (
    Account,
    Application,
    Appointment,
    Certificate,
    Delegation,
    NotificationKind,
    Office,
)
from resolvers.notifications import notify
from translations import render


def local_time(moment: datetime, time_zone: str | None) -> str:
    """A moment as people at the office read it: `2026-12-03 09:30`."""
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%d %H:%M")


def place_facts(office: Office, starts_at: datetime) -> dict[str, str]:
    """Where and when, as notification facts (the office's name per language)."""
    return {
        "office_en": office.name_en,
        "office_zh": office.name_zh,
        "when": local_time(starts_at, office.time_zone),
    }


async def appointment_facts(appointment: Appointment) -> dict[str, str]:
    office = await office_store.office(appointment.office_id)
    assert office is not None
    return {"reference": appointment.reference, **place_facts(office, appointment.starts_at)}


async def appointment_booked(appointment: Appointment) -> None:
    await notify(
        NotificationKind.APPOINTMENT_BOOKED,
        about_person_id=appointment.applicant_id,
        subject=("Appointment", appointment.id),
        facts=await appointment_facts(appointment),
    )


async def appointment_changed(new: Appointment, previous: Appointment) -> None:
    await notify(
        NotificationKind.APPOINTMENT_CHANGED,
        about_person_id=new.applicant_id,
        subject=("Appointment", new.id),
        facts={**await appointment_facts(new), "previous": previous.reference},
    )


async def office_closed(cancelled: list[int], reason: str | Message) -> None:
    """Everyone whose appointment (of `cancelled`, the ids a closure just cancelled) the
    office's closure cancelled hears it, once (call in the closure's unit of work). An
    admin's reason is told as typed; the service's own (a Message) in each reader's
    language."""
    if not cancelled:
        return
    if isinstance(reason, Message):
        told = {f"reason_{lang}": render(reason, lang) for lang in LANGUAGES}
    else:
        told = {"reason": reason}
    for appointment in await store.appointments(cancelled):
        await notify(
            NotificationKind.APPOINTMENT_CANCELLED_BY_OFFICE,
            about_person_id=appointment.applicant_id,
            subject=("Appointment", appointment.id),
            facts={**await appointment_facts(appointment), **told},
        )


async def application_status_changed(
    application: Application, status: str, note: str | None
) -> None:
    """The note goes in the inbox only (mail carries the kind and the number)."""
    facts = {"reference": application.number, "status": status}
    if note:
        facts["note"] = note
    await notify(
        NotificationKind.APPLICATION_STATUS_CHANGED,
        about_person_id=application.applicant_id,
        subject=("Application", application.id),
        facts=facts,
    )


async def delegation_requested(delegation: Delegation, helper: Account) -> None:
    """The person asked hears who asks and for what (they answer with respondToDelegation)."""
    await notify(
        NotificationKind.DELEGATION_REQUESTED,
        about_person_id=delegation.dependant_id,
        subject=("Delegation", delegation.id),
        facts={"helper": helper.display_name, "scopes": ",".join(delegation.scopes)},
        # A request not answered by then has lapsed: mail asking for an answer would mislead.
        mail_by=delegation.pending_until,
    )


async def delegation_answered(delegation: Delegation, answer: str) -> None:
    """The helper hears the answer (ACTIVE, DECLINED, or CONFIRMED by an officer), about the
    person named as the helper typed them."""
    await notify(
        NotificationKind.DELEGATION_ANSWERED,
        about_person_id=delegation.dependant_id,
        subject=("Delegation", delegation.id),
        facts={"answer": answer, "surname": delegation.requested_surname},
    )


async def certificate_issued(certificate: Certificate) -> None:
    await _about_certificate(NotificationKind.CERTIFICATE_ISSUED, certificate)


async def certificate_revoked(certificate: Certificate) -> None:
    await _about_certificate(NotificationKind.CERTIFICATE_REVOKED, certificate)


async def _about_certificate(kind: NotificationKind, certificate: Certificate) -> None:
    """Word of a certificate: the days it was issued and ends, in China (the texts of each
    kind name the one they need)."""
    await notify(
        kind,
        about_person_id=certificate.person_id,
        subject=("Certificate", certificate.id),
        facts={
            "issued": local_time(certificate.issued_at, None)[:10],
            "expires": local_time(certificate.expires_at, None)[:10],
        },
    )
