"""Passport-information certificates: issuing, revoking, verifying; rotating the signing key."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from domain.dates import HOME_ZONE, end_of_day
from domain.delegation import REVOKE_WITH_DELEGATION
from domain.messages import N_
from persistence import certificates as store
from persistence import persons as person_store
from persistence import presentations as presentation_store
from persistence import signing_keys
from persistence.models import Certificate, KeyPurpose, Passport, Role
from resolvers import authorization as gate
from resolvers import budget, notices
from resolvers.context import Context
from resolvers.notifications import language_of
from resolvers.outcomes import (
    ClientError,
    Refusal,
    RefusalKind,
    invalid,
    not_permitted,
    unauthenticated,
)
from signing import certificates, pdf, qr, sd_jwt
from signing.keys import ALG
from signing.verification import ALL_CLAIMS, EARLIER_NOT_LISTED

# A certificate signed before certificates were fitted to one QR code (before
# CERTIFICATE_MAX_EARLIER_PASSPORTS) may be too long for any: it stays valid, verified from
# its token, but has no code and no printout; a new certificate has both.
TOO_LARGE_FOR_QR = N_(
    "This certificate is too long for a QR code: it was signed before certificates were "
    "fitted to one. Obtain a new certificate to print it or show its code; this one stays "
    "valid where its token is checked."
)
TOO_LARGE_FOR_QR_CODE = "TOO_LARGE_FOR_QR"
NAMES_TOO_LONG_FOR_QR = N_(
    "This person's names are too long for a certificate's QR code. Ask an officer to record "
    "them as printed in the passport's machine-readable zone."
)

# Drawing a QR code of a certificate takes tens of milliseconds: off the event loop, and each
# link once per process.
_qr_svg = functools.lru_cache(maxsize=256)(qr.qr_svg)
_qr_png = functools.lru_cache(maxsize=256)(qr.qr_png_base64)


class NotPrintable(Exception):
    """The certificate is too long for the QR code of its printout (TOO_LARGE_FOR_QR)."""

    message = TOO_LARGE_FOR_QR
    code = TOO_LARGE_FOR_QR_CODE


class _Signed(Protocol):
    kid: str
    expires_at: datetime


S = TypeVar("S", bound=_Signed)


async def _signed_with_document_key(ctx: Context, sign: Callable[..., S], **claims: Any) -> S:
    """`sign` (a certificate or a presentation) with the key that signs documents now, the
    key ring reloaded first, as another process may have rotated, so that it signs with the
    active key of record; that key stays published until what it signed expires."""
    ring = ctx.services.keys
    await ring.reload()
    key = ring.active(KeyPurpose.DOCUMENT)
    # Off the event loop: fitting a certificate to its QR code encodes a few trial codes.
    signed = await asyncio.to_thread(
        functools.partial(
            sign, private_key=key.private, kid=key.kid, alg=ALG, issuer=ctx.settings.issuer
        ),
        **claims,
    )
    await signing_keys.extend_last_expiry(key.kid, signed.expires_at)
    return signed


async def issue(ctx: Context, person_id: int | None) -> Certificate:
    grant = await gate.require(ctx, person_id, "VIEW_DOCUMENTS")
    person = await person_store.person(grant.person_id)
    if person is None:
        raise not_permitted()
    today = ctx.today()
    cards = [
        c
        for c in await ctx.loaders.pr_cards.load(person.id)
        if c.issued_on <= today <= c.valid_until
    ]
    if not cards:
        # The answer tells a fact of the person's documents: a helper's asking is in their trail.
        raise gate.showing(
            ctx,
            Refusal(
                RefusalKind.NOT_PERMANENT_RESIDENT,
                N_("This person holds no valid Foreign Permanent Resident ID Card."),
            ),
            grant,
            "READ_DOCUMENTS",
        )
    card = cards[0]
    passports = await ctx.loaders.passports.load(person.id)
    current = [p for p in passports if p.is_current]
    # The latest superseded first: the ones a certificate leaves out are the oldest.
    earlier = sorted(
        (p for p in passports if not p.is_current),
        key=lambda p: (p.bound_until or date.max, p.bound_from, p.id),
        reverse=True,
    )

    def listing(listed: int) -> dict[str, Any]:
        return {
            "name": {"surname": person.surname, "givenNames": person.given_names},
            "nationality": person.nationality,
            "birthDate": person.birth_date.isoformat(),
            "prCard": {
                "number": card.number,
                "issuedOn": card.issued_on.isoformat(),
                "validUntil": card.valid_until.isoformat(),
            },
            "passports": [_passport_facts(p) for p in [*current, *earlier[:listed]]],
            EARLIER_NOT_LISTED: len(earlier) - listed,
        }

    try:
        signed = await _signed_with_document_key(
            ctx,
            certificates.sign_within_qr,
            listing=listing,
            earlier=min(len(earlier), ctx.settings.certificate_max_earlier_passports),
            public_base_url=ctx.settings.public_base_url,
            subject=person.subject,
            now=ctx.now(),
            validity_days=ctx.settings.certificate_validity_days,
            # Valid no longer than the card whose facts it states: to the end of its last
            # day in China, where the card's dates are counted.
            not_after=end_of_day(card.valid_until),
        )
    except certificates.TooLargeForQr:
        # Names registered before their length was checked (domain/persons.py,
        # MAX_NAME_BYTES) may overflow any QR code even with no earlier passport listed.
        raise ClientError(NAMES_TOO_LONG_FOR_QR, "NAMES_TOO_LONG_FOR_QR") from None
    certificate = await store.store(
        jti=signed.jti,
        person_id=person.id,
        issued_by_id=ctx.account.id,
        delegation_id=grant.delegation_id,
        kid=signed.kid,
        token=signed.token,
        issued_at=signed.issued_at,
        expires_at=signed.expires_at,
    )
    gate.acted(ctx, grant, "ISSUE_PASSPORT_CERTIFICATE", signed.jti)
    await notices.certificate_issued(certificate)
    return certificate


def _passport_facts(passport: Passport) -> dict[str, Any]:
    return {
        "number": passport.number,
        "issuingCountry": passport.issuing_country,
        "validUntil": passport.valid_until.isoformat(),
        "boundFrom": passport.bound_from.isoformat(),
        "boundUntil": passport.bound_until.isoformat() if passport.bound_until else None,
        "current": passport.is_current,
    }


async def _held(ctx: Context, certificate_id: int | None) -> tuple[Certificate, gate.Grant]:
    """A certificate and the grant to act for its holder within VIEW_DOCUMENTS: anonymous
    callers are refused first, and a missing certificate is NotPermitted, as anyone else's
    is."""
    if ctx.account is None:
        raise unauthenticated()
    certificate = await store.by_id(certificate_id) if certificate_id is not None else None
    if certificate is None:
        raise not_permitted()
    return certificate, await gate.require(ctx, certificate.person_id, "VIEW_DOCUMENTS")


async def revoke(ctx: Context, certificate_id: int | None, reason: str) -> Certificate:
    """Revoke a certificate: officers and admins, the holder (a certificate given away, a
    phone lost), or a helper with VIEW_DOCUMENTS (in the holder's trail); anyone else is
    refused as if it did not exist."""
    certificate, grant = await _held(ctx, certificate_id)
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= 400:
        raise invalid(N_("Give a reason of 1 to 400 characters."), "reason")
    # Revoking a revoked certificate answers it as it is: no second entry, no second notice.
    if await store.revoke(certificate.id, reason, ctx.now()):
        gate.acted(ctx, grant, "REVOKE_CERTIFICATE", certificate.jti)
        await notices.certificate_revoked(certificate)
    refreshed = await store.by_id(certificate.id)
    assert refreshed is not None
    return refreshed


# Why certificates stop holding without an officer's say, kept with each revocation.
_SUPERSEDED = {
    # A newly bound passport: the certificate states a superseded one as current.
    "passport": "Passport {what} was bound on {day}: the certificate names a superseded "
    "passport as current.",
    # A new PR card (a renewal, a replacement): the certificate states the card before it.
    "card": "PR card {what} was issued on {day}: the certificate names a superseded card.",
    # An account unlinked from the person (a wrong match): what it obtained as the person.
    "unlink": "Obtained through an account no longer linked to the person.",
    # A delegation revoked (consent withdrawn): what the helper obtained through it.
    "delegation": "Obtained by a helper through a delegation revoked on {day}.",
}


async def revoke_superseded(
    ctx: Context,
    person_id: int,
    cause: str,
    what: str = "",
    *,
    issued_by_id: int | None = None,
    delegation_id: int | None = None,
    helper_id: int | None = None,
) -> None:
    """Revoke the person's valid certificates (those the account `issued_by_id` obtained, or
    those obtained through the delegation `delegation_id`, when given) that `cause` (a key of
    _SUPERSEDED) makes untrue or unearned: verifiers then see REVOKED, and every presentation
    of them too. Each is recorded as the caller's revocation (staff, or the delegation's
    `helper_id` ending it), in the change's unit of work, and the holder (and helpers who see
    documents) told."""
    reason = _SUPERSEDED[cause].format(what=what, day=ctx.today().isoformat())
    action = REVOKE_WITH_DELEGATION if cause == "delegation" else "REVOKE_CERTIFICATE"
    for certificate in await store.revoke_valid_of(
        person_id, reason, ctx.now(), issued_by_id=issued_by_id, delegation_id=delegation_id
    ):
        gate.staff_write(
            ctx,
            person_id,
            action,
            certificate.jti,
            delegation_id=delegation_id,
            helper_id=helper_id,
        )
        await notices.certificate_revoked(certificate)


async def present(
    ctx: Context, certificate_id: int | None, disclose: list[str]
) -> sd_jwt.SignedPresentation:
    """A selective-disclosure presentation of a certificate, for its holder or a helper with
    VIEW_DOCUMENTS (audited), revealing the chosen facts only and signed with the active
    document key, so that presentations of different people look alike but for what they
    disclose. It expires after PRESENTATION_MINUTES; the service alone keeps which certificate
    it shows."""
    certificate, grant = await _held(ctx, certificate_id)
    if grant.actor_kind not in (gate.ActorKind.SELF, gate.ActorKind.HELPER):
        # What to show a bank is the holder's choice: staff verify and revoke, but do not
        # present in the holder's name (refused as if the certificate were not there).
        raise not_permitted()
    chosen = set(disclose)
    if not chosen:
        raise invalid(N_("Choose at least one fact to disclose."), "disclose")
    now = ctx.now()
    lifetime = timedelta(minutes=ctx.settings.presentation_minutes)
    if certificate.revoked_at is not None:
        raise invalid(N_("This certificate is revoked: it cannot be presented."), "certificateId")
    if certificate.expires_at <= now + lifetime:
        # A presentation never outlives its certificate, and its expiry is never the
        # certificate's (that would be a constant per person): ask for a fresh certificate.
        raise invalid(
            N_("This certificate expires too soon to be presented: issue a new one."),
            "certificateId",
        )
    presentation = await _signed_with_document_key(
        ctx,
        sd_jwt.present,
        facts=sd_jwt.facts_of(sd_jwt.certificate_claims(certificate.token)),
        disclose=[claim for claim in ALL_CLAIMS if claim in chosen],
        now=now,
        lifetime=lifetime,
    )
    if not qr.fits(qr.verification_link(ctx.settings.public_base_url, presentation.token)):
        raise invalid(
            N_("These facts do not fit in one QR code: disclose fewer of them."), "disclose"
        )
    await presentation_store.store(
        jti=presentation.jti,
        certificate_id=certificate.id,
        presented_by_id=ctx.account.id,
        created_at=presentation.issued_at,
        expires_at=presentation.expires_at,
    )
    gate.acted(ctx, grant, "PRESENT_CERTIFICATE", certificate.jti)
    return presentation


async def verify(ctx: Context, token: str) -> tuple[certificates.Verification, int | None]:
    """Anyone may verify a certificate or a presentation: signature with a published key,
    disclosures, expiry, then revocation (of the certificate a presentation shows). With the
    result, the stored certificate's key when the signature is genuine and the viewer is staff
    (None for everyone else, so the answer never links a token to a record for them)."""
    ring = ctx.services.keys
    now = ctx.now()
    keys = {k["kid"]: k for k in ring.published_document_keys(now)}
    header_kid = certificates.key_id_of(token)
    if header_kid is not None and header_kid not in keys:
        await ring.reload()  # a key published by another process since we last looked
        keys = {k["kid"]: k for k in ring.published_document_keys(now)}
    result = certificates.verify(token, keys, now)
    if result.claims is None or not isinstance(result.claims.get("jti"), str):
        return result, None
    jti = result.claims["jti"]
    if result.presentation:
        stored = await presentation_store.certificate_of(jti)
    else:
        stored = await store.by_jti(jti)
    if stored is None:
        return result, None
    certificate_id = stored.id if gate.is_staff(ctx) else None
    if stored.revoked_at is not None:
        return certificates.revoked(result), certificate_id
    return result, certificate_id


async def rotate(ctx: Context) -> tuple[str, str]:
    if ctx.account is None:
        raise unauthenticated()
    if not ctx.has_role(Role.ADMIN):
        raise not_permitted()
    rotated = await ctx.services.keys.rotate_documents(ctx.now())
    if rotated is None:
        await ctx.services.keys.ensure(ctx.now())
        rotated = await ctx.services.keys.rotate_documents(ctx.now())
    assert rotated is not None
    return rotated


async def certificates_of(ctx: Context, person_id: int) -> list[Certificate] | None:
    """The person's certificates, the latest issued first, revoked ones included; None without
    VIEW_DOCUMENTS. Recorded in the person's trail like their other documents."""
    if await gate.read(ctx, person_id, "VIEW_DOCUMENTS", "READ_CERTIFICATES") is None:
        return None
    return await ctx.loaders.certificates.load(person_id)


