"""Notifications: the inbox, its kinds and channels, marking read, and preferences."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import nodes, notifications, preferences
from resolvers.context import Context
from resolvers.rows import AccountRow, NotificationRow
from schema.common import (
    Language,
    Node,
    PageInfo,
    ValidationError,
    described_enum,
    edge_type,
    page_of,
    pk_of,
)
from schema.paging import key_cursor
from schema.persons import Person, visible_person
from schema.results import mutation, node_results, result_union

if TYPE_CHECKING:
    from schema.accounts import Account


NotificationKind = described_enum(
    "NotificationKind",
    "What a notification is about.",
    {
        "APPOINTMENT_BOOKED": "An appointment was booked.",
        "APPOINTMENT_CHANGED": "An appointment was moved to another time.",
        "APPOINTMENT_CANCELLED_BY_OFFICE": "The office cancelled an appointment (e.g. a closure).",
        "APPOINTMENT_REMINDER": "An appointment is tomorrow (sent the day before, in the "
        "office's zone).",
        "APPLICATION_STATUS_CHANGED": "An application moved on; with the office's note when it "
        "asks for materials.",
        "EXTENSION_WINDOW_OPEN": "Time to apply for an extension: EXTENSION_WINDOW_DAYS (60) days "
        "before a document's extensionDeadline, then 14 and 3 days before it; never on or after "
        "it, nor while an application for a document covering that stay is in progress.",
        "DOCUMENT_EXPIRING": "A document (visa, permit, PR card) ends in 30, then 7 days; not "
        "told for one covered by a later-ending document (a permit over a visa, say).",
        "DELEGATION_REQUESTED": "Someone asks to act for you: answer it.",
        "DELEGATION_ANSWERED": "Your request to act for someone was accepted, declined or "
        "confirmed.",
        "WAITLIST_OFFER": "A freed place is held for you for a while: accept it.",
        "WAITLIST_OFFER_WITHDRAWN": "The office closed on the day of the place held for you: "
        "the offer is withdrawn, and you keep your place in line.",
        "CERTIFICATE_ISSUED": "A passport-information certificate was issued.",
        "CERTIFICATE_REVOKED": "A passport-information certificate was revoked, by an officer or "
        "because a new passport was bound: verifying it now answers REVOKED.",
    },
)

NotificationChannel = described_enum(
    "NotificationChannel",
    "How notifications reach an account.",
    {
        "INBOX": "The inbox (Viewer.notifications) and its live subscription.",
        "EMAIL": "Mail to the account's address, carrying only the kind, the reference number "
        "and a link to sign in.",
    },
)


TextLangArg = Annotated[
    Language | None,
    strawberry.argument(
        description="Language of the text; by default the account's language "
        "(Account.language), as for mail."
    ),
]


@strawberry.type(
    description="A message in the viewer's inbox about them or someone they help. Visible to "
    "the account it was addressed to only, and about a dependant only while the helper's "
    "delegation is ACTIVE with a scope covering its kind."
)
class Notification(Node):
    row: strawberry.Private[NotificationRow]
    kind: NotificationKind = strawberry.field(description="What it is about.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: datetime | None = strawberry.field(
        description="When it was marked read; null while unread."
    )

    def _text(self, info: Info, lang: Language | None) -> tuple[str, str]:
        ctx: Context = info.context
        code = lang.value if lang is not None else preferences.language_of(ctx.account)
        return notifications.rendered(self.row, code)

    @strawberry.field(description="A one-line summary.")
    def title(self, info: Info, lang: TextLangArg = None) -> str:
        return self._text(info, lang)[0]

    @strawberry.field(
        description="The message: what happened, with the reference number, place and time "
        "(and an officer's note when materials are requested)."
    )
    def body(self, info: Info, lang: TextLangArg = None) -> str:
        return self._text(info, lang)[1]

    @strawberry.field(
        description="Whom it is about (oneself or a dependant); null when the viewer may no "
        "longer see them (e.g. a declined request to help)."
    )
    async def person(self, info: Info) -> Person | None:
        row = await info.context.loaders.person.load(self.row.person_id)
        return await visible_person(info.context, row)

    @strawberry.field(
        description="The appointment, application, document, delegation, waitlist entry or "
        "certificate it is about, answered like `node` (null when not the viewer's to see)."
    )
    async def subject(self, info: Info) -> Node | None:
        from schema.query import typed_node

        row = await nodes.notification_subject(info.context, self.row)
        return await typed_node(info.context, self.row.subject_type or "", row)


NotificationEdge = edge_type(Notification, "notification")


@strawberry.type(description="A page of the inbox, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="This page's notifications.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    unread_count: int = strawberry.field(
        description="How many of the viewer's visible notifications are unread (all pages)."
    )


def inbox_connection(page: notifications.InboxPage) -> NotificationConnection:
    """Each edge's cursor names its notification (key_cursor), not its place in the list."""
    return page_of(
        NotificationConnection,
        NotificationEdge,
        Notification.from_row,
        page.rows,
        page.offset,
        page.size,
        cursor_of=lambda row: key_cursor(row.created_at, row.id),
        unread_count=page.unread_count,
    )


