"""Sessions end when they should: an access token is refused on the very next request after
its sign-in ends (sign-out, refresh-token reuse, password change, unlinked identity), also
after a restart and in another process; live subscriptions end within a second of the same
events and at the token's expiry; two refreshes with the same token at once both succeed with
the same successor."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.session_revocations import (
    MemorySessionRevocations,
    RedisSessionRevocations,
    keep_seconds,
    restore,
)
from schema.common import to_global_id
from tests.conftest import SIGN_IN, gql, sign_up, unique_email
from tests.helpers import (
    PASSWORD,
    REGISTER_PERSON,
    helper_in_database,
    officer_token,
    passport_number,
    person_input,
    pk_of,
    running_servers,
    server_environment,
)
from tests.test_subscriptions import (
    PROTOCOL,
    SUBSCRIPTION,
    init,
    new_applicant,
    recorded_application,
    subscribe,
    wait_until_listening,
    ws_session,
)
from web.authentication import Unauthenticated, authenticate

REFRESH = """
mutation($token: String!) {
  refreshSession(refreshToken: $token) {
    __typename
    ... on AuthSession { accessToken refreshToken expiresAt }
    ... on InvalidRefreshToken { message }
  }
}"""
SIGN_OUT = "mutation($token: String!) { signOut(refreshToken: $token) { __typename } }"
CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { __typename }
}"""
UNLINK = "mutation($id: ID!) { unlinkIdentity(personId: $id) { __typename } }"
REVOKE = "mutation($id: ID!) { revokeDelegation(id: $id) { __typename } }"
VIEWER = "{ viewer { account { email } } }"


# ------------------------------------------------------------------------------- helpers


async def session_of(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    """A new sign-in: access token and refresh token."""
    body = await gql(client, SIGN_IN, {"email": email, "password": password})
    result = body["data"]["signIn"]
    assert result["__typename"] == "AuthSession", result
    return result


async def status_with(client: httpx.AsyncClient, token: str) -> int:
    """The HTTP status of a viewer query sent with the access token."""
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {token}"}
    )
    if response.status_code == 200:
        assert response.json()["data"]["viewer"]["account"]["email"], response.text
    return response.status_code


async def refresh(client: httpx.AsyncClient, token: str, language: str = "en") -> dict:
    body = await gql(client, REFRESH, {"token": token}, accept_language=language)
    return body["data"]["refreshSession"]


async def sign_out(client: httpx.AsyncClient, refresh_token: str) -> None:
    body = await gql(client, SIGN_OUT, {"token": refresh_token})
    assert body["data"]["signOut"]["__typename"] == "SignedOut", body


async def ended_within(ws: Any, seconds: float, op_id: str = "1") -> dict:
    """The message that ends the operation, which must arrive within `seconds`."""
    started = time.monotonic()
    message = await ws.receive_json(timeout=seconds + 2)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s: {message}"
    assert message["id"] == op_id, message
    return message


def assert_session_ended_error(message: dict) -> None:
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED", message


# ----------------------------------------------------- access tokens over HTTP, next request


async def test_an_access_token_is_refused_on_the_next_request_after_sign_out(client):
    email = unique_email()
    await sign_up(client, email)
    session = await session_of(client, email)
    other = await session_of(client, email)
    assert await status_with(client, session["accessToken"]) == 200

    await sign_out(client, session["refreshToken"])

    assert await status_with(client, session["accessToken"]) == 401
    # Only that sign-in ended.
    assert await status_with(client, other["accessToken"]) == 200


