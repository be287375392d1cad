"""Rate-limit counters: in-process for one server, Redis when several processes share them."""

from __future__ import annotations

import ipaddress
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from persistence import redis_link


@dataclass(frozen=True)
class Quota:
    """At most `limit` events in any `window_s` seconds in `bucket`; and, when `backoff_after`
    is set, once the bucket holds that many events each further one waits `backoff_base_s`,
    then twice that, and so on up to `backoff_cap_s`, counted from the newest event."""

    bucket: str
    limit: int
    window_s: int
    backoff_after: int = 0
    backoff_base_s: int = 1
    backoff_cap_s: int = 0


@dataclass(frozen=True)
class Reservation:
    """One event counted in every bucket of a `reserve` call, or the wait when none was."""

    quotas: tuple[Quota, ...]
    member: str | None
    retry_after: int | None

    @property
    def granted(self) -> bool:
        return self.member is not None


def _wait_for(quota: Quota, times: Sequence[float], now: float) -> float:
    """Seconds until `quota` accepts one more event, given its events' times (oldest first,
    all inside the window); zero or less when it accepts one now."""
    wait = 0.0
    count = len(times)
    if count >= quota.limit:
        wait = times[count - quota.limit] + quota.window_s - now
    if quota.backoff_after and count >= quota.backoff_after:
        step = quota.backoff_base_s * 2 ** min(count - quota.backoff_after, 62)
        wait = max(wait, times[-1] + min(step, quota.backoff_cap_s or step) - now)
    return wait


