"""Stored certificates: who issued which, for whom, and revocations."""

from __future__ import annotations

from datetime import datetime

from persistence.models import Certificate


async def store(**values: object) -> Certificate:
    return await Certificate.create(**values)


async def by_id(certificate_id: int) -> Certificate | None:
    return await Certificate.get_or_none(id=certificate_id)


async def by_jti(jti: str) -> Certificate | None:
    return await Certificate.get_or_none(jti=jti)


async def revoke(certificate_id: int, reason: str, now: datetime) -> None:
    await Certificate.filter(id=certificate_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
