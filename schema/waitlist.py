"""The fair waitlist: entries, offers, and the mutations to join, accept and leave."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import waitlist as resolve
from resolvers.context import Context
from resolvers.outcomes import RefusalKind
from resolvers.rows import SlotRow, WaitlistEntryRow
from schema.appointments import (
    AlreadyBooked,
    BookingConfirmed,
    Slot,
    applicant_field,
)
from schema.common import (
    Node,
    NotPermitted,
    RateLimited,
    ServiceCode,
    SlotUnavailable,
    ValidationError,
    described_enum,
    pk_of,
)
from schema.offices import office_field, office_time, office_time_field
from schema.results import RefusalMessage, error_type, mutation, node_results, result_union

WaitlistStatus = described_enum(
    "WaitlistStatus",
    "Where a waitlist entry stands.",
    {
        "WAITING": "In line for a freed place.",
        "OFFERED": "A place is held for the applicant until the offer's expiresAt: accept it "
        "with acceptWaitlistOffer, or decline it with leaveWaitlist.",
        "BOOKED": "The applicant holds an appointment for the service (by accepting an "
        "offer, or by booking otherwise meanwhile); the entry's wait is over.",
        "EXPIRED": "An offer ran out unaccepted (the place passed to the next in line), or "
        "every day waited for has passed.",
        "LEFT": "Left the line (a held place passed to the next in line).",
    },
)


@strawberry.type(description="A place held for a waitlist entry: book it before it runs out.")
class WaitlistOffer:
    office_id: strawberry.Private[int]
    slot_row: strawberry.Private[SlotRow]
    expires: strawberry.Private[datetime]

    @strawberry.field(description="The slot whose place is held; nobody else can book it.")
    def slot(self) -> Slot:
        return Slot.from_row(self.slot_row)

    @strawberry.field(
        description="Until when the place is held, with the office's UTC offset: the hold time "
        "after the offer (from 08:00 office time for an offer made between 22:00 and 08:00), "
        "never after the slot's last bookable moment. Then it passes to the next in line."
    )
    async def expires_at(self, info: Info) -> datetime:
        return await office_time(info.context, self.office_id, self.expires)


@strawberry.type(
    description="A person in line for a place at an office for a service on one of a range "
    "of days. A freed place is offered, in join order, to the first WAITING entry of the "
    "office and service group whose range holds it."
)
class WaitlistEntry(Node):
    row: strawberry.Private[WaitlistEntryRow]
    service: ServiceCode = strawberry.field(description="The service waited for.")
    from_: dt.date = strawberry.field(name="from", description="First day of the range.")
    to: dt.date = strawberry.field(description="Last day of the range.")
    status: WaitlistStatus = strawberry.field(description="Where the entry stands.")

    @classmethod
    def from_row(cls, row: WaitlistEntryRow) -> WaitlistEntry:  # type: ignore[override]
        return super().from_row(row, from_=row.first_day, to=row.last_day)

    applicant = applicant_field("Who waits.")
    office = office_field("Where.")

    @strawberry.field(
        description="The place in line while WAITING: 1 + the WAITING entries of the same "
        "line (office and service group, whatever their service) that joined before and wait "
        "for a day this one waits for (1 = next to be offered a place freed on such a day). "
        "Null unless WAITING."
    )
    async def position(self, info: Info) -> int | None:
        return await resolve.position(info.context, self.row)

    @strawberry.field(description="The held place, while OFFERED; null otherwise.")
    async def offer(self) -> WaitlistOffer | None:
        slot = await resolve.offered_slot(self.row)
        if slot is None or self.row.offer_expires_at is None:
            return None
        return WaitlistOffer(
            office_id=self.row.office_id, slot_row=slot, expires=self.row.offer_expires_at
        )

    created_at = office_time_field(
        "created_at", "When the applicant joined, with the office's UTC offset."
    )


@strawberry.input(description="Where, for what and when to wait for a place.")
class JoinWaitlistInput:
    applicant_id: strawberry.ID = strawberry.field(
        description="The person to wait for: yourself or a dependant with BOOK_APPOINTMENTS."
    )
    office_id: strawberry.ID = strawberry.field(description="The office.")
    service: ServiceCode = strawberry.field(description="The service.")
    from_: dt.date = strawberry.field(
        name="from", description="First acceptable day (office time), today or later."
    )
    to: dt.date = strawberry.field(
        description="Last acceptable day, within the booking horizon (bookingRules)."
    )


# The success members that hold one waitlist entry, in the order of the table.
WaitlistJoined, WaitlistLeft = node_results(
    {
        (WaitlistEntry, "entry"): {
            "WaitlistJoined": ("The applicant is in line.", "The new entry."),
            "WaitlistLeft": (
                "The entry left the line; a place it held passed to the next.",
                "The entry (LEFT, or unchanged when it was out of line already).",
            ),
        },
    }
)


@error_type(
    RefusalKind.ALREADY_WAITING,
    "The applicant already has an entry in line (WAITING or OFFERED) for this service.",
)
class AlreadyWaiting(RefusalMessage):
    row: strawberry.Private[WaitlistEntryRow | None] = None

    @classmethod
    def from_refusal(cls, message: str, entry: WaitlistEntryRow | None = None) -> AlreadyWaiting:
        return cls(message=message, row=entry)

    @strawberry.field(description="The entry already in line.")
    def existing_entry(self) -> WaitlistEntry | None:
        return WaitlistEntry.from_row(self.row) if self.row is not None else None


@error_type(
    RefusalKind.PLACES_AVAILABLE,
    "The range has free places now: book one of them instead of waiting.",
)
class PlacesAvailable(RefusalMessage):
    rows: strawberry.Private[list[SlotRow]]

    @classmethod
    def from_refusal(cls, message: str, slots: list[SlotRow]) -> PlacesAvailable:
        return cls(message=message, rows=slots)

    @strawberry.field(description="Free slots in the range, the earliest first (at most 50).")
    def slots(self) -> list[Slot]:
        return [Slot.from_row(r) for r in self.rows]


@error_type(
    RefusalKind.OFFER_EXPIRED,
    "The entry holds no offer to accept: it ran out (and passed on), or there is none.",
)
class OfferExpired(RefusalMessage):
    pass


JoinWaitlistResult = result_union(
    "joinWaitlist",
    WaitlistJoined,
    AlreadyWaiting,
    PlacesAvailable,
    AlreadyBooked,
    NotPermitted,
    ValidationError,
    RateLimited,
)
AcceptWaitlistOfferResult = result_union(
    "acceptWaitlistOffer",
    BookingConfirmed,
    OfferExpired,
    AlreadyBooked,
    SlotUnavailable,
    NotPermitted,
    ValidationError,
)
LeaveWaitlistResult = result_union("leaveWaitlist", WaitlistLeft, NotPermitted)

EntryIdArg = Annotated[strawberry.ID, strawberry.argument(description="The waitlist entry.")]


@strawberry.type(description="Mutations on the waitlist.")
class WaitlistMutations:
    @mutation(
        "Wait for a place at an office for a service on one of a range of days that has none "
        "free now (when it has, the answer is PlacesAvailable with them). One entry in line "
        "per applicant and service; counted as a booking attempt. A freed place in the range "
        "is held for the first in line and they (and their helpers) are told. Days on which "
        "the office holds no slot of the service at all (closed) cannot be waited for: a "
        "ValidationError on `from`. An officer acts for people at their own office only."
    )
    async def join_waitlist(
        self,
        info: Info,
        input: Annotated[
            JoinWaitlistInput,
            strawberry.argument(description="Who waits, where, for what, on which days."),
        ],
    ) -> JoinWaitlistResult:
        return await resolve.join(
            info.context,
            person_id=pk_of(input.applicant_id, "Person"),
            office_id=pk_of(input.office_id, "Office"),
            service=input.service.value,
            first=input.from_,
            last=input.to,
        )

    @mutation(
        "Book the place an offer holds, with every booking rule (not counted as a booking "
        "attempt). OfferExpired when it ran out: the place went to the next in line."
    )
    async def accept_waitlist_offer(self, info: Info, id: EntryIdArg) -> AcceptWaitlistOfferResult:
        return await resolve.accept(info.context, pk_of(id, "WaitlistEntry"))

    @mutation(
        "Leave the line. On an OFFERED entry this declines the offer: the held place passes "
        "to the next in line at once."
    )
    async def leave_waitlist(self, info: Info, id: EntryIdArg) -> LeaveWaitlistResult:
        return await resolve.leave(info.context, pk_of(id, "WaitlistEntry"))


async def waitlist_of(ctx: Context, person_id: int) -> list[WaitlistEntry] | None:
    """Person.waitlist: the person's entries, newest first; None without BOOK_APPOINTMENTS."""
    rows = await resolve.entries_of(ctx, person_id)
    return None if rows is None else [WaitlistEntry.from_row(r) for r in rows]
