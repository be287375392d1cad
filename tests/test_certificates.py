"""Signed passport-information certificates through HTTP: issuing, the published JWK Set,
verification (by the service and by a second, independent JOSE implementation, joserfc),
tampering and forgery, expiry, revocation, key rotation, and who may do what.

Certificates are issued for the demo permanent resident (pr@demo.test) or for persons a test
creates itself (an officer registers them and issues a PR card; a fresh account links to them
or adds them as a dependant), so tests never depend on each other's data.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet, OKPKey
from joserfc.jwt import JWTClaimsRegistry

from domain.dates import HOME_ZONE as SHANGHAI
from persistence.models import AuditEvent, KeyPurpose, KeyState, SigningKey
from schema.common import from_global_id, to_global_id
from tests.conftest import MovableClock, gql, sign_in, sign_up, unique_email
from tests.helpers import (
    ACTIONS,
    BIND_PASSPORT,
    ISSUE_CARD,
    NOT_PERMITTED,
    OFFICE_CODES,
    PASSWORD,
    RESPOND,
    REVOKE_DELEGATION,
    add_dependant,
    beijing_today,
    linked_applicant,
    other_office_officer,
    passport_number,
    person_input,
    register_person_as,
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# ------------------------------------------------------------------------ GraphQL documents

CERTIFICATE_FIELDS = "id token qrSvg pdfUrl issuedAt expiresAt"

ISSUE = f"""
mutation($id: ID!) {{
  issuePassportCertificate(personId: $id) {{
    __typename
    ... on CertificateIssued {{ certificate {{ {CERTIFICATE_FIELDS} }} }}
    ... on NotPermanentResident {{ message }}
    ... on NotPermitted {{ message }}
  }}
}}"""

VERIFY = """
query($token: String!) {
  verifyDocument(token: $token) { valid failure keyId issuedAt expiresAt claims }
}"""

REVOKE = f"""
mutation($input: RevokeCertificateInput!) {{
  revokeCertificate(input: $input) {{
    __typename
    ... on CertificateRevoked {{ certificate {{ {CERTIFICATE_FIELDS} revokedAt }} }}
    ... on NotPermitted {{ message }}
    ... on ValidationError {{ message field }}
  }}
}}"""

ROTATE = """
mutation {
  rotateSigningKey {
    __typename
    ... on SigningKeyRotated { activeKeyId nextKeyId }
    ... on NotPermitted { message }
  }
}"""

NODE = f"""
query($id: ID!) {{ node(id: $id) {{ id ... on Certificate {{ {CERTIFICATE_FIELDS} }} }} }}"""

ME = """
{ viewer { person {
    id surname givenNames nationality birthDate
    permanentResidentCard { number issuedOn validUntil }
    passports { number issuingCountry validUntil current boundFrom boundUntil }
} } }"""

# ----------------------------------------------------------------------------- JOSE helpers


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_of(token: str) -> dict:
    return json.loads(b64d(token.split(".")[0]))


def payload_of(token: str) -> dict:
    return json.loads(b64d(token.split(".")[1]))


def jose_verify(token: str, jwks: dict, now: datetime | None = None) -> tuple[dict, dict]:
    """Verify with joserfc (not the library the service uses): signature with the published
    key named by `kid`, then the registered claims. Raises JoseError when anything fails."""
    with warnings.catch_warnings():
        # joserfc flags "EdDSA" as deprecated by RFC 9864 in favour of "Ed25519": expected.
        warnings.simplefilter("ignore", SecurityWarning)
        keys = KeySet.import_key_set(jwks)
        verified = jws.deserialize_compact(token, keys, algorithms=["EdDSA", "ES256"])
    claims = json.loads(verified.payload)
    moment = int((now or datetime.now(UTC)).timestamp())
    JWTClaimsRegistry(
        now=moment,
        iss={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
        iat={"essential": True},
        exp={"essential": True},
    ).validate(claims)
    return verified.headers(), claims


def jose_sign(header: dict, payload: bytes, key: Any, algorithms: list[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, payload, key, algorithms=algorithms)


def flipped(char: str) -> str:
    """Another base64url character differing from `char` in its lowest bit only."""
    return B64URL[B64URL.index(char) ^ 1] if char in B64URL else "A"


def tamper(token: str, index: int) -> str:
    return token[:index] + flipped(token[index]) + token[index + 1 :]


def refused(original: str, altered: str, verification: dict) -> bool:
    """Whether verifyDocument rightly refused an altered token: BAD_SIGNATURE or MALFORMED,
    or UNKNOWN_KEY when the change landed in the header's kid."""
    if verification["valid"] or verification["claims"] is not None:
        return False
    if verification["failure"] in ("BAD_SIGNATURE", "MALFORMED"):
        return True
    if verification["failure"] == "UNKNOWN_KEY":
        try:
            return header_of(altered).get("kid") != header_of(original)["kid"]
        except ValueError:
            return False
    return False


def part_bounds(token: str) -> list[tuple[int, int]]:
    """(start, end) of the header, payload and signature parts in the token."""
    bounds, start = [], 0
    for part in token.split("."):
        bounds.append((start, start + len(part)))
        start += len(part) + 1
    return bounds


# ------------------------------------------------------------------------------ HTTP helpers


async def jwks_of(client: httpx.AsyncClient) -> dict:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    return response.json()


def kids(jwks: dict) -> set[str]:
    return {key["kid"] for key in jwks["keys"]}


async def issue(client: httpx.AsyncClient, token: str | None, person_id: str) -> dict:
    body = await gql(client, ISSUE, {"id": person_id}, token)
    assert "errors" not in body, body
    return body["data"]["issuePassportCertificate"]


