"""With Redis, rate limits and query budgets hold across server processes (two limiter
instances stand for two processes)."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from persistence.rate_limits import Quota, RedisCostBudget, RedisRateLimiter

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


async def test_failures_counted_in_one_process_block_the_other():
    prefix = f"test-{secrets.token_hex(4)}:"
    first, second = RedisRateLimiter(REDIS_URL, prefix), RedisRateLimiter(REDIS_URL, prefix)
    quota = [Quota("signin:acct:x", 4, 60)]
    try:
        for n in range(4):
            assert (await (first if n % 2 else second).reserve(quota)).granted, n
        refused = await first.reserve(quota)
        assert not refused.granted and 0 < (refused.retry_after or 0) <= 60
        assert not (await second.reserve(quota)).granted
        await first.clear("signin:acct:x")
        assert (await second.reserve(quota)).granted
    finally:
        await first.close()
        await second.close()


async def test_concurrent_reservations_in_two_processes_grant_exactly_the_limit():
    prefix = f"test-{secrets.token_hex(4)}:"
    first, second = RedisRateLimiter(REDIS_URL, prefix), RedisRateLimiter(REDIS_URL, prefix)
    quotas = [Quota("signin:ip:x", 10, 60), Quota("signin:acct:x", 25, 60)]
    try:
        results = await asyncio.gather(
            *((first if n % 2 else second).reserve(quotas) for n in range(40))
        )
        granted = [r for r in results if r.granted]
        assert len(granted) == 10
        assert all(0 < (r.retry_after or 0) <= 60 for r in results if not r.granted)
        # A refused reservation counted nowhere: the account bucket holds the ten only.
        eleventh = await first.reserve([Quota("signin:acct:x", 11, 60)])
        assert eleventh.granted
        await first.release(eleventh)
        assert not (await first.reserve([Quota("signin:acct:x", 10, 60)])).granted
        await second.release(granted[0])
        assert (await first.reserve(quotas)).granted
    finally:
        await first.close()
        await second.close()


async def test_known_addresses_and_event_counts_are_shared_by_every_process():
    prefix = f"test-{secrets.token_hex(4)}:"
    first, second = RedisRateLimiter(REDIS_URL, prefix), RedisRateLimiter(REDIS_URL, prefix)
    try:
        assert not await second.remembers("signin:known:a")
        await first.remember("signin:known:a", 60)
        assert await second.remembers("signin:known:a")
        assert [await limiter.count_event("misses", 3600) for limiter in (first, second)] in (
            [1, 2],
            [1, 1],  # the hour turned between the two
        )
    finally:
        await first.close()
        await second.close()


async def test_a_query_budget_is_shared_by_every_process():
    prefix = f"test-{secrets.token_hex(4)}:"
    first, second = RedisCostBudget(REDIS_URL, prefix), RedisCostBudget(REDIS_URL, prefix)
    try:
        assert await first.spend("acct:1", 60, 100, 60) == 40
        assert await second.spend("acct:1", 50, 100, 60) is None  # would exceed: not spent
        assert await second.spend("acct:1", 40, 100, 60) == 0
    finally:
        await first.close()
        await second.close()
