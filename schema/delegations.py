"""Delegations between helpers and dependants, and the audit trail a person can read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.dates import HOME_ZONE
from domain.delegation import on_behalf as done_on_behalf
from domain.persons import IdentityFacts
from resolvers import delegations as resolve
from resolvers.context import Context
from resolvers.rows import AuditRow, DelegationRow
from schema.accounts import Actor, ActorKind
from schema.common import (
    IdentityNotFound,
    LimitReached,
    Node,
    NotPermitted,
    RateLimited,
    ValidationError,
    connection_types,
    described_enum,
    page_of,
    pk_of,
    to_global_id,
)
from schema.paging import key_cursor
from schema.persons import DelegationScope, Person, visible_person
from schema.results import mutation, node_results, result_union

Relationship = described_enum(
    "Relationship",
    "What the dependant is to the helper.",
    {
        "PARENT": "The helper's parent.",
        "CHILD": "The helper's child.",
        "SPOUSE": "The helper's spouse.",
        "GRANDPARENT": "The helper's grandparent.",
        "GRANDCHILD": "The helper's grandchild.",
        "SIBLING": "The helper's brother or sister.",
        "RELATIVE": "Another relative.",
        "FRIEND": "A friend.",
        "GUARDIAN": "The helper is the dependant's legal guardian.",
        "OTHER": "Another relationship.",
    },
)

DelegationStatus = described_enum(
    "DelegationStatus",
    "Where a delegation stands. Only ACTIVE grants anything.",
    {
        "PENDING": "Waiting for the dependant's answer or an officer's confirmation (14 days).",
        "ACTIVE": "In force: the scopes are granted.",
        "DECLINED": "The dependant said no.",
        "REVOKED": "Ended by the helper or dependant.",
        "EXPIRED": "Past its end date, or not answered in time.",
    },
)


async def actor_for(ctx: Context, account_id: int | None, kind: str) -> Actor:
    account = await ctx.loaders.account.load(account_id) if account_id is not None else None
    return Actor(
        id=to_global_id("Actor", account_id or 0),
        display_name=account.display_name if account else "System",
        kind=ActorKind(kind),
    )


@strawberry.type(
    description="The facts the helper typed to find the dependant (surname upper-cased and "
    "nationality as ISO code, as the identity match read them); nothing from the record."
)
class DependantFacts:
    surname: str = strawberry.field(description="The surname typed, upper-cased.")
    nationality: str = strawberry.field(description="The nationality typed (ISO 3166-1 alpha-3).")
    birth_date: dt.date = strawberry.field(description="The date of birth typed.")


@strawberry.type(description="A helper's right to act for a dependant within scopes.")
class Delegation(Node):
    row: strawberry.Private[DelegationRow]
    relationship: Relationship = strawberry.field(
        description="What the dependant is to the helper."
    )
    scopes: list[DelegationScope] = strawberry.field(description="What the helper may do.")
    valid_until: dt.date | None = strawberry.field(description="Last day it holds, if limited.")

    @classmethod
    def from_row(cls, row: DelegationRow) -> Delegation:  # type: ignore[override]
        return super().from_row(
            row,
            scopes=[s for s in DelegationScope if s.value in row.scopes],
        )

    @strawberry.field(description="The helper (no e-mail address).")
    async def helper(self, info: Info) -> Actor:
        return await actor_for(info.context, self.row.helper_id, "HELPER")

    @strawberry.field(
        description="The person helped. The helper sees them only while the delegation is "
        "ACTIVE (null while PENDING and once DECLINED, REVOKED or EXPIRED: see requestedFor); "
        "the dependant themselves and staff always see them."
    )
    async def dependant(self, info: Info) -> Person | None:
        ctx: Context = info.context
        if not resolve.shows_dependant(ctx, self.row):
            return None
        return await visible_person(ctx, await ctx.loaders.person.load(self.row.dependant_id))

    @strawberry.field(
        description="What the helper typed when adding the dependant, whatever the status."
    )
    async def requested_for(self, info: Info) -> DependantFacts:
        typed = await resolve.requested_facts(info.context, self.row)
        return DependantFacts(
            surname=typed.surname, nationality=typed.nationality, birth_date=typed.birth_date
        )

    @strawberry.field(description="Where it stands now (expiry applies at once).")
    def status(self, info: Info) -> DelegationStatus:
        return DelegationStatus(resolve.status_of(info.context, self.row))

    @strawberry.field(description="When the helper added the dependant.")
    def created_at(self) -> dt.datetime:
        return self.row.created_at.astimezone(HOME_ZONE)


@strawberry.type(description="A read or an action on a person's records by someone else.")
class AuditEvent(Node):
    row: strawberry.Private[AuditRow]
    action: str = strawberry.field(
        description="What was done, e.g. READ_APPLICATIONS, BOOK_APPOINTMENT."
    )
    target: str | None = strawberry.field(description="What it was done to, if one thing.")

    @strawberry.field(description="When.")
    def at(self) -> dt.datetime:
        return self.row.at.astimezone(HOME_ZONE)

    @strawberry.field(description="Who did it, and in what capacity.")
    async def actor(self, info: Info) -> Actor:
        return await actor_for(info.context, self.row.actor_id, self.row.actor_kind)

    @strawberry.field(description="Whose records.")
    async def subject(self, info: Info) -> Person | None:
        row = await info.context.loaders.person.load(self.row.subject_id)
        return Person.from_row(row) if row else None

    @strawberry.field(
        description="True when a helper did it through a delegation, on the person's behalf "
        "(not when staff acted, nor for adding, confirming or ending the delegation itself, "
        "nor for the certificates ending it revoked: REVOKE_CERTIFICATE_WITH_DELEGATION)."
    )
    def on_behalf(self) -> bool:
        return done_on_behalf(self.row.actor_kind, self.row.action, self.row.delegation_id)

    @strawberry.field(description="The delegation it was done through, if any.")
    async def delegation(self, info: Info) -> Delegation | None:
        if self.row.delegation_id is None:
            return None
        row = await info.context.loaders.delegation.load(self.row.delegation_id)
        return Delegation.from_row(row) if row else None


AuditEventEdge, AuditEventConnection = connection_types(AuditEvent, "audit event", "audit events")


def audit_page(rows: list[AuditRow], offset: int | None, size: int) -> AuditEventConnection:
    """Each edge's cursor names its entry (key_cursor), not its place in the trail."""
    return page_of(
        AuditEventConnection,
        AuditEventEdge,
        AuditEvent.from_row,
        rows,
        offset,
        size,
        cursor_of=lambda row: key_cursor(row.at, row.id),
    )


