"""What a request carries: the app's services, the signed-in account, per-request loaders."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from argon2 import PasswordHasher

from domain.calendar import WorkingCalendar
from domain.dates import local_day
from domain.languages import SOURCE_LANGUAGE
from persistence.accounts import person_of
from persistence.models import Account, AuditEvent
from persistence.rate_limits import CostBudget, MemoryCostBudget, RateLimiter
from persistence.session_revocations import (
    MemorySessionRevocations,
    SessionRevocations,
    keep_seconds,
)
from persistence.subscription_slots import MemorySubscriptionSlots, SubscriptionSlots
from settings import Settings
from signing.keys import KeyRing

if TYPE_CHECKING:
    from resolvers.authorization import Authorizer
    from resolvers.events import EventBus
    from resolvers.loaders import Loaders

log = logging.getLogger(__name__)


class HasTimeZone(Protocol):
    """Anything placed in a time zone (an office)."""

    time_zone: str


class Clock:
    """The current time; tests replace it to pin "now"."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that stays where it is put (for tests and demo scenarios)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Services:
    """Everything a request may need that lives as long as the process."""

    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
    clock: Clock
    hasher: PasswordHasher
    calendar: WorkingCalendar
    events: EventBus | None = None
    budget: CostBudget = field(default_factory=MemoryCostBudget)
    # Ended sign-ins (refresh families), checked on every authenticated request.
    sessions: SessionRevocations = field(
        default_factory=lambda: MemorySessionRevocations(keep_seconds(15))
    )
    # Live subscriptions per account (MAX_SUBSCRIPTIONS_PER_ACCOUNT), over every process.
    subscriptions: SubscriptionSlots = field(default_factory=MemorySubscriptionSlots)
    # Called after public data (offices, closures, guidance) changed: drops cached answers.
    on_public_change: Callable[[], Awaitable[None]] | None = None
    # Called after mail was committed to the outbox: wakes this process's delivery worker.
    on_outbox_change: Callable[[], None] | None = None

    async def public_data_changed(self) -> None:
        if self.on_public_change is not None:
            await self.on_public_change()

    async def publish_application_event(self, applicant_id: int, event_id: int) -> None:
        if self.events is not None:
            await self.events.publish(applicant_id, event_id)

    async def publish_notification(self, account_id: int, notification_id: int) -> None:
        if self.events is not None:
            await self.events.publish_notification(account_id, notification_id)

    def outbox_changed(self) -> None:
        if self.on_outbox_change is not None:
            self.on_outbox_change()

    async def sessions_ended(self, account_id: int, families: list[str], at: datetime) -> None:
        """Refuse the families' access tokens from the next request on, in every process, and
        end the account's live subscriptions that belong to them (call after commit)."""
        await self.sessions.revoke(families, at, self.clock.now())
        await self.account_changed(account_id)

    async def account_changed(self, account_id: int) -> None:
        """The account's sessions or rights changed: its subscriptions re-check both."""
        if self.events is not None:
            await self.events.publish_account_change(account_id)

    async def hash_password(self, password: str) -> str:
        """The hash of the password as Unicode's NFC spells it (RFC 8265): "é" typed as one
        character or as "e" and a combining accent, depending on the keyboard, is one
        password."""
        return await asyncio.to_thread(self.hasher.hash, unicodedata.normalize("NFC", password))

    async def verify_password(self, password_hash: str, password: str) -> bool:
        """Whether the password, in either spelling, is the one hashed: as NFC (every hash
        made since), or as typed (a hash made before passwords were normalised)."""
        composed = unicodedata.normalize("NFC", password)
        if await self._verifies(password_hash, composed):
            return True
        return composed != password and await self._verifies(password_hash, password)

    async def _verifies(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return await asyncio.to_thread(self.hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@dataclass
class Recording:
    """What one unit of work (a mutation's transaction) has recorded: its audit entries,
    written with its transaction, and the actions that wait for its commit. Its own, not the
    context's: operations of one WebSocket connection (or of a batch) share a context and run
    at the same time, and a unit that rolls back must take nothing of another's with it, nor
    leave anything of its own behind."""

    owner: Context
    audit: list[AuditEvent] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


# The unit of work running in this task (asyncio copies it into the tasks it starts).
RECORDING: ContextVar[Recording | None] = ContextVar("recording", default=None)


async def run_actions(actions: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run what waited for a commit, each on its own: the change is made whatever they do,
    so one that fails (Redis away) is logged, the others still run, and the answer still
    says what was done."""
    for action in actions:
        try:
            await action()
        except Exception:
            log.exception("an action after a commit failed")


@dataclass
class Context:
    """The GraphQL context of one request or one WebSocket connection."""

    services: Services
    account: Account | None
    roles: frozenset[str]
    client_ip: str
    accept_language: str | None
    # The language answers are written in (one of domain.languages.LANGUAGES), negotiated once
    # from Accept-Language, or from a WebSocket's connection_init; a field's `lang` wins.
    language: str = SOURCE_LANGUAGE
    session_family: str | None = None
    # When the access token expires (WebSocket connections end their subscriptions then).
    session_expires_at: datetime | None = None
    connection_params: dict[str, Any] | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    audit_buffer: list[AuditEvent] = field(default_factory=list)
    response_headers: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    pending_after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _loaders: Loaders | None = None
    _authorizer: Authorizer | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def now(self) -> datetime:
        """The current time in UTC (the database compares UTC times)."""
        return self.services.clock.now().astimezone(UTC)

    def today(self, office: HasTimeZone | None = None) -> date:
        """Today in China (the home time zone), the day validity dates are counted in; with an
        office, today where the office is (its bookings, closures and check-ins)."""
        return local_day(self.now(), office.time_zone if office is not None else None)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from resolvers.loaders import Loaders

            self._loaders = Loaders()
        return self._loaders

    def forget_cached(self) -> None:
        """Drop what loaders and the policy cached: a mutation may have changed it, and each
        operation of a batch or a WebSocket connection must see the data as it is now."""
        self._loaders = None
        self._authorizer = None

    async def reload_account(self) -> None:
        """Read the signed-in account again if it had no person: a WebSocket connection
        outlives the request that linked its account to a person (linkIdentity) since
        connection_init. (Unlinking ends the account's sessions, and with them the
        connection's.) Its roles stay those its access token was issued with."""
        if self.account is None or self.account.person_id is not None:
            return
        person_id = await person_of(self.account.id)
        if person_id is not None:
            self.account.person_id = person_id
            self._authorizer = None

    def fresh_authorizer(self) -> Authorizer:
        """A policy without the request's cached delegations (long-lived subscriptions)."""
        from resolvers.authorization import Authorizer

        self._authorizer = Authorizer(self)
        return self._authorizer

    @property
    def authorizer(self) -> Authorizer:
        if self._authorizer is None:
            from resolvers.authorization import Authorizer

            self._authorizer = Authorizer(self)
        return self._authorizer

    def recording(self) -> Recording | None:
        """This context's unit of work running in this task, if any."""
        current = RECORDING.get()
        return current if current is not None and current.owner is self else None

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the mutation's transaction has committed (e.g. notify): kept
        with the running unit of work, and dropped with it if it rolls back."""
        unit = self.recording()
        (unit.after_commit if unit is not None else self.pending_after_commit).append(action)

    async def run_after_commit(self) -> None:
        """Run what waited for a commit outside any unit of work."""
        actions, self.pending_after_commit = self.pending_after_commit, []
        await run_actions(actions)

    def record_audit(self, entries: Iterable[AuditEvent]) -> None:
        """Keep audit entries: with the running unit of work (written in its transaction,
        dropped if it rolls back), else with the operation's reads (written as it ends)."""
        unit = self.recording()
        (unit.audit if unit is not None else self.audit_buffer).extend(entries)

    def take_audit(self) -> list[AuditEvent]:
        """The reads recorded outside any unit of work, to be written now."""
        events, self.audit_buffer = self.audit_buffer, []
        return events

    async def session_has_ended(self) -> bool:
        """True once the access token this context was opened with has expired or its sign-in
        has ended (long-lived WebSocket connections re-check it)."""
        if self.session_expires_at is not None and self.session_expires_at <= self.now():
            return True
        family = self.session_family
        return family is not None and await self.services.sessions.is_revoked(family)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
