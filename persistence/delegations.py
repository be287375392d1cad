"""Queries on delegations."""

from __future__ import annotations

from persistence.models import Delegation


async def granting_for_helper(helper_id: int) -> list[Delegation]:
    """The helper's delegations that may grant something (status ACTIVE, not yet filtered by
    validity dates: the caller applies the domain rule)."""
    return await Delegation.filter(helper_id=helper_id, status="ACTIVE")