async def certificate_pdf(ctx: Context, certificate_id: int | None) -> bytes | None:
    """The printable PDF of a certificate, for its holder, a helper with VIEW_DOCUMENTS and
    staff (recorded in the holder's trail); None for an unknown certificate and for anyone
    else alike. Anonymous callers are refused (UNAUTHENTICATED); NotPrintable for a
    certificate too long for the printout's QR code."""
    if ctx.account is None:
        raise unauthenticated()
    certificate = await store.by_id(certificate_id) if certificate_id is not None else None
    if certificate is None:
        return None
    grant = await gate.read(
        ctx, certificate.person_id, "VIEW_DOCUMENTS", "READ_CERTIFICATE_PDF", certificate.jti
    )
    if grant is None:
        return None
    holder = await store.holder_account(certificate.person_id)
    status = None
    if certificate.revoked_at is not None:
        status = "revoked"
    elif certificate.expires_at <= ctx.now():
        status = "expired"
    # Rendering takes a few hundred milliseconds of CPU: off the event loop, and each
    # (certificate, state, language) once per process.
    try:
        return await asyncio.to_thread(
            _rendered_pdf,
            certificate.token,
            certificate.kid,
            certificate.issued_at,
            certificate.expires_at,
            pdf.second_language(language_of(holder) if holder is not None else None),
            status,
            ctx.settings.public_base_url.rstrip("/"),
        )
    except qr.TooLarge:
        raise NotPrintable() from None


