"""Account recovery tried as an attacker would, through HTTP: requestPasswordReset does the same
work for a known and an unknown address (so neither its answer nor its time tells them
apart), two resets racing with one token let exactly one through, and a reset link keeps
working for exactly its 30 minutes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.models import AccountToken, Delivery
from resolvers import account_recovery
from resolvers.context import Clock
from resolvers.mail_delivery import DeliveryWorker, sender_for
from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import PASSWORD
from tests.mail_server import smtp_server
from tests.test_account_recovery import REQUEST_RESET, RESET, Mailbox, call


@pytest.fixture
async def mailbox(test_settings: Any) -> AsyncIterator[Mailbox]:
    with smtp_server() as (server, url):
        settings = test_settings.with_(smtp_url=url)
        yield Mailbox(server, DeliveryWorker(settings, Clock(), sender_for(settings)))


async def _reset_request(client: httpx.AsyncClient, email: str) -> tuple[dict, int]:
    """The answer to requestPasswordReset (its data and errors) and the SQL statements it
    took."""
    response = await client.post(
        "/graphql", json={"query": REQUEST_RESET, "variables": {"email": email}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("extensions", None)  # the request cost budget left, which counts down
    return body, int(response.headers["x-sql-statements"])


async def test_a_known_and_an_unknown_address_take_the_same_work(client, mailbox):
    """Writing a token and a mail only when an account has the address took four statements
    against one: tens of milliseconds a stopwatch tells apart. The request is only queued (one
    statement for every address); the worker writes the mail, off the request's clock."""
    known = unique_email()
    await sign_up(client, known)
    await mailbox.mails_to(known)  # the sign-up's verification mail, out of the way
    known_answer, known_statements = await _reset_request(client, known)
    unknown = unique_email()
    unknown_answer, unknown_statements = await _reset_request(client, unknown)
    assert known_answer == unknown_answer
    assert known_statements == unknown_statements

    # The worker writes and sends the known address's mail; the unknown one's request is gone
    # without a trace (the typed address is not kept).
    (mail,) = [m for m in await mailbox.mails_to(known, 2) if "reset" in m.body.lower()]
    assert mail.link_token() is not None
    assert await Delivery.filter(to_address=unknown).count() == 0


async def test_an_address_no_account_could_have_is_answered_alike(client, mailbox, monkeypatch):
    """Too long for any account (and for the outbox's column on PostgreSQL), or not an address
    at all: the same answer, no 500, nothing queued. A well-formed unknown address, answered
    the same, is queued (the worker finds no account for it)."""
    queued: list[str] = []
    queue = account_recovery.queue_password_reset

    async def recording(ctx: Any, address: str) -> None:
        queued.append(address)
        await queue(ctx, address)

    monkeypatch.setattr(account_recovery, "queue_password_reset", recording)
    answers = []
    for email in ("x" * 300 + "@example.test", "a@" + "b" * 100_000 + ".test", "no-at-sign"):
        answer, _ = await _reset_request(client, email)
        answers.append(answer)
    assert queued == []
    well_formed = unique_email()
    answer, _ = await _reset_request(client, well_formed)
    answers.append(answer)
    assert queued == [well_formed]
    assert all("errors" not in a for a in answers), answers
    assert len({str(a) for a in answers}) == 1
    assert answers[0]["data"]["requestPasswordReset"]["__typename"] == "PasswordResetRequested"


async def test_an_overlong_address_signs_in_to_nothing_rather_than_failing(client):
    body = await gql(
        client,
        'mutation($e: String!) { signIn(input: {email: $e, password: "some-Passphrase-1"})'
        " { __typename } }",
        {"e": "x" * 300 + "@example.test"},
    )
    assert body["data"]["signIn"]["__typename"] == "InvalidCredentials", body


async def test_two_resets_racing_with_one_token_let_exactly_one_through(client, mailbox):
    email = unique_email()
    await sign_up(client, email, PASSWORD)
    await call(client, REQUEST_RESET, email=email)
    token = (await mailbox.mails_to(email, 2))[-1].link_token()
    passwords = [f"racing-Passphrase-{n}-x" for n in range(4)]
    results = await asyncio.gather(
        *(call(client, RESET, token=token, password=p) for p in passwords)
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["InvalidToken"] * 3 + ["PasswordResetDone"], results
    (winner,) = [
        p for p, r in zip(passwords, results, strict=True) if r["__typename"] == "PasswordResetDone"
    ]
    assert await sign_in(client, email, winner)
    for loser in [p for p in passwords if p != winner] + [PASSWORD]:
        body = await gql(
            client,
            "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p})"
            " { __typename } }",
            {"e": email, "p": loser},
        )
        assert body["data"]["signIn"]["__typename"] == "InvalidCredentials", loser


async def test_a_reset_link_works_until_its_thirtieth_minute_and_not_after(client, clock, mailbox):
    email = unique_email()
    await sign_up(client, email, PASSWORD)
    await call(client, REQUEST_RESET, email=email)
    token = (await mailbox.mails_to(email, 2))[-1].link_token()
    row = await AccountToken.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    clock.pinned = row.expires_at.astimezone(UTC) + timedelta(seconds=1)
    late = await call(client, RESET, token=token, password="a-Late-passphrase-1")
    assert late["__typename"] == "InvalidToken"
    clock.pinned = row.expires_at.astimezone(UTC) - timedelta(seconds=1)
    assert datetime.now(UTC) < clock.pinned + timedelta(minutes=31)
    done = await call(client, RESET, token=token, password="a-Late-passphrase-1")
    assert done["__typename"] == "PasswordResetDone"
