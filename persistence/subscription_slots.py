"""Live subscriptions per account: at most `limit` at once over every connection and (with
Redis) every server process. In memory without Redis; in Redis a sorted set per account whose
members are the live subscriptions, each scored with the time its lease ends. The process
that holds a subscription renews its lease every LEASE_S / 3 seconds while it runs and
removes it when it ends; only unexpired members count, so the slots of a process that dies
(killed, no `finally` run) free themselves within LEASE_S, with nothing to clean up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from persistence import redis_link

log = logging.getLogger(__name__)

# How long a subscription stays counted after its process last renewed it.
LEASE_S = 60.0


@dataclass(frozen=True)
class Slot:
    """One live subscription counted under an account."""

    account: str
    member: str


class _HeldHere:
    """The live subscriptions this process runs, by account."""

    def __init__(self) -> None:
        self.by_account: dict[str, set[str]] = {}

    def add(self, slot: Slot) -> None:
        self.by_account.setdefault(slot.account, set()).add(slot.member)

    def discard(self, slot: Slot) -> None:
        members = self.by_account.get(slot.account)
        if members is not None:
            members.discard(slot.member)
            if not members:
                del self.by_account[slot.account]

    def count(self, account: str) -> int:
        return len(self.by_account.get(account, ()))


class SubscriptionSlots(Protocol):
    async def acquire(self, account: str, limit: int) -> Slot | None:
        """Count one more live subscription of the account, or None (nothing counted) when
        it already holds `limit`; checking and counting are one step."""

    async def release(self, slot: Slot) -> None:
        """The subscription ended: its slot is free again (idempotent)."""

    async def count(self, account: str) -> int:
        """The account's live subscriptions now."""

    async def close(self) -> None: ...


class MemorySubscriptionSlots:
    """One server process: the account's live subscriptions in a set (nothing to expire, as
    the process that counts them is the one that runs them)."""

    def __init__(self) -> None:
        self._held = _HeldHere()

    async def acquire(self, account: str, limit: int) -> Slot | None:
        if self._held.count(account) >= limit:
            return None
        slot = Slot(account, secrets.token_hex(8))
        self._held.add(slot)
        return slot

    async def release(self, slot: Slot) -> None:
        self._held.discard(slot)

    async def count(self, account: str) -> int:
        return self._held.count(account)

    async def close(self) -> None:
        self._held.by_account.clear()


# KEYS[1]: the account's set. ARGV: now, lease end, member, limit, key lifetime (s).
# Returns 1 when counted, 0 when the account holds `limit` unexpired subscriptions already.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisSubscriptionSlots:
    """Shared by every process: a sorted set per account of subscription ids scored by the
    end of their lease, renewed by the holding process while the subscription runs."""

    def __init__(
        self,
        url: str,
        prefix: str = "subs:",
        clock: Callable[[], float] = time.time,
        lease_s: float = LEASE_S,
        timeout_s: float = 0.3,
    ) -> None:
        self._redis = redis_link.connect(url, timeout_s)
        self._prefix = prefix
        self._clock = clock
        self._lease_s = lease_s
        self._acquire = self._redis.register_script(_ACQUIRE)
        # The key itself outlives every lease in it (its expiry only frees Redis's memory).
        self._key_ttl_s = math.ceil(lease_s * 2) + 1
        # This process's live subscriptions, the ones its heartbeat renews.
        self._held = _HeldHere()
        self._heartbeat: asyncio.Task[None] | None = None

    def _key(self, account: str) -> str:
        return f"{self._prefix}{account}"

    async def acquire(self, account: str, limit: int) -> Slot | None:
        now = self._clock()
        slot = Slot(account, secrets.token_hex(8))
        args = [repr(now), repr(now + self._lease_s), slot.member, limit, self._key_ttl_s]
        if not int(await self._acquire(keys=[self._key(account)], args=args)):
            return None
        self._held.add(slot)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._renew_forever())
        return slot

    async def release(self, slot: Slot) -> None:
        # Forgotten here first: even if Redis cannot be reached now, the lease is no longer
        # renewed and the slot frees itself within the lease.
        self._held.discard(slot)
        await self._redis.zrem(self._key(slot.account), slot.member)

    async def count(self, account: str) -> int:
        return int(await self._redis.zcount(self._key(account), f"({self._clock()!r}", "+inf"))

    async def renew(self) -> None:
        """Extend the lease of every subscription this process holds (the heartbeat). A
        member already dropped as expired (the process stalled longer than the lease) is
        added back: it is live, so it counts."""
        if not self._held.by_account:
            return
        until = self._clock() + self._lease_s
        pipe = self._redis.pipeline(transaction=False)
        for account, members in list(self._held.by_account.items()):
            pipe.zadd(self._key(account), dict.fromkeys(members, until))
            pipe.expire(self._key(account), self._key_ttl_s)
        await pipe.execute()

    async def _renew_forever(self) -> None:
        while self._held.by_account:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self.renew()
            except Exception:  # Redis away for a moment: the next beat tries again
                log.warning("could not renew the leases of live subscriptions", exc_info=True)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self._redis.aclose()


def make_subscription_slots(
    redis_url: str | None, namespace: str = "", timeout_s: float = 0.3
) -> SubscriptionSlots:
    if redis_url:
        return RedisSubscriptionSlots(redis_url, f"{namespace}:subs:", timeout_s=timeout_s)
    return MemorySubscriptionSlots()
