"""Queries on delegations."""

from __future__ import annotations

from datetime import date, datetime

from tortoise.expressions import Q

from domain.delegation import OPEN_STATUSES, TypedFacts
from persistence.by_ids import loader_of
from persistence.models import Account, AuditEvent, Delegation
from persistence.unique import create_or_raise


class AlreadyOpen(Exception):
    """The helper already has an open (PENDING or ACTIVE) delegation for this dependant,
    perhaps inserted by a concurrent request: the unique index of migration 0014 says so."""


# How each database names that index in its error: PostgreSQL by name, SQLite by columns.
_ONE_OPEN = ("uq_delegation_one_open", "delegation.helper_id, delegation.dependant_id")


async def granting_for_helper(helper_id: int) -> list[Delegation]:
    """The helper's delegations that may grant something (status ACTIVE, not yet filtered by
    validity dates: the caller applies the domain rule)."""
    return await Delegation.filter(helper_id=helper_id, status="ACTIVE")


async def delegation(delegation_id: int) -> Delegation | None:
    return await Delegation.get_or_none(id=delegation_id)


delegations_by_ids = loader_of(Delegation)


async def of_helper(helper_id: int) -> list[Delegation]:
    return await Delegation.filter(helper_id=helper_id).order_by("-created_at", "-id")


async def of_dependant(person_id: int) -> list[Delegation]:
    return await Delegation.filter(dependant_id=person_id).order_by("-created_at", "-id")


async def lock_helper(account_id: int) -> None:
    """Serialise one helper's additions until the transaction ends (a row lock on PostgreSQL;
    SQLite runs write transactions one at a time), so that concurrent additions of different
    people cannot together pass the limit of dependants."""
    await Account.filter(id=account_id).select_for_update().first()


async def open_between(helper_id: int, person_id: int) -> list[Delegation]:
    return await Delegation.filter(
        helper_id=helper_id, dependant_id=person_id, status__in=OPEN_STATUSES
    )


async def open_count(helper_id: int) -> list[Delegation]:
    return await Delegation.filter(helper_id=helper_id, status__in=OPEN_STATUSES)


async def create(*, typed: TypedFacts, **values: object) -> Delegation:
    """A new delegation, keeping what the helper typed to find the dependant; raises
    AlreadyOpen when the helper has an open one for the dependant already."""
    return await create_or_raise(
        Delegation,
        _ONE_OPEN,
        AlreadyOpen,
        requested_surname=typed.surname,
        requested_nationality=typed.nationality,
        requested_birth_date=typed.birth_date,
        **values,
    )


async def move(
    delegation_id: int, from_statuses: list[str], to_status: str, **extra: object
) -> bool:
    return (
        await Delegation.filter(id=delegation_id, status__in=from_statuses).update(
            status=to_status, **extra
        )
        == 1
    )


async def accepted_open(person_id: int, today: date) -> list[Delegation]:
    """The person's delegations in force that the account linked to them accepted (neither a
    minor's, active without an answer, nor confirmed by staff at a counter); one past its
    last day has ended already, written down or not."""
    return await Delegation.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        dependant_id=person_id,
        status="ACTIVE",
        responded_at__isnull=False,
        confirmed_by_id__isnull=True,
    ).order_by("id")


async def expire_due(now: datetime, today: date, *, helper_id: int | None = None) -> int:
    """Write down the expiry of delegations past their end or answer deadline (one helper's
    only, with `helper_id`)."""
    mine = {} if helper_id is None else {"helper_id": helper_id}
    ended = await Delegation.filter(status="ACTIVE", valid_until__lt=today, **mine).update(
        status="EXPIRED", ended_at=now
    )
    lapsed = await Delegation.filter(status="PENDING", pending_until__lte=now, **mine).update(
        status="EXPIRED", ended_at=now
    )
    return ended + lapsed


async def audit_of(
    person_id: int, offset: int, limit: int, before: tuple[datetime, int] | None = None
) -> list[AuditEvent]:
    """A page of the person's trail, newest first: from `offset`, or of the entries older
    than the one `before` names (its moment and id), however many were added since."""
    query = AuditEvent.filter(subject_id=person_id)
    if before is not None:
        moment, pk = before
        query = query.filter(Q(at__lt=moment) | Q(at=moment, id__lt=pk))
    return await query.order_by("-at", "-id").offset(offset).limit(limit)


async def audit_event(event_id: int) -> AuditEvent | None:
    return await AuditEvent.get_or_none(id=event_id)
