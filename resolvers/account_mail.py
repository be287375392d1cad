"""Security mail: a single-use link (e-mail verification, password reset) made and put in the
outbox in the caller's unit of work. Never switched off by preferences."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from domain import notification_texts as texts
from domain.notifications import EMAIL_VERIFICATION, PASSWORD_RESET
from persistence import account_tokens as store
from persistence import accounts as account_store
from persistence import outbox
from persistence.models import Account, Delivery
from resolvers.context import Context
from resolvers.notifications import link, mail_account, message_id, wake_outbox_after_commit
from settings import Settings
from signing.digests import lookup_hash

# Where each link leads: a page that reads the token from the fragment (never sent to a
# server) and calls verifyEmail / resetPassword with it. This server serves both
# (web/account_pages.py); ACCOUNT_LINK_BASE_URL points the links at a front-end's instead.
PAGES = {EMAIL_VERIFICATION: "verify-email", PASSWORD_RESET: "reset-password"}


async def send(ctx: Context, account: Account, purpose: str) -> None:
    """Mail the account a fresh link for `purpose`; earlier unused links for it end."""
    await write(ctx.settings, account, purpose, ctx.now())
    wake_outbox_after_commit(ctx)


async def write(settings: Settings, account: Account, purpose: str, now: datetime) -> None:
    """Make a fresh link for `purpose` (earlier unused ones end) and put its mail in the
    outbox, in the caller's transaction."""
    minutes = settings.account_token_minutes
    expires_at = now + timedelta(minutes=minutes)
    token = secrets.token_urlsafe(32)
    await store.retire(account.id, purpose, now)
    # Links retired with it are not mailed after this one (an outage, a queue).
    await outbox.supersede(account.id, purpose, now)
    await store.add(
        account_id=account.id,
        purpose=purpose,
        token_hash=lookup_hash(token),
        email=account.email,
        now=now,
        expires_at=expires_at,
    )
    url = link(settings, f"{PAGES[purpose]}#token={token}")
    mail = texts.security_mail(purpose, url, minutes)
    # A link that no longer works is not sent (an outage longer than its life).
    await mail_account(
        settings, account, purpose, mail, now, None, secret=True, send_before=expires_at
    )


async def send_verification(ctx: Context, account: Account) -> None:
    await send(ctx, account, EMAIL_VERIFICATION)


async def queue_password_reset(ctx: Context, address: str) -> None:
    """Queue a reset mail for whichever account has `address` (normalised and well formed).
    Whether one has it is looked up by the delivery worker, not here: the request writes one
    row for every address, so neither its answer nor its time tells a known address from an
    unknown one."""
    await outbox.add_reset_request(address, message_id(ctx.settings), ctx.now())
    wake_outbox_after_commit(ctx)


async def answer_reset_request(settings: Settings, request: Delivery, now: datetime) -> bool:
    """In the caller's transaction, take a queued reset request and, when an account has its
    address, write that account a reset link; False when another worker took it first. The
    typed address is not kept either way."""
    if not await outbox.take_reset_request(request.id):
        return False
    account = await account_store.by_email(request.to_address)
    if account is not None:
        await write(settings, account, PASSWORD_RESET, now)
    return True
