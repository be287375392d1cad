"""`node`: any object by type name and primary key, with what the viewer may not see as None.

Returns the stored row; the schema turns it into its type. Reads of someone else's records go
through the gate, so they are recorded in that person's trail.
"""

from __future__ import annotations

from typing import Any

from persistence import appointments as appointment_store
from persistence import certificates as certificate_store
from persistence import delegations as delegation_store
from persistence import offices as office_store
from persistence import persons as person_store
from persistence import records as record_store
from persistence import waitlist as waitlist_store
from persistence.models import Notification
from persistence.notifications import SUBJECT_MODELS
from resolvers import authorization as gate
from resolvers import notifications, waitlist
from resolvers.authorization import is_staff
from resolvers.context import Context
from resolvers.persons import visible

# What `node` reads of a person's records: how to load the row, the scope it needs, the action
# recorded, and the person it belongs to.
_RECORDS = {
    "Appointment": (appointment_store.appointment, "BOOK_APPOINTMENTS", "READ_APPOINTMENTS"),
    "Application": (record_store.application, "VIEW_APPLICATIONS", "READ_APPLICATIONS"),
    "Document": (record_store.document, "VIEW_DOCUMENTS", "READ_DOCUMENTS"),
    "PermanentResidentCard": (record_store.card, "VIEW_DOCUMENTS", "READ_PR_CARD"),
    "Passport": (person_store.passport, "VIEW_DOCUMENTS", "READ_PASSPORTS"),
    "Certificate": (certificate_store.by_id, "VIEW_DOCUMENTS", "READ_CERTIFICATE"),
    "WaitlistEntry": (waitlist_store.entry, "BOOK_APPOINTMENTS", "READ_WAITLIST"),
}


def _owner_and_target(type_name: str, row: Any) -> tuple[int, str]:
    if type_name == "Appointment":
        return row.applicant_id, row.reference
    if type_name in ("Application", "WaitlistEntry"):
        return row.applicant_id, f"{type_name}:{row.id}"
    if type_name == "Certificate":
        return row.person_id, row.jti
    return row.person_id, f"{type_name}:{row.id}"


async def node_row(ctx: Context, type_name: str, pk: int) -> Any | None:
    """The row of the object `type_name`:`pk` when the viewer may see it, else None."""
    if type_name == "Office":
        return await office_store.office(pk)
    if type_name == "Slot":
        return await appointment_store.slot(pk)
    if type_name == "Person":
        return await visible(ctx, await person_store.person(pk))
    if type_name == "Account":
        return ctx.account if ctx.account is not None and ctx.account.id == pk else None
    if type_name in ("Delegation", "AuditEvent"):
        return await _delegation_row(ctx, type_name, pk)
    if type_name == "Notification":
        return await notifications.notification(ctx, pk)
    if type_name not in _RECORDS:
        return None
    load, _, _ = _RECORDS[type_name]
    return await visible_record(ctx, type_name, await load(pk))


async def visible_record(ctx: Context, type_name: str, row: Any | None) -> Any | None:
    """A loaded row of one of a person's records (a type of `_RECORDS`) when the viewer may
    see it, the read recorded in the person's trail; else None."""
    if row is None or type_name not in _RECORDS:
        return None
    _, scope, action = _RECORDS[type_name]
    person_id, target = _owner_and_target(type_name, row)
    if await gate.read(ctx, person_id, scope, action, target) is None:
        return None
    if type_name == "WaitlistEntry":
        return await waitlist.current(ctx, row)
    return row


async def notification_subject(ctx: Context, row: Notification) -> Any | None:
    """What a notification is about, as `node` would answer it: a person's record is loaded
    with the other subjects of the page (one query per type) and passed through the gate."""
    if row.subject_type is None or row.subject_id is None:
        return None
    if row.subject_type in SUBJECT_MODELS:
        key = (row.subject_type, row.subject_id)
        loaded = await ctx.loaders.notification_subject.load(key)
        return await visible_record(ctx, row.subject_type, loaded)
    return await node_row(ctx, row.subject_type, row.subject_id)


async def _delegation_row(ctx: Context, type_name: str, pk: int) -> Any | None:
    """A delegation for its helper, its dependant and staff; an audit event for its subject."""
    account = ctx.account
    if account is None:
        return None
    if type_name == "AuditEvent":
        event = await delegation_store.audit_event(pk)
        if event is None or account.person_id != event.subject_id:
            return None
        return event
    delegation = await delegation_store.delegation(pk)
    if delegation is None:
        return None
    if account.id == delegation.helper_id or account.person_id == delegation.dependant_id:
        return delegation
    return delegation if is_staff(ctx) else None
