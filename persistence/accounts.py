"""Queries on accounts, roles and refresh tokens."""

from __future__ import annotations

from datetime import datetime

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, RawSQL
from tortoise.transactions import in_transaction

from persistence.by_ids import loader_of
from persistence.models import Account, AccountRole, RefreshToken
from persistence.unique import create_unless_taken


async def account_with_roles(account_id: int) -> tuple[Account, frozenset[str]] | None:
    """The account with its person and its roles, in one statement (every signed-in request
    starts with it)."""
    postgres = connections.get("default").capabilities.dialect == "postgres"
    join = "string_agg" if postgres else "group_concat"
    roles = RawSQL(
        f'(SELECT {join}("role", \',\') FROM "account_role" '  # noqa: S608 (no input in it)
        'WHERE "account_role"."account_id" = "account"."id")'
    )
    query = Account.filter(id=account_id).select_related("person").annotate(role_list=roles)
    account = await query.first()
    if account is None:
        return None
    listed: str | None = account.role_list  # type: ignore[attr-defined]
    return account, frozenset(listed.split(",") if listed else ())


async def roles_of(account_id: int) -> list[str]:
    return sorted(await AccountRole.filter(account_id=account_id).values_list("role", flat=True))


async def by_email(email: str) -> Account | None:
    """The account with this (normalised) address; None also for text longer than any stored
    address, which Tortoise would refuse as a query value rather than match nothing."""
    if len(email) > Account._meta.fields_map["email"].max_length:
        return None
    return await Account.get_or_none(email=email)


async def create_account(*, roles: list[str], **values: object) -> Account | None:
    """A new account with `roles`, or None when the e-mail address is taken; `values`: its
    columns (email, display_name, password_hash; office_id, person_id when it has them)."""
    account = await create_unless_taken(Account, **values)
    if account is None:
        return None
    await AccountRole.bulk_create([AccountRole(account_id=account.id, role=r) for r in roles])
    return account


async def set_only_role(account_id: int, role: str, office_id: int | None) -> None:
    """The account holds `role` alone from now on, at `office_id` (an officer's office; None
    for every other role), in one transaction."""
    async with in_transaction():
        await AccountRole.filter(account_id=account_id).delete()
        await AccountRole.create(account_id=account_id, role=role)
        await Account.filter(id=account_id).update(office_id=office_id)


async def set_password(account: Account, password_hash: str, now: datetime) -> None:
    account.password_hash = password_hash
    account.password_changed_at = now
    await account.save(update_fields=["password_hash", "password_changed_at"])


async def store_refresh_token(
    *, account_id: int, family: str, token_hash: str, expires_at: datetime
) -> None:
    await RefreshToken.create(
        account_id=account_id, family=family, token_hash=token_hash, expires_at=expires_at
    )


async def refresh_token(token_hash: str) -> RefreshToken | None:
    return await RefreshToken.get_or_none(token_hash=token_hash)


async def lock_sessions(account_id: int) -> None:
    """Serialise changes to one account's sessions until the transaction ends (a row lock on
    PostgreSQL; SQLite runs write transactions one at a time), so that a refresh and a
    revocation of the same account never interleave: a successor cannot be created in a
    family that a concurrent sign-out or password change is revoking."""
    await Account.filter(id=account_id).select_for_update().first()


async def mark_used(token_id: int, now: datetime, successor_sealed: str | None = None) -> bool:
    """Use a refresh token once, keeping its sealed successor; False when already used."""
    return (
        await RefreshToken.filter(
            id=token_id, used_at__isnull=True, revoked_at__isnull=True
        ).update(used_at=now, successor_sealed=successor_sealed)
        == 1
    )


async def forget_successors(used_before: datetime, account_id: int | None = None) -> int:
    """Drop sealed successors once their grace window is over."""
    query = RefreshToken.filter(successor_sealed__isnull=False, used_at__lt=used_before)
    if account_id is not None:
        query = query.filter(account_id=account_id)
    return await query.update(successor_sealed=None)


async def revoke_family(family: str, now: datetime) -> None:
    await RefreshToken.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=now, successor_sealed=None
    )


async def revoke_other_families(
    account_id: int, keep_family: str | None, now: datetime, live_after: datetime
) -> list[str]:
    """Revoke every family of the account but `keep_family` (None: all of them). Returns the
    revoked families that may still have unexpired access tokens: those with a refresh token
    expiring after `live_after` (access tokens are issued with a refresh token and live far
    shorter than it)."""
    query = RefreshToken.filter(account_id=account_id, revoked_at__isnull=True)
    if keep_family:
        query = query.exclude(family=keep_family)
    live = await query.filter(expires_at__gt=live_after).distinct().values_list("family", flat=True)
    await query.update(revoked_at=now, successor_sealed=None)
    return sorted(set(live))


async def revoked_since(since: datetime) -> list[tuple[str, datetime]]:
    """Families revoked at or after `since`, with when (the latest revocation of each)."""
    rows = await RefreshToken.filter(revoked_at__gte=since).values_list("family", "revoked_at")
    latest: dict[str, datetime] = {}
    for family, at in rows:
        if family not in latest or at > latest[family]:
            latest[family] = at
    return list(latest.items())


async def family_ended(family: str) -> bool:
    """Whether the sign-in (refresh-token family) has ended: any of its tokens revoked."""
    return await RefreshToken.filter(family=family, revoked_at__isnull=False).exists()


async def account_linked_to(person_id: int) -> int | None:
    ids = await Account.filter(person_id=person_id).values_list("id", flat=True)
    return ids[0] if ids else None


async def person_of(account_id: int) -> int | None:
    """The person the account is linked to now, if any."""
    ids = await Account.filter(id=account_id).values_list("person_id", flat=True)
    return ids[0] if ids else None


async def link_person(account_id: int, person_id: int) -> bool:
    """Link an unlinked account to an unclaimed person; False when either is taken, or when
    staff unlinked this account from this person before."""
    try:
        linked = await Account.filter(
            Q(unlinked_person_id__isnull=True) | ~Q(unlinked_person_id=person_id),
            id=account_id,
            person_id__isnull=True,
        ).update(person_id=person_id)
    except IntegrityError:
        return False
    return linked == 1


async def unlink_person(person_id: int) -> None:
    """Undo the person's link (a wrong match), for good for the account that had it."""
    await Account.filter(person_id=person_id).update(person_id=None, unlinked_person_id=person_id)


accounts_by_ids = loader_of(Account)


async def person_has_account(person_id: int) -> bool:
    return await Account.filter(person_id=person_id).exists()