# The cost estimate pays for drawing the QR codes it counts (LIST_ESTIMATE certificates of a
# list); an operation that draws more (the list of someone who obtained many) pays each
# further one from the caller's budget as it is drawn, or gets RATE_LIMITED for it.
QR_BUDGET_USED_UP = N_(
    "This request draws more QR codes than its cost estimate paid for, and this minute's query "
    "budget cannot pay for more. Ask for the codes of fewer certificates at once, or try "
    "again in a minute."
)


async def _pay_for_drawing(ctx: Context, points: int) -> None:
    beyond = budget.draw(points)
    if beyond and await budget.spend(ctx, beyond) is None:
        raise ClientError(QR_BUDGET_USED_UP, "RATE_LIMITED")


async def certificate_qr_svg(ctx: Context, token: str) -> str:
    """The SVG QR code of the certificate's verification link; a TOO_LARGE_FOR_QR error for
    a certificate too long for one."""
    await _pay_for_drawing(ctx, budget.QR_SVG_POINTS)
    try:
        return await asyncio.to_thread(_qr_svg, _link(ctx, token))
    except qr.TooLarge:
        raise ClientError(TOO_LARGE_FOR_QR, TOO_LARGE_FOR_QR_CODE) from None


async def certificate_qr_png(ctx: Context, token: str) -> str | None:
    """The base64 PNG QR code of the certificate's verification link; None for a certificate
    too long for one."""
    await _pay_for_drawing(ctx, budget.QR_PNG_POINTS)
    try:
        return await asyncio.to_thread(_qr_png, _link(ctx, token))
    except qr.TooLarge:
        return None


