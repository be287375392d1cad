"""Stored signing keys: loading, adding, and moving a purpose's keys one state forward."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from persistence.models import KeyState, SigningKey
from persistence.unique import create_unless_taken

# The first key of the rotations' two-key advisory locks (the second is the purpose's hash).
_ROTATION_LOCK_SPACE = 0x4B45


async def keys_for(purpose: str) -> list[SigningKey]:
    return await SigningKey.filter(purpose=purpose).order_by("created_at")


async def key_by_kid(kid: str) -> SigningKey | None:
    return await SigningKey.get_or_none(kid=kid)


async def add_key(*, state: str, now: datetime, **values: object) -> bool:
    """Insert a key in `state`, active from `now` if ACTIVE; `values`: its other columns (kid,
    purpose, alg, public_jwk, private_pem). False when another process already holds that
    purpose's state."""
    activated_at = now if state == KeyState.ACTIVE else None
    added = await create_unless_taken(SigningKey, state=state, activated_at=activated_at, **values)
    return added is not None


async def rotate(
    purpose: str, *, new_kid: str, alg: str, public_jwk: dict, private_pem: str, now: datetime
) -> tuple[str, str] | None:
    """Retire ACTIVE, promote NEXT, add a fresh NEXT, in one transaction.

    Returns (active kid, next kid), or None when there is no NEXT key to promote.
    """
    async with in_transaction() as connection:
        # Rotations of a purpose one after another (SQLite runs write transactions one at a time
        # anyway). Locking the NEXT row alone is not enough on PostgreSQL: a rotation that waited
        # for it keeps the lock of the row's new (ACTIVE) version after its recheck fails, and
        # then deadlocks with the rotation that found the next NEXT row.
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", [_ROTATION_LOCK_SPACE, purpose]
            )
        nxt = (
            await SigningKey.filter(purpose=purpose, state=KeyState.NEXT)
            .select_for_update()
            .first()
        )
        if nxt is None:
            return None
        await SigningKey.filter(purpose=purpose, state=KeyState.ACTIVE).update(
            state=KeyState.RETIRED, retired_at=now
        )
        nxt.state = KeyState.ACTIVE
        nxt.activated_at = now
        await nxt.save(update_fields=["state", "activated_at"])
        await SigningKey.create(
            kid=new_kid,
            purpose=purpose,
            state=KeyState.NEXT,
            alg=alg,
            public_jwk=public_jwk,
            private_pem=private_pem,
        )
    return nxt.kid, new_kid


async def extend_last_expiry(kid: str, expires_at: datetime) -> None:
    """Remember the latest expiry of a document signed by this key (keeps it published)."""
    await SigningKey.filter(kid=kid).filter(last_expiry__isnull=True).update(last_expiry=expires_at)
    await SigningKey.filter(kid=kid, last_expiry__lt=expires_at).update(last_expiry=expires_at)
