"""The event bus: a subscriber that falls behind, or breaks, never stops delivery to others."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from resolvers.events import ACCOUNT_CHANGED, EventBus

REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def test_a_full_queue_drops_its_oldest_item_and_keeps_the_newest():
    bus = EventBus()
    async with bus.subscribe(7) as slow, bus.watch_account(70, slow), bus.subscribe(7) as keen:
        for event_id in range(slow.maxsize + 5):
            await bus.publish(7, event_id)
            assert keen.get_nowait() == event_id
        await bus.publish_account_change(70)

        assert slow.qsize() == slow.maxsize
        items = [slow.get_nowait() for _ in range(slow.qsize())]
        assert items[0] == 6  # 0..5 made room
        assert items[-1] is ACCOUNT_CHANGED  # the news that ends a session is never lost


class BrokenQueue(asyncio.Queue):
    def put_nowait(self, item: object) -> None:
        raise RuntimeError("a subscriber gone wrong")


async def test_a_broken_subscriber_does_not_stop_the_others_in_process():
    bus = EventBus()
    async with bus.subscribe(8) as healthy, bus._registered(bus._queues, 8, BrokenQueue()):
        await bus.publish(8, 1)
        await bus.publish(8, 2)
    assert [healthy.get_nowait(), healthy.get_nowait()] == [1, 2]


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_the_redis_listener_keeps_delivering_after_a_full_queue_and_a_broken_subscriber():
    bus = EventBus(REDIS_URL, namespace=f"fan-out-{secrets.token_hex(4)}")
    await bus.start()
    try:
        async with (
            bus.subscribe(9) as healthy,
            bus.subscribe(9) as never_read,
            bus._registered(bus._queues, 9, BrokenQueue()),
        ):
            await asyncio.sleep(0.2)  # the listener has subscribed
            total = never_read.maxsize + 20
            received: list[object] = []

            async def read_all() -> None:
                while len(received) < total:
                    received.append(await healthy.get())

            reader = asyncio.create_task(read_all())
            for event_id in range(total):
                await bus.publish(9, event_id)
            async with asyncio.timeout(10):
                await reader
            assert received == list(range(total))
            assert never_read.qsize() == never_read.maxsize
            assert bus._link is not None and bus._link.listening
    finally:
        await bus.close()
