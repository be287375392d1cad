"""Accounts, the viewer, sessions, and the mutations that manage them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import accounts, delegations, offices, persons, preferences
from resolvers import notifications as notification_resolvers
from resolvers.context import Context
from resolvers.rows import AccountRow, DelegationRow, PersonRow
from schema import paging
from schema.common import AfterArg, FirstArg, Language, Node, Role, described_enum
from schema.notifications import (
    NotificationConnection,
    NotificationPreference,
    inbox_connection,
    preferences_of,
)
from schema.persons import Person, visible_person
from schema.results import node_results

if TYPE_CHECKING:
    from schema.delegations import AuditEventConnection, Delegation
    from schema.offices import Office


ActorKind = described_enum(
    "ActorKind",
    "In what capacity someone acted.",
    {
        "SELF": "The person themselves.",
        "HELPER": "A relative or friend, by delegation.",
        "OFFICER": "An officer of an office.",
        "ADMIN": "An administrator.",
        "SYSTEM": "The system itself (e.g. a closure).",
    },
)


@strawberry.type(description="A signed-in account, as its owner sees it.")
class Account(Node):
    email: str = strawberry.field(description="E-mail address (shown to the owner only).")
    display_name: str = strawberry.field(description="Name shown to others.")
    roles: list[Role] = strawberry.field(description="Roles held, from the database.")
    email_verified: bool = strawberry.field(
        description="Whether the owner proved the address with the link mailed after sign-up "
        "(verifyEmail). Mail goes to it either way, except word of a certificate issued or "
        "revoked (CERTIFICATE_ISSUED, CERTIFICATE_REVOKED), which an unverified address does "
        "not get: it stays in the inbox."
    )
    language: Language = strawberry.field(
        description="The language of mail and notifications: the one chosen with "
        "setPreferences, else the one the last sign-in's Accept-Language asked for, else EN."
    )
    notification_preferences: list[NotificationPreference] = strawberry.field(
        description="Every notification kind with the channels it reaches the account on."
    )

    @classmethod
    def from_viewer(cls, row: AccountRow, roles: frozenset[str]) -> Account:
        """The signed-in account, with the roles already loaded for the request."""
        return cls._with_roles(row, [r for r in Role if r.value in roles])

    @classmethod
    async def from_row(cls, row: AccountRow) -> Account:  # type: ignore[override]
        return cls._with_roles(row, [Role(r) for r in await accounts.roles_of(row.id)])

    @classmethod
    def _with_roles(cls, row: AccountRow, roles: list[Role]) -> Account:
        """The account of a row holding `roles`, with what the owner set up or proved:
        verification, language, notification channels."""
        return super().from_row(
            row,
            roles=roles,
            email_verified=row.email_verified_at is not None,
            language=Language(preferences.language_of(row)),
            notification_preferences=preferences_of(row),
        )


@strawberry.type(description="Someone who acted, as others see them (no e-mail address).")
class Actor:
    id: strawberry.ID = strawberry.field(description="Opaque ID of the acting account.")
    display_name: str = strawberry.field(description="Name shown to others.")
    kind: ActorKind = strawberry.field(description="In what capacity they acted.")


def _delegations_field(
    rows: Callable[[Context], Awaitable[list[DelegationRow]]], description: str
) -> Any:
    """A field of the viewer answering the delegations `rows` loads for the request."""

    async def resolve(
        info: Info,
    ) -> list[Annotated[Delegation, strawberry.lazy("schema.delegations")]]:
        from schema.delegations import Delegation

        return [Delegation.from_row(r) for r in await rows(info.context)]

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="The signed-in user: their account, person and relationships.")
class Viewer:
    row: strawberry.Private[AccountRow]
    account: Account = strawberry.field(description="The viewer's own account.")

    @strawberry.field(description="The viewer's own person, once the account is linked.")
    async def person(self, info: Info) -> Person | None:
        if self.row.person_id is None:
            return None
        loaded = getattr(self.row, "person", None)  # fetched with the account when signed in
        if isinstance(loaded, PersonRow):
            info.context.loaders.person.prime(loaded.id, loaded)
            return await visible_person(info.context, loaded)
        row = await info.context.loaders.person.load(self.row.person_id)
        return await visible_person(info.context, row)

    @strawberry.field(
        description="Officers: the office they work at, the way into its queues "
        "(`applications`, `appointments`); null for everyone else (admins act for every "
        "office and have none of their own)."
    )
    async def office(
        self, info: Info
    ) -> Annotated[Office, strawberry.lazy("schema.offices")] | None:
        from schema.offices import Office

        row = await offices.officers_office(info.context)
        return Office.from_row(row) if row else None

    @strawberry.field(
        description="Everyone the viewer may act for: their own person, then active dependants."
    )
    async def applicants(self, info: Info) -> list[Person]:
        return [Person.from_row(r) for r in await persons.applicants(info.context)]

    dependants = _delegations_field(
        delegations.of_helper, "Delegations where you are the helper, newest first."
    )
    helpers = _delegations_field(
        delegations.of_dependant, "Delegations where your person is the dependant, newest first."
    )

    @strawberry.field(
        description="The viewer's inbox, newest first: about themselves, and about each "
        "dependant in the kinds their ACTIVE delegation's scopes cover (when a delegation or "
        "scope ends, those leave the inbox)."
    )
    async def notifications(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        unread_only: Annotated[
            bool | None, strawberry.argument(description="Only the unread ones.")
        ] = None,
    ) -> NotificationConnection:
        position = paging.cursor_position(after)
        size = paging.page_size(info.context, first)
        page = await notification_resolvers.inbox(info.context, position, size, bool(unread_only))
        return inbox_connection(page)

    @strawberry.field(
        description="What helpers and officers read or did on your records, newest first."
    )
    async def actions_on_my_behalf(
        self, info: Info, first: FirstArg = None, after: AfterArg = None
    ) -> Annotated[AuditEventConnection, strawberry.lazy("schema.delegations")]:
        from schema.delegations import audit_page

        position = paging.cursor_position(after)
        size = paging.page_size(info.context, first)
        rows, offset = await delegations.my_trail(info.context, position, size)
        return audit_page(rows, offset, size)


@strawberry.type(description="A signed-in session: tokens and the account they are for.")
class AuthSession:
    access_token: str = strawberry.field(
        description="Short-lived bearer token for the Authorization header."
    )
    refresh_token: str = strawberry.field(
        description="One-time token to get a new session with refreshSession; keep it secret."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires.")
    account: Account = strawberry.field(description="The signed-in account.")


# The success members of signing out and of changing the password, in the order of the table.
SignedOut, PasswordChanged = node_results(
    {
        (str, "message"): {"SignedOut": ("The session has ended.", "Confirmation, for people.")},
        (Account, "account"): {
            "PasswordChanged": (
                "The password was changed; other sessions were signed out.",
                "The account.",
            ),
        },
    }
)


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(description="E-mail address; it signs you in.")
    password: str = strawberry.field(description="At least 10 characters, not a common one.")
    display_name: str = strawberry.field(description="Name shown to others, 1 to 100 characters.")


@strawberry.input(description="Credentials to sign in with.")
class SignInInput:
    email: str = strawberry.field(description="E-mail address of the account.")
    password: str = strawberry.field(description="Its password.")


@strawberry.input(description="A password change.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="The new password.")


RefreshTokenArg = Annotated[
    str, strawberry.argument(description="The refresh token from the last AuthSession.")
]
