"""The one authorization policy: who may act for which person, within which scope.

Resolvers reach a person's data through the gate below (`read`, `require`, `staff_write`),
which checks the policy and records the read or action in one call, so no audit entry can be
forgotten; forbidden and missing look the same to the caller. Reads and actions by anyone
other than the person are audited. The capacity someone acts in (`actor_kind`) is worked out
here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from domain.delegation import ALL_SCOPES, effective_status, grants
from persistence import delegations as delegation_store
from persistence.models import AuditEvent, Delegation, Role
from resolvers.outcomes import Refusal, not_permitted, unauthenticated

if TYPE_CHECKING:
    from resolvers.context import Context

STAFF_ROLES = (Role.OFFICER, Role.ADMIN)


class _ApplicantRow(Protocol):
    applicant_id: int


R = TypeVar("R", bound=_ApplicantRow)


class ActorKind(StrEnum):
    """In what capacity someone acted (kept in the audit trail and the records' history)."""

    SELF = "SELF"
    HELPER = "HELPER"
    OFFICER = "OFFICER"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"


def actor_kind(
    ctx: Context, person_id: int | None = None, *, helper_id: int | None = None
) -> ActorKind:
    """The capacity the caller acts in towards `person_id`: the person themselves, the helper
    of the delegation in question (`helper_id`), an admin, an officer, or else a helper.
    Without a person, the capacity staff act in (ADMIN or OFFICER)."""
    account = ctx.account
    if account is not None and person_id is not None and account.person_id == person_id:
        return ActorKind.SELF
    if account is not None and helper_id is not None and account.id == helper_id:
        return ActorKind.HELPER
    if ctx.has_role(Role.ADMIN):
        return ActorKind.ADMIN
    if ctx.has_role(Role.OFFICER):
        return ActorKind.OFFICER
    return ActorKind.HELPER


STAFF_KINDS = frozenset({ActorKind.OFFICER, ActorKind.ADMIN})


@dataclass(frozen=True)
class Grant:
    """Why the caller may act for a person: as the person, as staff, or through a delegation."""

    person_id: int
    actor_kind: ActorKind
    scopes: frozenset[str]
    delegation_id: int | None = None

    @property
    def is_self(self) -> bool:
        return self.actor_kind is ActorKind.SELF


class Authorizer:
    """The policy bound to one request; caches the caller's delegations for the request."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._delegations: dict[int, Delegation] | None = None

    async def _active_delegations(self) -> dict[int, Delegation]:
        if self._delegations is None:
            account = self._ctx.account
            rows = await delegation_store.granting_for_helper(account.id) if account else []
            now, today = self._ctx.now(), self._ctx.today()
            self._delegations = {
                d.dependant_id: d
                for d in rows
                if effective_status(
                    d.status,
                    valid_until=d.valid_until,
                    pending_until=d.pending_until,
                    now=now,
                    today=today,
                )
                == "ACTIVE"
            }
        return self._delegations

    async def may_act_for(self, person_id: int, scope: str | None) -> Grant | None:
        """The grant that lets the caller see or act for `person_id` within `scope`, or None.

        `scope=None` asks only for the person's basic identity.
        """
        ctx = self._ctx
        account = ctx.account
        if account is None:
            return None
        kind = actor_kind(ctx, person_id)
        if kind is not ActorKind.HELPER:
            return Grant(person_id, kind, ALL_SCOPES)
        delegation = (await self._active_delegations()).get(person_id)
        if delegation is None:
            return None
        scopes = frozenset(delegation.scopes)
        if not grants("ACTIVE", scopes, scope):
            return None
        return Grant(person_id, ActorKind.HELPER, scopes, delegation.id)

    async def granted_scopes(self, person_id: int) -> frozenset[str]:
        grant = await self.may_act_for(person_id, None)
        return grant.scopes if grant else frozenset()

    async def dependant_ids(self) -> list[int]:
        return list(await self._active_delegations())

    def record(self, grant: Grant, action: str, target: str | None = None) -> None:
        """Audit a read or an action on someone else's records (flushed after the request).
        Resolvers go through the gate functions below rather than calling this directly."""
        self._ctx.record_audit(self.entries(grant, action, target))

    def entries(self, grant: Grant, action: str, target: str | None = None) -> list[AuditEvent]:
        """The audit entry of a read or an action under `grant` (none for the person
        themselves), not yet recorded."""
        if grant.is_self or self._ctx.account is None:
            return []
        return [
            AuditEvent(
                at=self._ctx.now(),
                actor_id=self._ctx.account.id,
                actor_kind=grant.actor_kind,
                subject_id=grant.person_id,
                action=action,
                target=target,
                delegation_id=grant.delegation_id,
            )
        ]


# ---------------------------------------------------------------- the gate


async def read(
    ctx: Context, person_id: int, scope: str | None, action: str, target: str | None = None
) -> Grant | None:
    """Check that the caller may see `person_id`'s data within `scope` (None: the person's
    identity only) and record the read; None (nothing recorded) when it may not."""
    grant = await ctx.authorizer.may_act_for(person_id, scope)
    if grant is not None:
        ctx.authorizer.record(grant, action, target)
    return grant


async def require(ctx: Context, person_id: int | None, scope: str | None) -> Grant:
    """The grant to act for `person_id` within `scope`; refuses anonymous callers
    (UNAUTHENTICATED) and anyone else not permitted (NotPermitted, as if missing). Record the
    action with `acted` once it is done."""
    if ctx.account is None:
        raise unauthenticated()
    grant = await ctx.authorizer.may_act_for(person_id, scope) if person_id is not None else None
    if grant is None:
        raise not_permitted()
    if grant.actor_kind in STAFF_KINDS and await ctx.loaders.person.load(grant.person_id) is None:
        # Staff act for anyone the records hold; someone they do not hold is refused as any
        # unknown ID is, before a row is written about nobody.
        raise not_permitted()
    return grant


async def require_row(
    ctx: Context, row_id: int | None, load: Callable[[int], Awaitable[R | None]], scope: str
) -> tuple[R, Grant]:
    """A row about an applicant (an appointment, a waitlist entry) and the grant to act for
    its applicant within `scope`; anonymous callers are refused before anything is read, and
    a missing row is NotPermitted, as anyone else's is."""
    if ctx.account is None:
        raise unauthenticated()
    row = await load(row_id) if row_id is not None else None
    if row is None:
        raise not_permitted()
    return row, await require(ctx, row.applicant_id, scope)


