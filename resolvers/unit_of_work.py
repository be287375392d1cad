"""Running a mutation as one unit of work: one transaction, its audit entries, then what
waits for the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.transactions import in_transaction

from persistence.audit import write_audit
from resolvers.context import Context
from resolvers.outcomes import Refusal, Replay

T = TypeVar("T")


async def run(ctx: Context, work: Callable[[], Awaitable[T | Refusal]]) -> T | Refusal:
    """Run `work` in one transaction: a raised refusal rolls everything back, a returned one
    keeps what was written; either comes back as the refusal. A raised Replay rolls back and
    answers with an earlier outcome (idempotency keys)."""
    try:
        async with in_transaction():
            value = await work()
            await write_audit(ctx.take_audit())
    except Refusal as refusal:
        ctx.audit_buffer.clear()
        ctx.pending_after_commit.clear()
        return refusal
    except Replay as replay:
        ctx.audit_buffer.clear()
        ctx.pending_after_commit.clear()
        value = await replay.load()
    else:
        await ctx.run_after_commit()
    finally:
        ctx.forget_cached()
    return value


async def write_recorded_reads(ctx: Context) -> None:
    """Write what the gate recorded so far to the audit trail (after a query or an event)."""
    await write_audit(ctx.take_audit())
