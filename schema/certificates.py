"""Signed passport-information certificates: issuing, verifying, revoking; key rotation."""

from __future__ import annotations

import datetime as dt
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
    described_enum,
    pk_of,
    to_global_id,
)
from schema.limits import PDF_POINTS, QR_PNG_POINTS, QR_SVG_POINTS
from schema.persons import PersonIdArg
from schema.results import mutation, node_results, result_union
from signing import qr

VerificationFailure = described_enum(
    "VerificationFailure",
    "Why a document did not verify.",
    {
        "MALFORMED": "Not a certificate of this authority (or not a JWS at all).",
        "BAD_SIGNATURE": "The signature does not match: the document was altered.",
        "UNKNOWN_KEY": "Signed with a key the authority does not publish.",
        "EXPIRED": "Past its expiry time.",
        "REVOKED": "Revoked by the authority.",
    },
)

CertificateClaim = described_enum(
    "CertificateClaim",
    "A fact of a passport-information certificate that its holder may disclose on its own in "
    "a presentation.",
    {
        "NAME": "Surname and given names.",
        "BIRTH_DATE": "Date of birth.",
        "NATIONALITY": "Nationality (ISO alpha-3).",
        "PR_CARD_NUMBER": "The number of the permanent resident card.",
        "PR_CARD_VALIDITY": "When the permanent resident card was issued and until.",
        "CURRENT_PASSPORT": "The passport bound to the card now: number, issuing country, "
        "validity.",
        "PASSPORT_HISTORY": "The passports bound to the card before the current one that the "
        "certificate lists, the latest first (`passports`), and how many earlier ones it leaves "
        "out (`earlierNotListed`).",
    },
)


@strawberry.type(description="A signed passport-information certificate.")
class Certificate(Node):
    row: strawberry.Private[CertificateRow]
    token: str = strawberry.field(
        description="The compact JWS; verify it with any JOSE library and the JWK Set at "
        "/.well-known/jwks.json."
    )

    @strawberry.field(
        description="An SVG QR code, dark on white with its quiet zone, of the verification "
        "page's link carrying the token (<PUBLIC_BASE_URL>/verify#token=...). A certificate "
        "signed before certificates were fitted to one QR code may be too long for one: an "
        "error with code TOO_LARGE_FOR_QR then (obtain a new one). Drawing it costs "
        f"{QR_SVG_POINTS} points of the query's cost; an operation drawing more codes than "
        "its estimate counted (ten in a list) pays each further one from the per-minute "
        "budget as it is drawn, an error with code RATE_LIMITED past it.",
        metadata={"cost": QR_SVG_POINTS},
    )
    async def qr_svg(self, info: Info) -> str:
        return await resolve.certificate_qr_svg(info.context, self.row.token)

    @strawberry.field(
        description="The same QR code as a base64 PNG (standard alphabet), dark on white with "
        "its quiet zone; null for a certificate too long for one (see qrSvg). Drawing it costs "
        f"{QR_PNG_POINTS} points of the query's cost (paid as qrSvg's past the estimate).",
        metadata={"cost": QR_PNG_POINTS},
    )
    async def qr_png(self, info: Info) -> str | None:
        return await resolve.certificate_qr_png(info.context, self.row.token)

    @strawberry.field(
        description="The printable A4 PDF (Chinese and the holder's language, with the QR "
        "code). The link carries no credential: GET it with 'Authorization: Bearer <access "
        "token>' as the holder, a helper with VIEW_DOCUMENTS or staff. Each download is paid "
        f"from the caller's per-minute query budget ({PDF_POINTS} points; 429 past it). A "
        "certificate too long for a QR code (see qrSvg) answers 409 TOO_LARGE_FOR_QR."
    )
    def pdf_url(self, info: Info) -> str | None:
        base = info.context.settings.public_base_url.rstrip("/")
        return f"{base}/certificates/{self.id}.pdf"

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
    disclosed: list[CertificateClaim] = strawberry.field(
        default_factory=list,
        description="What the token reveals when its signature is genuine: every fact for a "
        "certificate, the chosen ones for a presentation (`claims` holds those only).",
    )


