"""An account's language and its choice of channels per notification kind."""

from __future__ import annotations

from collections.abc import Sequence

from domain.messages import N_
from domain.notifications import (
    LANGUAGES,
    Channel,
    Kind,
    channels_for,
    merged_preferences,
    preference_problem,
)
from persistence import preferences as store
from persistence.models import Account
from resolvers.context import Context
from resolvers.notifications import language_of
from resolvers.outcomes import invalid, unauthenticated

__all__ = ["channels_by_kind", "language_of", "set_preferences"]


def channels_by_kind(account: Account) -> list[tuple[str, list[str]]]:
    """Every kind with the channels the account gets it on (INBOX before EMAIL)."""
    prefs = account.notification_preferences
    return [
        (kind.value, [c.value for c in Channel if c.value in channels_for(prefs, kind.value)])
        for kind in Kind
    ]


async def set_preferences(
    ctx: Context, language: str | None, choices: Sequence[tuple[str, Sequence[str]]] | None
) -> Account:
    """Set the account's language and/or its channels for the kinds listed (others keep
    theirs). Security mail (verification, password reset) is not a kind: always sent."""
    account = ctx.account
    if account is None:
        raise unauthenticated()
    if language is not None and language not in LANGUAGES:
        raise invalid(N_("Choose one of the languages the service speaks."), "language")
    if choices:
        problem = preference_problem(choices)
        if problem:
            raise invalid(problem, "notifications")
    await store.lock(account.id)
    fresh = await store.account(account.id)
    changes: dict[str, object] = {}
    if language is not None:
        changes["language"] = language
    if choices:
        changes["notification_preferences"] = merged_preferences(
            fresh.notification_preferences, choices
        )
    if changes:
        await store.update(account.id, **changes)
        for name, value in changes.items():
            setattr(account, name, value)
    return account
