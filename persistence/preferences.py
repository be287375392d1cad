"""Queries on an account's language, its sign-in language and its notification choices."""

from __future__ import annotations

from persistence.models import Account


async def lock(account_id: int) -> None:
    """Serialise changes to one account's preferences until the transaction ends (a row lock
    on PostgreSQL; SQLite writes one transaction at a time), so two concurrent changes of
    different kinds both survive the read-merge-write."""
    await Account.filter(id=account_id).select_for_update().first()


async def account(account_id: int) -> Account:
    return await Account.get(id=account_id)


async def update(account_id: int, **changes: object) -> None:
    await Account.filter(id=account_id).update(**changes)


async def remember_signin_language(account_id: int, language: str | None) -> None:
    """The language the last sign-in's Accept-Language asked for (None: none of ours)."""
    await Account.filter(id=account_id).update(signin_language=language)
