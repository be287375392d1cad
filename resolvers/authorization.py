"""The one authorization policy: who may act for which person, within which scope.

Every resolver that reaches a person's data asks `may_act_for`; forbidden and missing look
the same to the caller. Reads and actions by anyone other than the person are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.delegation import ALL_SCOPES, effective_status, grants
from persistence import delegations as delegation_store
from persistence.models import AuditEvent, Delegation, Role

if TYPE_CHECKING:
    from resolvers.context import Context

STAFF_ROLES = (Role.OFFICER, Role.ADMIN)


@dataclass(frozen=True)
class Grant:
    """Why the caller may act for a person: as the person, as staff, or through a delegation."""

    person_id: int
    actor_kind: str  # SELF, HELPER, OFFICER, ADMIN
    scopes: frozenset[str]
    delegation_id: int | None = None

    @property
    def is_self(self) -> bool:
        return self.actor_kind == "SELF"


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
        if account.person_id == person_id:
            return Grant(person_id, "SELF", ALL_SCOPES)
        if ctx.has_role(Role.ADMIN):
            return Grant(person_id, "ADMIN", ALL_SCOPES)
        if ctx.has_role(Role.OFFICER):
            return Grant(person_id, "OFFICER", ALL_SCOPES)
        delegation = (await self._active_delegations()).get(person_id)
        if delegation is None:
            return None
        scopes = frozenset(delegation.scopes)
        if not grants("ACTIVE", scopes, scope):
            return None
        return Grant(person_id, "HELPER", scopes, delegation.id)

    async def granted_scopes(self, person_id: int) -> frozenset[str]:
        grant = await self.may_act_for(person_id, None)
        return grant.scopes if grant else frozenset()

    async def dependant_ids(self) -> list[int]:
        return list(await self._active_delegations())

    def record(self, grant: Grant, action: str, target: str | None = None) -> None:
        """Audit a read or an action on someone else's records (flushed after the request)."""
        if grant.is_self or self._ctx.account is None:
            return
        self._ctx.audit_buffer.append(
            AuditEvent(
                at=self._ctx.now(),
                actor_id=self._ctx.account.id,
                actor_kind=grant.actor_kind,
                subject_id=grant.person_id,
                action=action,
                target=target,
                delegation_id=grant.delegation_id,
            )
        )


def is_staff(ctx: Context) -> bool:
    return ctx.has_role(*STAFF_ROLES)


def staff_office_ok(ctx: Context, office_id: int) -> bool:
    """Admins act at every office; an officer only at its own."""
    if ctx.has_role(Role.ADMIN):
        return True
    return bool(
        ctx.has_role(Role.OFFICER)
        and ctx.account is not None
        and ctx.account.office_id == office_id
    )