async def issue_ok(client: httpx.AsyncClient, token: str, person_id: str) -> dict:
    result = await issue(client, token, person_id)
    assert result["__typename"] == "CertificateIssued", result
    return result["certificate"]


async def verify_document(client: httpx.AsyncClient, document: str) -> dict:
    body = await gql(client, VERIFY, {"token": document})
    assert "errors" not in body, body
    return body["data"]["verifyDocument"]


async def revoke(client: httpx.AsyncClient, token: str | None, certificate_id: str, reason: str):
    body = await gql(
        client, REVOKE, {"input": {"certificateId": certificate_id, "reason": reason}}, token
    )
    assert "errors" not in body, body
    return body["data"]["revokeCertificate"]


async def rotate(client: httpx.AsyncClient, token: str | None) -> dict:
    body = await gql(client, ROTATE, token=token)
    assert "errors" not in body, body
    return body["data"]["rotateSigningKey"]


async def node(client: httpx.AsyncClient, token: str | None, node_id: str) -> dict | None:
    body = await gql(client, NODE, {"id": node_id}, token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def revocations_told(client: httpx.AsyncClient, token: str) -> list[str]:
    """The certificates the account's inbox says were revoked (CERTIFICATE_REVOKED)."""
    inbox = await gql(
        client,
        "{ viewer { notifications(first: 50) { edges { node { kind subject { id } } } } } }",
        token=token,
    )
    return [
        edge["node"]["subject"]["id"]
        for edge in inbox["data"]["viewer"]["notifications"]["edges"]
        if edge["node"]["kind"] == "CERTIFICATE_REVOKED"
    ]


async def me(client: httpx.AsyncClient, token: str) -> dict:
    body = await gql(client, ME, token=token)
    assert "errors" not in body, body
    return body["data"]["viewer"]["person"]


async def pr_holder(client: httpx.AsyncClient) -> tuple[str, dict]:
    """pr@demo.test's access token and person."""
    token = await sign_in(client, "pr@demo.test")
    return token, await me(client, token)


async def registered_person(
    client: httpx.AsyncClient,
    officer_token: str,
    *,
    birth_date: date,
    card: tuple[date, date] | None,
    surname: str = "Certson",
) -> tuple[dict, str]:
    """An officer registers a person and (optionally) issues a PR card (issuedOn, validUntil).
    Returns the four identity facts and the person's ID."""
    facts = {
        "surname": surname,
        "nationality": "GBR",
        "birthDate": birth_date.isoformat(),
        "passportNumber": passport_number("P"),
    }
    valid_until = (beijing_today() + timedelta(days=3000)).isoformat()
    values = person_input(facts, given_names="Robin", passport_valid_until=valid_until)
    person_id = (await register_person_as(client, officer_token, values))["id"]
    if card is not None:
        values = {
            "personId": person_id,
            "issuedOn": card[0].isoformat(),
            "validUntil": card[1].isoformat(),
        }
        body = await gql(client, ISSUE_CARD, {"input": values}, officer_token)
        issued = body["data"]["issuePermanentResidentCard"]
        assert issued["__typename"] == "PermanentResidentCardIssued", issued
    return facts, person_id


def minor_birth_date() -> date:
    return beijing_today() - timedelta(days=365 * 2 + secrets.randbelow(365 * 6))


def adult_birth_date() -> date:
    return date(1960, 1, 1) + timedelta(days=secrets.randbelow(365 * 30))


def valid_card() -> tuple[date, date]:
    return beijing_today() - timedelta(days=30), beijing_today() + timedelta(days=3650)


async def add_active_dependant(
    client: httpx.AsyncClient, helper_token: str, facts: dict, scopes: list[str]
) -> dict:
    added = await add_dependant(client, helper_token, facts, scopes)
    assert added["__typename"] == "DependantAdded", added
    assert added["delegation"]["status"] == "ACTIVE", added
    return added["delegation"]


async def linked_account(client: httpx.AsyncClient, facts: dict) -> str:
    """A fresh account linked to the person with these identity facts; its access token."""
    return (await linked_applicant(client, facts)).token


def as_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"{text} has no offset"
    return value


# ---------------------------------------------------------------------------- issuing


async def test_permanent_resident_gets_a_signed_certificate_of_its_facts(
    client: httpx.AsyncClient, app: Any
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])

    assert certificate["qrSvg"].lstrip().startswith("<svg")
    assert certificate["qrSvg"].rstrip().endswith("</svg>")
    issued_at = as_datetime(certificate["issuedAt"])
    expires_at = as_datetime(certificate["expiresAt"])
    assert expires_at - issued_at == timedelta(days=90)
    assert abs(issued_at - datetime.now(UTC)) < timedelta(minutes=5)

    document = certificate["token"]
    assert document.count(".") == 2
    header = header_of(document)
    assert header["alg"] == "EdDSA"
    assert isinstance(header["kid"], str) and header["kid"]
    assert isinstance(header["typ"], str) and header["typ"]

    # A second, independent JOSE implementation checks it with the published keys alone.
    jwks = await jwks_of(client)
    jose_header, claims = jose_verify(document, jwks)
    assert jose_header["kid"] == header["kid"]
    assert claims == payload_of(document)

    assert claims["iss"] == app.state.services.settings.issuer
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert claims["iat"] == int(issued_at.timestamp())
    assert claims["exp"] == int(expires_at.timestamp())
    assert claims["exp"] - claims["iat"] == 90 * 24 * 3600

    # The subject is opaque: neither the database id nor the person's global ID.
    sub = claims["sub"]
    decoded = from_global_id(person["id"], "Person")
    assert decoded is not None
    assert isinstance(sub, str) and len(sub) >= 16
    assert not sub.isdigit()
    assert sub not in (person["id"], str(decoded[1]))

    # The facts match what the holder sees of itself.
    assert claims["name"] == {"surname": person["surname"], "givenNames": person["givenNames"]}
    assert claims["nationality"] == person["nationality"]
    assert claims["birthDate"] == person["birthDate"]
    assert claims["prCard"]["number"] == person["permanentResidentCard"]["number"]
    passports = claims["passports"]
    assert len(passports) == 2
    assert sorted(p["number"] for p in passports) == sorted(
        p["number"] for p in person["passports"]
    )
    current = [p for p in passports if p["current"]]
    assert len(current) == 1
    assert current[0]["boundUntil"] is None
    (superseded,) = [p for p in passports if not p["current"]]
    assert superseded["boundUntil"] is not None
    for p in passports:
        assert date.fromisoformat(p["boundFrom"])
    assert date.fromisoformat(superseded["boundUntil"]) <= date.fromisoformat(
        current[0]["boundFrom"]
    )

    # The service agrees, for anyone (no account).
    verification = await verify_document(client, document)
    assert verification["valid"] is True, verification
    assert verification["failure"] is None
    assert verification["keyId"] == header["kid"]
    assert verification["claims"]["jti"] == claims["jti"]
    assert verification["claims"]["sub"] == sub
    assert as_datetime(verification["issuedAt"]) == issued_at
    assert as_datetime(verification["expiresAt"]) == expires_at


