"""Events for live subscriptions: in-process with one server, Redis pub/sub with several.

Two kinds: an application event (applicant id, event id) for the applicant's followers, and
"this account's rights changed" (a sign-in ended, a password changed, an identity was unlinked,
a delegation was revoked), on which every subscription of that account re-checks its session
and its right, and ends when either is gone. A third, "a notification for this account" (account id,
notification id), feeds the account's `notifications` subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Final

log = logging.getLogger(__name__)

CHANNEL = "application-events"
ACCOUNT_CHANNEL = "account-events"
INBOX_CHANNEL = "inbox-events"


class _AccountChanged:
    def __repr__(self) -> str:
        return "ACCOUNT_CHANGED"


# Put in a subscriber's queue when its account's sessions or rights changed.
ACCOUNT_CHANGED: Final = _AccountChanged()

Item = int | _AccountChanged

# How long the listener waits before subscribing again after losing Redis: doubling up to the
# cap while Redis does not answer.
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 5.0


def put_dropping_oldest(queue: asyncio.Queue[Item], item: Item) -> None:
    """Put `item` in the queue; when it is full (a subscriber far behind), drop its oldest
    item to make room. The newest item is the one that matters: each item makes the
    subscriber re-check its session and its right, so an ACCOUNT_CHANGED is never lost."""
    if queue.full():
        dropped = queue.get_nowait()
        log.warning("a subscriber's queue is full; dropped its oldest item %r", dropped)
    queue.put_nowait(item)


class EventBus:
    """Fans out application events to the subscribers of that applicant, and account changes
    to the subscriptions that account holds."""

    def __init__(self, redis_url: str | None = None, namespace: str = "") -> None:
        self._channel = f"{namespace}:{CHANNEL}"
        self._account_channel = f"{namespace}:{ACCOUNT_CHANNEL}"
        self._inbox_channel = f"{namespace}:{INBOX_CHANNEL}"
        self._queues: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._inboxes: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._watchers: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._redis_url = redis_url
        self._redis = None
        self._listener: asyncio.Task | None = None

    async def start(self) -> None:
        if self._redis_url is None:
            return
        import redis.asyncio as redis

        self._redis = redis.from_url(self._redis_url)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(*self._channels)
        self._listener = asyncio.create_task(self._listen(pubsub))

    @property
    def _channels(self) -> tuple[str, str, str]:
        return (self._channel, self._account_channel, self._inbox_channel)

    async def _listen(self, pubsub: object) -> None:
        """One listener serves every subscription of the process: nothing one message or one
        subscriber does may end it, and neither may Redis going away (a restart, a failover,
        a closed connection): it listens again, as soon as Redis answers."""
        delay = RECONNECT_FIRST_S
        while True:
            try:
                await self._receive_all(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the event listener lost Redis; listening again")
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                try:
                    pubsub = await self._subscribed_again(pubsub)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("Redis does not answer yet; the event listener tries again")
            delay = RECONNECT_FIRST_S
            # Events published while nobody listened are gone: every subscription re-checks
            # its session and its right now, as if its account had changed (a sign-out or a
            # revocation in that time is not missed).
            for account_id in list(self._watchers):
                self._deliver_account(account_id)

    async def _receive_all(self, pubsub: object) -> None:
        async for message in pubsub.listen():  # type: ignore[attr-defined]
            try:
                self._receive(message)
            except Exception:
                log.exception("an event could not be delivered: %r", message)

    async def _subscribed_again(self, old: object) -> object:
        with contextlib.suppress(Exception):
            await old.aclose()  # type: ignore[attr-defined]
        assert self._redis is not None
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(*self._channels)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        return pubsub

    def _receive(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        try:
            channel = message["channel"].decode()
            fields = [int(x) for x in message["data"].decode().split(":")]
        except (ValueError, AttributeError, KeyError):
            log.warning("ignored a malformed event: %r", message)
            return
        if channel == self._account_channel and len(fields) == 1:
            self._deliver_account(fields[0])
        elif channel == self._channel and len(fields) == 2:
            self._deliver(fields[0], fields[1])
        elif channel == self._inbox_channel and len(fields) == 2:
            self._deliver_inbox(fields[0], fields[1])
        else:
            log.warning("ignored a malformed event: %r", message)

    @staticmethod
    def _put(queues: set[asyncio.Queue[Item]], item: Item) -> None:
        for queue in list(queues):
            try:
                put_dropping_oldest(queue, item)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("could not deliver %r to a subscriber", item)

    def _deliver(self, applicant_id: int, event_id: int) -> None:
        self._put(self._queues.get(applicant_id, set()), event_id)

    def _deliver_inbox(self, account_id: int, notification_id: int) -> None:
        self._put(self._inboxes.get(account_id, set()), notification_id)

    def _deliver_account(self, account_id: int) -> None:
        self._put(self._watchers.get(account_id, set()), ACCOUNT_CHANGED)

    async def publish(self, applicant_id: int, event_id: int) -> None:
        if self._redis is not None:
            await self._redis.publish(self._channel, f"{applicant_id}:{event_id}")
        else:
            self._deliver(applicant_id, event_id)

    async def publish_notification(self, account_id: int, notification_id: int) -> None:
        """A notification was put in the account's inbox (publish after the commit)."""
        if self._redis is not None:
            await self._redis.publish(self._inbox_channel, f"{account_id}:{notification_id}")
        else:
            self._deliver_inbox(account_id, notification_id)

    async def publish_account_change(self, account_id: int) -> None:
        """The account's sessions or rights changed (publish after the change is committed
        and the revocation set updated: receivers re-check at once)."""
        if self._redis is not None:
            await self._redis.publish(self._account_channel, str(account_id))
        else:
            self._deliver_account(account_id)

    @contextlib.asynccontextmanager
    async def subscribe(self, applicant_id: int) -> AsyncIterator[asyncio.Queue[Item]]:
        queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=1000)
        async with self._registered(self._queues, applicant_id, queue):
            yield queue

    @contextlib.asynccontextmanager
    async def subscribe_inbox(self, account_id: int) -> AsyncIterator[asyncio.Queue[Item]]:
        """A queue of the ids of notifications put in the account's inbox from now on."""
        queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=1000)
        async with self._registered(self._inboxes, account_id, queue):
            yield queue

    @contextlib.asynccontextmanager
    async def watch_account(
        self, account_id: int, queue: asyncio.Queue[Item]
    ) -> AsyncIterator[None]:
        """Also put ACCOUNT_CHANGED into `queue` whenever the account's rights change."""
        async with self._registered(self._watchers, account_id, queue):
            yield

    @staticmethod
    @contextlib.asynccontextmanager
    async def _registered(
        table: dict[int, set[asyncio.Queue[Item]]], key: int, queue: asyncio.Queue[Item]
    ) -> AsyncIterator[None]:
        table[key].add(queue)
        try:
            yield
        finally:
            table[key].discard(queue)
            if not table[key]:
                table.pop(key, None)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
        if self._redis is not None:
            await self._redis.aclose()
