"""Rate-limit counters: in-process for one server, Redis when several processes share them."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    async def blocked_for(self, bucket: str, limit: int, window_s: int) -> int | None:
        """Seconds until the bucket accepts another event, or None when it accepts one now."""

    async def hit(self, bucket: str, window_s: int) -> None:
        """Record one event in the bucket."""

    async def clear(self, bucket: str) -> None:
        """Forget the bucket's events (e.g. after a successful sign-in)."""

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """Sliding-window counters in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._events: dict[str, deque[float]] = {}
        self._clock = clock

    def _trim(self, bucket: str, window_s: int) -> deque[float]:
        events = self._events.setdefault(bucket, deque())
        horizon = self._clock() - window_s
        while events and events[0] <= horizon:
            events.popleft()
        return events

    async def blocked_for(self, bucket: str, limit: int, window_s: int) -> int | None:
        events = self._trim(bucket, window_s)
        if len(events) < limit:
            return None
        oldest_that_counts = events[len(events) - limit]
        return max(1, math.ceil(oldest_that_counts + window_s - self._clock()))

    async def hit(self, bucket: str, window_s: int) -> None:
        self._trim(bucket, window_s).append(self._clock())

    async def clear(self, bucket: str) -> None:
        self._events.pop(bucket, None)

    async def close(self) -> None:
        self._events.clear()


class RedisRateLimiter:
    """Sliding-window counters in a Redis sorted set per bucket, shared by every process."""

    def __init__(self, url: str, prefix: str = "rl:") -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix

    async def blocked_for(self, bucket: str, limit: int, window_s: int) -> int | None:
        key = self._prefix + bucket
        now = time.time()
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, 0, now - window_s)
        pipe.zcard(key)
        _, count = await pipe.execute()
        if count < limit:
            return None
        rows = await self._redis.zrange(key, count - limit, count - limit, withscores=True)
        if not rows:
            return None
        return max(1, math.ceil(rows[0][1] + window_s - now))

    async def hit(self, bucket: str, window_s: int) -> None:
        key = self._prefix + bucket
        now = time.time()
        member = f"{now:.6f}:{time.perf_counter_ns()}"
        pipe = self._redis.pipeline()
        pipe.zadd(key, {member: now})
        pipe.expire(key, window_s + 1)
        await pipe.execute()

    async def clear(self, bucket: str) -> None:
        await self._redis.delete(self._prefix + bucket)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, namespace: str = "") -> RateLimiter:
    return RedisRateLimiter(redis_url, f"{namespace}:rl:") if redis_url else MemoryRateLimiter()


class CostBudget(Protocol):
    async def spend(self, bucket: str, points: int, budget: int, window_s: int) -> int | None:
        """Spend points from the bucket's budget for the current window; the points left, or
        None (and nothing spent) when the budget cannot cover them."""

    async def close(self) -> None: ...


class MemoryCostBudget:
    """Fixed-window point budgets in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._windows: dict[str, tuple[int, int]] = {}
        self._clock = clock

    async def spend(self, bucket: str, points: int, budget: int, window_s: int) -> int | None:
        window = int(self._clock() // window_s)
        start, used = self._windows.get(bucket, (window, 0))
        if start != window:
            used = 0
        if used + points > budget:
            return None
        self._windows[bucket] = (window, used + points)
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return budget - used - points

    async def close(self) -> None:
        self._windows.clear()


class RedisCostBudget:
    """Fixed-window point budgets in Redis, shared by every process."""

    def __init__(self, url: str, prefix: str = "cost:") -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix

    async def spend(self, bucket: str, points: int, budget: int, window_s: int) -> int | None:
        window = int(time.time() // window_s)
        key = f"{self._prefix}{bucket}:{window}"
        pipe = self._redis.pipeline()
        pipe.incrby(key, points)
        pipe.expire(key, window_s + 1)
        used, _ = await pipe.execute()
        if used > budget:
            await self._redis.decrby(key, points)
            return None
        return budget - used

    async def close(self) -> None:
        await self._redis.aclose()


def make_cost_budget(redis_url: str | None, namespace: str = "") -> CostBudget:
    return RedisCostBudget(redis_url, f"{namespace}:cost:") if redis_url else MemoryCostBudget()