async def presentation_qr_svg(ctx: Context, link: str) -> str:
    """The SVG QR code of a fresh presentation's link (never cached: each is new)."""
    await _pay_for_drawing(ctx, budget.QR_SVG_POINTS)
    return await asyncio.to_thread(qr.qr_svg, link)


async def presentation_qr_png(ctx: Context, link: str) -> str:
    """The base64 PNG QR code of a fresh presentation's link."""
    await _pay_for_drawing(ctx, budget.QR_PNG_POINTS)
    return await asyncio.to_thread(qr.qr_png_base64, link)


def _link(ctx: Context, token: str) -> str:
    return qr.verification_link(ctx.settings.public_base_url, token)


@functools.lru_cache(maxsize=32)
def _rendered_pdf(
    token: str,
    kid: str,
    issued_at: datetime,
    expires_at: datetime,
    language: str,
    status: str | None,
    base_url: str,
) -> bytes:
    return pdf.render(
        pdf.PrintableCertificate(
            claims=sd_jwt.certificate_claims(token),
            key_id=kid,
            issued_at=issued_at.astimezone(HOME_ZONE),
            expires_at=expires_at.astimezone(HOME_ZONE),
            qr_payload=qr.verification_link(base_url, token),
            verify_url=f"{base_url}/verify",
            jwks_url=f"{base_url}/.well-known/jwks.json",
            language=language,
            status=status,
        )
    )
