"""Accounts that can recover, through HTTP and a real SMTP server: the verification mail after
sign-up, verifyEmail (no session), requestEmailVerification, requestPasswordReset (the same
answer for every address, also past its limits, when nothing is sent) and resetPassword
(single use, 30 minutes, every other session ended); tokens kept only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.models import AccountToken, Delivery
from persistence.outbox import RESET_REQUEST
from persistence.rate_limits import Quota, address_key
from resolvers.context import Clock
from resolvers.mail_delivery import DeliveryWorker, sender_for
from signing.digests import lookup_hash
from tests.conftest import SIGN_IN, gql, sign_in, sign_up, unique_email
from tests.helpers import ISSUE_CARD, PASSWORD, member_with_person, mutate, officer_token, pk_of
from tests.mail_server import Handler, Received, smtp_server

VERIFY = """mutation($token: String!) { verifyEmail(token: $token) { __typename
  ... on EmailVerified { account { email emailVerified } }
  ... on InvalidToken { message } } }"""

REQUEST_VERIFICATION = """mutation { requestEmailVerification { __typename
  ... on EmailVerificationSent { message } ... on RateLimited { retryAfterSeconds } } }"""

REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(email: $email) { __typename
  ... on PasswordResetRequested { message } ... on RateLimited { retryAfterSeconds } } }"""

RESET = """mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) { __typename
    ... on PasswordResetDone { message }
    ... on InvalidToken { message }
    ... on ValidationError { message field } } }"""

REFRESH = """mutation($t: String!) { refreshSession(refreshToken: $t) { __typename } }"""

VERIFIED = "{ viewer { account { email emailVerified } } }"


class Mailbox:
    """A real SMTP server and a delivery worker sending the outbox to it."""

    def __init__(self, server: Handler, worker: DeliveryWorker) -> None:
        self.server, self.worker = server, worker

    async def mails_to(self, address: str, count: int = 1) -> list[Received]:
        for _ in range(400):
            if len(self.server.to(address)) >= count:
                return self.server.to(address)
            await self.worker.run_once()
        raise AssertionError(f"no {count} mail(s) to {address}: {self.server.to(address)}")

    async def answer_requests(self) -> None:
        """Let the worker answer every queued password-reset request (it writes the mail)."""
        for _ in range(400):
            if not await Delivery.filter(kind=RESET_REQUEST).exists():
                return
            await self.worker.run_once()
        raise AssertionError("reset requests still queued")

    async def token_to(self, address: str, count: int = 1) -> str:
        token = (await self.mails_to(address, count))[count - 1].link_token()
        assert token is not None
        return token


@pytest.fixture
async def mailbox(test_settings: Any) -> AsyncIterator[Mailbox]:
    with smtp_server() as (server, url):
        settings = test_settings.with_(smtp_url=url)
        yield Mailbox(server, DeliveryWorker(settings, Clock(), sender_for(settings)))


async def call(client: httpx.AsyncClient, document: str, **variables: Any) -> dict:
    """A one-field operation without a session; its result."""
    body = await gql(client, document, variables)
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return result


async def verified(client: httpx.AsyncClient, token: str) -> bool:
    body = await gql(client, VERIFIED, token=token)
    return body["data"]["viewer"]["account"]["emailVerified"]


# --------------------------------------------------------------------------- verification


async def test_sign_up_mails_a_link_that_proves_the_address_once(client, mailbox):
    email = unique_email()
    session = await sign_up(client, email)
    assert not await verified(client, session["accessToken"])
    (mail,) = await mailbox.mails_to(email)
    assert mail.message["Subject"] == "Confirm your e-mail address"
    assert "/verify-email#token=" in mail.body and "30 minutes" in mail.body
    token = mail.link_token()

    done = await call(client, VERIFY, token=token)  # no session needed
    assert done == {
        "__typename": "EmailVerified",
        "account": {"email": email, "emailVerified": True},
    }
    assert await verified(client, session["accessToken"])
    again = await call(client, VERIFY, token=token)
    assert again["__typename"] == "InvalidToken"


async def test_a_link_expires_after_thirty_minutes(client, clock, mailbox):
    email = unique_email()
    await sign_up(client, email)
    token = await mailbox.token_to(email)
    now = datetime.now(UTC)
    clock.pinned = now + timedelta(minutes=31)
    late = await call(client, VERIFY, token=token)
    assert late["__typename"] == "InvalidToken"
    assert "Ask for a new one" in late["message"]
    clock.pinned = now + timedelta(minutes=29)
    assert (await call(client, VERIFY, token=token))["__typename"] == "EmailVerified"


