"""MAX_SUBSCRIPTIONS_PER_ACCOUNT: an account's live subscriptions are capped over all its
connections (and, with Redis, all server processes); a subscribe beyond the cap gets an
`error` message (RATE_LIMITED); a slot is freed when its subscription completes, ends or its
socket closes, and (Redis) when the process holding it dies."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

import settings as settings_module
from persistence.models import Account
from persistence.subscription_slots import MemorySubscriptionSlots, RedisSubscriptionSlots
from settings import ConfigurationError
from tests.test_subscriptions import init, new_applicant, nothing_more, subscribe, ws_session

REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


@pytest.fixture
def cap_of_two(app: Any) -> Iterator[None]:
    """MAX_SUBSCRIPTIONS_PER_ACCOUNT=2 in the running app, for this test only."""
    services = app.state.services
    original = services.settings
    services.settings = original.with_(max_subscriptions_per_account=2)
    yield
    services.settings = original


async def account_key(email: str) -> str:
    return str((await Account.get(email=email)).id)


async def live_count(app: Any, key: str, expected: int) -> None:
    """Wait (up to 5 s) until the account holds `expected` live subscriptions."""
    slots = app.state.services.subscriptions
    for _ in range(250):
        if await slots.count(key) == expected:
            return
        await asyncio.sleep(0.02)
    assert await slots.count(key) == expected


def assert_refused(message: dict, op_id: str) -> None:
    assert message["type"] == "error", message
    assert message["id"] == op_id
    [error] = message["payload"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["maxSubscriptions"] == 2
    assert "2 live subscriptions" in error["message"]


# ------------------------------------------------------------------------- in the app


async def test_the_third_subscription_is_refused_and_completing_one_frees_a_slot(
    app, client, cap_of_two
):
    who = await new_applicant(client)
    key = await account_key(who.email)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        await subscribe(ws, who.person_id, "1")
        await subscribe(ws, who.person_id, "2")
        await live_count(app, key, 2)

        await subscribe(ws, who.person_id, "3")
        assert_refused(await ws.receive_json(timeout=10), "3")
        assert await app.state.services.subscriptions.count(key) == 2

        await ws.send_json({"id": "1", "type": "complete"})
        await live_count(app, key, 1)
        await subscribe(ws, who.person_id, "4")
        await live_count(app, key, 2)
        await nothing_more(ws, 0.3)  # "4" runs: no error for it

        # A query over the same connection is not a subscription: no slot needed.
        await ws.send_json({"id": "q", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        answer = await ws.receive_json(timeout=10)
        assert answer == {"id": "q", "type": "next", "payload": {"data": {"__typename": "Query"}}}
        assert (await ws.receive_json(timeout=10))["type"] == "complete"
    await live_count(app, key, 0)


async def test_the_cap_counts_across_connections_and_closing_a_socket_frees_its_slots(
    app, client, cap_of_two
):
    who = await new_applicant(client)
    key = await account_key(who.email)
    async with ws_session(app) as second:
        assert (await init(second, who.token))["type"] == "connection_ack"
        async with ws_session(app) as first:
            assert (await init(first, who.token))["type"] == "connection_ack"
            await subscribe(first, who.person_id, "a")
            await subscribe(first, who.person_id, "b")
            await live_count(app, key, 2)
            await subscribe(second, who.person_id, "c")
            assert_refused(await second.receive_json(timeout=10), "c")
        # The first socket closed without completing anything: both its slots are free.
        await live_count(app, key, 0)
        await subscribe(second, who.person_id, "d")
        await subscribe(second, who.person_id, "e")
        await live_count(app, key, 2)
        await nothing_more(second, 0.3)


async def test_another_accounts_subscriptions_do_not_count(app, client, cap_of_two):
    one, other = await new_applicant(client), await new_applicant(client)
    async with ws_session(app) as ws, ws_session(app) as ws_other:
        assert (await init(ws, one.token))["type"] == "connection_ack"
        assert (await init(ws_other, other.token))["type"] == "connection_ack"
        for op_id in ("1", "2"):
            await subscribe(ws, one.person_id, op_id)
        await live_count(app, await account_key(one.email), 2)
        for op_id in ("1", "2"):
            await subscribe(ws_other, other.person_id, op_id)
        await live_count(app, await account_key(other.email), 2)
        await nothing_more(ws_other, 0.3)


async def test_a_subscription_the_server_ends_frees_its_slot(app, client, cap_of_two):
    who, stranger = await new_applicant(client), await new_applicant(client)
    key = await account_key(who.email)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        for op_id in ("1", "2", "3"):
            # Someone else's applications: refused (NOT_FOUND), which ends the subscription.
            await subscribe(ws, stranger.person_id, op_id)
            message = await ws.receive_json(timeout=10)
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"
            await live_count(app, key, 0)
        await subscribe(ws, who.person_id, "4")
        await subscribe(ws, who.person_id, "5")
        await live_count(app, key, 2)


async def test_concurrent_subscribes_get_exactly_the_cap(app, client, cap_of_two):
    who = await new_applicant(client)
    key = await account_key(who.email)
    async with ws_session(app) as first, ws_session(app) as second:
        for ws in (first, second):
            assert (await init(ws, who.token))["type"] == "connection_ack"
        # Six subscribes in flight at once on two connections.
        await asyncio.gather(
            *(subscribe(ws, who.person_id, f"s{n}") for n in range(3) for ws in (first, second))
        )
        refused = []
        for ws in (first, second):
            while True:
                try:
                    refused.append(await ws.receive_json(timeout=0.5))
                except TimeoutError:
                    break
        assert len(refused) == 4, refused
        for message in refused:
            assert_refused(message, message["id"])
        assert await app.state.services.subscriptions.count(key) == 2


# ------------------------------------------------------------------------ the setting


def test_the_setting_is_read_from_its_variable_and_must_be_positive():
    assert settings_module.Settings().max_subscriptions_per_account == 20
    loaded = settings_module.load({"MAX_SUBSCRIPTIONS_PER_ACCOUNT": "3"})
    assert loaded.max_subscriptions_per_account == 3
    with pytest.raises(ConfigurationError, match="MAX_SUBSCRIPTIONS_PER_ACCOUNT"):
        settings_module.load({"MAX_SUBSCRIPTIONS_PER_ACCOUNT": "0"})


async def test_memory_slots_grant_exactly_the_limit_and_release_is_idempotent():
    slots = MemorySubscriptionSlots()
    granted = [s for s in await asyncio.gather(*(slots.acquire("a", 3) for _ in range(8))) if s]
    assert len(granted) == 3
    assert await slots.acquire("a", 3) is None
    assert await slots.acquire("b", 3) is not None
    await slots.release(granted[0])
    await slots.release(granted[0])
    assert await slots.count("a") == 2


# --------------------------------------------------------------- Redis: several processes


class Time:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@needs_redis
async def test_two_processes_share_one_count_and_a_dead_ones_slots_expire():
    prefix, clock = f"test-{secrets.token_hex(4)}:subs:", Time()
    alive = RedisSubscriptionSlots(REDIS_URL, prefix, clock=clock, lease_s=60)
    dying = RedisSubscriptionSlots(REDIS_URL, prefix, clock=clock, lease_s=60)
    try:
        results = await asyncio.gather(
            *((alive if n % 2 else dying).acquire("7", 3) for n in range(10))
        )
        assert len([r for r in results if r is not None]) == 3
        assert await alive.acquire("7", 3) is None
        assert await dying.acquire("7", 3) is None
        mine = await alive.count("7"), await dying.count("7")
        assert mine == (3, 3)

        kept = sum(1 for n, r in enumerate(results) if r is not None and n % 2)
        await dying.close()  # dies: nothing released, its leases no longer renewed
        clock.now += 40
        await alive.renew()
        clock.now += 40  # past the dying process's leases, not the renewed ones
        assert await alive.count("7") == kept
        assert await alive.acquire("7", 3) is not None
    finally:
        await alive.close()


@needs_redis
async def test_the_heartbeat_keeps_live_subscriptions_counted_past_their_lease():
    prefix = f"test-{secrets.token_hex(4)}:subs:"
    alive = RedisSubscriptionSlots(REDIS_URL, prefix, lease_s=0.3)
    dying = RedisSubscriptionSlots(REDIS_URL, prefix, lease_s=0.3)
    try:
        slot = await alive.acquire("7", 5)
        assert slot is not None and await dying.acquire("7", 5) is not None
        await dying.close()
        await asyncio.sleep(0.8)  # more than two leases: only the renewed one remains
        assert await alive.count("7") == 1
        await alive.release(slot)
        assert await alive.count("7") == 0
    finally:
        await alive.close()


@needs_redis
async def test_the_app_counts_subscriptions_held_by_another_process(app, client, cap_of_two):
    prefix = f"test-{secrets.token_hex(4)}:subs:"
    services = app.state.services
    original = services.subscriptions
    here = RedisSubscriptionSlots(REDIS_URL, prefix)
    elsewhere = RedisSubscriptionSlots(REDIS_URL, prefix)
    services.subscriptions = here
    try:
        who = await new_applicant(client)
        key = await account_key(who.email)
        held = await elsewhere.acquire(key, 2)  # a subscription in another process
        assert held is not None
        async with ws_session(app) as ws:
            assert (await init(ws, who.token))["type"] == "connection_ack"
            await subscribe(ws, who.person_id, "1")
            await live_count(app, key, 2)
            await subscribe(ws, who.person_id, "2")
            assert_refused(await ws.receive_json(timeout=10), "2")
            await elsewhere.release(held)
            await subscribe(ws, who.person_id, "3")
            await live_count(app, key, 2)
            await nothing_more(ws, 0.3)
        await live_count(app, key, 0)
    finally:
        services.subscriptions = original
        await here.close()
        await elsewhere.close()


class _LosesOneCancel:
    """A store (the subscription slots, the cost budget) whose `method` keeps its answer once
    when the operation is cancelled meanwhile, as redis-py's asyncio.wait_for does when the
    cancel lands as Redis answers. Everything else is the store's own."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method = inner, method
        self.waiting = asyncio.Event()
        self.cancelled = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name != self.method or self.waiting.is_set():
            return found

        async def losing_the_cancel(*args: Any) -> Any:
            answer = await found(*args)
            self.waiting.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()  # ... and not raised again: the cancel is lost
            return answer

        return losing_the_cancel


@pytest.mark.parametrize(
    ("store", "method"),
    [("subscriptions", "acquire"), ("budget", "spend")],
    ids=["while-its-slot-is-taken", "while-it-is-paid-for"],
)
async def test_a_subscription_completed_while_admitted_neither_runs_nor_keeps_its_slot(
    app, client, cap_of_two, monkeypatch, store, method
):
    """A client that subscribes and completes at once (a screen mounted and left): if the
    cancel is lost while the slot is taken or the operation paid for, the subscription must
    not run untracked, holding its slot (and sending events for a completed id)."""
    who = await new_applicant(client)
    key = await account_key(who.email)
    services = app.state.services
    losing = _LosesOneCancel(getattr(services, store), method)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        monkeypatch.setattr(services, store, losing)
        await subscribe(ws, who.person_id, "1")
        await asyncio.wait_for(losing.waiting.wait(), 5)
        await ws.send_json({"id": "1", "type": "complete"})
        await asyncio.wait_for(losing.cancelled.wait(), 5)
        await live_count(app, key, 0)
        await nothing_more(ws, 0.3)
