"""Idempotency records: the outcome of a keyed mutation, replayed when the key comes again."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from persistence.models import IdempotencyRecord


async def find(account_id: int, operation: str, key: str) -> IdempotencyRecord | None:
    return await IdempotencyRecord.get_or_none(account_id=account_id, operation=operation, key=key)


async def remember(
    account_id: int, operation: str, key: str, request_hash: str, outcome: dict
) -> bool:
    """Store the outcome; False when a concurrent request with the same key got there first."""
    try:
        await IdempotencyRecord.create(
            account_id=account_id,
            operation=operation,
            key=key,
            request_hash=request_hash,
            outcome=outcome,
        )
    except IntegrityError:
        return False
    return True
