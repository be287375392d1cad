"""Slots and appointments: types, results and the mutations that book and change them."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from domain.booking import BookingPolicy
from resolvers import appointments as resolve
from resolvers.context import Context
from resolvers.metrics import BOOKINGS
from resolvers.outcomes import RefusalKind
from resolvers.rows import AppointmentRow, SlotRow
from resolvers.rows import AppointmentStatus as AppointmentStatusValue
from schema.accounts import Actor, ActorKind
from schema.common import (
    ChangeWindowClosed,
    Node,
    NotPermitted,
    RateLimited,
    RescheduleLimitReached,
    ServiceCode,
    SlotUnavailable,
    ValidationError,
    connection_types,
    described_enum,
    page_of,
    pk_of,
    to_global_id,
)
from schema.offices import Closure, office_field, office_time, office_time_field
from schema.persons import Person
from schema.results import RefusalMessage, error_type, mutation, node_results, result_union

AppointmentStatus = described_enum(
    "AppointmentStatus",
    "Where an appointment stands.",
    {
        "BOOKED": "Booked and coming up.",
        "CANCELLED": "Cancelled by the applicant side.",
        "CANCELLED_BY_OFFICE": "Cancelled because the office closed that day.",
        "RESCHEDULED": "Moved to another slot; see rescheduledTo.",
        "CHECKED_IN": "The applicant arrived.",
        "COMPLETED": "An application was recorded at the appointment.",
        "NO_SHOW": "Not checked in by the end of its day.",
    },
)


def applicant_field(description: str) -> Any:
    """The field answering the Person of an object's row (its `applicant_id`)."""

    async def applicant(self: Any, info: Info) -> Person:
        return Person.from_row(await info.context.loaders.person.load(self.row.applicant_id))

    return strawberry.field(resolver=applicant, description=description)


@strawberry.type(description="A bookable time at an office. Times carry the office's offset.")
class Slot(Node):
    row: strawberry.Private[SlotRow]

    office = office_field("The office of the slot.")
    starts_at = office_time_field(
        "starts_at", "When the slot starts, with the office's UTC offset."
    )
    ends_at = office_time_field("ends_at", "When the slot ends, with the office's UTC offset.")

    @strawberry.field(
        description="Places left: neither booked nor held for a waitlist offer (a held place "
        "is bookable only by accepting that offer)."
    )
    def remaining(self) -> int:
        free = self.row.capacity - self.row.booked - self.row.held
        return max(0, free) if self.row.open else 0

    @strawberry.field(
        description="True when the State Council has not yet published this year's holidays: "
        "only the fixed-date statutory holidays are closed so far, and the office may still "
        "close this day once the year's calendar is known (its appointments are then "
        "cancelled by the office, with notice: APPOINTMENT_CANCELLED_BY_OFFICE)."
    )
    async def provisional_calendar(self, info: Info) -> bool:
        day = (await office_time(info.context, self.row.office_id, self.row.starts_at)).date()
        return info.context.services.calendar.is_provisional(day)


