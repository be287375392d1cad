"""The caller's per-minute query budget (COST_BUDGET_PER_MINUTE): one bucket per account,
whatever the transport, per client address when anonymous. The operation gate (web/
operation_limits.py) pays each operation's estimated cost from it before it runs; work an
estimate could not foresee is paid from it as it is done (see `spend`)."""

from __future__ import annotations

from contextvars import ContextVar

from persistence.rate_limits import address_key
from resolvers.context import Context

BUDGET_WINDOW_S = 60
# The cost estimate (schema/limits.py) takes a plain list of unknown length for this many items.
LIST_ESTIMATE = 10
# Work beyond reading, in points. About 1 point per 0.2 ms of CPU, so that the per-minute
# budget (COST_BUDGET_PER_MINUTE, 100,000) holds some 20 s of drawing per account: a QR code
# as PNG takes about 65 ms of CPU and as SVG about 5 ms; a fresh presentation's are never
# cached. A printable PDF (GET /certificates/{id}.pdf, not a GraphQL field): about 200 ms.
QR_PNG_POINTS = 300
QR_SVG_POINTS = 30
PDF_POINTS = 1000


def budget_bucket(ctx: Context) -> str:
    """One budget per account, whatever the transport; per client address when anonymous
    (an IPv6 /64 counting as one address, as for the other per-address limits)."""
    if ctx.account is not None:
        return f"cost:acct:{ctx.account.id}"
    return f"cost:ip:{address_key(ctx.client_ip)}"


async def spend(ctx: Context, points: int) -> int | None:
    """Draw `points` from the caller's budget for this minute: what is left, or None (nothing
    drawn) when it cannot cover them."""
    budget = ctx.services.settings.cost_budget_per_minute
    return await ctx.services.budget.spend(budget_bucket(ctx), points, budget, BUDGET_WINDOW_S)


# What the running operation has drawn (QR codes, in points) and what its estimate paid for
# drawing, counted over all its fields, also those resolved in tasks of their own: a counter
# made when the operation starts (`operation_starts`) and shared by the tasks it creates.
_drawn: ContextVar[list[int] | None] = ContextVar("drawn", default=None)


def operation_starts(paid: int = 0) -> None:
    """A new operation runs in this task (an HTTP request's operation, a WebSocket
    `subscribe`), its estimate having paid `paid` points of drawing: counted from zero."""
    _drawn.set([0, paid])


def draw(points: int) -> int:
    """Count a drawing of `points` by the running operation: the part of them beyond what its
    estimate paid for (0 while within it), which is to be paid now."""
    counter = _drawn.get()
    if counter is None:  # not started through a transport (a direct call): nothing prepaid
        counter = [0, 0]
        _drawn.set(counter)
    before = counter[0]
    counter[0] += points
    return counter[0] - max(before, counter[1]) if counter[0] > counter[1] else 0
