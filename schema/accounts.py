"""Accounts, the viewer, sessions, and the mutations that manage them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from persistence import accounts as account_store
from persistence import persons as person_store
from persistence.models import Account as AccountRow
from resolvers.context import Context
from schema.common import Node, Role, to_global_id
from schema.persons import Person, visible_person


@strawberry.enum(description="In what capacity someone acted.")
class ActorKind(Enum):
    SELF = strawberry.enum_value("SELF", description="The person themselves.")
    HELPER = strawberry.enum_value("HELPER", description="A relative or friend, by delegation.")
    OFFICER = strawberry.enum_value("OFFICER", description="An officer of an office.")
    ADMIN = strawberry.enum_value("ADMIN", description="An administrator.")
    SYSTEM = strawberry.enum_value("SYSTEM", description="The system itself (e.g. a closure).")


@strawberry.type(description="A signed-in account, as its owner sees it.")
class Account(Node):
    email: str = strawberry.field(description="E-mail address (shown to the owner only).")
    display_name: str = strawberry.field(description="Name shown to others.")
    roles: list[Role] = strawberry.field(description="Roles held, from the database.")

    @classmethod
    async def from_row(cls, row: AccountRow) -> Account:
        roles = await account_store.roles_of(row.id)
        return cls(
            id=to_global_id("Account", row.id),
            email=row.email,
            display_name=row.display_name,
            roles=[Role(r) for r in roles],
        )


@strawberry.type(description="Someone who acted, as others see them (no e-mail address).")
class Actor:
    id: strawberry.ID = strawberry.field(description="Opaque ID of the acting account.")
    display_name: str = strawberry.field(description="Name shown to others.")
    kind: ActorKind = strawberry.field(description="In what capacity they acted.")


@strawberry.type(description="The signed-in user: their account, person and relationships.")
class Viewer:
    row: strawberry.Private[AccountRow]
    account: Account = strawberry.field(description="The viewer's own account.")

    @strawberry.field(description="The viewer's own person, once the account is linked.")
    async def person(self, info: Info) -> Person | None:
        if self.row.person_id is None:
            return None
        return await visible_person(info.context, await person_store.person(self.row.person_id))

    @strawberry.field(
        description="Everyone the viewer may act for: their own person, then active dependants."
    )
    async def applicants(self, info: Info) -> list[Person]:
        ctx: Context = info.context
        ids = []
        if self.row.person_id is not None:
            ids.append(self.row.person_id)
        ids.extend(i for i in await ctx.authorizer.dependant_ids() if i not in ids)
        rows = await person_store.persons_by_ids(ids)
        return [Person.from_row(r) for r in rows if r is not None]


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


@strawberry.type(description="The session has ended.")
class SignedOut:
    message: str = strawberry.field(description="Confirmation, for people.")


@strawberry.type(description="The password was changed; other sessions were signed out.")
class PasswordChanged:
    account: Account = strawberry.field(description="The account.")


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
