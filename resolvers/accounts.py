"""Signing up, in and out; refreshing sessions; changing passwords."""

from __future__ import annotations

import hashlib
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
from domain.passwords import password_problem
from persistence import accounts as store
from persistence.models import Account, Role
from persistence.rate_limits import Quota, Reservation, address_key
from resolvers.context import Context
from resolvers.outcomes import Refusal, invalid, rate_limited, unauthenticated
from signing import access_tokens

_FAILED_SIGNIN = "The e-mail address or password is wrong."
# Verifying against this keeps a sign-in for an unknown address as slow as a real one.
_DUMMY_HASH: dict[str, str] = {}


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_at: datetime
    account: Account


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(ctx: Context, account: Account, family: str | None = None) -> Session:
    """Issue an access token and a refresh token (a new family unless one is continued)."""
    now = ctx.now()
    settings = ctx.settings
    family = family or uuid.uuid4().hex
    refresh = secrets.token_urlsafe(32)
    await store.store_refresh_token(
        account_id=account.id,
        family=family,
        token_hash=_hash_token(refresh),
        expires_at=now + timedelta(days=settings.refresh_token_days),
    )
    token, expires = access_tokens.issue(
        ctx.services.keys,
        account_id=account.id,
        issuer=settings.issuer,
        now=now,
        minutes=settings.access_token_minutes,
        session=family,
    )
    return Session(access_token=token, refresh_token=refresh, expires_at=expires, account=account)


async def sign_up(ctx: Context, email: str, password: str, display_name: str) -> Session:
    settings = ctx.settings
    bucket = f"signup:ip:{ctx.client_ip}"
    wait = await ctx.services.limiter.blocked_for(
        bucket, settings.signups_per_ip, settings.signup_window_s
    )
    if wait:
        raise rate_limited(wait)
    email = normalise_email(email)
    if problem := email_problem(email):
        raise invalid(problem, "email")
    display_name = normalise_display_name(display_name)
    if problem := display_name_problem(display_name):
        raise invalid(problem, "displayName")
    problem = password_problem(password, min_length=settings.password_min_length, email=email)
    if problem:
        raise invalid(problem, "password")
    await ctx.services.limiter.hit(bucket, settings.signup_window_s)
    if await store.by_email(email) is not None:
        raise Refusal("EmailTaken", "An account with this e-mail address already exists.")
    password_hash = await ctx.services.hash_password(password)
    account = await store.create_account(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        roles=[Role.APPLICANT],
    )
    if account is None:  # lost a race with a concurrent sign-up for the same address
        raise Refusal("EmailTaken", "An account with this e-mail address already exists.")
    return await start_session(ctx, account)


def _known_address(email: str, address: str) -> str:
    return f"signin:known:{address}:{email}"


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
            f"signin:pair:{address}:{email}",
            settings.signin_failures_per_ip,
            window,
            backoff_after=settings.signin_backoff_after,
            backoff_cap_s=settings.signin_backoff_cap_s,
        ),
    ]
    if not await limiter.remembers(_known_address(email, address)):
        quotas.append(Quota(f"signin:acct:{email}", settings.signin_failures_per_account, window))
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
    await limiter.clear(f"signin:pair:{address}:{email}")
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
        raise Refusal("InvalidCredentials", _FAILED_SIGNIN)
    await _password_was_right(ctx, email, reservation)
    if ctx.services.hasher.check_needs_rehash(account.password_hash):
        await store.set_password(account, await ctx.services.hash_password(password), ctx.now())
    return await start_session(ctx, account)


_BAD_REFRESH = "This refresh token is not valid. Sign in again."


async def refresh_session(ctx: Context, refresh_token: str) -> Session | Refusal:
    """Rotate a refresh token. A token used twice revokes its whole family (kept: returned)."""
    now = ctx.now()
    row = await store.refresh_token(_hash_token(refresh_token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return Refusal("InvalidRefreshToken", _BAD_REFRESH)
    if row.used_at is not None or not await store.mark_used(row.id, now):
        await store.revoke_family(row.family, now)
        return Refusal("InvalidRefreshToken", _BAD_REFRESH)
    account = await Account.get(id=row.account_id)
    return await start_session(ctx, account, family=row.family)


async def sign_out(ctx: Context, refresh_token: str) -> None:
    row = await store.refresh_token(_hash_token(refresh_token))
    if row is None or row.revoked_at is not None:
        raise Refusal("InvalidRefreshToken", _BAD_REFRESH)
    await store.revoke_family(row.family, ctx.now())


async def change_password(ctx: Context, current: str, new: str) -> Account:
    account = ctx.account
    if account is None:
        raise unauthenticated()
    reservation = await _reserve_password_check(ctx, account.email)
    if not await ctx.services.verify_password(account.password_hash, current):
        raise Refusal("InvalidCredentials", "The current password is wrong.")
    await _password_was_right(ctx, account.email, reservation)
    problem = password_problem(
        new, min_length=ctx.settings.password_min_length, email=account.email
    )
    if problem:
        raise invalid(problem, "newPassword")
    if new == current:
        raise invalid("Choose a password different from the current one.", "newPassword")
    await store.set_password(account, await ctx.services.hash_password(new), ctx.now())
    # Other sessions end; the one that changed the password stays signed in.
    await store.revoke_other_families(account.id, ctx.session_family, ctx.now())
    return account
