"""Idempotency records: the outcome of a keyed mutation, replayed when the key comes again."""

from __future__ import annotations

from persistence.models import IdempotencyRecord
from persistence.unique import create_unless_taken


async def find(account_id: int, operation: str, key: str) -> IdempotencyRecord | None:
    return await IdempotencyRecord.get_or_none(account_id=account_id, operation=operation, key=key)


async def remember(
    account_id: int, operation: str, key: str, request_hash: str, outcome: dict
) -> bool:
    """Store the outcome; False when a concurrent request with the same key got there first."""
    stored = await create_unless_taken(
        IdempotencyRecord,
        account_id=account_id,
        operation=operation,
        key=key,
        request_hash=request_hash,
        outcome=outcome,
    )
    return stored is not None
