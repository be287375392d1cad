"""Queries on single-use account tokens (kept as SHA-256 hashes) and on what using one
changes: the verified address, the password."""

from __future__ import annotations

from datetime import datetime

from persistence.models import Account, AccountToken


async def add(*, now: datetime, **values: object) -> AccountToken:
    """A new token made at `now`; `values`: its other columns (account_id, purpose,
    token_hash, email, expires_at)."""
    return await AccountToken.create(created_at=now, **values)


async def usable(token_hash: str, purpose: str, now: datetime) -> AccountToken | None:
    """The unused, unexpired token of `purpose` with this hash."""
    return await AccountToken.get_or_none(
        token_hash=token_hash, purpose=purpose, used_at__isnull=True, expires_at__gt=now
    )


async def use(token_id: int, now: datetime) -> bool:
    """Use the token once; False when it was used meanwhile (a concurrent use won)."""
    return await AccountToken.filter(id=token_id, used_at__isnull=True).update(used_at=now) == 1


async def retire(account_id: int, purpose: str, now: datetime) -> int:
    """End every unused token of `purpose` of the account (a newer one, or a reset, made
    them pointless)."""
    return await AccountToken.filter(
        account_id=account_id, purpose=purpose, used_at__isnull=True
    ).update(used_at=now)


async def mark_verified(account_id: int, email: str, now: datetime) -> bool:
    """The account's address is proved, if it is still `email`; False otherwise."""
    return await Account.filter(id=account_id, email=email).update(email_verified_at=now) == 1


async def account(account_id: int) -> Account | None:
    return await Account.get_or_none(id=account_id)


async def forget_expired(before: datetime) -> int:
    """Drop tokens that expired before `before` (their hashes serve nobody any more)."""
    return await AccountToken.filter(expires_at__lt=before).delete()