async def test_anyone_verifies_with_a_get_request(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    response = await client.get(
        "/graphql",
        params={"query": VERIFY, "variables": json.dumps({"token": document})},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    verification = response.json()["data"]["verifyDocument"]
    assert verification["valid"] is True, verification
    assert verification["claims"]["jti"] == payload_of(document)["jti"]


async def test_jwk_set_is_public_cacheable_and_holds_document_keys_only(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in (
        "application/jwk-set+json",
        "application/json",
    )
    cache_control = response.headers.get("cache-control", "")
    assert "max-age" in cache_control or "no-cache" in cache_control, cache_control
    jwks = response.json()
    assert jwks["keys"], jwks
    assert len(kids(jwks)) == len(jwks["keys"]), "kids are unique"
    for key in jwks["keys"]:
        assert key["use"] == "sig", key
        assert isinstance(key["kid"], str) and key["kid"], key
        assert key["alg"] in ("EdDSA", "ES256"), key
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), "no private parts"
    # joserfc reads it as a key set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        KeySet.import_key_set(jwks)

    # The access-token key is not published.
    access_token = await sign_in(client, "pr@demo.test")
    access_kid = header_of(access_token).get("kid")
    assert access_kid, "access tokens name their key"
    assert access_kid not in kids(jwks)


async def test_every_single_changed_character_fails_verification(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    jwks = await jwks_of(client)
    positions = [i for i in range(len(document)) if document[i] != "."]

    # Through the service, in batches of aliased verifyDocument fields.
    accepted: list[tuple[int, dict]] = []
    batch = 25
    for first in range(0, len(positions), batch):
        chunk = positions[first : first + batch]
        declared = ", ".join(f"$t{n}: String!" for n in range(len(chunk)))
        fields = " ".join(
            f"v{n}: verifyDocument(token: $t{n}) {{ valid failure claims }}"
            for n in range(len(chunk))
        )
        variables = {f"t{n}": tamper(document, i) for n, i in enumerate(chunk)}
        body = await gql(client, f"query({declared}) {{ {fields} }}", variables)
        assert "errors" not in body, body
        for n, i in enumerate(chunk):
            result = body["data"][f"v{n}"]
            if not refused(document, tamper(document, i), result):
                accepted.append((i, {k: result[k] for k in ("valid", "failure")}))
    # And by joserfc.
    jose_accepted = []
    for i in positions:
        try:
            jose_verify(tamper(document, i), jwks)
        except (JoseError, ValueError):
            continue
        jose_accepted.append(i)

    assert jose_accepted == []
    bounds = part_bounds(document)
    assert accepted == [], (
        f"verifyDocument accepted altered tokens at positions {accepted} "
        f"(parts: {bounds}, token length {len(document)})"
    )


@pytest.mark.parametrize("part", ["header", "payload", "signature"])
async def test_a_changed_character_in_each_part_is_a_bad_signature(
    client: httpx.AsyncClient, part: str
) -> None:
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    jwks = await jwks_of(client)
    start, end = part_bounds(document)[["header", "payload", "signature"].index(part)]
    for index in (start, (start + end) // 2, end - 2):
        altered = tamper(document, index)
        assert altered != document
        verification = await verify_document(client, altered)
        assert verification["valid"] is False, (part, index, verification)
        assert refused(document, altered, verification), (part, index, verification)
        with pytest.raises((JoseError, ValueError)):
            jose_verify(altered, jwks)


@pytest.mark.parametrize("part", ["payload", "signature"])
async def test_the_unused_bits_of_a_last_character_cannot_be_changed(
    client: httpx.AsyncClient, part: str
) -> None:
    """A base64url part whose length is not a multiple of four ends in a character with unused
    low bits (an Ed25519 signature is 64 bytes: 86 characters, the last with four unused bits).
    A token with those bits changed is a different string and must not verify: RFC 7515
    base64url has no alternative spellings, and joserfc rejects it."""
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    parts = document.split(".")
    index = ["header", "payload", "signature"].index(part)
    text = parts[index]
    if len(text) * 6 % 8 == 0:
        pytest.skip(f"this {part} has no unused bits ({len(text)} characters)")
    parts[index] = text[:-1] + B64URL[B64URL.index(text[-1]) ^ 0b0001]
    altered = ".".join(parts)
    assert altered != document
    assert b64d(parts[index]) == b64d(text), "only unused bits changed"
    with pytest.raises((JoseError, ValueError)):
        jose_verify(altered, await jwks_of(client))
    verification = await verify_document(client, altered)
    assert verification["valid"] is False, verification
    assert verification["failure"] in ("BAD_SIGNATURE", "MALFORMED"), verification


# ------------------------------------------------------------------------------ forgeries


async def test_a_payload_re_signed_with_an_unpublished_key_is_unknown_key(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    header = header_of(document)
    payload = b64d(document.split(".")[1])
    forger = OKPKey.generate_key("Ed25519")

    forged = jose_sign({**header, "kid": "doc-unknown"}, payload, forger, ["EdDSA"])
    verification = await verify_document(client, forged)
    assert verification["valid"] is False
    assert verification["failure"] == "UNKNOWN_KEY", verification
    assert verification["claims"] is None
    with pytest.raises(JoseError):
        jose_verify(forged, await jwks_of(client))

    # The same forgery naming the genuine kid fails the signature check.
    impostor = jose_sign(header, payload, forger, ["EdDSA"])
    verification = await verify_document(client, impostor)
    assert verification["valid"] is False
    assert verification["failure"] == "BAD_SIGNATURE", verification
    assert verification["claims"] is None


async def test_unsigned_and_algorithm_confused_tokens_are_refused(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    document = (await issue_ok(client, token, person["id"]))["token"]
    _, payload_part, signature_part = document.split(".")
    header = header_of(document)

    none_header = b64e(json.dumps({**header, "alg": "none"}).encode())
    for unsigned in (
        f"{none_header}.{payload_part}.",
        f"{none_header}.{payload_part}.{signature_part}",
        f"{b64e(json.dumps({'alg': 'none', 'typ': header['typ']}).encode())}.{payload_part}.",
    ):
        verification = await verify_document(client, unsigned)
        assert verification["valid"] is False, (unsigned, verification)
        assert verification["claims"] is None

    # HS256 with the published public key as the HMAC secret (the classic confusion attack).
    jwks = await jwks_of(client)
    (public,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    signing_input = f"{b64e(json.dumps({**header, 'alg': 'HS256'}).encode())}.{payload_part}"
    for secret in (public["x"].encode(), b64d(public["x"])):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        verification = await verify_document(client, f"{signing_input}.{b64e(mac)}")
        assert verification["valid"] is False, verification
        assert verification["claims"] is None


@pytest.mark.parametrize(
    "garbage", ["", "abc", "a.b.c", "...", "x" * 30_000, "eyJhbGciOiJFZERTQSJ9.e30.AAAA"]
)
async def test_garbage_is_malformed_not_an_error(client: httpx.AsyncClient, garbage: str) -> None:
    verification = await verify_document(client, garbage)
    assert verification["valid"] is False
    assert verification["failure"] in ("MALFORMED", "UNKNOWN_KEY", "BAD_SIGNATURE"), verification
    assert verification["claims"] is None


async def test_access_and_refresh_tokens_are_not_certificates(client: httpx.AsyncClient) -> None:
    body = await gql(
        client,
        """mutation { signIn(input: {email: "pr@demo.test", password: "demo-pass-2024"}) {
             ... on AuthSession { accessToken refreshToken } } }""",
    )
    session = body["data"]["signIn"]
    verification = await verify_document(client, session["accessToken"])
    assert verification["valid"] is False
    assert verification["failure"] == "MALFORMED", verification
    assert verification["claims"] is None
    verification = await verify_document(client, session["refreshToken"])
    assert verification["valid"] is False
    assert verification["failure"] == "MALFORMED", verification


# --------------------------------------------------------------------------------- expiry


async def test_a_certificate_expires_after_ninety_days(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    document = certificate["token"]
    exp = payload_of(document)["exp"]
    issued = as_datetime(certificate["issuedAt"])

    clock.pinned = datetime.fromtimestamp(exp - 1, tz=UTC)
    verification = await verify_document(client, document)
    assert verification["valid"] is True, verification

    clock.pinned = datetime.fromtimestamp(exp, tz=UTC)
    verification = await verify_document(client, document)
    assert verification["valid"] is False
    assert verification["failure"] == "EXPIRED", verification

    clock.pinned = issued + timedelta(days=91)
    verification = await verify_document(client, document)
    assert verification["valid"] is False
    assert verification["failure"] == "EXPIRED", verification
    assert verification["keyId"] == header_of(document)["kid"]
    # joserfc, told the same time, agrees.
    with pytest.raises(JoseError):
        jose_verify(document, await jwks_of(client), now=clock.pinned)


# ----------------------------------------------------------------------------- revocation


async def test_an_officer_revokes_a_certificate_with_a_reason(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    kept = await issue_ok(client, token, person["id"])
    officer = await sign_in(client, "officer@demo.test")

    revoked = await revoke(client, officer, certificate["id"], "Issued in error at the counter.")
    assert revoked["__typename"] == "CertificateRevoked", revoked
    assert revoked["certificate"]["id"] == certificate["id"]
    assert revoked["certificate"]["revokedAt"] is not None

    verification = await verify_document(client, certificate["token"])
    assert verification["valid"] is False
    assert verification["failure"] == "REVOKED", verification
    assert verification["keyId"] == header_of(certificate["token"])["kid"]
    # Revoking again changes nothing: the first revocation stands.
    again = await revoke(client, officer, certificate["id"], "A second thought.")
    assert again["__typename"] == "CertificateRevoked", again
    assert again["certificate"]["revokedAt"] == revoked["certificate"]["revokedAt"]
    # Revoking one leaves the person's other certificates alone.
    verification = await verify_document(client, kept["token"])
    assert verification["valid"] is True, verification


async def test_any_officer_and_admins_may_revoke(client: httpx.AsyncClient, app: Any) -> None:
    token, person = await pr_holder(client)
    first = await issue_ok(client, token, person["id"])
    second = await issue_ok(client, token, person["id"])

    elsewhere = await other_office_officer(app, client)
    result = await revoke(client, elsewhere, first["id"], "Lost document reported.")
    assert result["__typename"] == "CertificateRevoked", result
    admin = await sign_in(client, "admin@demo.test")
    result = await revoke(client, admin, second["id"], "Superseded by a corrected record.")
    assert result["__typename"] == "CertificateRevoked", result
    for certificate in (first, second):
        verification = await verify_document(client, certificate["token"])
        assert verification["failure"] == "REVOKED", verification


@pytest.mark.parametrize("reason", ["", "   ", "x" * 401])
async def test_revoking_needs_a_reason(client: httpx.AsyncClient, reason: str) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    officer = await sign_in(client, "officer@demo.test")
    result = await revoke(client, officer, certificate["id"], reason)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "reason"
    assert result["message"]
    verification = await verify_document(client, certificate["token"])
    assert verification["valid"] is True, verification


async def test_strangers_may_not_revoke(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])
    # Another applicant, the helper of other people, an analyst: as if it did not exist.
    for email in ("applicant@demo.test", "helper@demo.test", "analyst@demo.test"):
        result = await revoke(client, await sign_in(client, email), certificate["id"], "Because.")
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, email
    officer = await sign_in(client, "officer@demo.test")
    made_up = to_global_id("Certificate", 2_000_000_000)
    result = await revoke(client, officer, made_up, "Because.")
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    body = await gql(client, REVOKE, {"input": {"certificateId": certificate["id"], "reason": "x"}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    verification = await verify_document(client, certificate["token"])
    assert verification["valid"] is True, verification


async def test_the_holder_revokes_its_own_certificate(client: httpx.AsyncClient) -> None:
    token, person = await pr_holder(client)
    given_away = await issue_ok(client, token, person["id"])
    kept = await issue_ok(client, token, person["id"])

    result = await revoke(client, token, given_away["id"], "Phone lost with the QR code on it.")

    assert result["__typename"] == "CertificateRevoked", result
    assert (await verify_document(client, given_away["token"]))["failure"] == "REVOKED"
    assert (await verify_document(client, kept["token"]))["valid"] is True


async def test_a_helper_with_view_documents_revokes_a_dependants_certificate_on_the_record(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    delegation = await add_active_dependant(client, helper, facts, ["VIEW_DOCUMENTS"])
    other_helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, other_helper, facts, ["BOOK_APPOINTMENTS"])
    first = await issue_ok(client, helper, person_id)
    second = await issue_ok(client, helper, person_id)

    # A helper without VIEW_DOCUMENTS is refused as a stranger is.
    refused = await revoke(client, other_helper, first["id"], "Not mine to revoke.")
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    revoked = await revoke(client, helper, first["id"], "Handed to the wrong bank.")
    assert revoked["__typename"] == "CertificateRevoked", revoked
    assert (await verify_document(client, first["token"]))["failure"] == "REVOKED"
    # In the dependant's trail, as the helper's action under the delegation.
    [entry] = await AuditEvent.filter(
        action="REVOKE_CERTIFICATE", target=payload_of(first["token"])["jti"]
    )
    assert entry.actor_kind == "HELPER"
    assert entry.delegation_id == from_global_id(delegation["id"])[1]
    # Once the delegation ends, so does the power to revoke.
    body = await gql(client, REVOKE_DELEGATION, {"id": delegation["id"]}, helper)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
    refused = await revoke(client, helper, second["id"], "After the end.")
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


@pytest.mark.parametrize("ended_by", ["helper", "dependant"])
async def test_revoking_a_delegation_revokes_what_the_helper_obtained_through_it(
    client: httpx.AsyncClient, ended_by: str
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card()
    )
    dependant = await linked_account(client, facts)
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    added = await add_dependant(client, helper, facts, ["VIEW_DOCUMENTS"])
    answered = await gql(
        client, RESPOND, {"id": added["delegation"]["id"], "accept": True}, dependant
    )
    assert answered["data"]["respondToDelegation"]["delegation"]["status"] == "ACTIVE", answered
    obtained = await issue_ok(client, helper, person_id)
    own = await issue_ok(client, dependant, person_id)

    ender = helper if ended_by == "helper" else dependant
    body = await gql(client, REVOKE_DELEGATION, {"id": added["delegation"]["id"]}, ender)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body

    verification = await verify_document(client, obtained["token"])
    assert verification["failure"] == "REVOKED", verification
    # The dependant's own certificate is theirs: it stays valid.
    assert (await verify_document(client, own["token"]))["valid"] is True
    # The dependant is told, in their inbox.
    told = await revocations_told(client, dependant)
    assert told == [obtained["id"]], told
    # On the trail as part of the helper's ending when the helper ended it (the dependant's
    # own acts are not on their trail): not as something done on the dependant's behalf.
    entries = await AuditEvent.filter(
        action="REVOKE_CERTIFICATE_WITH_DELEGATION", target=payload_of(obtained["token"])["jti"]
    )
    assert [e.actor_kind for e in entries] == (["HELPER"] if ended_by == "helper" else [])
    trail = await gql(client, ACTIONS, token=dependant)
    shown = [e["node"] for e in trail["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    ending = [e for e in shown if e["action"] == "REVOKE_CERTIFICATE_WITH_DELEGATION"]
    assert [e["onBehalf"] for e in ending] == ([False] if ended_by == "helper" else [])


async def test_with_the_policy_off_a_revoked_delegation_leaves_certificates_valid(
    client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.state.services
    monkeypatch.setattr(
        services, "settings", services.settings.with_(revoke_helper_certificates=False)
    )
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    delegation = await add_active_dependant(client, helper, facts, ["VIEW_DOCUMENTS"])
    obtained = await issue_ok(client, helper, person_id)
    body = await gql(client, REVOKE_DELEGATION, {"id": delegation["id"]}, helper)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
    assert (await verify_document(client, obtained["token"]))["valid"] is True


# ------------------------------------------------------------------------------- rotation


async def test_rotation_keeps_earlier_certificates_verifiable(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    token, person = await pr_holder(client)
    admin = await sign_in(client, "admin@demo.test")

    first = await issue_ok(client, token, person["id"])
    k0 = header_of(first["token"])["kid"]
    before = await jwks_of(client)
    (next_row,) = await SigningKey.filter(purpose=KeyPurpose.DOCUMENT, state=KeyState.NEXT)
    n0 = next_row.kid
    assert {k0, n0} <= kids(before), "the next key is published before it signs"

    rotated = await rotate(client, admin)
    assert rotated["__typename"] == "SigningKeyRotated", rotated
    a1, n1 = rotated["activeKeyId"], rotated["nextKeyId"]
    assert a1 == n0
    assert n1 not in (k0, a1) and n1 not in kids(before)
    after_one = await jwks_of(client)
    assert {a1, n1, k0} <= kids(after_one)

    second = await issue_ok(client, token, person["id"])
    assert header_of(second["token"])["kid"] == a1

    rotated = await rotate(client, admin)
    assert rotated["__typename"] == "SigningKeyRotated", rotated
    a2, n2 = rotated["activeKeyId"], rotated["nextKeyId"]
    assert a2 == n1
    assert n2 not in (k0, a1, a2)

    third = await issue_ok(client, token, person["id"])
    assert header_of(third["token"])["kid"] == a2
    jwks = await jwks_of(client)
    # Active, next, and the retired keys that signed certificates still unexpired.
    assert {a2, n2, a1, k0} <= kids(jwks)
    for key in jwks["keys"]:
        assert key["use"] == "sig" and key["kid"] and key["alg"], key
        assert "d" not in key

    for certificate, kid in ((first, k0), (second, a1), (third, a2)):
        verification = await verify_document(client, certificate["token"])
        assert verification["valid"] is True, verification
        assert verification["keyId"] == kid
        jose_header, _ = jose_verify(certificate["token"], jwks)
        assert jose_header["kid"] == kid

    # Once every certificate a retired key signed has expired, the key is withdrawn.
    clock.pinned = datetime.now(UTC) + timedelta(days=3650)
    later = kids(await jwks_of(client))
    assert k0 not in later and a1 not in later, later
    assert {a2, n2} <= later
    verification = await verify_document(client, first["token"])
    assert verification["valid"] is False
    assert verification["failure"] in ("EXPIRED", "UNKNOWN_KEY"), verification


async def test_only_admins_rotate_signing_keys(client: httpx.AsyncClient) -> None:
    before = kids(await jwks_of(client))
    for email in ("officer@demo.test", "pr@demo.test", "applicant@demo.test", "analyst@demo.test"):
        result = await rotate(client, await sign_in(client, email))
        assert result["__typename"] == "NotPermitted", (email, result)
        assert result["message"]
    body = await gql(client, ROTATE)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert kids(await jwks_of(client)) == before


async def test_a_new_certificate_does_not_invalidate_earlier_ones(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    earlier = await issue_ok(client, token, person["id"])
    later = await issue_ok(client, token, person["id"])
    assert earlier["id"] != later["id"]
    assert payload_of(earlier["token"])["jti"] != payload_of(later["token"])["jti"]
    jwks = await jwks_of(client)
    for certificate in (earlier, later):
        verification = await verify_document(client, certificate["token"])
        assert verification["valid"] is True, verification
        jose_verify(certificate["token"], jwks)


# ----------------------------------------------------------------------------- who may


async def test_no_valid_pr_card_is_not_permanent_resident(client: httpx.AsyncClient) -> None:
    token = await sign_in(client, "applicant@demo.test")
    person = await me(client, token)
    result = await issue(client, token, person["id"])
    assert result["__typename"] == "NotPermanentResident", result
    assert result["message"]

    # A card that has expired is no card (one not issued yet cannot be recorded).
    officer = await sign_in(client, "officer@demo.test")
    for card in ((date(2023, 12, 1), beijing_today() - timedelta(days=1)),):
        facts, person_id = await registered_person(
            client, officer, birth_date=adult_birth_date(), card=card
        )
        holder = await linked_account(client, facts)
        result = await issue(client, holder, person_id)
        assert result["__typename"] == "NotPermanentResident", (card, result)


async def test_a_self_linked_permanent_resident_gets_its_own_subject(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card()
    )
    holder = await linked_account(client, facts)
    certificate = await issue_ok(client, holder, person_id)
    claims = payload_of(certificate["token"])
    assert claims["name"]["surname"] == facts["surname"]
    assert claims["birthDate"] == facts["birthDate"]
    assert [p["number"] for p in claims["passports"]] == [facts["passportNumber"]]
    pr_token, pr_person = await pr_holder(client)
    demo = payload_of((await issue_ok(client, pr_token, pr_person["id"]))["token"])
    assert demo["sub"] != claims["sub"]
    again = payload_of((await issue_ok(client, holder, person_id))["token"])
    assert again["sub"] == claims["sub"], "one person, one subject"
    assert again["jti"] != claims["jti"]


async def test_strangers_get_the_same_refusal_as_for_an_unknown_person(
    client: httpx.AsyncClient,
) -> None:
    _, pr_person = await pr_holder(client)
    stranger = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    refusal = {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    assert await issue(client, stranger, pr_person["id"]) == refusal
    assert await issue(client, stranger, to_global_id("Person", 2_000_000_000)) == refusal
    offices = await gql(client, OFFICE_CODES)
    office_id = offices["data"]["offices"]["edges"][0]["node"]["id"]
    assert await issue(client, stranger, office_id) == refusal
    # Another applicant, and the helper of other people, are strangers too.
    for email in ("applicant@demo.test", "helper@demo.test"):
        other = await sign_in(client, email)
        assert await issue(client, other, pr_person["id"]) == refusal, email

    body = await gql(client, ISSUE, {"id": pr_person["id"]})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_a_helper_needs_view_documents_for_a_dependants_certificate(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    with_scope, with_scope_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    without_scope, without_scope_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    granted = await add_active_dependant(
        client, helper, with_scope, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]
    )
    assert granted["dependant"]["id"] == with_scope_id
    limited = await add_active_dependant(
        client, helper, without_scope, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"]
    )
    assert limited["dependant"]["id"] == without_scope_id

    certificate = await issue_ok(client, helper, with_scope_id)
    claims = payload_of(certificate["token"])
    assert claims["name"]["surname"] == with_scope["surname"]
    assert claims["birthDate"] == with_scope["birthDate"]
    verification = await verify_document(client, certificate["token"])
    assert verification["valid"] is True, verification

    seen = await node(client, helper, certificate["id"])
    assert seen is not None and seen["token"] == certificate["token"]

    result = await issue(client, helper, without_scope_id)
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    # Once the delegation ends, so does the helper's power to obtain certificates.
    body = await gql(client, REVOKE_DELEGATION, {"id": granted["id"]}, helper)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
    result = await issue(client, helper, with_scope_id)
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    assert await node(client, helper, certificate["id"]) is None


async def test_the_demo_helper_needs_view_documents(client: httpx.AsyncClient) -> None:
    helper = await sign_in(client, "helper@demo.test")
    body = await gql(
        client, "{ viewer { dependants { status scopes dependant { id } } } }", token=helper
    )
    assert "errors" not in body, body
    active = [d for d in body["data"]["viewer"]["dependants"] if d["status"] == "ACTIVE"]
    without = [d for d in active if "VIEW_DOCUMENTS" not in d["scopes"]]
    with_scope = [d for d in active if "VIEW_DOCUMENTS" in d["scopes"]]
    assert without and with_scope, active
    for delegation in without:
        result = await issue(client, helper, delegation["dependant"]["id"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    for delegation in with_scope:
        result = await issue(client, helper, delegation["dependant"]["id"])
        assert result["__typename"] in ("CertificateIssued", "NotPermanentResident"), result


async def test_the_certificate_node_is_visible_to_its_holder_only(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    certificate = await issue_ok(client, token, person["id"])

    seen = await node(client, token, certificate["id"])
    assert seen is not None
    assert seen["id"] == certificate["id"]
    assert seen["token"] == certificate["token"]
    assert seen["issuedAt"] == certificate["issuedAt"]
    assert seen["expiresAt"] == certificate["expiresAt"]

    stranger = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    assert await node(client, stranger, certificate["id"]) is None
    assert (
        await node(client, await sign_in(client, "applicant@demo.test"), certificate["id"]) is None
    )
    assert await node(client, None, certificate["id"]) is None
    assert await node(client, token, to_global_id("Certificate", 2_000_000_000)) is None


async def test_concurrent_rotations_leave_one_active_and_one_next_key(
    client: httpx.AsyncClient,
) -> None:
    token, person = await pr_holder(client)
    admin = await sign_in(client, "admin@demo.test")
    before = await issue_ok(client, token, person["id"])
    responses = await asyncio.gather(
        *(
            client.post(
                "/graphql",
                json={"query": ROTATE},
                headers={"authorization": f"Bearer {admin}"},
            )
            for _ in range(4)
        )
    )
    rotated, failures = [], []
    for response in responses:
        body = response.json() if response.status_code == 200 else {}
        result = (body.get("data") or {}).get("rotateSigningKey")
        if result and result["__typename"] == "SigningKeyRotated":
            rotated.append(result)
        else:
            failures.append((response.status_code, body.get("errors") or response.text))

    # Whatever happened, the keys stay consistent: one ACTIVE, one NEXT, both published.
    rows = await SigningKey.filter(purpose=KeyPurpose.DOCUMENT)
    states = [r.state for r in rows]
    assert states.count(KeyState.ACTIVE) == 1 and states.count(KeyState.NEXT) == 1, states
    (active,) = [r.kid for r in rows if r.state == KeyState.ACTIVE]
    (nxt,) = [r.kid for r in rows if r.state == KeyState.NEXT]
    jwks = await jwks_of(client)
    assert {active, nxt} <= kids(jwks)
    after = await issue_ok(client, token, person["id"])
    assert header_of(after["token"])["kid"] == active
    for certificate in (before, after):
        verification = await verify_document(client, certificate["token"])
        assert verification["valid"] is True, verification
        jose_verify(certificate["token"], jwks)

    # Each rotation is a step of one chain: it activates the key the previous one published.
    actives = [r["activeKeyId"] for r in rotated]
    assert len(set(actives)) == len(actives), rotated
    # A rotation racing another is not an internal error.
    assert failures == [], failures
    assert len(rotated) == 4


# ------------------------------------------------- the card's validity and a new passport

PRESENT = """
mutation($input: PresentCertificateInput!) { presentCertificate(input: $input) {
  __typename
  ... on CertificatePresented { presentation { token } }
  ... on NotPermitted { message }
  ... on ValidationError { message field }
} }"""


async def test_a_certificate_never_outlives_the_pr_card_it_states(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    clock.pinned = datetime.now(UTC).replace(microsecond=0)
    today = beijing_today(clock)
    card_ends = today + timedelta(days=10)  # well inside CERTIFICATE_VALIDITY_DAYS
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=(today - timedelta(days=30), card_ends)
    )
    holder = await linked_account(client, facts)
    certificate = await issue_ok(client, holder, person_id)

    # Valid through the card's last day in Beijing, and not a second longer.
    end_of_card = datetime.combine(card_ends + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    assert as_datetime(certificate["expiresAt"]) == end_of_card
    assert payload_of(certificate["token"])["exp"] == int(end_of_card.timestamp())
    assert payload_of(certificate["token"])["prCard"]["validUntil"] == card_ends.isoformat()

    clock.pinned = end_of_card - timedelta(seconds=1)
    assert (await verify_document(client, certificate["token"]))["valid"] is True
    clock.pinned = end_of_card
    verification = await verify_document(client, certificate["token"])
    assert verification["failure"] == "EXPIRED", verification
    with pytest.raises(JoseError):
        jose_verify(certificate["token"], await jwks_of(client), now=end_of_card)


async def test_binding_a_new_passport_revokes_certificates_naming_the_old_one(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card()
    )
    holder = await linked_account(client, facts)
    first = await issue_ok(client, holder, person_id)
    second = await issue_ok(client, holder, person_id)
    old_number = facts["passportNumber"]
    assert payload_of(first["token"])["passports"][0]["number"] == old_number

    # The old passport is reported stolen: the officer binds the new one.
    new_number = passport_number("N")
    bound = await gql(
        client,
        BIND_PASSPORT,
        {
            "input": {
                "personId": person_id,
                "passportNumber": new_number,
                "issuingCountry": facts["nationality"],
                "validUntil": (beijing_today() + timedelta(days=3000)).isoformat(),
            }
        },
        officer,
    )
    assert bound["data"]["bindPassport"]["__typename"] == "PassportBound", bound

    # Verifiers see both earlier certificates revoked; they can no longer be presented.
    for certificate in (first, second):
        verification = await verify_document(client, certificate["token"])
        assert verification["valid"] is False
        assert verification["failure"] == "REVOKED", verification
        shown = await gql(
            client,
            PRESENT,
            {"input": {"certificateId": certificate["id"], "disclose": ["CURRENT_PASSPORT"]}},
            holder,
        )
        refusal = shown["data"]["presentCertificate"]
        assert refusal["__typename"] == "ValidationError", refusal
        assert refusal["field"] == "certificateId"
        assert "revoked" in refusal["message"]
    # Recorded as the officer's revocations in the person's trail.
    revocations = await AuditEvent.filter(
        action="REVOKE_CERTIFICATE",
        target__in=[payload_of(c["token"])["jti"] for c in (first, second)],
    ).count()
    assert revocations == 2
    # The holder is told of each, in their inbox.
    told = await revocations_told(client, holder)
    assert sorted(told) == sorted([first["id"], second["id"]]), told

    # A certificate issued now names the new passport as current, and verifies.
    fresh = await issue_ok(client, holder, person_id)
    passports = payload_of(fresh["token"])["passports"]
    assert [(p["number"], p["current"]) for p in passports] == [
        (new_number, True),
        (old_number, False),
    ]
    assert (await verify_document(client, fresh["token"]))["valid"] is True


async def test_a_new_pr_card_revokes_certificates_naming_the_old_one(
    client: httpx.AsyncClient,
) -> None:
    """A replacement card (the old one lost, say) supersedes the card certificates state:
    they verify as REVOKED, and a new certificate names the new card. A card recorded late,
    issued before the one held, changes nothing."""
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card()
    )
    holder = await linked_account(client, facts)
    first = await issue_ok(client, holder, person_id)
    old_number = payload_of(first["token"])["prCard"]["number"]

    older = await gql(
        client,
        ISSUE_CARD,
        {
            "input": {
                "personId": person_id,
                "issuedOn": (valid_card()[0] - timedelta(days=1)).isoformat(),
                "validUntil": valid_card()[1].isoformat(),
            }
        },
        officer,
    )
    assert (
        older["data"]["issuePermanentResidentCard"]["__typename"] == "PermanentResidentCardIssued"
    )
    assert (await verify_document(client, first["token"]))["valid"] is True

    today = beijing_today()
    replaced = await gql(
        client,
        ISSUE_CARD,
        {
            "input": {
                "personId": person_id,
                "issuedOn": today.isoformat(),
                "validUntil": (today + timedelta(days=3650)).isoformat(),
            }
        },
        officer,
    )
    new_card = replaced["data"]["issuePermanentResidentCard"]
    assert new_card["__typename"] == "PermanentResidentCardIssued", replaced
    verification = await verify_document(client, first["token"])
    assert (verification["valid"], verification["failure"]) == (False, "REVOKED"), verification
    fresh = await issue_ok(client, holder, person_id)
    assert payload_of(fresh["token"])["prCard"]["number"] == new_card["card"]["number"]
    assert new_card["card"]["number"] != old_number
