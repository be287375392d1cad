"""Signed passport-information certificates: issuing, verifying, revoking; key rotation."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.dates import HOME_ZONE
from resolvers import certificates as resolve
from resolvers.rows import CertificateRow
from schema.common import (
    Node,
    NotPermanentResident,
    NotPermitted,
    ValidationError,
    pk_of,
    to_global_id,
)
from schema.results import result_union, run_mutation
from signing.certificates import qr_svg


@functools.lru_cache(maxsize=256)
def _qr_svg(token: str) -> str:
    return qr_svg(token)


async def cached_qr_svg(token: str) -> str:
    """Drawing a QR code takes tens of milliseconds: off the event loop, and only once."""
    return await asyncio.to_thread(_qr_svg, token)


@strawberry.enum(description="Why a document did not verify.")
class VerificationFailure(Enum):
    MALFORMED = strawberry.enum_value(
        "MALFORMED", description="Not a certificate of this authority (or not a JWS at all)."
    )
    BAD_SIGNATURE = strawberry.enum_value(
        "BAD_SIGNATURE", description="The signature does not match: the document was altered."
    )
    UNKNOWN_KEY = strawberry.enum_value(
        "UNKNOWN_KEY", description="Signed with a key the authority does not publish."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="Past its expiry time.")
    REVOKED = strawberry.enum_value("REVOKED", description="Revoked by the authority.")


@strawberry.type(description="A signed passport-information certificate.")
class Certificate(Node):
    row: strawberry.Private[CertificateRow]
    token: str = strawberry.field(
        description="The compact JWS; verify it with any JOSE library and the JWK Set at "
        "/.well-known/jwks.json."
    )
    pdf_url: str | None = strawberry.field(
        default=None, description="A printable PDF, when offered (not yet)."
    )

    @classmethod
    def from_row(cls, row: CertificateRow) -> Certificate:
        return cls(row=row, id=to_global_id("Certificate", row.id), token=row.token)

    @strawberry.field(description="The token as an SVG QR code.")
    async def qr_svg(self) -> str:
        return await cached_qr_svg(self.row.token)

    @strawberry.field(description="When it was signed.")
    def issued_at(self) -> dt.datetime:
        return self.row.issued_at.astimezone(HOME_ZONE)

    @strawberry.field(description="When it stops being valid.")
    def expires_at(self) -> dt.datetime:
        return self.row.expires_at.astimezone(HOME_ZONE)

    @strawberry.field(description="True once the certificate is revoked.")
    def revoked(self) -> bool:
        return self.row.revoked_at is not None

    @strawberry.field(description="When it was revoked, if it was.")
    def revoked_at(self) -> dt.datetime | None:
        return self.row.revoked_at.astimezone(HOME_ZONE) if self.row.revoked_at else None


@strawberry.type(description="The result of checking a signed document; discloses the minimum.")
class DocumentVerification:
    valid: bool = strawberry.field(
        description="True when signature, key, expiry and revocation all check out."
    )
    failure: VerificationFailure | None = strawberry.field(description="Why not, when not valid.")
    key_id: str | None = strawberry.field(description="The key that signed it (`kid`).")
    issued_at: dt.datetime | None = strawberry.field(description="When it was signed.")
    expires_at: dt.datetime | None = strawberry.field(description="When it expires.")
    claims: JSON | None = strawberry.field(
        description="The document's own claims, when the signature is genuine."
    )
    certificate_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Officers and admins: the certificate the token is, when the signature is "
        "genuine (also when expired or revoked); null for everyone else.",
    )


@strawberry.type(description="The certificate is signed and stored.")
class CertificateIssued:
    certificate: Certificate = strawberry.field(description="The new certificate.")


@strawberry.type(description="The certificate is revoked; verification now says REVOKED.")
class CertificateRevoked:
    certificate: Certificate = strawberry.field(description="The revoked certificate.")


@strawberry.type(description="Signing moved to the published next key; a fresh next key is out.")
class SigningKeyRotated:
    active_key_id: str = strawberry.field(description="The key that signs from now on.")
    next_key_id: str = strawberry.field(description="The key published for the next rotation.")


@strawberry.input(description="A certificate to revoke.")
class RevokeCertificateInput:
    certificate_id: strawberry.ID = strawberry.field(description="The certificate.")
    reason: str = strawberry.field(description="Why; kept with the revocation.")


IssuePassportCertificateResult = result_union(
    "issuePassportCertificate", CertificateIssued, NotPermanentResident, NotPermitted
)
RevokeCertificateResult = result_union(
    "revokeCertificate", CertificateRevoked, NotPermitted, ValidationError
)
RotateSigningKeyResult = result_union("rotateSigningKey", SigningKeyRotated, NotPermitted)


def verification(result: object, certificate_pk: int | None = None) -> DocumentVerification:
    from signing.certificates import Verification

    assert isinstance(result, Verification)
    return DocumentVerification(
        certificate_id=(
            to_global_id("Certificate", certificate_pk) if certificate_pk is not None else None
        ),
        valid=result.valid,
        failure=VerificationFailure(result.failure) if result.failure else None,
        key_id=result.key_id,
        issued_at=result.issued_at,
        expires_at=result.expires_at,
        claims=result.claims,
    )


@strawberry.type(description="Mutations on signed documents.")
class CertificateMutations:
    @strawberry.mutation(
        description="Sign a passport-information certificate for a permanent resident you may "
        "act for with VIEW_DOCUMENTS. Earlier certificates stay valid."
    )
    async def issue_passport_certificate(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, strawberry.argument(description="The person.")],
    ) -> IssuePassportCertificateResult:
        return await run_mutation(
            info,
            IssuePassportCertificateResult,
            lambda ctx: resolve.issue(ctx, pk_of(person_id, "Person")),
            lambda row: CertificateIssued(certificate=Certificate.from_row(row)),
        )

    @strawberry.mutation(description="Officers and admins: revoke a certificate, with a reason.")
    async def revoke_certificate(
        self,
        info: Info,
        input: Annotated[RevokeCertificateInput, strawberry.argument(description="It.")],
    ) -> RevokeCertificateResult:
        return await run_mutation(
            info,
            RevokeCertificateResult,
            lambda ctx: resolve.revoke(
                ctx, pk_of(input.certificate_id, "Certificate"), input.reason
            ),
            lambda row: CertificateRevoked(certificate=Certificate.from_row(row)),
        )

    @strawberry.mutation(
        description="Admins: start signing with the published next key and publish a fresh "
        "next key; retired keys stay published until their last certificate expires."
    )
    async def rotate_signing_key(self, info: Info) -> RotateSigningKeyResult:
        return await run_mutation(
            info,
            RotateSigningKeyResult,
            resolve.rotate,
            lambda keys: SigningKeyRotated(active_key_id=keys[0], next_key_id=keys[1]),
        )
