"""Stored presentations of certificates: which certificate a presentation's token id shows."""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import Subquery

from persistence.models import Certificate, CertificatePresentation


async def store(**values: object) -> CertificatePresentation:
    """A new presentation; `values`: its columns (jti, certificate_id, presented_by_id,
    created_at, expires_at)."""
    return await CertificatePresentation.create(**values)


async def certificate_of(jti: str) -> Certificate | None:
    """The certificate a presentation with this token id shows, if the service made it."""
    presentation = await CertificatePresentation.get_or_none(jti=jti).select_related("certificate")
    return presentation.certificate if presentation is not None else None


async def forget_expired(now: datetime) -> int:
    """Forget the presentations of certificates that have expired: nothing about them needs
    checking any more. Returns how many were forgotten."""
    expired = Subquery(Certificate.filter(expires_at__lt=now).values("id"))
    return await CertificatePresentation.filter(certificate_id__in=expired).delete()
