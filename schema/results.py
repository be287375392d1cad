"""Running a mutation as one unit of work and turning refusals into union members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.transactions import in_transaction

from persistence.audit import write_audit
from resolvers.context import Context
from resolvers.outcomes import Refusal, Replay
from schema.common import error_member

T = TypeVar("T")


async def run_mutation(
    ctx: Context,
    members: tuple[type, ...],
    work: Callable[[], Awaitable[T | Refusal]],
    success: Callable[[T], Awaitable[Any]],
) -> Any:
    """Run `work` in one transaction: a raised refusal rolls everything back, a returned one
    keeps what was written; either becomes the union member the result lists. A raised
    Replay rolls back and answers with an earlier outcome (idempotency keys)."""
    try:
        async with in_transaction():
            value = await work()
            await write_audit(ctx.take_audit())
    except Refusal as refusal:
        ctx.audit_buffer.clear()
        ctx.pending_after_commit.clear()
        return error_member(refusal, members)
    except Replay as replay:
        ctx.audit_buffer.clear()
        ctx.pending_after_commit.clear()
        value = await replay.load()
    else:
        await ctx.run_after_commit()
    finally:
        ctx.forget_cached()
    if isinstance(value, Refusal):
        return error_member(value, members)
    return await success(value)
