"""Notifications: `notify` (who hears of a change, in the change's own transaction), the inbox
as the one policy lets its reader see it, marking read, and the live stream of new ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain import notification_texts as texts
from domain.delegation import effective_status
from domain.messages import N_, Message, N_plural
from domain.notifications import (
    DEFAULT_LANGUAGE,
    KEPT_BY_ADDRESSEE,
    KIND_SCOPE,
    PARTY_KINDS,
    Channel,
    channels_for,
    helper_hears,
    kinds_for_scopes,
)
from persistence import notifications as store
from persistence import outbox
from persistence.models import Account, Delegation, Notification, NotificationKind
from resolvers import authorization as gate
from resolvers import unit_of_work
from resolvers.context import Context
from resolvers.events import ACCOUNT_CHANGED
from resolvers.following import next_while_signed_in, session_ended
from resolvers.outcomes import invalid, unauthenticated
from resolvers.paging import Position
from settings import Settings
from translations import render

__all__ = ["NotificationKind", "notify"]


async def notify(
    kind: NotificationKind,
    *,
    about_person_id: int,
    subject: tuple[str, int] | None,
    facts: Mapping[str, str] | None = None,
    mail_by: datetime | None = None,
) -> None:
    """Tell the people concerned that something happened to `about_person_id`: the person's
    own account and each helper whose ACTIVE delegation's scopes cover `kind` (for a kind
    about a delegation, its party: the person asked, or the helper who asked). Writes their
    inbox rows and mail (as their preferences say) in the running unit of work, so they
    commit or roll back with the change; the live push and the mail worker's wake-up wait for
    the commit. Callers pass facts as text; the texts (domain/notification_texts.py) read
    `reference` (the number mail carries; none: mail names the kind and the link only),
    `office_en`/`office_zh` and `when` (resolvers.notices.place_facts), and per kind:
    `previous` (APPOINTMENT_CHANGED), `reason` (APPOINTMENT_CANCELLED_BY_OFFICE), `status` and
    `note` (APPLICATION_STATUS_CHANGED), `deadline`, `valid_until`, `days` (documents),
    `helper`, `scopes` (DELEGATION_REQUESTED), `answer`, `surname` (DELEGATION_ANSWERED),
    `expires` (WAITLIST_OFFER, CERTIFICATE_ISSUED), `issued` (CERTIFICATE_REVOKED).
    `mail_by`: the moment after which its mail would mislead (a reminded appointment's start,
    an offer's end); mail not sent by then is given up."""
    ctx = unit_of_work.current()
    if ctx is None:
        raise RuntimeError("notify() belongs inside the unit of work that makes the change")
    kind = NotificationKind(kind)
    facts = {k: str(v) for k, v in (facts or {}).items() if v is not None}
    now = ctx.now()
    mailed = False
    for account in await _recipients(ctx, kind, about_person_id, subject):
        channels = channels_for(account.notification_preferences, kind)
        row = None
        if Channel.INBOX in channels:
            row = await store.add(
                account_id=account.id,
                person_id=about_person_id,
                kind=kind,
                subject=subject,
                facts=facts,
                at=now,
            )
            ctx.after_commit(_push(ctx, account.id, row.id))
        if Channel.EMAIL in channels and may_mail(account, kind):
            await _mail_notification(ctx.settings, account, kind, facts, row, now, mail_by)
            mailed = True
    if mailed:
        wake_outbox_after_commit(ctx)


def may_mail(account: Account, kind: str) -> bool:
    """The one thing an unverified address may not get: word of a certificate (a signed
    document about a person, issued or revoked) goes to the inbox only until the owner has
    proved the address. Every other mail goes to the address whether or not it is verified."""
    return kind not in CERTIFICATE_KINDS or account.email_verified_at is not None


CERTIFICATE_KINDS = frozenset(
    {NotificationKind.CERTIFICATE_ISSUED, NotificationKind.CERTIFICATE_REVOKED}
)


def _push(ctx: Context, account_id: int, notification_id: int) -> Callable[[], Awaitable[None]]:
    async def push() -> None:
        await ctx.services.publish_notification(account_id, notification_id)

    return push


def wake_outbox_after_commit(ctx: Context) -> None:
    """Once the unit of work commits, this process's delivery worker looks for mail at once
    (others find it on their next poll)."""

    async def wake() -> None:
        ctx.services.outbox_changed()

    ctx.after_commit(wake)


async def _recipients(
    ctx: Context, kind: str, person_id: int, subject: tuple[str, int] | None
) -> list[Account]:
    """Who hears of `kind` about the person, each account once."""
    if kind == NotificationKind.DELEGATION_ANSWERED:
        # The helper who asked, whatever the answer: it is their own request.
        delegation = await _subject_delegation(subject)
        helper = await store.account(delegation.helper_id) if delegation else None
        return [helper] if helper is not None else []
    own = await store.own_account(person_id)
    found: dict[int, Account] = {own.id: own} if own is not None else {}
    if kind in PARTY_KINDS:
        return list(found.values())
    for delegation in await store.active_helpers(person_id):
        if _active(ctx, delegation) and helper_hears(kind, delegation.scopes):
            found.setdefault(delegation.helper_id, delegation.helper)
    return list(found.values())


async def _subject_delegation(subject: tuple[str, int] | None) -> Delegation | None:
    if subject is None or subject[0] != "Delegation":
        raise ValueError("a delegation's answer names the delegation as its subject")
    return await Delegation.get_or_none(id=subject[1])


def _active(ctx: Context, delegation: Delegation) -> bool:
    return (
        effective_status(
            delegation.status,
            valid_until=delegation.valid_until,
            pending_until=delegation.pending_until,
            now=ctx.now(),
            today=ctx.today(),
        )
        == "ACTIVE"
    )


def language_of(account: Account) -> str:
    """The language mail and notifications reach the account in: the one it chose, else the
    one its last sign-in asked for, else English."""
    return account.language or account.signin_language or DEFAULT_LANGUAGE


def link(settings: Settings, path: str) -> str:
    """An address under the account pages (sign in, verify, reset) for mail."""
    base = (settings.account_link_base_url or settings.public_base_url).rstrip("/")
    return f"{base}/{path.lstrip('/')}"


def message_id(settings: Settings) -> str:
    """A Message-ID fixed when the mail is written, so that a resend carries the same one."""
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


async def _mail_notification(
    settings: Settings,
    account: Account,
    kind: str,
    facts: Mapping[str, str],
    row: Notification | None,
    now: datetime,
    mail_by: datetime | None,
) -> None:
    mail = texts.notification_mail(kind, facts.get("reference", ""), link(settings, "sign-in"))
    notification_id = row.id if row is not None else None
    await mail_account(
        settings, account, kind, mail, now, notification_id, secret=False, send_before=mail_by
    )


async def mail_account(
    settings: Settings,
    account: Account,
    kind: str,
    mail: tuple[Message, Message],
    now: datetime,
    notification_id: int | None,
    *,
    secret: bool,
    send_before: datetime | None = None,
) -> None:
    """Put a (subject, body) mail to the account's address in the outbox, in the language it
    reads mail in, in the caller's transaction; not sent at all from `send_before` on."""
    subject, body = in_language(language_of(account), *mail)
    await outbox.add(
        account_id=account.id,
        notification_id=notification_id,
        kind=kind,
        to_address=account.email,
        subject=subject,
        body=body,
        message_id=message_id(settings),
        secret=secret,
        send_before=send_before,
        now=now,
    )


# ------------------------------------------------------------------- the inbox, one policy


@dataclass(frozen=True)
class Reader:
    """What the policy lets one account see of its inbox now: notifications about its own
    person, about each active dependant in the kinds the delegation's scopes cover, and about
    delegations it is a party to."""

    account_id: int
    own_person_id: int | None
    dependant_kinds: dict[int, list[str]]

    @property
    def party_kinds(self) -> list[str]:
        """The kinds seen by the account they were addressed to, whoever they are about."""
        return sorted(KEPT_BY_ADDRESSEE)

    def sees(self, row: Notification) -> bool:
        if row.account_id != self.account_id:
            return False
        if row.kind in KEPT_BY_ADDRESSEE or row.person_id == self.own_person_id:
            return True
        return row.kind in self.dependant_kinds.get(row.person_id, ())


async def reader(ctx: Context) -> Reader:
    """The signed-in account as a reader of its inbox (UNAUTHENTICATED when anonymous)."""
    account = ctx.account
    if account is None:
        raise unauthenticated()
    kinds: dict[int, list[str]] = {}
    for person_id in await ctx.authorizer.dependant_ids():
        scopes = await ctx.authorizer.granted_scopes(person_id)
        kinds[person_id] = kinds_for_scopes(scopes)
    return Reader(account.id, account.person_id, kinds)


@dataclass(frozen=True)
class InboxPage:
    rows: list[Notification]
    # Where the page starts: 0 on the first page, else how many came before when the client
    # sent an offset cursor; None after a key cursor (then items came before it).
    offset: int | None
    size: int
    unread_count: int


READ_NOTIFICATIONS = "READ_NOTIFICATIONS"


async def _record_reads(ctx: Context, who: Reader, rows: Sequence[Notification], one: bool) -> None:
    """A dependant's notification tells their helper the dependant's facts (an appointment's
    time, a document's number, an officer's note): reading it is a read of the person's data,
    recorded in their trail through the gate like any other (a page once per person; one
    notification with its id). A delegation's own news (PARTY_KINDS) is the reader's."""
    recorded: set[int] = set()
    for row in rows:
        if row.person_id == who.own_person_id or row.kind in PARTY_KINDS:
            continue
        if row.person_id in recorded:
            continue
        recorded.add(row.person_id)
        target = f"Notification:{row.id}" if one else None
        await gate.read(ctx, row.person_id, scope_of(row.kind), READ_NOTIFICATIONS, target)


async def inbox(ctx: Context, after: Position, size: int, unread_only: bool) -> InboxPage:
    """A page of the viewer's inbox, newest first (one row read ahead), and its unread count.
    Paged by key: reading notifications (which leave `unreadOnly`) or a new one arriving
    between pages moves no other one past the client's cursor."""
    who = await reader(ctx)
    args = (who.account_id, who.own_person_id, who.dependant_kinds, who.party_kinds)
    before = (after.moment, after.pk) if after.moment is not None else None
    rows = await store.inbox(
        *args, unread_only=unread_only, offset=after.offset, limit=size + 1, before=before
    )
    await _record_reads(ctx, who, rows[:size], one=False)
    offset = None if after.keyed else after.offset
    return InboxPage(rows, offset, size, await store.unread_count(*args))


async def notification(ctx: Context, pk: int) -> Notification | None:
    """`node`: the notification when the policy lets the viewer see it, else None."""
    if ctx.account is None:
        return None
    row = await store.by_id(pk)
    who = await reader(ctx)
    if row is None or not who.sees(row):
        return None
    await _record_reads(ctx, who, [row], one=True)
    return row


MAX_IDS = 100


async def mark_read(ctx: Context, ids: Sequence[int] | None, everything: bool) -> int:
    """Mark the viewer's notifications read: those of `ids` it may see, or all; how many were
    unread. Ids of notifications it may not see count as nothing, like unknown ones."""
    if everything and ids:
        raise invalid(N_("Give either ids or all: true, not both."), "ids")
    if not everything and not ids:
        raise invalid(N_("Give the ids to mark read, or all: true."), "ids")
    if ids is not None and len(ids) > MAX_IDS:
        raise invalid(
            N_plural(
                "Mark at most %(count)s notification at a time, or all: true.",
                "Mark at most %(count)s notifications at a time, or all: true.",
                MAX_IDS,
            ),
            "ids",
        )
    who = await reader(ctx)
    return await store.mark_read(
        who.account_id,
        who.own_person_id,
        who.dependant_kinds,
        who.party_kinds,
        None if everything else list(ids or []),
        ctx.now(),
    )


def rendered(row: Notification, lang: str) -> tuple[str, str]:
    """The (title, body) of a notification in `lang`."""
    return in_language(lang, *texts.inbox(row.kind, lang, row.facts or {}))


def in_language(lang: str, subject: Message, body: Message) -> tuple[str, str]:
    """A (title or subject, body) pair of domain.notification_texts in `lang` (EN, ZH, ...;
    a language not spoken here reads English), from the message catalogues."""
    code = lang.lower()
    return render(subject, code), render(body, code)


def scope_of(kind: str) -> str | None:
    """The delegation scope a helper needs to see this kind (None: a delegation's party)."""
    return KIND_SCOPE.get(kind)


# ------------------------------------------------------------------------------ live


async def start_stream(ctx: Context) -> int:
    """The account whose new notifications to stream, checked before the stream starts."""
    if ctx.account is None:
        raise unauthenticated()
    if await ctx.session_has_ended():
        raise session_ended()
    await ctx.reload_account()  # linked to a person since the connection opened, say
    return ctx.account.id


async def stream(ctx: Context, account_id: int) -> AsyncGenerator[Notification, None]:
    """New notifications of the account, as they commit, while the session lasts: each one
    checked against the policy as it is then (a dependant's notification after the delegation
    or its scope ended is not shown). Ends with UNAUTHENTICATED when the session does."""
    assert ctx.services.events is not None
    bus = ctx.services.events
    async with bus.subscribe_inbox(account_id) as queue, bus.watch_account(account_id, queue):
        while True:
            item = await next_while_signed_in(ctx, queue)
            if item is None or item is ACCOUNT_CHANGED:
                continue
            ctx.forget_cached()  # the policy as it is now, not as the stream began
            row = await notification(ctx, int(item))
            if row is not None:
                await unit_of_work.write_recorded_reads(ctx)
                yield row
