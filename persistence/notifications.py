"""Queries on notifications: who may hear of a person, writing inbox rows, and reading an
inbox as far as the reader may still see it."""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from datetime import datetime

from tortoise.expressions import Q
from tortoise.models import Model

from persistence.models import (
    Account,
    Application,
    Appointment,
    Certificate,
    Delegation,
    Document,
    Notification,
    PermanentResidentCard,
)


async def own_account(person_id: int) -> Account | None:
    """The account linked to the person, if any."""
    return await Account.get_or_none(person_id=person_id)


async def account(account_id: int) -> Account | None:
    return await Account.get_or_none(id=account_id)


async def active_helpers(person_id: int) -> list[Delegation]:
    """The person's delegations marked ACTIVE, with their helper accounts (the caller applies
    the validity dates)."""
    return await Delegation.filter(dependant_id=person_id, status="ACTIVE").prefetch_related(
        "helper"
    )


async def appointments(ids: list[int]) -> list[Appointment]:
    """These appointments, by start time."""
    return await Appointment.filter(id__in=ids).order_by("starts_at", "id")


async def add(
    *, subject: tuple[str, int] | None, facts: Mapping[str, str], at: datetime, **values: object
) -> Notification:
    """A new notification about `subject` (GraphQL type name, row id), made `at`; `values`:
    its other columns (account_id, person_id, kind)."""
    subject_type, subject_id = subject if subject is not None else (None, None)
    return await Notification.create(
        subject_type=subject_type,
        subject_id=subject_id,
        facts=dict(facts),
        created_at=at,
        **values,
    )


async def by_id(notification_id: int) -> Notification | None:
    return await Notification.get_or_none(id=notification_id)


def _visible(
    account_id: int,
    own_person_id: int | None,
    dependant_kinds: Mapping[int, Sequence[str]],
    party_kinds: Sequence[str],
) -> Q:
    """The account's notifications it may still see: about a delegation it is a party to,
    about its own person, or about a dependant in a kind its scopes cover."""
    allowed = [Q(kind__in=list(party_kinds))]
    if own_person_id is not None:
        allowed.append(Q(person_id=own_person_id))
    allowed.extend(
        Q(person_id=person_id, kind__in=list(kinds))
        for person_id, kinds in dependant_kinds.items()
        if kinds
    )
    return Q(account_id=account_id) & functools.reduce(operator.or_, allowed)


async def inbox(
    account_id: int,
    own_person_id: int | None,
    dependant_kinds: Mapping[int, Sequence[str]],
    party_kinds: Sequence[str],
    *,
    unread_only: bool,
    offset: int,
    limit: int,
    before: tuple[datetime, int] | None = None,
) -> list[Notification]:
    """A page of the inbox, newest first: from `offset`, or of those older than the
    notification `before` names (its created_at and id), wherever that one now stands."""
    query = Notification.filter(_visible(account_id, own_person_id, dependant_kinds, party_kinds))
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if before is not None:
        moment, pk = before
        query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk))
    return await query.order_by("-created_at", "-id").offset(offset).limit(limit)


async def unread_count(
    account_id: int,
    own_person_id: int | None,
    dependant_kinds: Mapping[int, Sequence[str]],
    party_kinds: Sequence[str],
) -> int:
    visible = _visible(account_id, own_person_id, dependant_kinds, party_kinds)
    return await Notification.filter(visible, read_at__isnull=True).count()


async def mark_read(
    account_id: int,
    own_person_id: int | None,
    dependant_kinds: Mapping[int, Sequence[str]],
    party_kinds: Sequence[str],
    ids: Sequence[int] | None,
    at: datetime,
) -> int:
    """Mark the unread ones among `ids` (None: all) that the account may see; how many."""
    query = Notification.filter(
        _visible(account_id, own_person_id, dependant_kinds, party_kinds), read_at__isnull=True
    )
    if ids is not None:
        query = query.filter(id__in=list(ids))
    return await query.update(read_at=at)


# The models of the records a notification's subject may be, by GraphQL type name.
SUBJECT_MODELS: dict[str, type[Model]] = {
    "Appointment": Appointment,
    "Application": Application,
    "Document": Document,
    "PermanentResidentCard": PermanentResidentCard,
    "Certificate": Certificate,
}


async def subjects(keys: Sequence[tuple[str, int]]) -> list[Model | None]:
    """The rows of (type name, id) keys, one query per type; None for a type not listed
    here or a row that is gone."""
    wanted: dict[str, list[int]] = {}
    for type_name, pk in keys:
        if type_name in SUBJECT_MODELS:
            wanted.setdefault(type_name, []).append(pk)
    found: dict[tuple[str, int], Model] = {}
    for type_name, ids in wanted.items():
        for row in await SUBJECT_MODELS[type_name].filter(id__in=ids):
            found[(type_name, row.pk)] = row
    return [found.get(key) for key in keys]
