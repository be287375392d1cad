"""Running a mutation as one unit of work: one transaction, its audit entries, then what
waits for the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from tortoise.transactions import in_transaction

from persistence import read_replica
from persistence.audit import write_audit
from resolvers.context import RECORDING, Context, Recording, run_actions
from resolvers.outcomes import Refusal, Replay

T = TypeVar("T")
log = logging.getLogger(__name__)

# The context whose unit of work is running: code called inside it (notify) attaches what
# must wait for the commit to it without every caller passing the context along.
_CURRENT: ContextVar[Context | None] = ContextVar("unit_of_work", default=None)


def current() -> Context | None:
    """The context of the unit of work running now, or None outside one."""
    return _CURRENT.get()


async def run(ctx: Context, work: Callable[[], Awaitable[T | Refusal]]) -> T | Refusal:
    """`_run`, ended once begun: a unit of work whose caller is cancelled (a client that closes
    its WebSocket or completes the operation while its mutation runs) still ends with its
    commit or its rollback, and the caller's cancellation is passed on after that. Cut
    between the two, a transaction would keep its connection, and with SQLite the one write
    lock, for ever: every later statement of the process would wait. A unit inside another
    runs as part of it, under the outer one's protection."""
    if ctx.recording() is not None:
        return await _run(ctx, work)
    unit = asyncio.ensure_future(_run(ctx, work))
    try:
        return await asyncio.shield(unit)
    except asyncio.CancelledError:
        while not unit.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({unit})
        if not unit.cancelled() and unit.exception() is not None:
            log.error("a unit of work whose caller was cancelled failed", exc_info=unit.exception())
        raise


async def _run(ctx: Context, work: Callable[[], Awaitable[T | Refusal]]) -> T | Refusal:
    """Run `work` in one transaction: a raised refusal rolls everything back, a returned one
    keeps what was written; either comes back as the refusal. A raised Replay rolls back and
    answers with an earlier outcome (idempotency keys); any other exception rolls back and
    propagates. What `work` records (audit entries, actions after the commit) is its own
    (resolvers.context.Recording): written with its transaction and run after its commit, or
    gone with a rollback, whatever else runs on the same context meanwhile. A unit run inside
    another hands what it recorded to the outer one, which commits it."""
    outer = ctx.recording()
    mine = Recording(ctx)
    recording, current = RECORDING.set(mine), _CURRENT.set(ctx)
    try:
        try:
            async with in_transaction():
                value = await work()
                if isinstance(value, Refusal):
                    mine.audit.extend(value.shown)
                if outer is None:
                    await write_audit(mine.audit)
                # Read-your-writes (a read replica only; nothing is sent without one).
                wrote = await read_replica.transaction_wrote()
        finally:
            RECORDING.reset(recording)
            _CURRENT.reset(current)
    except Refusal as refusal:
        # What the refusal shows of someone's records was read: kept with the other reads.
        ctx.record_audit(refusal.shown)
        ctx.forget_cached()
        return refusal
    except Replay as replay:
        ctx.forget_cached()
        value = await replay.load()
        if isinstance(value, Refusal):
            ctx.record_audit(value.shown)
        return value
    except BaseException:
        ctx.forget_cached()
        raise
    ctx.forget_cached()
    if outer is not None:
        outer.audit.extend(mine.audit)
        outer.after_commit.extend(mine.after_commit)
        return value
    if wrote:
        await read_replica.wrote(ctx.account.id if ctx.account is not None else None)
    await run_actions(mine.after_commit)
    return value


async def write_recorded_reads(ctx: Context) -> None:
    """Write what the gate recorded so far to the audit trail (after a query or an event)."""
    await write_audit(ctx.take_audit())