async def test_a_fresh_link_replaces_the_last_and_is_limited_per_account(client, mailbox):
    email = unique_email()
    session = await sign_up(client, email)
    first = await mailbox.token_to(email)
    sent = await mutate(client, REQUEST_VERIFICATION, session["accessToken"])
    assert sent["__typename"] == "EmailVerificationSent" and email in sent["message"]
    second = await mailbox.token_to(email, 2)
    assert first != second
    assert (await call(client, VERIFY, token=first))["__typename"] == "InvalidToken"
    assert (await call(client, VERIFY, token=second))["__typename"] == "EmailVerified"

    for _ in range(4):  # five per hour (VERIFICATION_MAILS_PER_ACCOUNT), one used above
        result = await mutate(client, REQUEST_VERIFICATION, session["accessToken"])
        assert result["__typename"] == "EmailVerificationSent"
    limited = await mutate(client, REQUEST_VERIFICATION, session["accessToken"])
    assert limited["__typename"] == "RateLimited" and limited["retryAfterSeconds"] > 0


async def test_asking_for_a_verification_link_needs_a_session(client):
    body = await gql(client, REQUEST_VERIFICATION)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_mistyped_tokens_are_invalid_tokens(client):
    for token in ("", "x", "A" * 43, "not a token at all \u0000"[:-1], "é" * 50):
        result = await call(client, VERIFY, token=token)
        assert result["__typename"] == "InvalidToken", token
        reset = await call(client, RESET, token=token, password="another-Passphrase-9")
        assert reset["__typename"] == "InvalidToken", token


async def test_tokens_are_kept_only_as_sha256_hashes(client, mailbox):
    email = unique_email()
    await sign_up(client, email)
    token = await mailbox.token_to(email)
    (row,) = await AccountToken.filter(email=email).values("token_hash", "purpose")
    assert row == {
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "purpose": "EMAIL_VERIFICATION",
    }
    # The mail that carried it is sent: its body is gone from the outbox.
    mail = await Delivery.get(to_address=email)
    assert mail.sent_at is not None and token not in mail.body


# -------------------------------------------------------------------------- password reset


async def test_a_reset_sets_the_password_once_and_ends_every_session(client, mailbox):
    email = unique_email()
    old = await sign_up(client, email, PASSWORD)
    other_access = await sign_in(client, email, PASSWORD)
    requested = await call(client, REQUEST_RESET, email=email.upper())
    assert requested["__typename"] == "PasswordResetRequested"
    (mail,) = [
        m
        for m in await mailbox.mails_to(email, 2)
        if m.message["Subject"] != "Confirm your e-mail address"
    ]
    assert mail.message["Subject"] == "Reset your password"
    token = mail.link_token()

    new_password = "a-Brand-new-passphrase-7"
    done = await call(client, RESET, token=token, password=new_password)
    assert done["__typename"] == "PasswordResetDone"
    again = await call(client, RESET, token=token, password="yet-Another-phrase-8")
    assert again["__typename"] == "InvalidToken"

    assert (await call(client, REFRESH, t=old["refreshToken"]))["__typename"] == (
        "InvalidRefreshToken"
    )
    ended = await client.post(
        "/graphql", json={"query": VERIFIED}, headers={"authorization": f"Bearer {other_access}"}
    )
    assert ended.status_code == 401
    assert ended.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refused = await gql(
        client,
        "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p})"
        " { __typename } }",
        {"e": email, "p": PASSWORD},
    )
    assert refused["data"]["signIn"]["__typename"] == "InvalidCredentials"
    fresh = await sign_in(client, email, new_password)
    # The link reached the mailbox: the address counts as proved.
    assert await verified(client, fresh)


async def test_a_weak_new_password_is_refused_and_the_link_still_works(client, mailbox):
    email = unique_email()
    await sign_up(client, email)
    await call(client, REQUEST_RESET, email=email)
    token = (await mailbox.mails_to(email, 2))[-1].link_token()
    weak = await call(client, RESET, token=token, password="short")
    assert weak["__typename"] == "ValidationError" and weak["field"] == "newPassword"
    done = await call(client, RESET, token=token, password="a-Strong-new-phrase-3")
    assert done["__typename"] == "PasswordResetDone"


async def test_a_newer_reset_link_ends_the_older_one(client, mailbox):
    email = unique_email()
    await sign_up(client, email)
    await call(client, REQUEST_RESET, email=email)
    first = (await mailbox.mails_to(email, 2))[-1].link_token()
    await call(client, REQUEST_RESET, email=email)
    second = (await mailbox.mails_to(email, 3))[-1].link_token()
    stale = await call(client, RESET, token=first, password="a-Strong-new-phrase-4")
    assert stale["__typename"] == "InvalidToken"
    done = await call(client, RESET, token=second, password="a-Strong-new-phrase-4")
    assert done["__typename"] == "PasswordResetDone"


