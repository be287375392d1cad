"""Application events for subscribers: in-process with one server, Redis pub/sub with several."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

CHANNEL = "application-events"


class EventBus:
    """Fans out (applicant id, event id) pairs to the subscribers of that applicant."""

    def __init__(self, redis_url: str | None = None, namespace: str = "") -> None:
        self._channel = f"{namespace}:{CHANNEL}"
        self._queues: dict[int, set[asyncio.Queue[int]]] = defaultdict(set)
        self._redis_url = redis_url
        self._redis = None
        self._listener: asyncio.Task | None = None

    async def start(self) -> None:
        if self._redis_url is None:
            return
        import redis.asyncio as redis

        self._redis = redis.from_url(self._redis_url)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(pubsub))

    async def _listen(self, pubsub: object) -> None:
        async for message in pubsub.listen():  # type: ignore[attr-defined]
            if message.get("type") != "message":
                continue
            try:
                applicant, event = (int(x) for x in message["data"].decode().split(":"))
            except (ValueError, AttributeError):
                log.warning("ignored a malformed application event: %r", message)
                continue
            self._deliver(applicant, event)

    def _deliver(self, applicant_id: int, event_id: int) -> None:
        for queue in list(self._queues.get(applicant_id, ())):
            queue.put_nowait(event_id)

    async def publish(self, applicant_id: int, event_id: int) -> None:
        if self._redis is not None:
            await self._redis.publish(self._channel, f"{applicant_id}:{event_id}")
        else:
            self._deliver(applicant_id, event_id)

    @contextlib.asynccontextmanager
    async def subscribe(self, applicant_id: int) -> AsyncIterator[asyncio.Queue[int]]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1000)
        self._queues[applicant_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[applicant_id].discard(queue)
            if not self._queues[applicant_id]:
                self._queues.pop(applicant_id, None)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
        if self._redis is not None:
            await self._redis.aclose()
