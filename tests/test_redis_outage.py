"""Redis going away is not an outage of the service (docs/scaling.md, "When Redis cannot
answer"): a server whose Redis is down or does not answer keeps answering, rate limits still
hold, ended sign-ins stay ended (from the database) even when Redis comes back empty, and the
listeners of live events and of public-cache drops hear Redis again when it is back."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from persistence import accounts as account_store
from persistence.rate_limits import Quota, RedisRateLimiter
from persistence.session_revocations import RedisSessionRevocations, keep_seconds, restore
from tests.conftest import SIGN_IN, gql, sign_up, unique_email
from tests.helpers import (
    PASSWORD,
    ROOT,
    free_port,
    pk_of,
    server_command,
    server_environment,
    wait_ready,
)
from tests.redis_proxy import RedisProxy
from tests.test_session_end import VIEWER, sign_out, status_with
from web.response_cache import ResponseCache

REDIS_URL = os.environ.get("TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


@pytest.fixture
async def proxy() -> AsyncIterator[RedisProxy]:
    assert REDIS_URL is not None
    p = RedisProxy(REDIS_URL)
    await p.start()
    yield p
    await p.close()


async def eventually(check, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ a server without Redis


async def test_a_server_whose_redis_goes_away_keeps_answering(test_settings, proxy):
    """Redis refuses connections, then takes them and never answers, then is back: public
    and signed-in queries, sign-in and sign-out answer as usual all along (no 500), a
    request does not wait long for a Redis that does not answer, and a signed-out access
    token is refused."""
    port = free_port()
    env = server_environment(
        test_settings, REDIS_URL=proxy.url, REDIS_TIMEOUT_MS="200", REDIS_RETRY_SECONDS="1"
    )
    server = subprocess.Popen(server_command(port), cwd=ROOT, env=env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", server, 300)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            email = unique_email()
            await sign_up(c, email)

            async def everything_answers() -> dict:
                public = await c.post("/graphql", json={"query": "{ services { code } }"})
                assert public.status_code == 200, public.text
                assert public.json()["data"]["services"], public.text
                signed_in = await gql(c, SIGN_IN, {"email": email, "password": PASSWORD})
                session = signed_in["data"]["signIn"]
                assert session["__typename"] == "AuthSession", signed_in
                assert await status_with(c, session["accessToken"]) == 200
                return session

            await everything_answers()
            assert (await c.get("/ready")).json() == {"status": "ready", "redis": "ok"}

            await proxy.cut()
            session = await everything_answers()
            # Still ready (it serves), and says what it is missing.
            ready = await c.get("/ready")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ready", "redis": "unavailable"}
            await sign_out(c, session["refreshToken"])
            assert await status_with(c, session["accessToken"]) == 401

            await proxy.mend()
            await eventually(lambda: _answers(c))  # Redis is tried again after 1 s
            await eventually(lambda: _redis_ready(c))
            await asyncio.sleep(1.2)
            await proxy.black_hole()
            started = time.monotonic()
            session = await everything_answers()
            # Without a timeout each call would wait for Redis forever; with one, a few
            # hundred milliseconds the first time, then Redis is left alone.
            assert time.monotonic() - started < 10
            await sign_out(c, session["refreshToken"])
            assert await status_with(c, session["accessToken"]) == 401

            await proxy.mend()
            await asyncio.sleep(1.2)
            await everything_answers()
    finally:
        server.terminate()
        server.wait(20)


async def _redis_ready(c: httpx.AsyncClient) -> bool:
    return (await c.get("/ready")).json().get("redis") == "ok"


async def _answers(c: httpx.AsyncClient) -> bool:
    response = await c.post("/graphql", json={"query": VIEWER})
    return response.status_code == 200


# ------------------------------------------------------------------ ended sign-ins


async def _ended_family(account_id: int, now: datetime) -> str:
    family = f"family-{secrets.token_hex(6)}"
    await account_store.store_refresh_token(
        account_id=account_id,
        family=family,
        token_hash=secrets.token_hex(32),
        expires_at=now + timedelta(days=30),
    )
    await account_store.revoke_family(family, now)
    return family


async def test_ended_sign_ins_stay_ended_when_redis_comes_back_empty(client):
    """A process that finds Redis without its ended sign-ins (a restart without persistence,
    a failover) asks the database, and writes them back into Redis for every process."""
    import redis.asyncio as redis

    assert REDIS_URL is not None
    session = await sign_up(client, unique_email())
    now = datetime.now(UTC)
    family = await _ended_family(pk_of(session["account"]["id"]), now)
    prefix = f"test-outage-{secrets.token_hex(4)}:"
    keep_s = keep_seconds(15)
    started = RedisSessionRevocations(REDIS_URL, prefix, keep_s)
    admin = redis.from_url(REDIS_URL)
    try:
        assert await restore(started, 15, now) >= 1  # as a starting process does
        other = RedisSessionRevocations(REDIS_URL, prefix, keep_s)
        assert await other.is_revoked(family)
        assert not await other.is_revoked("family-never-ended")
        await other.close()

        # Redis restarts and comes back empty.
        await admin.delete(*[key async for key in admin.scan_iter(f"{prefix}*")])
        later = RedisSessionRevocations(REDIS_URL, prefix, keep_s)
        assert await later.is_revoked(family)  # from the database
        assert not await later.is_revoked("family-never-ended")

        async def written_back() -> bool:
            return bool(await admin.exists(f"{prefix}{family}", f"{prefix}:read-back") == 2)

        await eventually(written_back)
        await later.close()
    finally:
        await started.close()
        await admin.aclose()


async def test_ended_sign_ins_are_checked_in_the_database_while_redis_is_down(client, proxy):
    session = await sign_up(client, unique_email())
    now = datetime.now(UTC)
    family = await _ended_family(pk_of(session["account"]["id"]), now)
    await proxy.cut()
    revocations = RedisSessionRevocations(proxy.url, "test-outage-down:", keep_seconds(15))
    try:
        assert await revocations.is_revoked(family)
        assert not await revocations.is_revoked("family-never-ended")
        await revocations.revoke(["family-ended-meanwhile"], now, now)
        assert await revocations.is_revoked("family-ended-meanwhile")  # by this process
    finally:
        await revocations.close()


async def test_a_sign_out_made_while_redis_is_away_reaches_every_process_when_it_is_back(
    client, proxy
):
    """Process C cannot reach Redis when a sign-in ends through it; process A, whose Redis
    is whole, trusts Redis and cannot know. Once Redis answers C again (no request needed),
    C reads the endings back from the database into Redis, and A refuses the sign-in too."""
    assert REDIS_URL is not None
    session = await sign_up(client, unique_email())
    prefix = f"test-outage-{secrets.token_hex(4)}:"
    keep_s = keep_seconds(15)
    now = datetime.now(UTC)
    a = RedisSessionRevocations(REDIS_URL, prefix, keep_s)
    c = RedisSessionRevocations(proxy.url, prefix, keep_s, retry_s=0.2)
    try:
        await restore(a, 15, now)  # as a starting process does: Redis holds the endings
        await proxy.cut()
        family = await _ended_family(pk_of(session["account"]["id"]), now)  # the record
        await c.revoke([family], now, now)  # Redis cannot take it
        assert await c.is_revoked(family)
        assert not await a.is_revoked(family)  # meanwhile: what this closes
        await proxy.mend()

        async def refused_by_a() -> bool:
            return await a.is_revoked(family)

        await eventually(refused_by_a)
    finally:
        await c.close()
        await a.close()


# ------------------------------------------------------------------ limits


async def test_rate_limits_hold_per_process_while_redis_is_away(proxy):
    """Without Redis each process counts on its own: the limit is not lifted."""
    limiter = RedisRateLimiter(proxy.url, f"test-outage-{secrets.token_hex(4)}:", retry_s=60)
    quota = Quota(bucket="signin:test", limit=3, window_s=60)
    try:
        await proxy.cut()
        granted = [(await limiter.reserve([quota])).granted for _ in range(5)]
        assert granted == [True, True, True, False, False]
        assert await limiter.count_event("alerts", 60) == 1
        await limiter.remember("known-address", 60)
        assert await limiter.remembers("known-address")
    finally:
        await limiter.close()


# ------------------------------------------------------------------ listeners


async def test_the_public_cache_hears_drops_again_after_redis_comes_back(proxy):
    """The listener of public-cache drops subscribes again when Redis is back; drops made
    while it was away are lost, so it drops everything itself, and it hears the next one."""
    import redis.asyncio as redis

    assert REDIS_URL is not None
    namespace = f"test-outage-{secrets.token_hex(4)}"
    cache = ResponseCache(proxy.url, ttl=30, namespace=namespace)
    publisher = redis.from_url(REDIS_URL)
    await cache.start()
    try:
        before = cache.generation
        await proxy.cut()
        await asyncio.sleep(0.3)
        await proxy.mend()

        async def dropped_on_return() -> bool:
            return cache.generation > before

        await eventually(dropped_on_return)
        back = cache.generation

        async def hears_the_next_drop() -> bool:
            await publisher.publish(f"{namespace}:public-cache-invalidation", "all")
            return cache.generation > back

        await eventually(hears_the_next_drop)
    finally:
        await cache.close()
        await publisher.aclose()


async def test_a_drop_that_redis_cannot_take_still_empties_this_process(proxy):
    cache = ResponseCache(proxy.url, ttl=30, namespace=f"test-outage-{secrets.token_hex(4)}")
    await cache.start()
    try:
        cache.put("key", 200, b"{}")
        await proxy.cut()
        await cache.invalidate()  # no error for the admin whose change it follows
        assert cache.get("key") is None
    finally:
        await cache.close()


# ------------------------------------------------------------- a Redis that stops answering


async def test_the_public_cache_drops_everything_when_a_paused_redis_answers_again(proxy):
    """A Redis that keeps its connections open but answers nothing (paused, a network fault)
    was waited for without end by the listeners: its outage never noticed, the drops made
    meanwhile never made up for. They ask it every second now, and notice."""
    cache = ResponseCache(proxy.url, ttl=30, namespace=f"test-outage-{secrets.token_hex(4)}")
    await cache.start()
    try:
        before = cache.generation
        proxy.pause()
        await asyncio.sleep(3)
        proxy.resume()

        async def dropped_on_return() -> bool:
            return cache.generation > before

        await eventually(dropped_on_return)
    finally:
        proxy.resume()
        await cache.close()


async def test_an_event_delivered_here_while_redis_was_paused_is_not_delivered_again(proxy):
    """A PUBLISH that timed out still runs when a paused Redis wakes: its echo must not give
    this process's subscribers the event a second time."""
    import redis.asyncio as redis

    from resolvers.events import EventBus

    assert REDIS_URL is not None
    namespace = f"test-outage-{secrets.token_hex(4)}"
    bus = EventBus(proxy.url, namespace=namespace, timeout_s=0.3)
    publisher = redis.from_url(REDIS_URL)
    await bus.start()
    try:
        async with bus.subscribe(7) as queue:
            await bus.publish(8, 1)  # the publishing connection is open (pooled)
            proxy.pause()
            await bus.publish(7, 99)  # times out: delivered here
            assert queue.get_nowait() == 99
            await asyncio.sleep(0.3)
            proxy.resume()  # before the listener would miss an answer: same connection
            await asyncio.sleep(0.5)  # the held PUBLISH runs now, its echo comes
            await publisher.publish(f"{namespace}:application-events", "7:100")
            received = [await asyncio.wait_for(queue.get(), 10)]
            while received[-1] != 100:
                received.append(await asyncio.wait_for(queue.get(), 10))
            assert received == [100]
    finally:
        proxy.resume()
        await bus.close()
        await publisher.aclose()
