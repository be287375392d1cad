"""Which sign-ins (refresh-token families) have ended, checked on every request without SQL:
in-process for one server, in Redis when several processes share it.

An access token names its family in `sid`. A family is remembered as revoked for as long as a
token issued before the revocation could still be unexpired (`keep_s`: the access-token
lifetime plus a margin for clocks), then forgotten: no token of it can pass the expiry check
any more. The database stays the record (refresh_token.revoked_at); a process that starts
reads the revocations of the last `keep_s` seconds back, so a restart revives no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from persistence import accounts as account_store
from persistence import redis_link

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SessionRevocations(Protocol):
    async def revoke(self, families: Iterable[str], revoked_at: datetime, now: datetime) -> None:
        """Remember the families as ended from `revoked_at` (until no token of them lives)."""

    async def is_revoked(self, family: str) -> bool:
        """True when the family has ended (the token naming it must be refused)."""

    async def read_back(self, rows: Sequence[tuple[str, datetime]], now: datetime) -> None:
        """Take the (family, revoked at) rows read back from the database (see `restore`)."""

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

    async def read_back(self, rows: Sequence[tuple[str, datetime]], now: datetime) -> None:
        for family, revoked_at in rows:
            await self.revoke([family], revoked_at, now)

    async def close(self) -> None:
        self._until.clear()


class RedisSessionRevocations:
    """One Redis key per ended family, expiring when it no longer matters; shared by every
    process, so a sign-out through one is refused by the next request to any other. Families
    found ended are also remembered here (ended is final), which spares Redis the repeat.

    Redis may lose what it holds (a restart without persistence, a failover) or not answer
    at all. A marker key, written when the revocations were last read back from the database,
    tells a Redis that lost them from one that holds them; while the marker is missing or
    Redis does not answer, the database (the record) answers, one query a check, and a
    missing marker has the revocations read back into Redis. A process that could not reach
    Redis reads them back too when Redis answers it again: a sign-out made through it
    meanwhile then reaches the processes that never lost Redis."""

    def __init__(
        self,
        url: str,
        prefix: str,
        keep_s: int,
        timeout_s: float = 0.3,
        retry_s: float = 5,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._redis = redis_link.connect(url, timeout_s)
        self._prefix = prefix
        self._marker = f"{prefix}:read-back"
        self._local = MemorySessionRevocations(keep_s)
        self._keep_s = keep_s
        self._clock = clock
        # When Redis answers again after an outage, the sign-ins ended meanwhile (this
        # process could not share them; the others, finding Redis whole, do not ask the
        # database) are read back from the database into Redis for every process.
        self._outage = redis_link.Outage(
            "ended sign-ins",
            "every request checks them in the database",
            retry_s,
            on_answer_again=self._read_back_soon,
        )
        self._reading_back: asyncio.Task | None = None
        self._read_again = False
        self._watching: asyncio.Task | None = None

    async def revoke(self, families: Iterable[str], revoked_at: datetime, now: datetime) -> None:
        families = list(families)
        left = _seconds_left(revoked_at, now, self._keep_s)
        if not families or left <= 0:
            return
        # Here first: this process refuses the tokens even if Redis cannot take them (the
        # others then find them in the database while Redis is away).
        await self._local.revoke(families, revoked_at, now)

        async def shared() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for family in families:
                pipe.set(self._prefix + family, "1", ex=max(1, int(left) + 1))
            await pipe.execute()

        await self._outage.attempt(shared, _nothing)
        if self._outage.ongoing:
            self._watch_until_redis_answers()

    def _watch_until_redis_answers(self) -> None:
        """An ending Redis could not take: try Redis every `retry_s` until it answers (then
        the read-back shares it), even if no request of this process asks Redis meanwhile."""
        if self._watching is not None and not self._watching.done():
            return

        async def watch() -> None:
            while self._outage.ongoing:
                await asyncio.sleep(self._outage.retry_s)
                await self._outage.attempt(self._redis.ping, _nothing)

        self._watching = asyncio.create_task(watch())

    async def read_back(self, rows: Sequence[tuple[str, datetime]], now: datetime) -> None:
        """Write the families ended lately (from the database) into Redis, and the marker
        that says Redis holds them."""
        for family, revoked_at in rows:
            await self.revoke([family], revoked_at, now)

        async def shared() -> None:
            await self._redis.set(self._marker, "1")

        await self._outage.attempt(shared, _nothing)

    async def is_revoked(self, family: str) -> bool:
        if await self._local.is_revoked(family):
            return True

        async def shared() -> bool | None:
            pipe = self._redis.pipeline(transaction=False)
            pipe.pttl(self._prefix + family)
            pipe.exists(self._marker)
            ttl_ms, held = await pipe.execute()
            if not held:
                return None  # Redis lost the revocations: the database answers
            if ttl_ms == -2:  # no such key: not ended
                return False
            self._local.remember(family, ttl_ms / 1000 if ttl_ms > 0 else self._keep_s)
            return True

        answer = await self._outage.attempt(shared, _unknown)
        if answer is not None:
            return answer
        if not self._outage.ongoing:
            self._read_back_soon()
        if await account_store.family_ended(family):
            self._local.remember(family, self._keep_s)
            return True
        return False

    def _read_back_soon(self) -> None:
        if self._reading_back is not None and not self._reading_back.done():
            # One is running, but it may have read the database before an ending this call
            # is about: it reads again when it is done.
            self._read_again = True
            return

        async def read_back() -> None:
            while True:
                self._read_again = False
                try:
                    count = await _read_back(self, self._keep_s, self._clock())
                    log.warning("ended sign-ins read back into Redis from the database: %d", count)
                except Exception:
                    log.exception("could not read ended sign-ins back into Redis")
                if not self._read_again:
                    return

        self._reading_back = asyncio.create_task(read_back())

    async def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            # Waited for without raising its own cancel: a cancel of the caller still does.
            await asyncio.wait([self._watching])
        if self._reading_back is not None:
            with contextlib.suppress(Exception):
                await self._reading_back
        await self._redis.aclose()
        await self._local.close()


async def _nothing() -> None:
    return None


async def _unknown() -> bool | None:
    return None


def keep_seconds(access_token_minutes: int) -> int:
    """How long an ended family must be remembered: an access token's life, plus a minute for
    clocks that differ between processes."""
    return access_token_minutes * 60 + 60


def make_session_revocations(
    redis_url: str | None,
    namespace: str,
    access_token_minutes: int,
    timeout_s: float = 0.3,
    retry_s: float = 5,
    clock: Callable[[], datetime] = _utc_now,
) -> SessionRevocations:
    keep_s = keep_seconds(access_token_minutes)
    if redis_url:
        return RedisSessionRevocations(
            redis_url, f"{namespace}:session-ended:", keep_s, timeout_s, retry_s, clock
        )
    return MemorySessionRevocations(keep_s)


async def restore(revocations: SessionRevocations, access_token_minutes: int, now: datetime) -> int:
    """Read back from the database the families ended within the last `keep_s` seconds."""
    return await _read_back(revocations, keep_seconds(access_token_minutes), now)


async def _read_back(revocations: SessionRevocations, keep_s: int, now: datetime) -> int:
    rows = await account_store.revoked_since(now - timedelta(seconds=keep_s))
    await revocations.read_back(rows, now)
    return len(rows)