@strawberry.type(
    description="A selective-disclosure presentation (SD-JWT) of a certificate: shows the "
    "chosen facts only; two presentations cannot be linked to each other."
)
class Presentation:
    token: str = strawberry.field(
        description="The SD-JWT: `<JWS>~<disclosure>~...~`, signed with a key of the JWK Set at "
        "/.well-known/jwks.json; verifyDocument and any SD-JWT library check it."
    )
    disclosed: list[CertificateClaim] = strawberry.field(description="The facts it reveals.")
    expires_at: dt.datetime = strawberry.field(description="When it stops being valid.")
    link: strawberry.Private[str]

    @strawberry.field(
        description="An SVG QR code (dark on white, with its quiet zone) of the verification "
        f"page's link carrying the token. Drawing it costs {QR_SVG_POINTS} points of the "
        "query's cost.",
        metadata={"cost": QR_SVG_POINTS},
    )
    async def qr_svg(self, info: Info) -> str:
        return await resolve.presentation_qr_svg(info.context, self.link)

    @strawberry.field(
        description="The same QR code as a base64 PNG (standard alphabet), dark on white. "
        f"Drawing it costs {QR_PNG_POINTS} points of the query's cost.",
        metadata={"cost": QR_PNG_POINTS},
    )
    async def qr_png(self, info: Info) -> str:
        return await resolve.presentation_qr_png(info.context, self.link)


@strawberry.input(description="A certificate to present, and the facts to reveal.")
class PresentCertificateInput:
    certificate_id: strawberry.ID = strawberry.field(description="The certificate.")
    disclose: list[CertificateClaim] = strawberry.field(
        description="The facts the checker may see (at least one); nothing else is readable."
    )


# The success members that hold one certificate or presentation, in the order of the table.
CertificateIssued, CertificateRevoked, CertificatePresented = node_results(
    {
        (Certificate, "certificate"): {
            "CertificateIssued": ("The certificate is signed and stored.", "The new certificate."),
            "CertificateRevoked": (
                "The certificate is revoked; verification now says REVOKED.",
                "The revoked certificate.",
            ),
        },
        (Presentation, "presentation"): {
            "CertificatePresented": (
                "The presentation is signed; show it to the checker before it expires.",
                "The presentation.",
            ),
        },
    }
)


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
PresentCertificateResult = result_union(
    "presentCertificate", CertificatePresented, NotPermitted, ValidationError
)


def presentation(signed: object, public_base_url: str) -> Presentation:
    from signing.sd_jwt import SignedPresentation

    assert isinstance(signed, SignedPresentation)
    return Presentation(
        token=signed.token,
        disclosed=[CertificateClaim(c) for c in signed.disclosed],
        expires_at=signed.expires_at.astimezone(HOME_ZONE),
        link=qr.verification_link(public_base_url, signed.token),
    )


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
        disclosed=[CertificateClaim(c) for c in result.disclosed],
    )


@strawberry.type(description="Mutations on signed documents.")
class CertificateMutations:
    @mutation(
        "Sign a passport-information certificate for a permanent resident you may act for with "
        "VIEW_DOCUMENTS, valid for CERTIFICATE_VALIDITY_DAYS but not past the PR card's last "
        "valid day. It lists the current passport and the latest superseded ones (at most "
        "CERTIFICATE_MAX_EARLIER_PASSPORTS, fewer when its QR code would not hold them) and "
        "states how many earlier ones it leaves out (earlierPassportsNotListed). Earlier "
        "certificates stay valid until a new passport is bound."
    )
    async def issue_passport_certificate(
        self, info: Info, person_id: PersonIdArg
    ) -> IssuePassportCertificateResult:
        return await resolve.issue(info.context, pk_of(person_id, "Person"))

    @mutation(
        "Officers and admins, the holder, or a helper with VIEW_DOCUMENTS: revoke a "
        "certificate, with a reason (a copy given away, a phone lost); its holder and the "
        "helpers who see their documents are told (CERTIFICATE_REVOKED). A certificate revoked "
        "already is answered as it is, its first reason kept."
    )
    async def revoke_certificate(
        self,
        info: Info,
        input: Annotated[
            RevokeCertificateInput,
            strawberry.argument(description="The certificate and the reason."),
        ],
    ) -> RevokeCertificateResult:
        return await resolve.revoke(
            info.context, pk_of(input.certificate_id, "Certificate"), input.reason
        )

    @mutation(
        "The holder, or a helper with VIEW_DOCUMENTS: a short-lived presentation of a valid "
        "certificate that reveals only the chosen facts (PRESENTATION_MINUTES)."
    )
    async def present_certificate(
        self,
        info: Info,
        input: Annotated[
            PresentCertificateInput, strawberry.argument(description="What to present.")
        ],
    ) -> PresentCertificateResult:
        signed = await resolve.present(
            info.context,
            pk_of(input.certificate_id, "Certificate"),
            [c.value for c in input.disclose],
        )
        return presentation(signed, info.context.settings.public_base_url)

    @mutation(
        "Admins: start signing with the published next key and publish a fresh next key; "
        "retired keys stay published until their last certificate expires.",
        success=lambda keys: SigningKeyRotated(active_key_id=keys[0], next_key_id=keys[1]),
    )
    async def rotate_signing_key(self, info: Info) -> RotateSigningKeyResult:
        return await resolve.rotate(info.context)
