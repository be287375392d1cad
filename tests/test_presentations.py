"""Selective disclosure through HTTP: presentCertificate makes an SD-JWT (RFC 9901) that reveals
only the chosen facts; verifyDocument checks it (disclosures, expiry, revocation of the
certificate behind it) and returns only what it discloses; the IETF reference implementation
(`sd-jwt` on PyPI) verifies our presentations and we verify its; the offline command and a QR
code scanner read them; who may present.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from jwcrypto import jwk
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from persistence.models import KeyPurpose
from schema.common import from_global_id, to_global_id
from tests.conftest import MovableClock, gql, sign_in, sign_up, unique_email
from tests.helpers import ACTIONS, NOT_PERMITTED, PASSWORD, REVOKE_DELEGATION
from tests.test_certificates import (
    add_active_dependant,
    adult_birth_date,
    as_datetime,
    header_of,
    issue_ok,
    jwks_of,
    linked_account,
    minor_birth_date,
    payload_of,
    pr_holder,
    registered_person,
    revoke,
    rotate,
    tamper,
    valid_card,
)

ROOT = Path(__file__).resolve().parents[1]
ALL_CLAIMS = [
    "NAME",
    "BIRTH_DATE",
    "NATIONALITY",
    "PR_CARD_NUMBER",
    "PR_CARD_VALIDITY",
    "CURRENT_PASSPORT",
    "PASSPORT_HISTORY",
]
VISIBLE = {"iss", "iat", "exp", "jti", "vct", "_sd_alg", "_sd"}

PRESENT = """
mutation($input: PresentCertificateInput!) {
  presentCertificate(input: $input) {
    __typename
    ... on CertificatePresented { presentation { token disclosed qrSvg qrPng expiresAt } }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
  }
}"""

VERIFY = """
query($token: String!) {
  verifyDocument(token: $token) {
    valid failure keyId issuedAt expiresAt claims disclosed certificateId
  }
}"""


# ---------------------------------------------------------------------------------- helpers


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parts_of(presentation: str) -> tuple[str, list[str], str]:
    """(issuer-signed JWT, disclosures, key-binding JWT) of a compact SD-JWT."""
    jwt, *disclosures, key_binding = presentation.split("~")
    return jwt, disclosures, key_binding


def everything_readable(presentation: str) -> str:
    """The presentation as sent, plus every part of it base64url-decoded (and its JSON with
    non-ASCII letters unescaped, so that "Müller" is found either way): all a verifier, or
    anyone who photographs the QR code, can read."""
    jwt, disclosures, _ = parts_of(presentation)
    readable = [presentation]
    for piece in [*jwt.split("."), *disclosures]:
        try:
            decoded = b64d(piece).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            continue
        readable.append(decoded)
        try:
            readable.append(json.dumps(json.loads(decoded), ensure_ascii=False))
        except ValueError:
            continue
    return "\n".join(readable)


async def present(
    client: httpx.AsyncClient, token: str | None, certificate_id: str, disclose: list[str]
) -> dict:
    body = await gql(
        client, PRESENT, {"input": {"certificateId": certificate_id, "disclose": disclose}}, token
    )
    assert "errors" not in body, body
    return body["data"]["presentCertificate"]


async def present_ok(
    client: httpx.AsyncClient, token: str, certificate_id: str, disclose: list[str]
) -> dict:
    result = await present(client, token, certificate_id, disclose)
    assert result["__typename"] == "CertificatePresented", result
    return result["presentation"]


async def verify_document(
    client: httpx.AsyncClient, document: str, token: str | None = None
) -> dict:
    body = await gql(client, VERIFY, {"token": document}, token)
    assert "errors" not in body, body
    return body["data"]["verifyDocument"]


def reference_verify(presentation: str, jwks: dict) -> dict:
    """The IETF reference implementation checks the issuer signature with the key the header
    names (from the published set) and every disclosure's digest; returns what it discloses."""

    def issuer_key(issuer: str, header: dict) -> jwk.JWK:
        (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
        assert header["alg"] == key["alg"]
        return jwk.JWK(**key)

    return SDJWTVerifier(presentation, issuer_key).get_verified_payload()


def decode_qr_png(png_base64: str, folder: Path) -> str:
    """What a QR scanner (zbar, Debian's zbar-tools) reads from the PNG."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        message = "zbarimg (Debian zbar-tools) is not installed; `make test` installs it"
        if os.environ.get("CI"):
            raise AssertionError(message)  # in CI a missing tool is a broken set-up
        pytest.skip(message)
    path = folder / "qr.png"
    path.write_bytes(base64.b64decode(png_base64, validate=True))
    read = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sbinary", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return read.stdout.decode().rstrip("\n")


# ------------------------------------------------------------------------------ the bank


async def test_a_bank_sees_the_name_and_current_passport_and_nothing_else(
    client: httpx.AsyncClient, app: Any, tmp_path: Path
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    facts = payload_of(certificate["token"])
    presented = await present_ok(client, token, certificate["id"], ["CURRENT_PASSPORT", "NAME"])
    assert presented["disclosed"] == ["NAME", "CURRENT_PASSPORT"]
    document = presented["token"]
    settings = app.state.services.settings
    expires_at = as_datetime(presented["expiresAt"])
    expected_lifetime = timedelta(minutes=settings.presentation_minutes)
    assert abs(expires_at - (datetime.now(UTC) + expected_lifetime)) < timedelta(minutes=1)

    # An SD-JWT: the issuer-signed JWT, one disclosure per chosen fact, no key binding.
    jwt, disclosures, key_binding = parts_of(document)
    assert len(disclosures) == 2 and key_binding == ""
    header = header_of(jwt)
    assert header["typ"] == "dc+sd-jwt"
    assert header["alg"] == header_of(certificate["token"])["alg"]
    jwks = await jwks_of(client)
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}

    # The always-visible claims hold no personal fact: seven digests, whatever is disclosed.
    visible = payload_of(jwt)
    assert set(visible) == VISIBLE, visible
    assert len(visible["_sd"]) == len(ALL_CLAIMS)
    assert visible["_sd_alg"] == "sha-256"
    assert visible["iss"] == settings.issuer
    assert visible["jti"] != facts["jti"]
    assert visible["exp"] == int(expires_at.timestamp())

    # The bank (no account) asks the service.
    verification = await verify_document(client, document)
    assert verification["valid"] is True, verification
    assert verification["failure"] is None
    assert verification["disclosed"] == ["NAME", "CURRENT_PASSPORT"]
    assert verification["keyId"] == header["kid"]
    assert verification["certificateId"] is None
    (current,) = [p for p in facts["passports"] if p["current"]]
    assert verification["claims"] == {
        "iss": settings.issuer,
        "iat": visible["iat"],
        "exp": visible["exp"],
        "jti": visible["jti"],
        "vct": "passport-information",
        "name": facts["name"],
        "currentPassport": {
            "number": current["number"],
            "issuingCountry": current["issuingCountry"],
            "validUntil": current["validUntil"],
            "boundFrom": current["boundFrom"],
        },
    }

    # ... and learns nothing else: no undisclosed value is anywhere in what it holds, even
    # decoded, nor in the QR code.
    (superseded,) = [p for p in facts["passports"] if not p["current"]]
    undisclosed = [
        facts["sub"],
        facts["jti"],
        facts["birthDate"],
        facts["nationality"],
        facts["prCard"]["number"],
        facts["prCard"]["issuedOn"],
        facts["prCard"]["validUntil"],
        superseded["number"],
        superseded["validUntil"],
        superseded["boundFrom"],
        superseded["boundUntil"],
        person["id"],
        certificate["id"],
    ]
    readable = everything_readable(document)
    assert facts["name"]["surname"] in readable and current["number"] in readable
    # (A value that is also part of a disclosed fact, such as the current passport's issuing
    # country being the nationality, is disclosed by that fact.)
    shown = json.dumps(verification["claims"], ensure_ascii=False)
    for value in undisclosed:
        if value not in shown:
            assert value not in readable, f"{value!r} is readable in the presentation"
    assert superseded["number"] not in shown and facts["birthDate"] not in shown
    for name in ("birthDate", "nationality", "prCard", "passportHistory", "sub", "passports"):
        assert f'"{name}"' not in readable, f"{name} is named in the presentation"
    scanned = decode_qr_png(presented["qrPng"], tmp_path)
    assert scanned == f"{settings.public_base_url.rstrip('/')}/verify#token={document}"
    assert presented["qrSvg"].lstrip().startswith("<svg")

    # The IETF reference implementation agrees, with the published keys alone.
    assert reference_verify(document, jwks) == verification["claims"]


async def test_each_fact_is_disclosed_on_its_own(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    facts = payload_of(certificate["token"])
    jwks = await jwks_of(client)
    (current,) = [p for p in facts["passports"] if p["current"]]
    expected = {
        "NAME": ("name", facts["name"]),
        "BIRTH_DATE": ("birthDate", facts["birthDate"]),
        "NATIONALITY": ("nationality", facts["nationality"]),
        "PR_CARD_NUMBER": ("prCardNumber", facts["prCard"]["number"]),
        "PR_CARD_VALIDITY": (
            "prCardValidity",
            {k: facts["prCard"][k] for k in ("issuedOn", "validUntil")},
        ),
        "CURRENT_PASSPORT": (
            "currentPassport",
            {k: current[k] for k in ("number", "issuingCountry", "validUntil", "boundFrom")},
        ),
        "PASSPORT_HISTORY": (
            "passportHistory",
            {
                "passports": [
                    {
                        k: p[k]
                        for k in (
                            "number",
                            "issuingCountry",
                            "validUntil",
                            "boundFrom",
                            "boundUntil",
                        )
                    }
                    for p in facts["passports"]
                    if not p["current"]
                ],
                "earlierNotListed": facts["earlierPassportsNotListed"],
            },
        ),
    }
    for claim, (name, value) in expected.items():
        presented = await present_ok(client, token, certificate["id"], [claim])
        verification = await verify_document(client, presented["token"])
        assert verification["valid"] is True, verification
        assert verification["disclosed"] == [claim]
        facts_shown = {k: v for k, v in verification["claims"].items() if k not in VISIBLE}
        assert facts_shown == {name: value}, claim
        assert reference_verify(presented["token"], jwks)[name] == value

    # Everything at once is the certificate's facts again; duplicates are one choice.
    presented = await present_ok(client, token, certificate["id"], [*ALL_CLAIMS, "NAME"])
    assert presented["disclosed"] == ALL_CLAIMS
    verification = await verify_document(client, presented["token"])
    assert verification["disclosed"] == ALL_CLAIMS
    assert {k: v for k, v in verification["claims"].items() if k not in VISIBLE} == {
        name: value for name, value in expected.values()
    }


async def test_a_full_certificate_discloses_every_fact(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    verification = await verify_document(client, certificate["token"])
    assert verification["valid"] is True, verification
    assert verification["disclosed"] == ALL_CLAIMS
    assert verification["claims"] == payload_of(certificate["token"])
    garbage = await verify_document(client, "not.a.token~")
    assert garbage["valid"] is False and garbage["disclosed"] == []


async def test_two_presentations_cannot_be_linked(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    # Someone else: a person with a PR card whose helper holds VIEW_DOCUMENTS.
    officer = await sign_in(client, "officer@demo.test")
    other_facts, other_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card(), surname="Otherson"
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, helper, other_facts, ["VIEW_DOCUMENTS"])
    other_certificate = await issue_ok(client, helper, other_id)

    first = await present_ok(client, token, certificate["id"], ["NAME"])
    second = await present_ok(client, token, certificate["id"], ["NAME"])
    stranger = await present_ok(client, helper, other_certificate["id"], ["NAME"])

    def visible(presentation: dict) -> tuple[dict, dict, list[str]]:
        jwt, disclosures, _ = parts_of(presentation["token"])
        return header_of(jwt), payload_of(jwt), disclosures

    (h1, p1, d1), (h2, p2, d2), (h3, p3, _) = map(visible, (first, second, stranger))
    # The same person twice has nothing in common but what everyone's presentations share
    # (the time of day aside): the same header, the same claim names, as many digests.
    assert h1 == h2 == h3
    assert set(p1) == set(p2) == set(p3) == VISIBLE
    assert len(p1["_sd"]) == len(p3["_sd"]) == len(ALL_CLAIMS)
    assert p1["jti"] != p2["jti"]
    assert not set(p1["_sd"]) & set(p2["_sd"]), "fresh salts give fresh digests"
    assert not set(d1) & set(d2)
    shared = {k for k in p1 if p1[k] == p2[k]}
    assert shared <= {"iss", "vct", "_sd_alg", "iat", "exp"}, shared
    for key in ("iss", "vct", "_sd_alg"):
        assert p1[key] == p3[key]
    # No visible value repeats anything of the certificate (its sub, jti, a fact).
    certificate_values = json.dumps(payload_of(certificate["token"]))
    assert p1["jti"] not in certificate_values
    assert not any(digest in certificate_values for digest in p1["_sd"])


# ------------------------------------------------------------------------------ who may


async def test_a_helper_with_view_documents_presents_and_is_audited(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    delegation = await add_active_dependant(
        client, helper, facts, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]
    )
    certificate = await issue_ok(client, helper, person_id)
    presented = await present_ok(client, helper, certificate["id"], ["NAME", "BIRTH_DATE"])
    verification = await verify_document(client, presented["token"])
    assert verification["valid"] is True, verification
    assert verification["claims"]["birthDate"] == facts["birthDate"]

    # The person, once they have an account of their own, sees who presented what of theirs.
    own = await linked_account(client, facts)
    body = await gql(client, ACTIONS, token=own)
    assert "errors" not in body, body
    events = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    (event,) = [e for e in events if e["action"] == "PRESENT_CERTIFICATE"]
    assert event["target"] == payload_of(certificate["token"])["jti"]
    assert event["actor"]["kind"] == "HELPER" and event["onBehalf"] is True
    assert event["delegation"]["id"] == delegation["id"]
    # The holder's own presentations are not recorded as actions on their behalf.
    await present_ok(client, own, certificate["id"], ["NAME"])
    body = await gql(client, ACTIONS, token=own)
    events = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    assert len([e for e in events if e["action"] == "PRESENT_CERTIFICATE"]) == 1

    # Once the delegation ends, the helper presents nothing more.
    body = await gql(client, REVOKE_DELEGATION, {"id": delegation["id"]}, helper)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
    result = await present(client, helper, certificate["id"], ["NAME"])
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


async def test_a_helper_without_view_documents_and_strangers_may_not_present(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    certificate = await issue_ok(client, officer, person_id)
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, helper, facts, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"])
    for who in (helper, (await sign_up(client, unique_email(), PASSWORD))["accessToken"]):
        result = await present(client, who, certificate["id"], ["NAME"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    # An unknown certificate looks the same; no session is UNAUTHENTICATED.
    made_up = to_global_id("Certificate", 2_000_000_000)
    pr_token, _ = await pr_holder(client)
    assert await present(client, pr_token, made_up, ["NAME"]) == {
        "__typename": "NotPermitted",
        "message": NOT_PERMITTED,
    }
    body = await gql(
        client, PRESENT, {"input": {"certificateId": certificate["id"], "disclose": ["NAME"]}}
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_choosing_nothing_is_a_validation_error(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    result = await present(client, token, certificate["id"], [])
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "disclose" and result["message"]
    body = await gql(
        client,
        PRESENT,
        {"input": {"certificateId": certificate["id"], "disclose": ["SHOE_SIZE"]}},
        token,
    )
    assert body["errors"], body  # not an enum value: refused by GraphQL itself


# ------------------------------------------------------------------ revocation and expiry


async def test_a_revoked_certificates_presentation_verifies_as_revoked(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    presented = await present_ok(client, token, certificate["id"], ["NAME"])
    officer = await sign_in(client, "officer@demo.test")

    # An officer holding the presented code finds the certificate behind it; others do not.
    seen = await verify_document(client, presented["token"], officer)
    assert seen["valid"] is True and seen["certificateId"] == certificate["id"], seen
    assert (await verify_document(client, presented["token"], token))["certificateId"] is None

    revoked = await revoke(client, officer, seen["certificateId"], "Reported stolen.")
    assert revoked["__typename"] == "CertificateRevoked", revoked
    verification = await verify_document(client, presented["token"])
    assert verification["valid"] is False
    assert verification["failure"] == "REVOKED", verification
    assert verification["disclosed"] == ["NAME"]
    # A revoked certificate is not presented again.
    result = await present(client, token, certificate["id"], ["NAME"])
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "certificateId"


async def test_a_presentation_expires_after_its_minutes(
    client: httpx.AsyncClient, clock: MovableClock, app: Any
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    presented = await present_ok(client, token, certificate["id"], ["NATIONALITY"])
    exp = payload_of(parts_of(presented["token"])[0])["exp"]
    minutes = app.state.services.settings.presentation_minutes
    assert exp - payload_of(parts_of(presented["token"])[0])["iat"] == minutes * 60

    clock.pinned = datetime.fromtimestamp(exp - 1, tz=UTC)
    assert (await verify_document(client, presented["token"]))["valid"] is True
    clock.pinned = datetime.fromtimestamp(exp, tz=UTC)
    verification = await verify_document(client, presented["token"])
    assert verification["valid"] is False
    assert verification["failure"] == "EXPIRED", verification
    assert verification["disclosed"] == ["NATIONALITY"]

    # A certificate that expires within a presentation's lifetime is not presented: the
    # presentation would outlive it, or carry its (per-person) expiry.
    certificate_exp = payload_of(certificate["token"])["exp"]
    clock.pinned = datetime.fromtimestamp(certificate_exp - minutes * 60 + 1, tz=UTC)
    token = await sign_in(client, "pr@demo.test")  # a session of that time
    result = await present(client, token, certificate["id"], ["NAME"])
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "certificateId"
    clock.pinned = datetime.fromtimestamp(certificate_exp - minutes * 60 - 60, tz=UTC)
    await present_ok(client, token, certificate["id"], ["NAME"])


async def test_presentations_are_signed_by_the_active_key_after_a_rotation(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    admin = await sign_in(client, "admin@demo.test")
    rotated = await rotate(client, admin)
    assert rotated["__typename"] == "SigningKeyRotated", rotated
    presented = await present_ok(client, token, certificate["id"], ["NAME"])
    # The active key, not the certificate's: every presentation made now names the same key.
    assert header_of(presented["token"])["kid"] == rotated["activeKeyId"]
    verification = await verify_document(client, presented["token"])
    assert verification["valid"] is True, verification


# ----------------------------------------------------------------------------- tampering


async def test_altered_presentations_fail(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    presented = await present_ok(client, token, certificate["id"], ["NAME", "CURRENT_PASSPORT"])
    other = await present_ok(client, token, certificate["id"], ["BIRTH_DATE", "NAME"])
    document = presented["token"]
    jwt, disclosures, _ = parts_of(document)
    _, other_disclosures, _ = parts_of(other["token"])

    async def failure(altered: str) -> str | None:
        verification = await verify_document(client, altered)
        if verification["valid"]:
            return None
        return verification["failure"]

    # A changed character in a disclosure, in the payload, in the signature.
    start = len(jwt) + 1
    for index in (start + 5, start + len(disclosures[0]) // 2, len(jwt) // 2, len(jwt) - 5):
        assert await failure(tamper(document, index)) in ("BAD_SIGNATURE", "MALFORMED"), index
    # A disclosure of another presentation (another salt) is not one this JWT signed.
    swapped = "~".join([jwt, disclosures[0], other_disclosures[0], ""])
    assert await failure(swapped) == "BAD_SIGNATURE"
    # The same disclosure twice, a key-binding JWT we never made, an empty disclosure.
    assert await failure("~".join([jwt, disclosures[0], disclosures[0], ""])) == "MALFORMED"
    assert await failure(document + jwt) == "MALFORMED"
    assert await failure(f"{jwt}~~{disclosures[0]}~") == "MALFORMED"
    # A disclosure made up by the holder, of a fact with a fresh salt: not signed.
    forged = (
        base64.urlsafe_b64encode(
            json.dumps(["c2FsdHNhbHRzYWx0", "birthDate", "1999-01-01"]).encode()
        )
        .decode()
        .rstrip("=")
    )
    assert await failure("~".join([jwt, forged, ""])) == "BAD_SIGNATURE"
    # Leaving disclosures out is the holder's right: still genuine, showing less.
    fewer = await verify_document(client, "~".join([jwt, disclosures[1], ""]))
    assert fewer["valid"] is True and fewer["disclosed"] == ["CURRENT_PASSPORT"], fewer
    assert "name" not in fewer["claims"]


# ------------------------------------------------------------------------ interoperability


async def test_we_verify_what_the_reference_implementation_issues(
    client: httpx.AsyncClient, app: Any
) -> None:
    """The IETF reference implementation, given our document key, issues an SD-JWT of its own
    making (its salts, its encoding, decoys) and a holder's presentation of two facts with its
    holder code: verifyDocument accepts it and reports just those two facts."""
    ring = app.state.services.keys
    await ring.reload()
    key = ring.active(KeyPurpose.DOCUMENT)
    now = int(datetime.now(UTC).timestamp())
    user_claims = {
        "iss": app.state.services.settings.issuer,
        "iat": now,
        "exp": now + 600,
        "jti": "reference-implementation-test",
        "vct": "passport-information",
        SDObj("name"): {"surname": "Reference", "givenNames": "Ada"},
        SDObj("nationality"): "NLD",
        SDObj("birthDate"): "1990-05-05",
    }
    issuer = SDJWTIssuer(
        user_claims,
        key.private,
        sign_alg=header_of_key_alg(key.public_jwk),
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": key.kid},
    )
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    holder.create_presentation({"name": True, "nationality": True})
    verification = await verify_document(client, holder.sd_jwt_presentation)
    assert verification["valid"] is True, verification
    assert verification["disclosed"] == ["NAME", "NATIONALITY"]
    assert verification["claims"]["name"] == {"surname": "Reference", "givenNames": "Ada"}
    assert "birthDate" not in verification["claims"]
    assert "1990-05-05" not in everything_readable(holder.sd_jwt_presentation)


def header_of_key_alg(public_jwk: dict) -> str:
    return public_jwk["alg"]


# ------------------------------------------------------------------------------- offline


async def test_the_offline_command_verifies_presentations(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    presented = await present_ok(client, token, certificate["id"], ["PR_CARD_NUMBER"])
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(await jwks_of(client)))

    async def run(argument: str) -> tuple[int, dict]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "signing",
            "verify",
            argument,
            "--jwks",
            str(jwks_file),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None, err
        return process.returncode, json.loads(out)

    status, report = await run(presented["token"])
    assert status == 0, report
    assert report["valid"] is True and report["kind"] == "presentation"
    assert report["disclosed"] == ["PR_CARD_NUMBER"]
    assert report["claims"]["prCardNumber"] == payload_of(certificate["token"])["prCard"]["number"]
    assert "name" not in report["claims"]
    # The QR code's link works as well as the bare token.
    status, report = await run(f"http://127.0.0.1:1/verify#token={presented['token']}")
    assert status == 0 and report["disclosed"] == ["PR_CARD_NUMBER"], report
    # The full certificate: every fact.
    status, report = await run(certificate["token"])
    assert status == 0 and report["kind"] == "certificate", report
    assert report["disclosed"] == ALL_CLAIMS
    # An altered presentation fails.
    jwt, disclosures, _ = parts_of(presented["token"])
    status, report = await run("~".join([jwt, tamper(disclosures[0], 3), ""]))
    assert status == 1 and report["valid"] is False, report


async def test_presentations_are_forgotten_once_their_certificate_has_expired(
    client: httpx.AsyncClient,
) -> None:
    """Upkeep's purge: which certificate a presentation showed is kept while the certificate
    is valid (revocation, officers), and forgotten once it has expired."""
    from persistence import presentations as presentation_store
    from persistence.models import Certificate, CertificatePresentation

    token, person = await pr_holder(client)
    older = await issue_ok(client, token, person["id"])
    younger = await issue_ok(client, token, person["id"])
    jtis = {}
    for certificate in (older, younger):
        shown = await present_ok(client, token, certificate["id"], ["NAME"])
        jtis[certificate["id"]] = payload_of(parts_of(shown["token"])[0])["jti"]
    # The older certificate expired a day before the younger one does.
    younger_exp = datetime.fromtimestamp(payload_of(younger["token"])["exp"], tz=UTC)
    older_pk = from_global_id(older["id"], "Certificate")
    assert older_pk is not None
    await Certificate.filter(id=int(older_pk[1])).update(expires_at=younger_exp - timedelta(days=1))

    assert await presentation_store.forget_expired(younger_exp - timedelta(hours=1)) >= 1
    assert not await CertificatePresentation.exists(jti=jtis[older["id"]])
    assert await CertificatePresentation.exists(jti=jtis[younger["id"]])
    assert await presentation_store.forget_expired(younger_exp + timedelta(seconds=1)) >= 1
    assert not await CertificatePresentation.exists(jti=jtis[younger["id"]])


async def test_undoing_a_wrong_link_revokes_what_the_account_obtained_as_the_person(
    client: httpx.AsyncClient,
) -> None:
    """Someone with a photocopy of a passport page linked an account to the person and took a
    certificate and a presentation of it; an officer undoes the link: both now verify as
    REVOKED. A certificate staff issued for the person stays valid."""
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card()
    )
    impostor = await linked_account(client, facts)
    taken = await issue_ok(client, impostor, person_id)
    shown = await present_ok(client, impostor, taken["id"], ["CURRENT_PASSPORT"])
    by_staff = await issue_ok(client, officer, person_id)

    body = await gql(
        client,
        "mutation($id: ID!) { unlinkIdentity(personId: $id) { __typename } }",
        {"id": person_id},
        officer,
    )
    assert body["data"] and body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked", body
    for document in (taken["token"], shown["token"]):
        verification = await verify_document(client, document)
        assert (verification["valid"], verification["failure"]) == (False, "REVOKED"), verification
    assert (await verify_document(client, by_staff["token"]))["valid"] is True
