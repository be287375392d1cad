"""Running a mutation as one unit of work: one transaction, its audit entries, then what
waits for the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from tortoise.transactions import in_transaction

from persistence import read_replica
from persistence.audit import write_audit
from resolvers.context import Context
from resolvers.outcomes import Refusal, Replay

T = TypeVar("T")

# The context whose unit of work is running: code called inside it (notify) attaches what
# must wait for the commit to it without every caller passing the context along.
_CURRENT: ContextVar[Context | None] = ContextVar("unit_of_work", default=None)


def current() -> Context | None:
    """The context of the unit of work running now, or None outside one."""
    return _CURRENT.get()


async def run(ctx: Context, work: Callable[[], Awaitable[T | Refusal]]) -> T | Refusal:
    """Run `work` in one transaction: a raised refusal rolls everything back, a returned one
    keeps what was written; either comes back as the refusal. A raised Replay rolls back and
    answers with an earlier outcome (idempotency keys). Rolling back forgets only what `work`
    recorded: reads an earlier field of the operation recorded are still written."""
    audit_mark, pending_mark = len(ctx.audit_buffer), len(ctx.pending_after_commit)
    token = _CURRENT.set(ctx)
    try:
        async with in_transaction():
            value = await work()
            if isinstance(value, Refusal):
                ctx.audit_buffer.extend(value.shown)
            await write_audit(ctx.take_audit())
            # Read-your-writes (a read replica only; nothing is sent without one).
            wrote = await read_replica.transaction_wrote()
    except Refusal as refusal:
        _forget_since(ctx, audit_mark, pending_mark)
        # What the refusal shows of someone's records was read: written with the request's
        # other reads.
        ctx.audit_buffer.extend(refusal.shown)
        return refusal
    except Replay as replay:
        _forget_since(ctx, audit_mark, pending_mark)
        value = await replay.load()
        if isinstance(value, Refusal):
            ctx.audit_buffer.extend(value.shown)
    else:
        if wrote:
            await read_replica.wrote(ctx.account.id if ctx.account is not None else None)
        await ctx.run_after_commit()
    finally:
        _CURRENT.reset(token)
        ctx.forget_cached()
    return value


def _forget_since(ctx: Context, audit_mark: int, pending_mark: int) -> None:
    """Drop the audit entries and after-commit actions recorded since the marks."""
    del ctx.audit_buffer[audit_mark:]
    del ctx.pending_after_commit[pending_mark:]


async def write_recorded_reads(ctx: Context) -> None:
    """Write what the gate recorded so far to the audit trail (after a query or an event)."""
    await write_audit(ctx.take_audit())
