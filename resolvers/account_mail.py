"""Security mail: a single-use link (e-mail verification, password reset) made and put in the
outbox in the caller's unit of work. Never switched off by preferences."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from domain import notification_texts as texts
from domain.notifications import EMAIL_VERIFICATION, PASSWORD_RESET
from persistence import account_tokens as store
from persistence import outbox
from persistence.models import Account
from resolvers.context import Context
from resolvers.notifications import language_of, link, message_id, wake_outbox_after_commit

# Where each link leads: a page of the web application that reads the token from the
# fragment (never sent to a server) and calls verifyEmail / resetPassword with it.
PAGES = {EMAIL_VERIFICATION: "verify-email", PASSWORD_RESET: "reset-password"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def send(ctx: Context, account: Account, purpose: str) -> None:
    """Mail the account a fresh link for `purpose`; earlier unused links for it end."""
    now = ctx.now()
    minutes = ctx.settings.account_token_minutes
    token = secrets.token_urlsafe(32)
    await store.retire(account.id, purpose, now)
    await store.add(
        account_id=account.id,
        purpose=purpose,
        token_hash=token_hash(token),
        email=account.email,
        now=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    url = link(ctx.settings, f"{PAGES[purpose]}#token={token}")
    subject, body = texts.security_mail(purpose, language_of(account), url, minutes)
    await outbox.add(
        account_id=account.id,
        notification_id=None,
        kind=purpose,
        to_address=account.email,
        subject=subject,
        body=body,
        message_id=message_id(ctx.settings),
        secret=True,
        now=now,
    )
    wake_outbox_after_commit(ctx)


async def send_verification(ctx: Context, account: Account) -> None:
    await send(ctx, account, EMAIL_VERIFICATION)


async def send_password_reset(ctx: Context, account: Account) -> None:
    await send(ctx, account, PASSWORD_RESET)