async def test_a_password_change_ends_a_reset_link_mailed_before(client, mailbox):
    """The owner remembered the password and changed it while signed in: a reset link mailed
    before (perhaps forwarded, or read by someone else) can no longer set another one."""
    email = unique_email()
    await sign_up(client, email, PASSWORD)
    await call(client, REQUEST_RESET, email=email)
    token = (await mailbox.mails_to(email, 2))[-1].link_token()
    access = await sign_in(client, email, PASSWORD)
    changed = await gql(
        client,
        """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
             __typename } }""",
        {"input": {"currentPassword": PASSWORD, "newPassword": "owner-Chosen-phrase-42"}},
        access,
    )
    assert changed["data"]["changePassword"]["__typename"] == "PasswordChanged", changed
    late = await call(client, RESET, token=token, password="someone-Elses-phrase-77")
    assert late["__typename"] == "InvalidToken", late
    assert await sign_in(client, email, "owner-Chosen-phrase-42")


async def test_after_a_reset_the_owner_signs_in_though_someone_guessed_at_the_old_password(
    app, mailbox
):
    """Guesses from elsewhere lock an account out of addresses it has not signed in from
    (SIGNIN_FAILURES_PER_ACCOUNT); the owner who resets the password signs in with the new
    one from any address at once, not after the failures' window."""
    email = unique_email()

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4100))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    octet = secrets.randbelow(200) + 20
    async with at(f"10.210.{octet}.1") as home:
        await sign_up(home, email, PASSWORD)
    limit = app.state.services.settings.signin_failures_per_account
    async with at(f"10.211.{octet}.1") as attacker:
        for n in range(limit):
            body = await gql(attacker, SIGN_IN, {"email": email, "password": f"a-Wrong-phrase-{n}"})
            assert body["data"]["signIn"]["__typename"] == "InvalidCredentials", body
    async with at(f"10.212.{octet}.1") as owner:
        locked = await gql(owner, SIGN_IN, {"email": email, "password": PASSWORD})
        assert locked["data"]["signIn"]["__typename"] == "RateLimited", locked
        await call(owner, REQUEST_RESET, email=email)
        token = (await mailbox.mails_to(email, 2))[-1].link_token()
        done = await call(owner, RESET, token=token, password="a-Fresh-own-phrase-9")
        assert done["__typename"] == "PasswordResetDone", done
        back = await gql(owner, SIGN_IN, {"email": email, "password": "a-Fresh-own-phrase-9"})
        assert back["data"]["signIn"]["__typename"] == "AuthSession", back


async def test_after_a_reset_the_owner_is_not_held_at_the_address_they_guessed_from(app, mailbox):
    """The owner tries old passwords at their usual address until each try must wait (the
    per-address backoff), then resets the password from there: the new one signs in at
    once. A guesser's address keeps its wait."""
    email = unique_email()
    octet = secrets.randbelow(200) + 20
    home_ip, elsewhere_ip = f"10.213.{octet}.1", f"10.214.{octet}.1"

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4100))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    limiter = app.state.services.limiter
    async with at(home_ip) as home, at(elsewhere_ip) as elsewhere:
        await sign_up(home, email, PASSWORD)
        # Failed tries from each address, three past SIGNIN_BACKOFF_AFTER (each further try
        # waits 8 s), recorded as the sign-in records them, without the waits.
        tries = app.state.services.settings.signin_backoff_after + 3
        for ip in (home_ip, elsewhere_ip):
            bucket = f"signin:pair:{address_key(ip)}:{lookup_hash(email)}"
            for _ in range(tries):
                assert (await limiter.reserve([Quota(bucket, 100, 900)])).granted
        held = await gql(home, SIGN_IN, {"email": email, "password": "a-Forgotten-phrase-1"})
        assert held["data"]["signIn"]["__typename"] == "RateLimited", held
        await call(home, REQUEST_RESET, email=email)
        token = (await mailbox.mails_to(email, 2))[-1].link_token()
        done = await call(home, RESET, token=token, password="a-Fresh-own-phrase-9")
        assert done["__typename"] == "PasswordResetDone", done
        back = await gql(home, SIGN_IN, {"email": email, "password": "a-Fresh-own-phrase-9"})
        assert back["data"]["signIn"]["__typename"] == "AuthSession", back
        still = await gql(elsewhere, SIGN_IN, {"email": email, "password": "a-Guess-phrase-2"})
        assert still["data"]["signIn"]["__typename"] == "RateLimited", still