# The success members of the delegation mutations, each holding the delegation, in the order
# of the table.
DependantAdded, DelegationResponded, DelegationRevoked, DelegationConfirmed = node_results(
    {
        (Delegation, "delegation"): {
            "DependantAdded": (
                "The dependant is added.",
                "The delegation: ACTIVE for a minor without an account, else PENDING.",
            ),
            "DelegationResponded": ("The answer is recorded.", "The delegation."),
            "DelegationRevoked": ("The delegation has ended.", "The delegation."),
            "DelegationConfirmed": (
                "An officer confirmed the delegation at the counter.",
                "The delegation.",
            ),
        },
    }
)


@strawberry.input(description="Someone to help: four passport facts, the relationship, scopes.")
class AddDependantInput:
    passport_number: str = strawberry.field(description="The dependant's passport number.")
    nationality: str = strawberry.field(description="Nationality, ISO 3166-1 alpha-3.")
    birth_date: dt.date = strawberry.field(description="Date of birth.")
    surname: str = strawberry.field(description="Surname as in the passport.")
    relationship: Relationship = strawberry.field(description="What the dependant is to you.")
    scopes: list[DelegationScope] = strawberry.field(description="What you may do for them.")
    valid_until: dt.date | None = strawberry.field(
        default=None,
        description="Last day the delegation holds; open-ended when absent (for a minor "
        "without an account, the day before they turn 18 at the latest).",
    )

    def identity(self) -> IdentityFacts:
        return IdentityFacts(self.passport_number, self.nationality, self.birth_date, self.surname)


@strawberry.input(description="The dependant's answer to a pending delegation.")
class RespondToDelegationInput:
    delegation_id: strawberry.ID = strawberry.field(description="The delegation.")
    accept: bool = strawberry.field(description="True to accept, false to decline.")


AddDependantResult = result_union(
    "addDependant", DependantAdded, IdentityNotFound, LimitReached, ValidationError, RateLimited
)
RespondToDelegationResult = result_union("respondToDelegation", DelegationResponded, NotPermitted)
RevokeDelegationResult = result_union("revokeDelegation", DelegationRevoked, NotPermitted)
ConfirmDelegationResult = result_union("confirmDelegation", DelegationConfirmed, NotPermitted)


IdArg = Annotated[strawberry.ID, strawberry.argument(description="The delegation.")]


@strawberry.type(description="Mutations on delegations.")
class DelegationMutations:
    @mutation(
        "Add someone you help, by four passport facts (no hint which one failed; "
        "rate-limited). Minors without an account are ACTIVE at once, until the day before "
        "they turn 18 at the latest (then they, or an officer at a counter, must agree to a "
        "new one); others are PENDING. "
        "Applicant accounts only: staff accounts get a ValidationError."
    )
    async def add_dependant(
        self,
        info: Info,
        input: Annotated[AddDependantInput, strawberry.argument(description="The dependant.")],
    ) -> AddDependantResult:
        return await resolve.add_dependant(
            info.context,
            identity=input.identity(),
            relationship=input.relationship.value,
            scopes=[s.value for s in input.scopes],
            valid_until=input.valid_until,
        )

    @mutation("The dependant accepts or declines a pending delegation.")
    async def respond_to_delegation(
        self,
        info: Info,
        input: Annotated[RespondToDelegationInput, strawberry.argument(description="The answer.")],
    ) -> RespondToDelegationResult:
        return await resolve.respond(
            info.context, pk_of(input.delegation_id, "Delegation"), input.accept
        )

    @mutation(
        "The helper or the dependant ends a delegation; it stops granting anything on the very "
        "next request, and the certificates the helper obtained through it are revoked "
        "(REVOKE_HELPER_CERTIFICATES)."
    )
    async def revoke_delegation(self, info: Info, id: IdArg) -> RevokeDelegationResult:
        return await resolve.revoke(info.context, pk_of(id, "Delegation"))

    @mutation(
        "Officers and admins: confirm, at a counter, a pending delegation for an adult without "
        "an account."
    )
    async def confirm_delegation(self, info: Info, id: IdArg) -> ConfirmDelegationResult:
        return await resolve.confirm(info.context, pk_of(id, "Delegation"))
