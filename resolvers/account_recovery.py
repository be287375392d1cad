"""Proving an e-mail address and resetting a forgotten password with mailed single-use links.

Answers never tell whether an address belongs to an account: requestPasswordReset answers the
same for every address, also past its limits (counted on the address as typed and on the
client's address, whether or not an account has it), and past them nothing is sent."""

from __future__ import annotations

from domain.accounts import email_problem, normalise_email
from domain.messages import N_, Message, N_plural
from domain.notifications import EMAIL_VERIFICATION, PASSWORD_RESET
from domain.passwords import password_problem
from persistence import account_tokens as store
from persistence import accounts as account_store
from persistence.models import Account
from persistence.rate_limits import Quota, address_key
from resolvers.account_mail import queue_password_reset, send_verification
from resolvers.accounts import end_sessions, forget_failed_sign_ins
from resolvers.context import Context
from resolvers.outcomes import Refusal, RefusalKind, invalid, rate_limited, unauthenticated
from signing.digests import lookup_hash

LINK_NOT_VALID = N_(
    "This link is not valid any more (used, expired or mistyped). Ask for a new one."
)
RESET_DONE = N_("Your password is changed and every session was signed out. Sign in again.")


def _invalid_token() -> Refusal:
    return Refusal(RefusalKind.INVALID_TOKEN, LINK_NOT_VALID)


async def request_email_verification(ctx: Context) -> Message:
    """Mail the signed-in account a fresh verification link (limited per account)."""
    account = ctx.account
    if account is None:
        raise unauthenticated()
    settings = ctx.settings
    reservation = await ctx.services.limiter.reserve(
        [
            Quota(
                f"verify-mail:acct:{account.id}",
                settings.verification_mails_per_account,
                settings.verification_mail_window_s,
            )
        ]
    )
    if reservation.retry_after is not None:
        raise rate_limited(reservation.retry_after)
    await send_verification(ctx, account)
    return N_("A link to confirm your address is on its way to %(email)s.", email=account.email)


async def verify_email(ctx: Context, token: str) -> Account:
    """Prove the address the link was sent to (needs no session). A link sent to an address
    the account no longer has proves nothing."""
    now = ctx.now()
    row = await store.usable(lookup_hash(token), EMAIL_VERIFICATION, now)
    if row is None or not await store.use(row.id, now):
        raise _invalid_token()
    if not await store.mark_verified(row.account_id, row.email, now):
        raise _invalid_token()
    account = await store.account(row.account_id)
    assert account is not None
    return account


async def request_password_reset(ctx: Context, email: str) -> Message:
    """Mail a reset link when an account has the address; the same answer every time, after
    the same work (the request is queued; the delivery worker looks the address up)."""
    settings = ctx.settings
    typed = normalise_email(email)
    minutes = settings.account_token_minutes
    answer = N_plural(
        "If an account has this address, a link to choose a new password is on its way. It "
        "works once, within %(count)s minute.",
        "If an account has this address, a link to choose a new password is on its way. It "
        "works once, within %(count)s minutes.",
        minutes,
    )
    window = settings.password_reset_window_s
    reservation = await ctx.services.limiter.reserve(
        [
            # Keyed on a digest of the address typed: a counter of bounded size for any text
            # sent, and no list of addresses people asked about in the limiter's store.
            Quota(f"reset:email:{lookup_hash(typed)}", settings.password_resets_per_email, window),
            Quota(
                f"reset:ip:{address_key(ctx.client_ip)}", settings.password_resets_per_ip, window
            ),
        ]
    )
    if reservation.retry_after is not None:
        return answer  # past a limit: nothing is sent, and nothing says so
    if email_problem(typed) is None:  # no account has an address that is not one
        await queue_password_reset(ctx, typed)
    return answer


async def reset_password(ctx: Context, token: str, new_password: str) -> Message:
    """Set a new password with a reset link: the link is used up, every other reset link of
    the account ends, every session of the account ends, and the address counts as proved
    (the link reached it)."""
    now = ctx.now()
    row = await store.usable(lookup_hash(token), PASSWORD_RESET, now)
    account = await store.account(row.account_id) if row is not None else None
    if row is None or account is None or account.email != row.email:
        raise _invalid_token()
    problem = password_problem(
        new_password, min_length=ctx.settings.password_min_length, email=account.email
    )
    if problem:
        raise invalid(problem, "newPassword")
    # Hashed before the first write: the token's row lock (PostgreSQL) or the one write lock
    # (SQLite) is not held through Argon2's hundreds of milliseconds.
    password_hash = await ctx.services.hash_password(new_password)
    if not await store.use(row.id, now):
        raise _invalid_token()
    await store.retire(account.id, PASSWORD_RESET, now)
    await account_store.set_password(account, password_hash, now)
    await store.mark_verified(account.id, account.email, now)
    # Every other session: one of this account's own sessions that sent the reset stays.
    mine = ctx.account is not None and ctx.account.id == account.id
    await end_sessions(ctx, account.id, keep_family=ctx.session_family if mine else None)
    # The guesses at the old password (which may be why the owner reset it) no longer stand
    # between the owner and the new one.
    ctx.after_commit(lambda: forget_failed_sign_ins(ctx, account.email))
    return RESET_DONE
