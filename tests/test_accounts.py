"""Accounts through HTTP: signing up and in, sessions, passwords, rate limits, forged tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from jwcrypto import jwk, jws

from tests.conftest import SIGN_IN, SIGN_UP, gql, sign_in, sign_up, unique_email

STRONG = "a-Strong-passphrase-1"
VIEWER = "{ viewer { account { id email displayName roles } } }"

REFRESH = """
mutation($token: String!) {
  refreshSession(refreshToken: $token) {
    __typename
    ... on AuthSession { accessToken refreshToken account { email } }
    ... on InvalidRefreshToken { message }
  }
}"""

SIGN_OUT = """
mutation($token: String!) {
  signOut(refreshToken: $token) {
    __typename
    ... on SignedOut { message }
    ... on InvalidRefreshToken { message }
  }
}"""

CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    __typename
    ... on PasswordChanged { account { email } }
    ... on InvalidCredentials { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""


async def _sign_up_raw(client: httpx.AsyncClient, email: str, password: str = STRONG) -> dict:
    body = await gql(client, SIGN_UP, {"email": email, "password": password, "name": "Test User"})
    return body["data"]["signUp"]


async def _sign_in_raw(client: httpx.AsyncClient, email: str, password: str) -> dict:
    body = await gql(client, SIGN_IN, {"email": email, "password": password})
    return body["data"]["signIn"]


async def _refresh(client: httpx.AsyncClient, token: str) -> dict:
    return (await gql(client, REFRESH, {"token": token}))["data"]["refreshSession"]


async def _change_password(client: httpx.AsyncClient, token: str, current: str, new: str) -> dict:
    body = await gql(client, CHANGE_PASSWORD, {"current": current, "new": new}, token=token)
    return body["data"]["changePassword"]


# ---------------------------------------------------------------- signing up


async def test_sign_up_returns_session_with_exactly_applicant_role(client):
    email = unique_email()
    result = await _sign_up_raw(client, email)
    assert result["__typename"] == "AuthSession"
    assert result["account"]["roles"] == ["APPLICANT"]
    assert result["account"]["email"] == email
    assert result["accessToken"] and result["refreshToken"]
    assert result["accessToken"] != result["refreshToken"]
    expires = datetime.fromisoformat(result["expiresAt"])
    assert expires.tzinfo is not None
    assert expires > datetime.now(UTC)


async def test_viewer_works_with_the_access_token_of_a_sign_up(client):
    email = unique_email()
    session = await sign_up(client, email)
    body = await gql(client, VIEWER, token=session["accessToken"])
    account = body["data"]["viewer"]["account"]
    assert account["email"] == email
    assert account["roles"] == ["APPLICANT"]
    assert account["id"] == session["account"]["id"]


async def test_viewer_is_null_without_a_token(client):
    body = await gql(client, VIEWER)
    assert body["data"]["viewer"] is None
    assert "errors" not in body


async def test_sign_up_with_a_taken_email_is_email_taken(client):
    email = unique_email()
    await sign_up(client, email)
    result = await _sign_up_raw(client, email)
    assert result["__typename"] == "EmailTaken"
    assert result["message"]


async def test_sign_up_with_a_taken_email_in_other_case_is_email_taken(client):
    email = unique_email()
    await sign_up(client, email)
    result = await _sign_up_raw(client, email.upper())
    assert result["__typename"] == "EmailTaken"


async def test_sign_up_with_mixed_case_email_signs_in_with_lower_case(client):
    email = unique_email()
    await sign_up(client, email.replace("user", "User"))
    result = await _sign_in_raw(client, email, STRONG)
    assert result["__typename"] == "AuthSession"


async def test_sign_up_with_a_short_password_is_validation_error_on_password(client):
    result = await _sign_up_raw(client, unique_email(), "short1")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "password"
    assert result["message"]


async def test_sign_up_with_a_common_password_is_validation_error_on_password(client):
    result = await _sign_up_raw(client, unique_email(), "password123")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "password"


async def test_sign_up_with_a_bad_email_is_validation_error_on_email(client):
    victim = unique_email()
    await sign_up(client, victim)
    for bad in (
        "not-an-email",
        "two@@example.test",
        "spaces in@example.test",
        "user@nodot",
        f"x<{victim}",  # a second account whose mail would reach the victim's mailbox
        f"x <{victim}>",
        "a,b@example.test",
    ):
        result = await _sign_up_raw(client, bad)
        assert result["__typename"] == "ValidationError", bad
        assert result["field"] == "email", bad


async def test_sign_up_with_an_empty_display_name_is_validation_error(client):
    body = await gql(client, SIGN_UP, {"email": unique_email(), "password": STRONG, "name": "  "})
    result = body["data"]["signUp"]
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "displayName"


async def test_sign_up_with_a_password_containing_the_email_is_validation_error(client):
    email = unique_email()
    local = email.split("@")[0]
    result = await _sign_up_raw(client, email, f"{local}-Secret9")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "password"


async def test_rejected_sign_up_creates_no_account(client):
    email = unique_email()
    result = await _sign_up_raw(client, email, "short1")
    assert result["__typename"] == "ValidationError"
    assert (await _sign_in_raw(client, email, "short1"))["__typename"] == "InvalidCredentials"
    # The address is still free.
    assert (await _sign_up_raw(client, email))["__typename"] == "AuthSession"


async def test_sign_ups_are_limited_per_ip_and_the_61st_within_a_minute_is_rate_limited(app):
    transport = httpx.ASGITransport(app=app, client=("192.0.2.77", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as own:
        for attempt in range(60):
            result = await _sign_up_raw(own, unique_email())
            assert result["__typename"] == "AuthSession", (attempt, result)
        result = await _sign_up_raw(own, unique_email())
        assert result["__typename"] == "RateLimited"
        assert 0 < result["retryAfterSeconds"] <= 60
        assert result["message"]


# ---------------------------------------------------------------- signing in


async def test_sign_in_with_the_right_password_returns_a_session(client):
    email = unique_email()
    await sign_up(client, email)
    result = await _sign_in_raw(client, email, STRONG)
    assert result["__typename"] == "AuthSession"
    assert result["account"]["email"] == email
    assert result["account"]["roles"] == ["APPLICANT"]
    body = await gql(client, VIEWER, token=result["accessToken"])
    assert body["data"]["viewer"]["account"]["email"] == email


async def test_sign_in_email_is_case_insensitive(client):
    email = unique_email()
    await sign_up(client, email)
    result = await _sign_in_raw(client, email.upper(), STRONG)
    assert result["__typename"] == "AuthSession"


async def test_sign_in_with_a_wrong_password_is_invalid_credentials(client):
    email = unique_email()
    await sign_up(client, email)
    result = await _sign_in_raw(client, email, "a-Wrong-passphrase-2")
    assert result["__typename"] == "InvalidCredentials"
    assert result["message"]


async def test_unknown_email_gets_the_same_message_as_a_wrong_password(client):
    email = unique_email()
    await sign_up(client, email)
    wrong_password = await _sign_in_raw(client, email, "a-Wrong-passphrase-2")
    unknown = await _sign_in_raw(client, unique_email(), "a-Wrong-passphrase-2")
    assert unknown["__typename"] == "InvalidCredentials"
    assert unknown["message"] == wrong_password["message"]


async def test_demo_sign_ins_have_their_roles(client):
    expected = {
        "applicant@demo.test": ["APPLICANT"],
        "officer@demo.test": ["OFFICER"],
        "admin@demo.test": ["ADMIN"],
        "analyst@demo.test": ["ANALYST"],
    }
    for email, roles in expected.items():
        token = await sign_in(client, email)
        body = await gql(client, VIEWER, token=token)
        assert body["data"]["viewer"]["account"]["roles"] == roles, email


async def test_ten_failed_sign_ins_lock_the_account_even_for_the_right_password(client):
    email = unique_email()
    await sign_up(client, email)
    for attempt in range(10):
        result = await _sign_in_raw(client, email, f"a-Wrong-passphrase-{attempt}")
        assert result["__typename"] == "InvalidCredentials", attempt
    result = await _sign_in_raw(client, email, "a-Wrong-passphrase-x")
    assert result["__typename"] == "RateLimited"
    assert result["retryAfterSeconds"] > 0
    assert result["message"]
    right = await _sign_in_raw(client, email, STRONG)
    assert right["__typename"] == "RateLimited"
    assert right["retryAfterSeconds"] > 0


async def test_account_lock_applies_to_other_case_of_the_same_email(client):
    email = unique_email()
    await sign_up(client, email)
    for attempt in range(10):
        result = await _sign_in_raw(client, email, f"a-Wrong-passphrase-{attempt}")
        assert result["__typename"] == "InvalidCredentials"
    result = await _sign_in_raw(client, email.upper(), STRONG)
    assert result["__typename"] == "RateLimited"


async def test_fewer_than_ten_failures_do_not_lock_the_account(client):
    email = unique_email()
    await sign_up(client, email)
    for attempt in range(9):
        result = await _sign_in_raw(client, email, f"a-Wrong-passphrase-{attempt}")
        assert result["__typename"] == "InvalidCredentials"
    assert (await _sign_in_raw(client, email, STRONG))["__typename"] == "AuthSession"


# ---------------------------------------------------------------- refresh and sign-out


def _after_reuse_grace(clock, test_settings) -> None:
    """Move past REFRESH_REUSE_GRACE_S: presenting a used token again is reuse, not a retry
    (tests/test_session_end.py covers the grace window itself)."""
    grace = timedelta(seconds=test_settings.refresh_reuse_grace_s + 1)
    clock.pinned = datetime.now(UTC) + grace


async def test_refresh_session_rotates_the_refresh_token(client):
    email = unique_email()
    first = await sign_up(client, email)
    second = await _refresh(client, first["refreshToken"])
    assert second["__typename"] == "AuthSession"
    assert second["account"]["email"] == email
    assert second["refreshToken"] != first["refreshToken"]
    body = await gql(client, VIEWER, token=second["accessToken"])
    assert body["data"]["viewer"]["account"]["email"] == email
    third = await _refresh(client, second["refreshToken"])
    assert third["__typename"] == "AuthSession"
    assert third["refreshToken"] not in (first["refreshToken"], second["refreshToken"])


async def test_a_used_refresh_token_is_refused(client, clock, test_settings):
    first = await sign_up(client, unique_email())
    second = await _refresh(client, first["refreshToken"])
    assert second["__typename"] == "AuthSession"
    _after_reuse_grace(clock, test_settings)
    again = await _refresh(client, first["refreshToken"])
    assert again["__typename"] == "InvalidRefreshToken"
    assert again["message"]


async def test_reusing_a_refresh_token_revokes_the_whole_family(client):
    first = await sign_up(client, unique_email())
    second = await _refresh(client, first["refreshToken"])
    assert second["__typename"] == "AuthSession"
    third = await _refresh(client, second["refreshToken"])
    assert third["__typename"] == "AuthSession"
    # The first token is presented a second time: a sign of theft.
    assert (await _refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    # Now even the newest token of that sign-in is refused.
    assert (await _refresh(client, third["refreshToken"]))["__typename"] == "InvalidRefreshToken"


async def test_family_revocation_leaves_other_sign_ins_alone(client, clock, test_settings):
    email = unique_email()
    first = await sign_up(client, email)
    other = await _sign_in_raw(client, email, STRONG)
    assert other["__typename"] == "AuthSession"
    assert (await _refresh(client, first["refreshToken"]))["__typename"] == "AuthSession"
    _after_reuse_grace(clock, test_settings)
    assert (await _refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await _refresh(client, other["refreshToken"]))["__typename"] == "AuthSession"


async def test_an_unknown_refresh_token_is_invalid(client):
    assert (await _refresh(client, "not-a-token"))["__typename"] == "InvalidRefreshToken"
    assert (await _refresh(client, ""))["__typename"] == "InvalidRefreshToken"


async def test_an_expired_refresh_token_is_invalid(client, clock):
    session = await sign_up(client, unique_email())
    clock.pinned = datetime.now(UTC) + timedelta(days=31)
    assert (await _refresh(client, session["refreshToken"]))["__typename"] == "InvalidRefreshToken"


async def test_sign_out_then_refresh_is_invalid_refresh_token(client):
    session = await sign_up(client, unique_email())
    body = await gql(client, SIGN_OUT, {"token": session["refreshToken"]})
    assert body["data"]["signOut"]["__typename"] == "SignedOut"
    refreshed = await _refresh(client, session["refreshToken"])
    assert refreshed["__typename"] == "InvalidRefreshToken"


async def test_sign_out_with_an_unknown_token_is_invalid_refresh_token(client):
    body = await gql(client, SIGN_OUT, {"token": "no-such-token"})
    assert body["data"]["signOut"]["__typename"] == "InvalidRefreshToken"


# ---------------------------------------------------------------- changing the password


async def test_change_password_with_a_wrong_current_password_is_invalid_credentials(client):
    session = await sign_up(client, unique_email())
    result = await _change_password(
        client, session["accessToken"], "not-the-current-one", "another-Strong-pass-9"
    )
    assert result["__typename"] == "InvalidCredentials"
    assert result["message"]


async def test_change_password_to_a_weak_password_is_validation_error(client):
    email = unique_email()
    session = await sign_up(client, email)
    result = await _change_password(client, session["accessToken"], STRONG, "short1")
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "newPassword"
    # Nothing changed.
    assert (await _sign_in_raw(client, email, STRONG))["__typename"] == "AuthSession"


async def test_change_password_replaces_the_old_password(client):
    email = unique_email()
    session = await sign_up(client, email)
    new = "another-Strong-pass-9"
    result = await _change_password(client, session["accessToken"], STRONG, new)
    assert result["__typename"] == "PasswordChanged"
    assert result["account"]["email"] == email
    assert (await _sign_in_raw(client, email, STRONG))["__typename"] == "InvalidCredentials"
    assert (await _sign_in_raw(client, email, new))["__typename"] == "AuthSession"


async def test_change_password_signs_out_other_sessions(client):
    email = unique_email()
    session = await sign_up(client, email)
    other = await _sign_in_raw(client, email, STRONG)
    result = await _change_password(client, session["accessToken"], STRONG, "another-Strong-pass-9")
    assert result["__typename"] == "PasswordChanged"
    assert (await _refresh(client, other["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await _refresh(client, session["refreshToken"]))["__typename"] == "AuthSession"


async def test_change_password_after_ten_wrong_current_passwords_is_rate_limited(client):
    email = unique_email()
    session = await sign_up(client, email)
    for attempt in range(10):
        result = await _change_password(
            client, session["accessToken"], f"wrong-current-{attempt}", "another-Strong-pass-9"
        )
        assert result["__typename"] == "InvalidCredentials", attempt
    result = await _change_password(client, session["accessToken"], STRONG, "another-Strong-pass-9")
    assert result["__typename"] == "RateLimited"
    assert result["retryAfterSeconds"] > 0


async def test_change_password_without_a_token_is_unauthenticated(client):
    body = await gql(client, CHANGE_PASSWORD, {"current": STRONG, "new": "another-Strong-pass-9"})
    assert body.get("data") is None or body["data"].get("changePassword") is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- forged and expired tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _post_with_authorization(client: httpx.AsyncClient, authorization: str):
    return await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"authorization": authorization, "content-type": "application/json"},
    )


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Traceback" not in response.text


async def test_a_valid_token_is_accepted_through_a_plain_post(client):
    session = await sign_up(client, unique_email())
    response = await _post_with_authorization(client, f"Bearer {session['accessToken']}")
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["account"]["roles"] == ["APPLICANT"]


async def test_a_token_with_a_changed_signature_character_is_401(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    header, payload, signature = token.split(".")
    position = len(signature) // 2
    replacement = "A" if signature[position] != "A" else "B"
    forged_signature = signature[:position] + replacement + signature[position + 1 :]
    assert _unb64(forged_signature) != _unb64(signature)
    forged = f"{header}.{payload}.{forged_signature}"
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {forged}"))


async def test_an_alg_none_token_is_401(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    header, payload, _ = token.split(".")
    kid = json.loads(_unb64(header))["kid"]
    none_header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    forged = f"{none_header}.{payload}."
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {forged}"))


@pytest.mark.parametrize(
    "kid", ["\ud800", "at-\u0000abcdefghijklmno", "x" * 5000, "at-unknownunknown1", 7]
)
async def test_a_token_naming_an_odd_or_unknown_key_is_401_not_500(client, kid):
    """Anyone can write any kid in a token's header: one the service never made (a lone
    surrogate, a NUL, which the databases refuse, a very long one, a number) is answered
    401 like any invalid token, never a server error."""
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    encoded = _b64(json.dumps(header).encode())
    forged = f"{encoded}.{_b64(b'{}')}.{_b64(b'junk')}"
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {forged}"))


async def test_a_token_signed_by_another_key_with_the_same_kid_is_401(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    header, payload, _ = token.split(".")
    original_header = json.loads(_unb64(header))
    claims = json.loads(_unb64(payload))
    assert original_header["alg"] == "EdDSA"
    other_key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    signed = jws.JWS(json.dumps(claims).encode())
    signed.add_signature(
        other_key,
        alg="EdDSA",
        protected=json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": original_header["kid"]}),
    )
    forged = signed.serialize(compact=True)
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {forged}"))


async def test_a_token_with_changed_claims_is_401(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = "1"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {forged}"))


async def test_an_expired_token_is_401(client, clock):
    token = (await sign_up(client, unique_email()))["accessToken"]
    clock.pinned = datetime.now(UTC) + timedelta(minutes=16)
    _assert_unauthenticated(await _post_with_authorization(client, f"Bearer {token}"))


async def test_a_token_is_still_valid_14_minutes_later(client, clock):
    token = (await sign_up(client, unique_email()))["accessToken"]
    clock.pinned = datetime.now(UTC) + timedelta(minutes=14)
    response = await _post_with_authorization(client, f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["data"]["viewer"] is not None


async def test_a_garbage_bearer_token_is_401(client):
    _assert_unauthenticated(await _post_with_authorization(client, "Bearer abc"))


async def test_a_non_bearer_scheme_is_401(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    _assert_unauthenticated(await _post_with_authorization(client, "Basic dXNlcjpwYXNzd29yZA=="))
    _assert_unauthenticated(await _post_with_authorization(client, f"Token {token}"))


async def test_a_refresh_token_used_as_bearer_is_401(client):
    session = await sign_up(client, unique_email())
    _assert_unauthenticated(
        await _post_with_authorization(client, f"Bearer {session['refreshToken']}")
    )


# ------------------------------------------------- one spelling of é, whatever the keyboard


def _nfd(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFD", text)


async def test_an_address_typed_composed_or_decomposed_is_one_account(client):
    """Keyboards send "é" as one character or as "e" and a combining accent: one address."""
    composed = f"jos\u00e9-{secrets.token_hex(4)}@example.test"
    assert _nfd(composed) != composed
    made = await sign_up(client, composed)
    again = await gql(
        client,
        SIGN_UP,
        {"email": _nfd(composed), "password": "a-Strong-passphrase-1", "name": "Twin"},
    )
    assert again["data"]["signUp"]["__typename"] == "EmailTaken", again
    signed_in = await gql(
        client, SIGN_IN, {"email": _nfd(composed), "password": "a-Strong-passphrase-1"}
    )
    result = signed_in["data"]["signIn"]
    assert result["__typename"] == "AuthSession", result
    assert result["account"]["id"] == made["account"]["id"]


@pytest.mark.parametrize("typed_first", ["composed", "decomposed"])
async def test_a_password_typed_composed_or_decomposed_is_one_password(client, typed_first):
    password = "caf\u00e9-Strong-passphrase-1"
    first, then = (password, _nfd(password))[:: 1 if typed_first == "composed" else -1]
    email = unique_email()
    await sign_up(client, email, first)
    body = await gql(client, SIGN_IN, {"email": email, "password": then})
    assert body["data"]["signIn"]["__typename"] == "AuthSession", body


async def test_a_password_hashed_before_normalising_still_signs_in(app, client):
    """An account whose hash was made from a decomposed password (before passwords were
    normalised) keeps signing in with it."""
    from persistence.models import Account

    password = _nfd("na\u00efve-Strong-passphrase-1")
    email = unique_email()
    await sign_up(client, email, "placeholder-Strong-passphrase-1")
    legacy = await asyncio.to_thread(app.state.services.hasher.hash, password)
    await Account.filter(email=email).update(password_hash=legacy)
    body = await gql(client, SIGN_IN, {"email": email, "password": password})
    assert body["data"]["signIn"]["__typename"] == "AuthSession", body
