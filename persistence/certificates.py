"""Stored certificates: who issued which, for whom, and revocations."""

from __future__ import annotations

from datetime import datetime

from persistence.by_ids import groups_of
from persistence.models import Account, Certificate


async def store(**values: object) -> Certificate:
    return await Certificate.create(**values)


async def by_id(certificate_id: int) -> Certificate | None:
    return await Certificate.get_or_none(id=certificate_id)


# A person's certificates, the latest issued first (Person.certificates, batched per request).
certificates_by_person = groups_of(Certificate, "person_id", "-issued_at", "-id")


async def holder_account(person_id: int) -> Account | None:
    """The account linked to the person, if any (its language prints on the certificate)."""
    return await Account.get_or_none(person_id=person_id)


async def by_jti(jti: str) -> Certificate | None:
    return await Certificate.get_or_none(jti=jti)


async def revoke(certificate_id: int, reason: str, now: datetime) -> bool:
    """Revoke the certificate unless it is revoked already: whether this call revoked it."""
    revoked = await Certificate.filter(id=certificate_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    return revoked == 1


async def revoke_valid_of(
    person_id: int,
    reason: str,
    now: datetime,
    *,
    issued_by_id: int | None = None,
    delegation_id: int | None = None,
) -> list[Certificate]:
    """Revoke the person's certificates that are neither revoked nor expired (only those
    issued by the account `issued_by_id`, or through the delegation `delegation_id`, when
    given): the ones this call revoked (one revoked meanwhile by someone else is theirs, not
    in the list)."""
    query = Certificate.filter(person_id=person_id, revoked_at__isnull=True, expires_at__gt=now)
    if issued_by_id is not None:
        query = query.filter(issued_by_id=issued_by_id)
    if delegation_id is not None:
        query = query.filter(delegation_id=delegation_id)
    valid = await query.order_by("id")
    return [c for c in valid if await revoke(c.id, reason, now)]
