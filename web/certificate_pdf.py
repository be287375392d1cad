"""GET /certificates/{id}.pdf: the printable certificate, for the bearer of an access token who
may see the holder's documents.

The link (`Certificate.pdfUrl`) carries no credential: the access token travels in
`Authorization: Bearer`, as for /graphql. Without a token, or with one that is not valid, the
answer is 401 (so clients refresh); an unknown certificate and one the caller may not see get
the same 404, so the route tells strangers nothing about which certificates exist. The PDF is
personal data: `Cache-Control: no-store`, never kept by a browser or a proxy.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from domain.languages import negotiate
from domain.messages import N_, Message
from resolvers import certificates
from resolvers.context import Services
from resolvers.unit_of_work import write_recorded_reads
from schema.common import pk_of
from schema.limits import PDF_POINTS
from translations import render
from web.authentication import Unauthenticated, authenticate
from web.context_factory import build_context
from web.logging_setup import accepted_request_id, request_id
from web.operation_limits import Refusal, charge

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
NOT_FOUND = N_("No certificate here, or not one you may see.")
NO_TOKEN = N_("Send the access token as 'Authorization: Bearer <token>'.")


def _problem(
    status: int,
    code: str,
    message: Message,
    language: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in the JSON shape of the service's other routes, its message in `language`
    (negotiated from Accept-Language) and a code that never changes with it."""
    body = orjson.dumps({"error": {"code": code, "message": render(message, language)}})
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def _unauthenticated(message: Message, language: str, invalid_token: bool) -> Response:
    challenge = 'Bearer realm="certificates"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    return _problem(401, "UNAUTHENTICATED", message, language, {"WWW-Authenticate": challenge})


async def certificate_pdf(request: Request) -> Response:
    """The PDF of the certificate `{id}` (its global ID), or 401 / 404 / 409 / 429."""
    services: Services = request.app.state.services
    rid = request_id.get() or accepted_request_id(request.headers.get("x-request-id"))
    language = negotiate(request.headers.get("accept-language"))
    try:
        identity = await authenticate(services, request.headers.get("authorization"))
    except Unauthenticated as exc:
        return _unauthenticated(exc.message, language, invalid_token=True)
    if identity is None:
        return _unauthenticated(NO_TOKEN, language, invalid_token=False)
    ctx = build_context(services, request, identity, rid)
    # Printing takes a few hundred milliseconds of CPU: paid from the caller's per-minute
    # budget like a costly query, before anything is looked up.
    paid = await charge(ctx, PDF_POINTS)
    if isinstance(paid, Refusal):
        headers = {"Retry-After": str(paid.retry_after)} if paid.retry_after else None
        return _problem(paid.status, paid.code, paid.message, language, headers)
    try:
        body = await certificates.certificate_pdf(
            ctx, pk_of(request.path_params["id"], "Certificate")
        )
    except certificates.NotPrintable as exc:
        return _problem(409, exc.code, exc.message, language)
    finally:
        # The read is in the holder's trail even if sending the PDF fails.
        await write_recorded_reads(ctx)
    if body is None:
        return _problem(404, "NOT_FOUND", NOT_FOUND, language)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            **NO_STORE,
            "Content-Disposition": 'inline; filename="passport-information-certificate.pdf"',
            "X-Request-Id": rid,
        },
    )
