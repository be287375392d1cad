"""Which sign-ins (refresh-token families) have ended, checked on every request without SQL:
in-process for one server, in Redis when several processes share it.

An access token names its family in `sid`. A family is remembered as revoked for as long as a
token issued before the revocation could still be unexpired (`keep_s`: the access-token
lifetime plus a margin for clocks), then forgotten: no token of it can pass the expiry check
any more. The database stays the record (refresh_token.revoked_at); a process that starts
reads the revocations of the last `keep_s` seconds back, so a restart revives no token.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from persistence import accounts as account_store


class SessionRevocations(Protocol):
    async def revoke(self, families: Iterable[str], revoked_at: datetime, now: datetime) -> None:
        """Remember the families as ended from `revoked_at` (until no token of them lives)."""

    async def is_revoked(self, family: str) -> bool:
        """True when the family has ended (the token naming it must be refused)."""

    async def close(self) -> None: ...


def _seconds_left(revoked_at: datetime, now: datetime, keep_s: int) -> float:
    return (revoked_at - now).total_seconds() + keep_s


class MemorySessionRevocations:
    """A dict of ended families in this process; one server only."""

    def __init__(self, keep_s: int) -> None:
        self._keep_s = keep_s
        self._until: dict[str, float] = {}  # family -> monotonic time it may be forgotten
        self._next_purge = 0.0

    def _purge(self) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._until = {f: t for f, t in self._until.items() if t > now}
        self._next_purge = now + 60

    async def revoke(self, families: Iterable[str], revoked_at: datetime, now: datetime) -> None:
        left = _seconds_left(revoked_at, now, self._keep_s)
        if left <= 0:
            return
        for family in families:
            self.remember(family, left)
        self._purge()

    def remember(self, family: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._until[family] = max(until, self._until.get(family, 0.0))

    async def is_revoked(self, family: str) -> bool:
        return family in self._until

    async def close(self) -> None:
        self._until.clear()


class RedisSessionRevocations:
    """One Redis key per ended family, expiring when it no longer matters; shared by every
    process, so a sign-out through one is refused by the next request to any other. Families
    found ended are also remembered here (ended is final), which spares Redis the repeat."""

    def __init__(self, url: str, prefix: str, keep_s: int) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix
        self._local = MemorySessionRevocations(keep_s)
        self._keep_s = keep_s

    async def revoke(self, families: Iterable[str], revoked_at: datetime, now: datetime) -> None:
        families = list(families)
        left = _seconds_left(revoked_at, now, self._keep_s)
        if not families or left <= 0:
            return
        pipe = self._redis.pipeline(transaction=False)
        for family in families:
            pipe.set(self._prefix + family, "1", ex=max(1, int(left) + 1))
        await pipe.execute()
        await self._local.revoke(families, revoked_at, now)

    async def is_revoked(self, family: str) -> bool:
        if await self._local.is_revoked(family):
            return True
        ttl_ms = await self._redis.pttl(self._prefix + family)
        if ttl_ms == -2:  # no such key: not ended
            return False
        self._local.remember(family, ttl_ms / 1000 if ttl_ms > 0 else self._keep_s)
        return True

    async def close(self) -> None:
        await self._redis.aclose()
        await self._local.close()


def keep_seconds(access_token_minutes: int) -> int:
    """How long an ended family must be remembered: an access token's life, plus a minute for
    clocks that differ between processes."""
    return access_token_minutes * 60 + 60


def make_session_revocations(
    redis_url: str | None, namespace: str, access_token_minutes: int
) -> SessionRevocations:
    keep_s = keep_seconds(access_token_minutes)
    if redis_url:
        return RedisSessionRevocations(redis_url, f"{namespace}:session-ended:", keep_s)
    return MemorySessionRevocations(keep_s)


async def restore(revocations: SessionRevocations, access_token_minutes: int, now: datetime) -> int:
    """Read back from the database the families ended within the last `keep_s` seconds."""
    since = now - timedelta(seconds=keep_seconds(access_token_minutes))
    rows = await account_store.revoked_since(since)
    for family, revoked_at in rows:
        await revocations.revoke([family], revoked_at, now)
    return len(rows)
