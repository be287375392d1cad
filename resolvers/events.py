"""Events for live subscriptions: in-process with one server, Redis pub/sub with several.

Two kinds: an application event (applicant id, event id) for the applicant's followers, and
"this account's rights changed" (a sign-in ended, a password changed, an identity was unlinked,
a delegation was revoked), on which every subscription of that account re-checks its session
and its right, and ends when either is gone. A third, "a notification for this account" (account id,
notification id), feeds the account's `notifications` subscriptions.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Final

from persistence import redis_link

log = logging.getLogger(__name__)

CHANNEL = "application-events"
ACCOUNT_CHANNEL = "account-events"
INBOX_CHANNEL = "inbox-events"
# How many events delivered here while Redis did not take them are remembered, so that their
# late echo is not delivered again.
DELIVERED_HERE_KEPT = 10_000


class _AccountChanged:
    def __repr__(self) -> str:
        return "ACCOUNT_CHANGED"


# Put in a subscriber's queue when its account's sessions or rights changed.
ACCOUNT_CHANGED: Final = _AccountChanged()

Item = int | _AccountChanged


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

    def __init__(
        self, redis_url: str | None = None, namespace: str = "", timeout_s: float = 0.3
    ) -> None:
        self._channel = f"{namespace}:{CHANNEL}"
        self._account_channel = f"{namespace}:{ACCOUNT_CHANNEL}"
        self._inbox_channel = f"{namespace}:{INBOX_CHANNEL}"
        self._queues: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._inboxes: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._watchers: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._redis_url = redis_url
        self._timeout_s = timeout_s
        self._link: redis_link.Channels | None = None
        self._redis = None  # publishes, waiting at most timeout_s
        # Messages this process delivered itself because Redis did not take them in time: a
        # PUBLISH that timed out may still reach Redis (a paused Redis runs it when it
        # wakes), and its echo must not deliver the event a second time here.
        self._delivered_here: collections.OrderedDict[tuple[str, str], None] = (
            collections.OrderedDict()
        )

    async def start(self) -> None:
        if self._redis_url is None:
            return
        self._link = redis_link.Channels(self._redis_url, self._timeout_s)
        self._redis = self._link.publisher
        await self._link.listen(self._channels, self._receive, self._resumed, "the event listener")

    @property
    def _channels(self) -> tuple[str, str, str]:
        return (self._channel, self._account_channel, self._inbox_channel)

    def _resumed(self) -> None:
        """Events published while nobody listened are gone: every subscription re-checks its
        session and its right now, as if its account had changed (a sign-out or a revocation
        in that time is not missed)."""
        for account_id in list(self._watchers):
            self._deliver_account(account_id)

    def _receive(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        try:
            channel = message["channel"].decode()
            data = message["data"].decode()
            fields = [int(x) for x in data.split(":")]
        except (ValueError, AttributeError, KeyError):
            log.warning("ignored a malformed event: %r", message)
            return
        if (channel, data) in self._delivered_here:
            del self._delivered_here[(channel, data)]  # the late echo of one delivered here
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

    async def _publish(self, channel: str, data: str, here: Callable[[], None]) -> None:
        """Publish to every process; while Redis cannot take it, deliver to this process's
        own subscribers at least (`here`), and log that the others missed it."""
        if self._redis is None:
            here()
            return
        try:
            await self._redis.publish(channel, data)
        except redis_link.ERRORS:
            log.exception("Redis cannot take %s %s: delivered in this process only", channel, data)
            here()
            self._delivered_here[(channel, data)] = None
            while len(self._delivered_here) > DELIVERED_HERE_KEPT:
                self._delivered_here.popitem(last=False)

    async def publish(self, applicant_id: int, event_id: int) -> None:
        await self._publish(
            self._channel,
            f"{applicant_id}:{event_id}",
            lambda: self._deliver(applicant_id, event_id),
        )

    async def publish_notification(self, account_id: int, notification_id: int) -> None:
        """A notification was put in the account's inbox (publish after the commit)."""
        await self._publish(
            self._inbox_channel,
            f"{account_id}:{notification_id}",
            lambda: self._deliver_inbox(account_id, notification_id),
        )

    async def publish_account_change(self, account_id: int) -> None:
        """The account's sessions or rights changed (publish after the change is committed
        and the revocation set updated: receivers re-check at once)."""
        await self._publish(
            self._account_channel, str(account_id), lambda: self._deliver_account(account_id)
        )

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
        if self._link is not None:
            await self._link.close()
