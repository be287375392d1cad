"""Ending a delegation early (REVOKED): by the helper or the dependant (revokeDelegation), or
by staff undoing a wrong identity link whose account accepted it (unlinkIdentity)."""

from __future__ import annotations

from domain.delegation import OPEN_STATUSES
from persistence import delegations as store
from persistence.models import Delegation
from resolvers import authorization as gate
from resolvers import certificates
from resolvers.context import Context


def trail(ctx: Context, delegation: Delegation, action: str) -> None:
    """Put the change on the dependant's audit trail, as done by the caller."""
    gate.staff_write(
        ctx,
        delegation.dependant_id,
        action,
        f"Delegation:{delegation.id}",
        delegation_id=delegation.id,
        helper_id=delegation.helper_id,
    )


async def revoke(ctx: Context, delegation: Delegation) -> bool:
    """End the open delegation now, whether this call ended it. Recorded only by the call
    that ended it: one racing another (or a decline) that ended it first changes nothing
    and leaves no entry in the trail."""
    if not await store.move(delegation.id, list(OPEN_STATUSES), "REVOKED", ended_at=ctx.now()):
        return False
    trail(ctx, delegation, "REVOKE_DELEGATION")
    if ctx.settings.revoke_helper_certificates:
        # Consent withdrawn: what the helper obtained through it stops verifying.
        await certificates.revoke_superseded(
            ctx,
            delegation.dependant_id,
            "delegation",
            delegation_id=delegation.id,
            helper_id=delegation.helper_id,
        )
    # The helper's subscriptions on the dependant end now, not at their next event.
    helper_id = delegation.helper_id
    ctx.after_commit(lambda: ctx.services.account_changed(helper_id))
    return True