@strawberry.type(
    description="The booking policy in force: the same for everyone, changed only by the "
    "service's configuration. The mutations enforce exactly these values."
)
class BookingRules:
    horizon_working_days: int = strawberry.field(
        description="Slots can be booked up to this many working days after today (in the "
        "office's time zone)."
    )
    min_lead_minutes: int = strawberry.field(
        description="A slot must start at least this many minutes after the booking."
    )
    reschedule_limit: int = strawberry.field(
        description="How often one appointment may be rescheduled (the count carries over to "
        "the appointment that replaces it)."
    )
    change_window_hours: int = strawberry.field(
        description="Rescheduling closes this many hours before the start; cancelling stays "
        "possible until the start."
    )
    slot_minutes: int = strawberry.field(description="The length of a slot, in minutes.")

    @classmethod
    def from_policy(cls, policy: BookingPolicy) -> BookingRules:
        return cls(
            horizon_working_days=policy.horizon_working_days,
            min_lead_minutes=int(policy.min_lead.total_seconds() // 60),
            reschedule_limit=policy.reschedule_limit,
            change_window_hours=int(policy.change_window.total_seconds() // 3600),
            slot_minutes=policy.slot_minutes,
        )


ANOTHER_HELPER = "Another helper"


def viewer_option(option: str, graphql_type: type, description: str) -> Any:
    """The field answering `option` of what the viewer may do with the appointment now
    (resolve.options_for_viewer: the rules cancel and reschedule enforce)."""

    async def of_viewer(self: Any, info: Info) -> Any:
        return getattr(await resolve.options_for_viewer(info.context, self.row), option)

    return strawberry.field(resolver=of_viewer, graphql_type=graphql_type, description=description)


@strawberry.type(description="An in-person appointment at an office for one applicant.")
class Appointment(Node):
    row: strawberry.Private[AppointmentRow]
    reference: str = strawberry.field(
        description="Reference to quote at the office: unambiguous characters and a check "
        "character."
    )
    status: AppointmentStatus = strawberry.field(description="Where the appointment stands.")
    service: ServiceCode = strawberry.field(description="The service it is for.")
    reschedule_count: int = strawberry.field(description="How often it has been rescheduled.")

    applicant = applicant_field("Who the appointment is for.")
    office = office_field("Where.")
    starts_at = office_time_field("starts_at", "When it starts, with the office's UTC offset.")
    ends_at = office_time_field("ends_at", "When it ends, with the office's UTC offset.")

    @strawberry.field(
        description="Who booked it, and in what capacity. A helper viewing an appointment "
        "another helper booked sees only that: kind HELPER, the display name 'Another helper' "
        "and an ID that names no account (helpers of one person never see each other)."
    )
    async def booked_by(self, info: Info) -> Actor:
        ctx: Context = info.context
        if resolve.booked_by_another_helper(ctx, self.row):
            return Actor(
                id=to_global_id("Actor", 0),
                display_name=ANOTHER_HELPER,
                kind=ActorKind.HELPER,
            )
        account = await ctx.loaders.account.load(self.row.booked_by_id)
        return Actor(
            id=to_global_id("Actor", self.row.booked_by_id),
            display_name=account.display_name if account else "",
            kind=ActorKind(self.row.booked_by_kind),
        )

    @strawberry.field(
        description="The last moment it may be rescheduled (its start minus "
        "bookingRules.changeWindowHours), with the office's UTC offset; it stays set once "
        "passed (then reschedulable is false). Null when it can never be rescheduled again: "
        "not BOOKED, or no reschedules left. Cancelling is possible until the start. The same "
        "for every viewer: staff are held to the same rules."
    )
    async def change_deadline(self, info: Info) -> datetime | None:
        ctx: Context = info.context
        options = await resolve.options_for_viewer(ctx, self.row)
        if options.deadline is None:
            return None
        return await office_time(ctx, self.row.office_id, options.deadline)

    reschedules_left = viewer_option(
        "reschedules_left",
        int,
        "How many more times it may be rescheduled: bookingRules.rescheduleLimit minus "
        "rescheduleCount, never below 0; 0 unless BOOKED.",
    )
    cancellable = viewer_option(
        "cancellable",
        bool,
        "Whether the viewer may cancel it now (by the server's clock): BOOKED, not yet "
        "started, and the viewer is the applicant, their helper with BOOK_APPOINTMENTS, an "
        "admin or an officer of its office (staff have no exemption from the rules). For a "
        "viewer who may act, "
        "cancelAppointment answers ChangeWindowClosed exactly when this is false, except on an "
        "appointment already CANCELLED (answered AppointmentCancelled, unchanged).",
    )
    reschedulable = viewer_option(
        "reschedulable",
        bool,
        "Whether the viewer may reschedule it now (by the server's clock): BOOKED, before "
        "changeDeadline, with reschedules left, and the viewer may act as for cancellable. "
        "When false, rescheduleAppointment answers ChangeWindowClosed or "
        "RescheduleLimitReached.",
    )

    @strawberry.field(description="The appointment this one replaced, if it was rescheduled.")
    async def rescheduled_from(self, info: Info) -> Appointment | None:
        if self.row.rescheduled_from_id is None:
            return None
        row = await info.context.loaders.appointment.load(self.row.rescheduled_from_id)
        return Appointment.from_row(row) if row else None

    @strawberry.field(description="The appointment that replaced this one, if rescheduled.")
    async def rescheduled_to(self, info: Info) -> Appointment | None:
        if self.row.status != AppointmentStatusValue.RESCHEDULED:
            return None
        row = await info.context.loaders.rescheduled_to.load(self.row.id)
        return Appointment.from_row(row) if row else None


AppointmentEdge, AppointmentConnection = connection_types(
    Appointment, "appointment", "appointments"
)


@error_type(
    RefusalKind.ALREADY_BOOKED,
    "The applicant already holds an active appointment for this service.",
)
class AlreadyBooked(RefusalMessage):
    row: strawberry.Private[AppointmentRow | None] = None

    @classmethod
    def from_refusal(cls, message: str, appointment: AppointmentRow | None = None) -> AlreadyBooked:
        return cls(message=message, row=appointment)

    @strawberry.field(
        description="The active appointment already booked for this applicant and service, "
        "when the caller may see it (named `existing`, not `appointment`, so that one selection "
        "set serves every member of the booking result)."
    )
    def existing(self) -> Appointment | None:
        return Appointment.from_row(self.row) if self.row is not None else None


# The success members that hold one appointment, in the order of the table.
BookingConfirmed, AppointmentCancelled, AppointmentCheckedIn = node_results(
    {
        (Appointment, "appointment"): {
            "BookingConfirmed": ("The appointment is booked.", "The new appointment."),
            "AppointmentCancelled": (
                "The appointment is cancelled and its place freed.",
                "The cancelled appointment.",
            ),
            "AppointmentCheckedIn": ("The applicant has arrived.", "The checked-in appointment."),
        },
    }
)


@strawberry.type(description="The appointment moved to a new slot; the old place is freed.")
class AppointmentRescheduled:
    appointment: Appointment = strawberry.field(description="The new appointment.")
    previous: Appointment = strawberry.field(description="The replaced appointment.")


@strawberry.input(description="What to book.")
class BookAppointmentInput:
    applicant_id: strawberry.ID = strawberry.field(
        description="The person to book for: yourself or a dependant with BOOK_APPOINTMENTS."
    )
    slot_id: strawberry.ID = strawberry.field(description="The slot, from availableSlots.")
    service: ServiceCode = strawberry.field(description="The service to be served for.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Any unique string (e.g. a UUID): retrying with the same key returns the "
        "same booking and never books twice.",
    )


@strawberry.input(description="Which appointment to move, and where.")
class RescheduleAppointmentInput:
    appointment_id: strawberry.ID = strawberry.field(description="The booked appointment.")
    slot_id: strawberry.ID = strawberry.field(description="The new slot.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the same outcome."
    )


@strawberry.input(description="A day an office closes.")
class AddOfficeClosureInput:
    office_id: strawberry.ID = strawberry.field(description="The office.")
    date: dt.date = strawberry.field(description="The day, in the office's time zone.")
    reason: str = strawberry.field(description="Why it closes; shown to the public.")


@strawberry.type(
    description="The closure is recorded; that day's booked appointments were cancelled."
)
class OfficeClosureAdded:
    closure: Closure = strawberry.field(description="The new closure.")
    cancelled_appointments: int = strawberry.field(
        description="How many booked appointments this closure cancelled as "
        "CANCELLED_BY_OFFICE (none already started, none an earlier closure cancelled)."
    )


BookAppointmentResult = result_union(
    "bookAppointment",
    BookingConfirmed,
    SlotUnavailable,
    AlreadyBooked,
    NotPermitted,
    ValidationError,
    RateLimited,
)
CancelAppointmentResult = result_union(
    "cancelAppointment", AppointmentCancelled, ChangeWindowClosed, NotPermitted
)
RescheduleAppointmentResult = result_union(
    "rescheduleAppointment",
    AppointmentRescheduled,
    SlotUnavailable,
    ChangeWindowClosed,
    RescheduleLimitReached,
    NotPermitted,
    ValidationError,
    RateLimited,
)
CheckInAppointmentResult = result_union(
    "checkInAppointment", AppointmentCheckedIn, NotPermitted, ValidationError
)
AddOfficeClosureResult = result_union(
    "addOfficeClosure", OfficeClosureAdded, ValidationError, NotPermitted
)

IdArg = Annotated[strawberry.ID, strawberry.argument(description="The appointment.")]


def count_booking(mutation_name: str, answer: object) -> None:
    """Count an answer of a booking mutation in BOOKINGS, by the mutation's name and the
    member of its result union answered."""
    BOOKINGS.labels(mutation_name, type(answer).__name__).inc()


@strawberry.type(description="Mutations on appointments.")
class AppointmentMutations:
    @mutation(
        "Book a place in a slot for yourself or a dependant. Capacity is enforced atomically; "
        "one active appointment per applicant and service. Staff book for anyone: admins at "
        "every office, officers at their own (NotPermitted elsewhere). Booking the slot a "
        "waitlist offer holds for the applicant takes that place (as acceptWaitlistOffer).",
        answered=count_booking,
    )
    async def book_appointment(
        self,
        info: Info,
        input: Annotated[BookAppointmentInput, strawberry.argument(description="What to book.")],
    ) -> BookAppointmentResult:
        return await resolve.book(
            info.context,
            person_id=pk_of(input.applicant_id, "Person"),
            slot_id=pk_of(input.slot_id, "Slot"),
            service=input.service.value,
            idempotency_key=input.idempotency_key,
        )

    @mutation(
        "Cancel a booked appointment (until it starts); frees its place. An officer cancels "
        "at their own office only; when staff cancel, the applicant is told "
        "(APPOINTMENT_CANCELLED_BY_OFFICE)."
    )
    async def cancel_appointment(self, info: Info, id: IdArg) -> CancelAppointmentResult:
        return await resolve.cancel(info.context, pk_of(id, "Appointment"))

    @mutation(
        "Move a booked appointment to another slot in one step: the new place is taken and "
        "the old one freed, or nothing changes. Limited in count and until a set time before "
        "the start. An officer moves appointments within their own office only.",
        success=lambda pair: AppointmentRescheduled(
            appointment=Appointment.from_row(pair[0]), previous=Appointment.from_row(pair[1])
        ),
        answered=count_booking,
    )
    async def reschedule_appointment(
        self,
        info: Info,
        input: Annotated[
            RescheduleAppointmentInput,
            strawberry.argument(description="The appointment and its new slot."),
        ],
    ) -> RescheduleAppointmentResult:
        return await resolve.reschedule(
            info.context,
            appointment_id=pk_of(input.appointment_id, "Appointment"),
            slot_id=pk_of(input.slot_id, "Slot"),
            idempotency_key=input.idempotency_key,
        )

    @mutation("Officers of the office (and admins): the applicant arrived.")
    async def check_in_appointment(self, info: Info, id: IdArg) -> CheckInAppointmentResult:
        return await resolve.check_in(info.context, pk_of(id, "Appointment"))

    @mutation(
        "Admins: close an office on a day; booked appointments that day not started yet are "
        "cancelled as CANCELLED_BY_OFFICE and their applicants told (one already started is "
        "left to check-in or the no-show sweep).",
        success=lambda added: OfficeClosureAdded(
            closure=Closure(date=added.day, reason=added.reason),
            cancelled_appointments=added.cancelled,
        ),
    )
    async def add_office_closure(
        self,
        info: Info,
        input: Annotated[AddOfficeClosureInput, strawberry.argument(description="The closure.")],
    ) -> AddOfficeClosureResult:
        return await resolve.add_closure(
            info.context, pk_of(input.office_id, "Office"), input.date, input.reason
        )


def appointment_page(rows: list[AppointmentRow], offset: int, size: int) -> AppointmentConnection:
    return page_of(AppointmentConnection, AppointmentEdge, Appointment.from_row, rows, offset, size)