def showing(
    ctx: Context, refusal: Refusal, grant: Grant, action: str, target: str | None = None
) -> Refusal:
    """The refusal, with the read of what it shows of the person's records (an existing
    appointment or waitlist entry) to be kept in their trail even as it rolls back."""
    refusal.shown.extend(ctx.authorizer.entries(grant, action, target))
    return refusal


def acted(ctx: Context, grant: Grant, action: str, target: str | None = None) -> None:
    """Record an action done under a grant from `require` (nothing for the person themselves)."""
    ctx.authorizer.record(grant, action, target)


def staff_write(
    ctx: Context,
    person_id: int,
    action: str,
    target: str | None = None,
    *,
    delegation_id: int | None = None,
    helper_id: int | None = None,
) -> Grant:
    """Record a change made to `person_id`'s records by staff, or by the helper of the
    delegation concerned (`helper_id`), in the capacity `actor_kind` gives; refuses
    (NotPermitted) anyone who is neither."""
    if ctx.account is None:
        raise unauthenticated()
    kind = actor_kind(ctx, person_id, helper_id=helper_id)
    if kind is ActorKind.HELPER and (helper_id is None or ctx.account.id != helper_id):
        raise not_permitted()
    scopes = ALL_SCOPES if kind is not ActorKind.HELPER else frozenset()
    grant = Grant(person_id, kind, scopes, delegation_id)
    ctx.authorizer.record(grant, action, target)
    return grant


def is_staff(ctx: Context) -> bool:
    return ctx.has_role(*STAFF_ROLES)


def require_staff(ctx: Context) -> None:
    """Officers and admins only: refuses anonymous callers (UNAUTHENTICATED) and anyone else
    (NotPermitted)."""
    if ctx.account is None:
        raise unauthenticated()
    if not is_staff(ctx):
        raise not_permitted()


def acts_at(ctx: Context, grant: Grant, office_id: int) -> bool:
    """Whether the grant covers a change at the office: an officer's at its own office only
    (admins at every office; the person and their helpers wherever they choose)."""
    return grant.actor_kind is not ActorKind.OFFICER or staff_office_ok(ctx, office_id)


def require_office(ctx: Context, grant: Grant, office_id: int) -> None:
    """NOT_PERMITTED unless the grant covers a change at the office (`acts_at`)."""
    if not acts_at(ctx, grant, office_id):
        raise not_permitted()


def staff_office_ok(ctx: Context, office_id: int) -> bool:
    """Admins act at every office; an officer only at its own."""
    if ctx.has_role(Role.ADMIN):
        return True
    return bool(
        ctx.has_role(Role.OFFICER)
        and ctx.account is not None
        and ctx.account.office_id == office_id
    )