@strawberry.type(description="The channels one kind of notification reaches the account on.")
class NotificationPreference:
    kind: NotificationKind = strawberry.field(description="The kind.")
    channels: list[NotificationChannel] = strawberry.field(
        description="Its channels; empty: not at all."
    )


def preferences_of(row: AccountRow) -> list[NotificationPreference]:
    return [
        NotificationPreference(
            kind=NotificationKind(kind), channels=[NotificationChannel(c) for c in channels]
        )
        for kind, channels in preferences.channels_by_kind(row)
    ]


@strawberry.input(description="The channels one kind of notification should reach you on.")
class NotificationPreferenceInput:
    kind: NotificationKind = strawberry.field(description="The kind.")
    channels: list[NotificationChannel] = strawberry.field(
        description="Its channels; empty: not at all (security mail is always sent)."
    )


# The success members of the inbox and preference mutations, in the order of the table.
NotificationsMarkedRead, PreferencesSaved = node_results(
    {
        (int, "count"): {
            "NotificationsMarkedRead": (
                "Notifications were marked read.",
                "How many were unread and are now read (ids the viewer may not see, or that "
                "do not exist, count as nothing).",
            ),
        },
        (Annotated["Account", strawberry.lazy("schema.accounts")], "account"): {
            "PreferencesSaved": ("The preferences are saved.", "The account with its preferences."),
        },
    }
)


MarkNotificationsReadResult = result_union(
    "markNotificationsRead", NotificationsMarkedRead, ValidationError
)
SetPreferencesResult = result_union("setPreferences", PreferencesSaved, ValidationError)


async def _saved(row: AccountRow) -> PreferencesSaved:
    from schema.accounts import Account

    return PreferencesSaved(account=await Account.from_row(row))


@strawberry.type(description="Mutations on the inbox and notification preferences.")
class NotificationMutations:
    @mutation(
        "Mark notifications read: the given ones, or all of the viewer's visible ones with "
        "`all: true`."
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="The notifications to mark (at most 100)."),
        ] = None,
        every: Annotated[
            bool | None,
            strawberry.argument(name="all", description="Mark every visible notification read."),
        ] = False,
    ) -> MarkNotificationsReadResult:
        # An id that is not a notification's names nothing the viewer may see: counts as 0.
        pks = None if ids is None else [pk_of(i, "Notification") or 0 for i in ids]
        return await notifications.mark_read(info.context, pks, bool(every))

    @mutation(
        "Choose the language of mail and notifications, and the channels of each kind (kinds "
        "not listed keep theirs). Security mail (address verification, password reset) cannot "
        "be switched off.",
        success=_saved,
    )
    async def set_preferences(
        self,
        info: Info,
        language: Annotated[
            Language | None, strawberry.argument(description="The language; null: unchanged.")
        ] = None,
        notifications: Annotated[
            list[NotificationPreferenceInput] | None,
            strawberry.argument(description="Channels per kind; null: unchanged."),
        ] = None,
    ) -> SetPreferencesResult:
        choices = (
            None
            if notifications is None
            else [(p.kind.value, [c.value for c in p.channels]) for p in notifications]
        )
        return await preferences.set_preferences(
            info.context, language.value if language is not None else None, choices
        )