async def test_refresh_token_reuse_ends_the_access_tokens_of_the_family(
    client, clock, test_settings
):
    email = unique_email()
    first = await sign_up(client, email)
    second = await refresh(client, first["refreshToken"])
    assert second["__typename"] == "AuthSession"
    assert await status_with(client, second["accessToken"]) == 200

    clock.pinned = datetime.now(UTC) + timedelta(seconds=test_settings.refresh_reuse_grace_s + 1)
    assert (await refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"

    assert await status_with(client, second["accessToken"]) == 401
    assert await status_with(client, first["accessToken"]) == 401


async def test_change_password_ends_other_sessions_and_keeps_the_current_one(client):
    email = unique_email()
    await sign_up(client, email)
    current = await session_of(client, email)
    other = await session_of(client, email)

    body = await gql(
        client,
        CHANGE_PASSWORD,
        {"current": PASSWORD, "new": "another-Strong-passphrase-2"},
        token=current["accessToken"],
    )
    assert body["data"]["changePassword"]["__typename"] == "PasswordChanged", body

    assert await status_with(client, other["accessToken"]) == 401
    assert await status_with(client, current["accessToken"]) == 200
    assert (await refresh(client, other["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await refresh(client, current["refreshToken"]))["__typename"] == "AuthSession"


async def test_unlinking_an_identity_ends_every_session_of_the_linked_account(client):
    who = await new_applicant(client)
    second = await session_of(client, who.email)
    assert await status_with(client, who.token) == 200
    officer = await officer_token(client)

    body = await gql(client, UNLINK, {"id": who.person_id}, token=officer)
    assert body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked", body

    assert await status_with(client, who.token) == 401
    assert await status_with(client, second["accessToken"]) == 401
    assert (await refresh(client, second["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    # The officer who unlinked is not affected; the account may sign in again.
    assert await status_with(client, officer) == 200
    assert await status_with(client, (await session_of(client, who.email))["accessToken"]) == 200


async def test_the_check_costs_no_sql_statement(client):
    """The revocation check adds nothing to the statements an authenticated request makes."""
    email = unique_email()
    session = await sign_up(client, email)
    headers = {"authorization": f"Bearer {session['accessToken']}"}
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    # authenticate() loads the account with its person and its roles in one statement, as
    # without the revocation check; the viewer's fields need none more.
    assert response.headers["x-sql-statements"] == "1", response.headers


async def test_a_restart_revives_no_signed_out_token(app, client):
    """What a starting process does (persistence.session_revocations.restore) rebuilds the
    revocations of the last minutes from the database."""
    email = unique_email()
    await sign_up(client, email)
    ended = await session_of(client, email)
    alive = await session_of(client, email)
    await sign_out(client, ended["refreshToken"])

    services = app.state.services
    fresh = MemorySessionRevocations(keep_seconds(services.settings.access_token_minutes))
    restarted = dataclasses.replace(services, sessions=fresh)
    assert await authenticate(restarted, f"Bearer {ended['accessToken']}") is not None
    await restore(fresh, services.settings.access_token_minutes, services.clock.now())

    with pytest.raises(Unauthenticated):
        await authenticate(restarted, f"Bearer {ended['accessToken']}")
    assert await authenticate(restarted, f"Bearer {alive['accessToken']}") is not None


# ------------------------------------------------------------- the refresh grace window


@contextlib.asynccontextmanager
async def account_row_held(backend: str, database_url: str, account_pk: int) -> AsyncIterator[Any]:
    """On PostgreSQL, hold the account's row from another connection, so that requests sent
    meanwhile all get as far as they can and then go on together when it is released (without
    it, the first refresh often finishes before the others have read the token). SQLite runs
    one transaction at a time in a process: nothing to hold."""
    if backend != "postgres":
        yield None
        return
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        async with connection.transaction():
            await connection.execute("SELECT 1 FROM account WHERE id = $1 FOR UPDATE", account_pk)
            yield connection
    finally:
        await connection.close()


async def until_waiting_for_locks(held: Any, count: int) -> None:
    """Wait (10 s at most) until `count` other sessions of the database wait for a lock, so
    that a test holding a row knows its requests got that far; nothing to wait for on SQLite
    (`held` None)."""
    if held is None:
        return
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        # Within the holder's transaction the statistics views keep their first snapshot.
        await held.execute("SELECT pg_stat_clear_snapshot()")
        if await held.fetchval(query) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions came to wait for the held row")


async def test_two_concurrent_refreshes_with_one_token_get_the_same_successor(
    client, backend, test_settings
):
    email = unique_email()
    first = await sign_up(client, email)

    account_pk = pk_of(first["account"]["id"])
    async with account_row_held(backend, test_settings.database_url, account_pk) as held:
        # Each with its own Accept-Language: identical anonymous requests would otherwise
        # wait for one another in this process (the response cache's single flight), as
        # requests to different processes do not.
        tasks = [
            asyncio.create_task(refresh(client, first["refreshToken"], f"en;q=0.{n + 1}"))
            for n in range(4)
        ]
        await until_waiting_for_locks(held, len(tasks))  # every refresh waits for the row
    results = await asyncio.gather(*tasks)

    assert [r["__typename"] for r in results] == ["AuthSession"] * 4, results
    assert len({r["refreshToken"] for r in results}) == 1, results
    for result in results:
        assert await status_with(client, result["accessToken"]) == 200
    # The successor works once, as any refresh token.
    third = await refresh(client, results[0]["refreshToken"])
    assert third["__typename"] == "AuthSession"
    assert await status_with(client, third["accessToken"]) == 200


async def test_a_retry_within_the_grace_window_gets_the_same_successor(client):
    first = await sign_up(client, unique_email())
    second = await refresh(client, first["refreshToken"])
    retried = await refresh(client, first["refreshToken"])
    assert retried["__typename"] == "AuthSession"
    assert retried["refreshToken"] == second["refreshToken"]
    assert await status_with(client, retried["accessToken"]) == 200


async def test_reuse_after_the_grace_window_ends_the_sign_in(client, clock, test_settings):
    first = await sign_up(client, unique_email())
    second = await refresh(client, first["refreshToken"])
    clock.pinned = datetime.now(UTC) + timedelta(seconds=test_settings.refresh_reuse_grace_s + 1)
    assert (await refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await refresh(client, second["refreshToken"]))["__typename"] == "InvalidRefreshToken"


async def test_presenting_a_token_whose_successor_was_used_is_reuse_even_in_the_window(client):
    first = await sign_up(client, unique_email())
    second = await refresh(client, first["refreshToken"])
    third = await refresh(client, second["refreshToken"])
    assert third["__typename"] == "AuthSession"
    # Not the same refresh arriving twice: an older token replayed.
    assert (await refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await refresh(client, third["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert await status_with(client, third["accessToken"]) == 401


async def test_the_grace_window_does_not_outlive_a_sign_out(client):
    first = await sign_up(client, unique_email())
    second = await refresh(client, first["refreshToken"])
    await sign_out(client, second["refreshToken"])
    assert (await refresh(client, first["refreshToken"]))["__typename"] == "InvalidRefreshToken"


# ------------------------------------------------------------ subscriptions end at once


async def _listening(app: Any, ws: Any, token: str, person_id: str) -> None:
    assert (await init(ws, token))["type"] == "connection_ack"
    await subscribe(ws, person_id)
    await wait_until_listening(app, person_id)


async def test_a_subscription_ends_within_a_second_of_sign_out(app, client):
    who = await new_applicant(client)
    session = await session_of(client, who.email)
    async with ws_session(app) as ws:
        await _listening(app, ws, session["accessToken"], who.person_id)
        await sign_out(client, session["refreshToken"])
        assert_session_ended_error(await ended_within(ws, 1.0))
        # No further operation runs on the connection of the ended session.
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": VIEWER}})
        assert_session_ended_error(await ended_within(ws, 1.0, "2"))


async def test_a_subscription_of_another_session_ends_on_password_change(app, client):
    who = await new_applicant(client)
    listening = await session_of(client, who.email)
    async with ws_session(app) as ws:
        await _listening(app, ws, listening["accessToken"], who.person_id)
        body = await gql(
            client,
            CHANGE_PASSWORD,
            {"current": PASSWORD, "new": "another-Strong-passphrase-2"},
            token=who.token,
        )
        assert body["data"]["changePassword"]["__typename"] == "PasswordChanged", body
        assert_session_ended_error(await ended_within(ws, 1.0))


async def test_the_subscription_of_the_session_that_changed_the_password_goes_on(app, client):
    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)
    async with ws_session(app) as ws:
        await _listening(app, ws, who.token, who.person_id)
        body = await gql(
            client,
            CHANGE_PASSWORD,
            {"current": PASSWORD, "new": "another-Strong-passphrase-2"},
            token=who.token,
        )
        assert body["data"]["changePassword"]["__typename"] == "PasswordChanged", body
        officer = await officer_token(client)
        body = await gql(
            client,
            "mutation($input: UpdateApplicationStatusInput!) { updateApplicationStatus("
            "input: $input) { __typename } }",
            {"input": {"applicationId": application["id"], "status": "ACCEPTED"}},
            token=officer,
        )
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["applicationUpdates"]["status"] == "ACCEPTED"


async def test_a_subscription_ends_within_a_second_of_unlinking(app, client):
    who = await new_applicant(client)
    officer = await officer_token(client)
    async with ws_session(app) as ws:
        await _listening(app, ws, who.token, who.person_id)
        body = await gql(client, UNLINK, {"id": who.person_id}, token=officer)
        assert body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked", body
        assert_session_ended_error(await ended_within(ws, 1.0))


async def test_a_helpers_subscription_completes_within_a_second_of_revocation(app, client):
    """The right ended, not the session: the operation completes (resubscribing is refused)."""
    who = await new_applicant(client)
    helper, delegation_pk = await helper_in_database(
        client, who.person_id, ["VIEW_APPLICATIONS"], "FRIEND"
    )
    async with ws_session(app) as ws:
        await _listening(app, ws, helper, who.person_id)
        body = await gql(
            client, REVOKE, {"id": to_global_id("Delegation", delegation_pk)}, token=who.token
        )
        assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
        assert await ended_within(ws, 1.0) == {"id": "1", "type": "complete"}


async def test_a_subscription_ends_at_its_access_tokens_expiry(app, client, clock, test_settings):
    who = await new_applicant(client)
    lifetime = timedelta(minutes=test_settings.access_token_minutes)
    # Signed in so that the token expires 2 seconds from now.
    clock.pinned = datetime.now(UTC) - lifetime + timedelta(seconds=2)
    token = (await session_of(client, who.email))["accessToken"]
    clock.pinned = None
    async with ws_session(app) as ws:
        await _listening(app, ws, token, who.person_id)
        assert_session_ended_error(await ended_within(ws, 3.0))
    assert await status_with(client, token) == 401


# ------------------------------------------------------------------ several processes


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    return url


async def test_a_revocation_in_one_process_is_seen_by_the_next_check_in_another(redis_url):
    prefix = f"test-session-end-{time.time_ns()}:"
    one = RedisSessionRevocations(redis_url, prefix, keep_s=60)
    other = RedisSessionRevocations(redis_url, prefix, keep_s=60)
    now = datetime.now(UTC)
    await one.read_back([], now)  # as a starting process does: Redis holds the revocations
    try:
        assert not await other.is_revoked("family-a")
        await one.revoke(["family-a"], now, now)
        assert await other.is_revoked("family-a")
        assert not await other.is_revoked("family-b")
    finally:
        await one.close()
        await other.close()


async def test_sign_out_at_one_server_ends_requests_and_subscriptions_at_another(
    app, backend, test_settings, redis_url
):
    import websockets

    if backend != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    env = server_environment(test_settings, REDIS_URL=redis_url)
    async with running_servers(2, env, ready_attempts=300) as (port_a, port_b):
        a = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=30)
        b = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}", timeout=30)
        async with a, b:
            email = unique_email()
            await sign_up(a, email)
            session = await session_of(a, email)
            assert await status_with(a, session["accessToken"]) == 200
            await sign_out(b, session["refreshToken"])
            assert await status_with(a, session["accessToken"]) == 401

            # An officer follows a person at A and signs out at B.
            officer = await session_of(a, "officer@demo.test", "demo-pass-2024")
            facts = {
                "surname": "Farsession",
                "nationality": "ESP",
                "birthDate": "1987-05-06",
                "passportNumber": passport_number("S"),
            }
            values = person_input(facts, given_names="Ana", passport_valid_until="2034-01-01")
            body = await gql(b, REGISTER_PERSON, {"input": values}, token=officer["accessToken"])
            person_id = body["data"]["registerPerson"]["person"]["id"]
            async with websockets.connect(
                f"ws://127.0.0.1:{port_a}/graphql", subprotocols=[PROTOCOL], open_timeout=10
            ) as ws:
                authorization = {"authorization": f"Bearer {officer['accessToken']}"}
                await ws.send(json.dumps({"type": "connection_init", "payload": authorization}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
                query = {"query": SUBSCRIPTION, "variables": {"id": person_id}}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
                await asyncio.sleep(1.0)  # let the subscription start at A
                await sign_out(b, officer["refreshToken"])
                started = time.monotonic()
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert time.monotonic() - started < 1.0, message
                assert_session_ended_error(message)


async def test_a_read_back_asked_for_while_one_runs_reads_again_after_it(monkeypatch):
    """A read-back that read the database before a sign-out ended must not be the only one:
    asked for again while it runs (Redis answers again after the sign-out), it reads again."""
    from persistence import session_revocations

    revocations = session_revocations.RedisSessionRevocations(
        "redis://127.0.0.1:1/0", "test-read-again:", keep_s=60
    )
    first_started, finish_first = asyncio.Event(), asyncio.Event()
    reads: list[int] = []

    async def slow_read_back(*args: Any) -> int:
        reads.append(len(reads))
        if len(reads) == 1:
            first_started.set()
            await finish_first.wait()
        return 0

    monkeypatch.setattr(session_revocations, "_read_back", slow_read_back)
    try:
        revocations._read_back_soon()
        await asyncio.wait_for(first_started.wait(), 5)
        revocations._read_back_soon()  # the sign-out came after the first read
        finish_first.set()
        assert revocations._reading_back is not None
        await asyncio.wait_for(revocations._reading_back, 5)
        assert reads == [0, 1]
    finally:
        await revocations.close()


async def test_closing_the_revocations_while_cancelled_is_cancelled():
    """close() waits for its watcher without swallowing a cancel aimed at its caller (a
    shutdown that is itself cancelled must stop)."""
    from persistence import session_revocations

    revocations = session_revocations.RedisSessionRevocations(
        "redis://127.0.0.1:1/0", "test-close-cancel:", keep_s=60
    )

    async def watcher() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.2)  # its cleanup takes a moment

    revocations._watching = asyncio.create_task(watcher())
    await asyncio.sleep(0)
    went_on: list[str] = []

    async def shut_down() -> None:
        await revocations.close()
        went_on.append("after close")

    task = asyncio.create_task(shut_down())
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled() and went_on == []
