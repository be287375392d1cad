"""Work outside requests that runs in rounds, one every so many seconds, for as long as the
process lives (the reminder scheduler, the waitlist's expiry loop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def every(
    seconds: float, run_round: Callable[[], Awaitable[object]], log: logging.Logger, failed: str
) -> None:
    """Run a round every `seconds`, forever; a failed one is logged (`failed`, with its
    exception) and the next follows on time."""
    while True:
        try:
            await run_round()
        except Exception:
            log.exception(failed)
        await asyncio.sleep(seconds)