def address_key(address: str) -> str:
    """The key per-address limits count under: an IPv6 client usually holds a whole /64, so
    its addresses count as one; an IPv4 address counts alone."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _member(now: float) -> str:
    return f"{now:.6f}:{secrets.token_hex(6)}"


class RateLimiter(Protocol):
    async def reserve(self, quotas: Sequence[Quota]) -> Reservation:
        """In one atomic step: when every quota accepts one more event, count one in each
        and return the reservation; otherwise count nothing and return the longest wait."""

    async def release(self, reservation: Reservation) -> None:
        """Take back a granted reservation's event (the attempt turned out not to count)."""

    async def clear(self, bucket: str) -> None:
        """Forget the bucket's events (e.g. after a successful sign-in)."""

    async def count_event(self, bucket: str, window_s: int) -> int:
        """Count one event in the bucket's current fixed window; the window's count so far.
        Cheap at any volume (one number per window), for counters that alert, not refuse."""

    async def remember(self, key: str, ttl_s: int) -> None:
        """Remember `key` for `ttl_s` seconds (e.g. an address an account signed in from)."""

    async def remembers(self, key: str) -> bool:
        """Whether `key` was remembered and has not expired."""

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """Sliding-window counters in this process. Every method runs without awaiting, so a
    check and the event it records are one step for the event loop."""

    _SWEEP_AT = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._events: dict[str, tuple[int, deque[float]]] = {}
        self._members: dict[str, deque[str]] = {}
        self._windows: dict[str, tuple[int, int, int]] = {}
        self._remembered: dict[str, float] = {}
        self._clock = clock

    def _trim(self, bucket: str, window_s: int) -> deque[float]:
        _, events = self._events.get(bucket, (window_s, deque()))
        members = self._members.setdefault(bucket, deque())
        horizon = self._clock() - window_s
        while events and events[0] <= horizon:
            events.popleft()
            if members:
                members.popleft()
        self._events[bucket] = (window_s, events)
        return events

    def _record(self, bucket: str, window_s: int, member: str) -> None:
        if len(self._events) > self._SWEEP_AT:
            self._sweep()
        self._trim(bucket, window_s).append(self._clock())
        self._members[bucket].append(member)

    def _sweep(self) -> None:
        """Drop buckets with no event left in their window, so many addresses cannot grow
        memory without bound."""
        for bucket, (window_s, _) in list(self._events.items()):
            if not self._trim(bucket, window_s):
                del self._events[bucket]
                self._members.pop(bucket, None)
        now = self._clock()
        self._remembered = {k: t for k, t in self._remembered.items() if t > now}
        self._windows = {k: v for k, v in self._windows.items() if v[1] == int(now // v[0])}

    async def reserve(self, quotas: Sequence[Quota]) -> Reservation:
        now = self._clock()
        wait = max((_wait_for(q, self._trim(q.bucket, q.window_s), now) for q in quotas), default=0)
        if wait > 0:
            return Reservation(tuple(quotas), None, max(1, math.ceil(wait)))
        member = _member(now)
        for quota in quotas:
            self._record(quota.bucket, quota.window_s, member)
        return Reservation(tuple(quotas), member, None)

    async def release(self, reservation: Reservation) -> None:
        for quota in reservation.quotas:
            members = self._members.get(quota.bucket)
            entry = self._events.get(quota.bucket)
            if not members or entry is None or reservation.member not in members:
                continue
            at = members.index(reservation.member)
            del members[at]
            del entry[1][at]

    async def clear(self, bucket: str) -> None:
        self._events.pop(bucket, None)
        self._members.pop(bucket, None)

    async def count_event(self, bucket: str, window_s: int) -> int:
        if len(self._windows) > self._SWEEP_AT:
            self._sweep()
        window = int(self._clock() // window_s)
        _, start, count = self._windows.get(bucket, (window_s, window, 0))
        count = count + 1 if start == window else 1
        self._windows[bucket] = (window_s, window, count)
        return count

    async def remember(self, key: str, ttl_s: int) -> None:
        if len(self._remembered) > self._SWEEP_AT:
            self._sweep()
        self._remembered[key] = self._clock() + ttl_s

    async def remembers(self, key: str) -> bool:
        return self._remembered.get(key, -math.inf) > self._clock()

    async def close(self) -> None:
        self._events.clear()
        self._members.clear()
        self._windows.clear()
        self._remembered.clear()


# KEYS: the buckets. ARGV: now, member, then for each bucket: limit, window, backoff after,
# backoff base, backoff cap. Returns the wait in seconds as a string; "0" when reserved.
# Processes' clocks differ a little, so a wait is never longer than the window or the step.
_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 5
  local limit, window = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local after, base, cap = tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, math.min(window, tonumber(oldest[2]) + window - now))
  end
  if after > 0 and count >= after then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    local step = base * 2 ^ math.min(count - after, 62)
    if cap > 0 then step = math.min(step, cap) end
    wait = math.max(wait, math.min(step, tonumber(newest[2]) + step - now))
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 + (i - 1) * 5 + 2])
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, math.ceil(window) + 1)
end
return '0'
"""


class RedisRateLimiter:
    """Sliding-window counters in a Redis sorted set per bucket, shared by every process;
    a reservation checks and counts in one Lua script, so no other process comes between.
    While Redis cannot answer, this process counts on its own (`MemoryRateLimiter`): every
    limit still holds per process, none is lifted and no request fails for it."""

    def __init__(
        self,
        url: str,
        prefix: str = "rl:",
        clock: Callable[[], float] = time.time,
        timeout_s: float = 0.3,
        retry_s: float = 5,
    ) -> None:
        self._redis = redis_link.connect(url, timeout_s)
        self._prefix = prefix
        self._clock = clock
        self._reserve = self._redis.register_script(_RESERVE)
        self._local = MemoryRateLimiter()
        self._outage = redis_link.Outage("rate limits", "each process counts on its own", retry_s)

    async def reserve(self, quotas: Sequence[Quota]) -> Reservation:
        return await self._outage.attempt(
            lambda: self._reserve_shared(quotas), lambda: self._local.reserve(quotas)
        )

    async def _reserve_shared(self, quotas: Sequence[Quota]) -> Reservation:
        now = self._clock()
        member = _member(now)
        args: list[str | int | float] = [repr(now), member]
        for q in quotas:
            args += [q.limit, q.window_s, q.backoff_after, q.backoff_base_s, q.backoff_cap_s]
        keys = [self._prefix + q.bucket for q in quotas]
        wait = float(await self._reserve(keys=keys, args=args))
        if wait > 0:
            return Reservation(tuple(quotas), None, max(1, math.ceil(wait)))
        return Reservation(tuple(quotas), member, None)

    async def release(self, reservation: Reservation) -> None:
        if reservation.member is None:
            return
        # A reservation made in this process while Redis was away is taken back here too.
        await self._local.release(reservation)

        async def shared() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for quota in reservation.quotas:
                pipe.zrem(self._prefix + quota.bucket, reservation.member)
            await pipe.execute()

        await self._outage.attempt(shared, _nothing)

    async def clear(self, bucket: str) -> None:
        await self._local.clear(bucket)
        await self._outage.attempt(lambda: self._redis.delete(self._prefix + bucket), _nothing)

    async def count_event(self, bucket: str, window_s: int) -> int:
        async def shared() -> int:
            key = f"{self._prefix}{bucket}:{int(self._clock() // window_s)}"
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, window_s + 1)
            count, _ = await pipe.execute()
            return int(count)

        return await self._outage.attempt(shared, lambda: self._local.count_event(bucket, window_s))

    async def remember(self, key: str, ttl_s: int) -> None:
        # The value is the expiry on this limiter's clock (what counts); Redis's own expiry
        # only frees the memory. Remembered here too, for while Redis is away.
        await self._local.remember(key, ttl_s)
        until = repr(self._clock() + ttl_s)
        await self._outage.attempt(
            lambda: self._redis.set(f"{self._prefix}known:{key}", until, ex=ttl_s), _nothing
        )

    async def remembers(self, key: str) -> bool:
        async def shared() -> bool:
            until = await self._redis.get(f"{self._prefix}known:{key}")
            return until is not None and float(until) > self._clock()

        return await self._outage.attempt(shared, lambda: self._local.remembers(key))

    async def close(self) -> None:
        await self._redis.aclose()
        await self._local.close()


async def _nothing() -> None:
    return None


def make_rate_limiter(
    redis_url: str | None, namespace: str = "", timeout_s: float = 0.3, retry_s: float = 5
) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, f"{namespace}:rl:", timeout_s=timeout_s, retry_s=retry_s)
    return MemoryRateLimiter()


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
    """Fixed-window point budgets in Redis, shared by every process; while Redis cannot
    answer, each process keeps its own (`MemoryCostBudget`)."""

    def __init__(
        self, url: str, prefix: str = "cost:", timeout_s: float = 0.3, retry_s: float = 5
    ) -> None:
        self._redis = redis_link.connect(url, timeout_s)
        self._prefix = prefix
        self._local = MemoryCostBudget()
        self._outage = redis_link.Outage(
            "query cost budgets", "each process keeps its own", retry_s
        )

    async def spend(self, bucket: str, points: int, budget: int, window_s: int) -> int | None:
        return await self._outage.attempt(
            lambda: self._spend_shared(bucket, points, budget, window_s),
            lambda: self._local.spend(bucket, points, budget, window_s),
        )

    async def _spend_shared(
        self, bucket: str, points: int, budget: int, window_s: int
    ) -> int | None:
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
        await self._local.close()


def make_cost_budget(
    redis_url: str | None, namespace: str = "", timeout_s: float = 0.3, retry_s: float = 5
) -> CostBudget:
    if redis_url:
        return RedisCostBudget(
            redis_url, f"{namespace}:cost:", timeout_s=timeout_s, retry_s=retry_s
        )
    return MemoryCostBudget()