async def test_the_answer_is_the_same_for_known_and_unknown_addresses(client, mailbox):
    known = unique_email()
    await sign_up(client, known)
    unknown = unique_email()
    answers = [await call(client, REQUEST_RESET, email=e) for e in (known, unknown)]
    assert answers[0] == answers[1]
    assert answers[0]["__typename"] == "PasswordResetRequested"
    await mailbox.mails_to(known, 2)
    await mailbox.answer_requests()  # the unknown address's request too (it is dropped)
    assert await Delivery.filter(to_address=unknown).count() == 0


async def test_past_the_limits_the_answer_is_the_same_and_nothing_is_sent(app, mailbox):
    """Three per address typed and twenty per client address in an hour: the fourth (or the
    twenty-first) answer is word for word the same, and no mail is written."""
    transport = httpx.ASGITransport(app=app, client=("10.252.7.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        email = unique_email()
        await sign_up(client, email)
        answers = [await call(client, REQUEST_RESET, email=email) for _ in range(5)]
        assert all(a == answers[0] for a in answers)
        await mailbox.answer_requests()
        assert await Delivery.filter(to_address=email, kind="PASSWORD_RESET").count() == 3
        # Another spelling of the same address is the same address string once normalised.
        await call(client, REQUEST_RESET, email=f"  {email.upper()} ")
        await mailbox.answer_requests()
        assert await Delivery.filter(to_address=email, kind="PASSWORD_RESET").count() == 3

        # The client address: 20 per hour over all addresses; the three sent above count,
        # the refused ones did not (a refused request counts nowhere).
        others = [unique_email() for _ in range(18)]
        for other in others:
            await sign_up(client, other)
        for other in others:
            assert await call(client, REQUEST_RESET, email=other) == answers[0]
        await mailbox.answer_requests()
        written = await Delivery.filter(to_address__in=others, kind="PASSWORD_RESET").count()
        assert written == 17  # the 21st counted request from this address wrote nothing


# ----------------------------------------------------------- what an unverified address lacks


async def test_an_unverified_address_gets_no_mail_about_certificates(client, mailbox):
    person = await member_with_person(client)
    officer = await officer_token(client)
    today = datetime.now(UTC).date()
    issued = await mutate(
        client,
        ISSUE_CARD,
        officer,
        input={
            "personId": person.person.id,
            "issuedOn": (today - timedelta(days=300)).isoformat(),
            "validUntil": (today + timedelta(days=3000)).isoformat(),
        },
    )
    assert issued["__typename"] == "PermanentResidentCardIssued", issued
    certificate = """mutation($id: ID!) { issuePassportCertificate(personId: $id) {
        __typename } }"""
    assert (await mutate(client, certificate, person.token, id=person.person.id))[
        "__typename"
    ] == "CertificateIssued"
    body = await gql(client, "{ viewer { account { id } } }", token=person.token)
    account_pk = pk_of(body["data"]["viewer"]["account"]["id"])
    assert await Delivery.filter(account_id=account_pk, kind="CERTIFICATE_ISSUED").count() == 0

    token = await mailbox.token_to(person.email)
    assert (await call(client, VERIFY, token=token))["__typename"] == "EmailVerified"
    await mutate(client, certificate, person.token, id=person.person.id)
    assert await Delivery.filter(account_id=account_pk, kind="CERTIFICATE_ISSUED").count() == 1
    # The inbox had both all along.
    inbox = await gql(
        client, "{ viewer { notifications { edges { node { kind } } } } }", token=person.token
    )
    kinds = [e["node"]["kind"] for e in inbox["data"]["viewer"]["notifications"]["edges"]]
    assert kinds.count("CERTIFICATE_ISSUED") == 2


async def test_the_verification_mail_speaks_the_sign_ups_language(client, mailbox):
    from tests.conftest import SIGN_UP

    email = unique_email()
    body = await gql(
        client,
        SIGN_UP,
        {"email": email, "password": PASSWORD, "name": "李雷"},
        accept_language="zh-CN,zh;q=0.9",
    )
    token = body["data"]["signUp"]["accessToken"]
    (mail,) = await mailbox.mails_to(email)
    assert mail.message["Subject"] == "请验证您的电子邮箱"
    assert "30分钟" in mail.body
    account = await gql(client, "{ viewer { account { language } } }", token=token)
    assert account["data"]["viewer"]["account"]["language"] == "ZH"
