"""Signing up, in and out; refreshing sessions; changing passwords."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.accounts import (
    display_name_problem,
    email_problem,
    normalise_display_name,
    normalise_email,
)
from domain.messages import N_
from domain.notifications import PASSWORD_RESET
from domain.passwords import password_problem
from persistence import account_tokens
from persistence import accounts as store
from persistence import preferences as preference_store
from persistence.models import Account, RefreshToken, Role
from persistence.rate_limits import Quota, Reservation, address_key
from persistence.session_revocations import keep_seconds
from resolvers import account_mail
from resolvers.context import Context
from resolvers.outcomes import Refusal, RefusalKind, invalid, rate_limited, unauthenticated
from signing import access_tokens, refresh_tokens
from signing.digests import lookup_hash

_FAILED_SIGNIN = N_("The e-mail address or password is wrong.")
_EMAIL_TAKEN = N_("An account with this e-mail address already exists.")
# Verifying against this keeps a sign-in for an unknown address as slow as a real one.
_DUMMY_HASH: dict[str, str] = {}


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_at: datetime
    account: Account


async def start_session(ctx: Context, account: Account, family: str | None = None) -> Session:
    """Issue an access token and a refresh token (a new family unless one is continued)."""
    now = ctx.now()
    family = family or uuid.uuid4().hex
    refresh = refresh_tokens.new_token()
    await store.store_refresh_token(
        account_id=account.id,
        family=family,
        token_hash=lookup_hash(refresh),
        expires_at=now + timedelta(days=ctx.settings.refresh_token_days),
    )
    return _session_with(ctx, account, family, refresh)


def _session_with(ctx: Context, account: Account, family: str, refresh: str) -> Session:
    """A fresh access token of the family, handed out with the given refresh token."""
    settings = ctx.settings
    token, expires = access_tokens.issue(
        ctx.services.keys,
        account_id=account.id,
        issuer=settings.issuer,
        now=ctx.now(),
        minutes=settings.access_token_minutes,
        session=family,
    )
    return Session(access_token=token, refresh_token=refresh, expires_at=expires, account=account)


async def sign_up(ctx: Context, email: str, password: str, display_name: str) -> Session:
    settings, limiter = ctx.settings, ctx.services.limiter
    email = normalise_email(email)
    if problem := email_problem(email):
        raise invalid(problem, "email")
    display_name = normalise_display_name(display_name)
    if problem := display_name_problem(display_name):
        raise invalid(problem, "displayName")
    problem = password_problem(password, min_length=settings.password_min_length, email=email)
    if problem:
        raise invalid(problem, "password")
    # Checked and counted in one step, so concurrent sign-ups cannot outrun the limit.
    address = address_key(ctx.client_ip)
    reservation = await limiter.reserve(
        [Quota(f"signup:ip:{address}", settings.signups_per_ip, settings.signup_window_s)]
    )
    if reservation.retry_after is not None:
        raise rate_limited(reservation.retry_after)
    if await store.by_email(email) is not None:
        raise Refusal(RefusalKind.EMAIL_TAKEN, _EMAIL_TAKEN)
    password_hash = await ctx.services.hash_password(password)
    account = await store.create_account(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        roles=[Role.APPLICANT],
    )
    if account is None:  # lost a race with a concurrent sign-up for the same address
        raise Refusal(RefusalKind.EMAIL_TAKEN, _EMAIL_TAKEN)
    # The address the owner signed up from is theirs: guesses from elsewhere cannot lock
    # them out of it (see _reserve_password_check).
    days = settings.signin_known_address_days
    await limiter.remember(_known_address(email, address), days * 86400)
    # A sign-up signs in: its language is the account's until one is chosen (the
    # verification mail below already speaks it).
    account.signin_language = ctx.language.upper()
    await preference_store.remember_signin_language(account.id, account.signin_language)
    await account_mail.send_verification(ctx, account)
    return await start_session(ctx, account)


async def forget_failed_sign_ins(ctx: Context, email: str) -> None:
    """Clear the account's count of failed sign-ins (after its password was reset), and the
    waits of the address the reset came from (where the owner tried the old passwords). Other
    addresses' waits stand: a guesser elsewhere gains nothing from the owner's reset."""
    limiter = ctx.services.limiter
    await limiter.clear(f"signin:acct:{lookup_hash(email)}")
    await limiter.clear(f"signin:pair:{address_key(ctx.client_ip)}:{lookup_hash(email)}")


def _known_address(email: str, address: str) -> str:
    return f"signin:known:{address}:{lookup_hash(email)}"


async def _reserve_password_check(ctx: Context, email: str) -> Reservation:
    """Reserve one password check for `email` from this address, before checking: a wrong
    password keeps the reservation as a failure, so concurrent guesses cannot outrun the
    counters. Counted per address (all accounts), per (account, address) with a growing
    wait, and per account only from addresses that have not signed in to it recently, so
    guessing elsewhere does not lock the owner out of their usual address."""
    settings, limiter = ctx.settings, ctx.services.limiter
    window = settings.signin_failure_window_s
    address = address_key(ctx.client_ip)
    quotas = [
        Quota(f"signin:ip:{address}", settings.signin_failures_per_ip, window),
        Quota(
            f"signin:pair:{address}:{lookup_hash(email)}",
            settings.signin_failures_per_ip,
            window,
            backoff_after=settings.signin_backoff_after,
            backoff_cap_s=settings.signin_backoff_cap_s,
        ),
    ]
    if not await limiter.remembers(_known_address(email, address)):
        quotas.append(
            Quota(f"signin:acct:{lookup_hash(email)}", settings.signin_failures_per_account, window)
        )
    reservation = await limiter.reserve(quotas)
    if reservation.retry_after is not None:
        raise rate_limited(reservation.retry_after)
    return reservation


async def _password_was_right(ctx: Context, email: str, reservation: Reservation) -> None:
    """The password was right: the check was no failure, this address's backoff starts
    over, and the address is known to the account from now on."""
    limiter = ctx.services.limiter
    address = address_key(ctx.client_ip)
    await limiter.release(reservation)
    await limiter.clear(f"signin:pair:{address}:{lookup_hash(email)}")
    days = ctx.settings.signin_known_address_days
    await limiter.remember(_known_address(email, address), days * 86400)


async def _dummy_hash(ctx: Context) -> str:
    if "hash" not in _DUMMY_HASH:
        _DUMMY_HASH["hash"] = await ctx.services.hash_password(secrets.token_hex(16))
    return _DUMMY_HASH["hash"]


async def sign_in(ctx: Context, email: str, password: str) -> Session:
    email = normalise_email(email)
    reservation = await _reserve_password_check(ctx, email)
    account = await store.by_email(email)
    stored_hash = account.password_hash if account else await _dummy_hash(ctx)
    ok = await ctx.services.verify_password(stored_hash, password)
    if not ok or account is None:
        raise Refusal(RefusalKind.INVALID_CREDENTIALS, _FAILED_SIGNIN)
    await _password_was_right(ctx, email, reservation)
    # Mail and notifications speak the language this sign-in asked for, unless one was chosen.
    account.signin_language = ctx.language.upper()
    await preference_store.remember_signin_language(account.id, account.signin_language)
    if ctx.services.hasher.check_needs_rehash(account.password_hash):
        await store.set_password(account, await ctx.services.hash_password(password), ctx.now())
    return await start_session(ctx, account)


_BAD_REFRESH = N_("This refresh token is not valid. Sign in again.")


async def refresh_session(ctx: Context, refresh_token: str) -> Session | Refusal:
    """Rotate a refresh token. Presented again within REFRESH_REUSE_GRACE_S (two tabs, a
    retry), it gives the same successor; presented later, it ends the whole sign-in (a stolen
    token in use): the revocation is kept, the refusal returned."""
    now = ctx.now()
    token_hash = lookup_hash(refresh_token)
    row = await store.refresh_token(token_hash)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return Refusal(RefusalKind.INVALID_REFRESH_TOKEN, _BAD_REFRESH)
    # One change of this account's sessions at a time; then read the token as it is now: a
    # concurrent refresh with the same token has either rotated it (and sealed the successor)
    # or not started.
    await store.lock_sessions(row.account_id)
    row = await store.refresh_token(token_hash)
    if row is None or row.revoked_at is not None:
        return Refusal(RefusalKind.INVALID_REFRESH_TOKEN, _BAD_REFRESH)
    account = await Account.get(id=row.account_id)
    grace = timedelta(seconds=ctx.settings.refresh_reuse_grace_s)
    if row.used_at is None:
        await store.forget_successors(now - grace, account_id=row.account_id)
        session = await start_session(ctx, account, family=row.family)
        sealed = refresh_tokens.seal_successor(refresh_token, session.refresh_token)
        if not await store.mark_used(row.id, now, sealed):  # not while the lock is held
            raise Refusal(RefusalKind.INVALID_REFRESH_TOKEN, _BAD_REFRESH)
        return session
    successor = await _successor_in_grace(row, refresh_token, now - grace)
    if successor is not None:
        return _session_with(ctx, account, row.family, successor)
    await store.revoke_family(row.family, now)
    account_id, family = row.account_id, row.family
    ctx.after_commit(lambda: ctx.services.sessions_ended(account_id, [family], now))
    return Refusal(RefusalKind.INVALID_REFRESH_TOKEN, _BAD_REFRESH)


async def _successor_in_grace(row: RefreshToken, presented: str, since: datetime) -> str | None:
    """The successor of a token used since `since`, while the successor itself is unused: the
    same refresh arriving twice (two tabs, a retry), not a replay of an older token."""
    if row.successor_sealed is None or row.used_at is None or row.used_at < since:
        return None
    successor = refresh_tokens.open_successor(presented, row.successor_sealed)
    if successor is None:
        return None
    current = await store.refresh_token(lookup_hash(successor))
    if current is None or current.used_at is not None or current.revoked_at is not None:
        return None
    return successor


async def sign_out(ctx: Context, refresh_token: str) -> None:
    """End the sign-in the refresh token belongs to: its access tokens are refused from the
    next request on, and its subscriptions end."""
    row = await store.refresh_token(lookup_hash(refresh_token))
    if row is None or row.revoked_at is not None:
        raise Refusal(RefusalKind.INVALID_REFRESH_TOKEN, _BAD_REFRESH)
    now = ctx.now()
    await store.lock_sessions(row.account_id)
    await store.revoke_family(row.family, now)
    account_id, family = row.account_id, row.family
    ctx.after_commit(lambda: ctx.services.sessions_ended(account_id, [family], now))


async def end_sessions(ctx: Context, account_id: int, keep_family: str | None = None) -> None:
    """End every sign-in of the account but `keep_family`: refresh tokens revoked now, access
    tokens refused and subscriptions ended once the transaction commits."""
    now = ctx.now()
    await store.lock_sessions(account_id)
    live_after = now - timedelta(seconds=keep_seconds(ctx.settings.access_token_minutes))
    ended = await store.revoke_other_families(account_id, keep_family, now, live_after)
    ctx.after_commit(lambda: ctx.services.sessions_ended(account_id, ended, now))


async def change_password(ctx: Context, current: str, new: str) -> Account:
    account = ctx.account
    if account is None:
        raise unauthenticated()
    reservation = await _reserve_password_check(ctx, account.email)
    if not await ctx.services.verify_password(account.password_hash, current):
        raise Refusal(RefusalKind.INVALID_CREDENTIALS, N_("The current password is wrong."))
    await _password_was_right(ctx, account.email, reservation)
    problem = password_problem(
        new, min_length=ctx.settings.password_min_length, email=account.email
    )
    if problem:
        raise invalid(problem, "newPassword")
    if new == current:
        raise invalid(N_("Choose a password different from the current one."), "newPassword")
    await store.set_password(account, await ctx.services.hash_password(new), ctx.now())
    # Other sessions end; the one that changed the password stays signed in. A reset link
    # mailed before stops working too: whoever else holds it (a forwarded mail) cannot set
    # the password the owner has just secured.
    await end_sessions(ctx, account.id, keep_family=ctx.session_family)
    await account_tokens.retire(account.id, PASSWORD_RESET, ctx.now())
    return account


async def roles_of(account_id: int) -> list[str]:
    """The roles an account holds, from the database."""
    return await store.roles_of(account_id)
