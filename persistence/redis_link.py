"""Redis as the server processes' shared memory, and what a process does while Redis cannot
answer: a Redis restart, failover or network fault must not turn into 500s for everyone.

- Request-path clients (`connect`) wait at most a set time for Redis: a Redis that does not
  answer must not hold a request, and the database connection it may hold, for seconds.
- `Outage` runs a call on Redis or, while Redis cannot answer, on this process's own state (a
  fallback each caller chooses: per-process counters, the database), and skips Redis for a
  while after a failure so that every request does not wait out the timeout again. It logs
  the outage once and the recovery once.
- `listen` keeps a pub/sub subscription alive: it subscribes again whenever Redis comes back,
  and says so, so that a listener can make up for what it missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a call to an unreachable, failing or too slow Redis raises.
ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)

# How long a pub/sub listener waits before subscribing again after losing Redis: doubling up
# to the cap while Redis does not answer.
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 5.0
# How long a pub/sub listener hears nothing before it asks Redis whether it is still there.
QUIET_S = 1.0


def connect(url: str, timeout_s: float) -> Any:
    """A client for calls made while a request waits: connecting and each reply take at most
    `timeout_s`, and a failed call is tried once more on a fresh connection (a pooled one that
    Redis closed on a restart), then raises one of ERRORS."""
    return redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
    )


async def answers(client: Any, timeout_s: float) -> bool:
    """Whether Redis answers a PING within `timeout_s` in all, retry included (the readiness
    check: a probe has about a second)."""
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout_s))
    except ERRORS:
        return False


class Outage:
    """Whether Redis is being skipped after a failure, for one use of it (`what`)."""

    def __init__(
        self,
        what: str,
        meanwhile: str,
        retry_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_answer_again: Callable[[], None] | None = None,
    ) -> None:
        self._what = what
        self._meanwhile = meanwhile
        self._retry_s = retry_s
        self._clock = clock
        self._skip_until: float | None = None
        # Called when Redis answers after a failure (what was not shared meanwhile may be).
        self._on_answer_again = on_answer_again

    @property
    def ongoing(self) -> bool:
        """True from a failure until Redis answers again (it is tried again `retry_s` after
        the last failure)."""
        return self._skip_until is not None

    def failed(self, error: BaseException) -> None:
        if self._skip_until is None:
            log.error(
                "Redis cannot answer for %s (%s: %s): %s until it does",
                self._what,
                type(error).__name__,
                error,
                self._meanwhile,
            )
        self._skip_until = self._clock() + self._retry_s

    def answered(self) -> None:
        if self._skip_until is not None:
            log.warning("Redis answers again for %s", self._what)
            self._skip_until = None
            if self._on_answer_again is not None:
                self._on_answer_again()

    @property
    def retry_s(self) -> float:
        return self._retry_s

    async def attempt(
        self, shared: Callable[[], Awaitable[T]], meanwhile: Callable[[], Awaitable[T]]
    ) -> T:
        """`shared()` on Redis; `meanwhile()` when it fails or while Redis is skipped."""
        if self._skip_until is not None and self._clock() < self._skip_until:
            return await meanwhile()
        try:
            value = await shared()
        except ERRORS as error:
            self.failed(error)
            return await meanwhile()
        self.answered()
        return value


class Channels:
    """A process's link to some pub/sub channels: a client that publishes (waiting at most
    `timeout_s`), and a listener (see `listen`) on a client of its own, which waits for
    messages as long as they take to come."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.publisher = connect(url, timeout_s)
        self._url = url
        self._listening: Any = None
        self._listener: asyncio.Task | None = None

    async def listen(
        self,
        channels: Sequence[str],
        receive: Callable[[dict], None],
        resumed: Callable[[], None],
        name: str,
    ) -> None:
        """Subscribe now (raises one of ERRORS when Redis cannot answer), then listen in a
        task until `close`."""
        self._listening = redis.from_url(self._url)
        pubsub = await subscribe(self._listening, channels)
        self._listener = asyncio.create_task(
            listen(self._listening, pubsub, channels, receive, resumed, name)
        )

    @property
    def listening(self) -> bool:
        """True while the listener runs (it ends only when closed)."""
        return self._listener is not None and not self._listener.done()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for client in (self.publisher, self._listening):
            if client is not None:
                await client.aclose()


async def listen(
    client: Any,
    pubsub: Any,
    channels: Sequence[str],
    receive: Callable[[dict], None],
    resumed: Callable[[], None],
    name: str,
) -> None:
    """Deliver every message of `pubsub` (made by `subscribe`) to `receive`, for the life of
    the process: nothing a message does may end it (its error is logged), and neither may
    Redis going away (a restart, a failover, a closed connection): it subscribes to
    `channels` again as soon as Redis answers, then calls `resumed()`, since what was
    published meanwhile is lost. Run it as a task; cancelling the task ends it."""
    delay = RECONNECT_FIRST_S
    while True:
        try:
            async for message in answered_messages(pubsub, QUIET_S):
                try:
                    receive(message)
                except Exception:
                    log.exception("%s could not take a message: %r", name, message)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        except Exception:
            log.exception("%s lost Redis; listening again", name)
        with contextlib.suppress(Exception):
            await pubsub.aclose()
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)
            try:
                pubsub = await subscribe(client, channels)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("Redis does not answer yet; %s tries again", name)
        delay = RECONNECT_FIRST_S
        resumed()


async def answered_messages(pubsub: Any, quiet_s: float) -> AsyncIterator[dict]:
    """The messages of `pubsub`, as long as Redis answers: after `quiet_s` without any, a PING
    must be answered within `quiet_s` more, else RedisHangs is raised. A Redis that stopped
    answering (paused, a network fault that leaves the socket open) would otherwise be
    waited for without end: its outage never noticed, nothing made up for when it answers
    again (`resumed`)."""
    pinged = False
    while True:
        message = await pubsub.get_message(timeout=quiet_s)
        if message is None:
            if pinged:
                raise RedisHangs(f"no answer to a PING within {quiet_s} s")
            await pubsub.ping()
            pinged = True
            continue
        pinged = False
        if message.get("type") != "pong":
            yield message


class RedisHangs(RedisError):
    """Redis keeps the connection open but does not answer."""


async def subscribe(client: Any, channels: Sequence[str]) -> Any:
    """A pub/sub connection subscribed to `channels` (raises one of ERRORS when Redis cannot
    answer)."""
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(*channels)
    except BaseException:
        with contextlib.suppress(Exception):
            await pubsub.aclose()
        raise
    return pubsub
