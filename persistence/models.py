"""Tortoise models: the tables of the service. Times are stored in UTC."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.application_numbers import MAX_NUMBER_LENGTH
from domain.dates import HOME_ZONE_NAME
from domain.notifications import Kind


class Role(StrEnum):
    APPLICANT = "APPLICANT"
    OFFICER = "OFFICER"
    ADMIN = "ADMIN"
    ANALYST = "ANALYST"


class ServiceGroup(StrEnum):
    VISA = "VISA"
    RESIDENCE = "RESIDENCE"


class AppointmentStatus(StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    CANCELLED_BY_OFFICE = "CANCELLED_BY_OFFICE"
    RESCHEDULED = "RESCHEDULED"
    CHECKED_IN = "CHECKED_IN"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


class DelegationStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    DECLINED = "DECLINED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class KeyPurpose(StrEnum):
    ACCESS = "ACCESS"
    DOCUMENT = "DOCUMENT"


class KeyState(StrEnum):
    NEXT = "NEXT"
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


class Record(Model):
    """A table's row. Making one with a keyword that names no field of the table is an error:
    Tortoise itself would drop the value without a word, and a misspelled column in a
    `create(**values)` would lose what the caller meant to store."""

    class Meta:
        abstract = True

    def __init__(self, **kwargs: Any) -> None:
        unknown = kwargs.keys() - self._meta.fields_map.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        super().__init__(**kwargs)


# The foreign keys, by what becomes of a row when the row it refers to is deleted.
def _part_of(model: str, related_name: str) -> Any:
    """A reference to the `model` row this one is part of: deleted with it."""
    return fields.ForeignKeyField(
        f"models.{model}", related_name=related_name, on_delete=fields.CASCADE
    )


def _refers_to(model: str, related_name: str) -> Any:
    """A reference this row cannot do without: the `model` row cannot be deleted while this
    row refers to it."""
    return fields.ForeignKeyField(
        f"models.{model}", related_name=related_name, on_delete=fields.RESTRICT
    )


def _may_refer_to(model: str, related_name: str) -> Any:
    """An optional reference, cleared when the `model` row is deleted."""
    return fields.ForeignKeyField(
        f"models.{model}", related_name=related_name, null=True, on_delete=fields.SET_NULL
    )


class Office(Record):
    """An exit-entry service centre."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name_en = fields.CharField(max_length=200)
    name_zh = fields.CharField(max_length=200)
    address_en = fields.CharField(max_length=400)
    address_zh = fields.CharField(max_length=400)
    province = fields.CharField(max_length=64, db_index=True)
    province_code = fields.CharField(max_length=2)
    city = fields.CharField(max_length=64, db_index=True)
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    phone = fields.CharField(max_length=40)
    time_zone = fields.CharField(max_length=64, default=HOME_ZONE_NAME)
    counters_visa = fields.SmallIntField(default=1)
    counters_residence = fields.SmallIntField(default=1)

    class Meta:
        table = "office"


class OfficeHours(Record):
    """One opening interval of an office's weekly schedule (weekday 1 = Monday)."""

    id = fields.IntField(primary_key=True)
    office: fields.ForeignKeyRelation[Office] = _part_of("Office", "hours")
    weekday = fields.SmallIntField()
    opens = fields.CharField(max_length=5)
    closes = fields.CharField(max_length=5)

    class Meta:
        table = "office_hours"
        indexes = (Index(fields=("office_id", "weekday", "opens"), name="ix_office_hours_office"),)


class OfficeService(Record):
    """A service an office offers."""

    id = fields.IntField(primary_key=True)
    office: fields.ForeignKeyRelation[Office] = _part_of("Office", "offered")
    service = fields.CharField(max_length=40)

    class Meta:
        table = "office_service"
        unique_together = (("office", "service"),)


class OfficeClosure(Record):
    """A day an office is closed on top of the official calendar."""

    id = fields.IntField(primary_key=True)
    office: fields.ForeignKeyRelation[Office] = _part_of("Office", "closures")
    date = fields.DateField()
    reason_en = fields.CharField(max_length=400, null=True)
    reason_zh = fields.CharField(max_length=400, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "office_closure"
        unique_together = (("office", "date"),)


class CalendarDay(Record):
    """A day of China's official calendar that differs from the plain week."""

    day = fields.DateField(primary_key=True)
    kind = fields.CharField(max_length=20)
    name = fields.CharField(max_length=100)
    provisional = fields.BooleanField(default=False)

    class Meta:
        table = "calendar_day"


class CalendarYear(Record):
    """Which years the calendar data covers, and whether only provisionally."""

    id = fields.IntField(primary_key=True)
    year = fields.IntField(unique=True)
    provisional = fields.BooleanField()

    class Meta:
        table = "calendar_year"


class ServiceType(Record):
    """An entry of the service catalogue."""

    code = fields.CharField(max_length=40, primary_key=True)
    name_en = fields.CharField(max_length=200)
    name_zh = fields.CharField(max_length=200)
    # Names in the further languages (unofficial translations); null until the reference data
    # fills them in, and a null name shows the English one.
    name_ko = fields.CharField(max_length=200, null=True)
    name_ja = fields.CharField(max_length=200, null=True)
    name_ru = fields.CharField(max_length=200, null=True)
    name_fr = fields.CharField(max_length=200, null=True)
    name_es = fields.CharField(max_length=200, null=True)
    name_ar = fields.CharField(max_length=200, null=True)
    group = fields.CharField(max_length=20)
    processing_working_days = fields.SmallIntField()
    position = fields.SmallIntField(default=0)

    class Meta:
        table = "service_type"


class Guidance(Record):
    """One version of the guidance for a service in one language."""

    id = fields.IntField(primary_key=True)
    service = fields.CharField(max_length=40)
    lang = fields.CharField(max_length=2)
    version = fields.IntField()
    effective_from = fields.DateField()
    content = fields.JSONField()

    class Meta:
        table = "guidance"
        unique_together = (("service", "lang", "version"),)


class Person(Record):
    """A foreigner known to the administration."""

    id = fields.IntField(primary_key=True)
    surname = fields.CharField(max_length=100)
    given_names = fields.CharField(max_length=200)
    surname_key = fields.CharField(max_length=100, db_index=True)
    nationality = fields.CharField(max_length=3)
    birth_date = fields.DateField()
    sex = fields.CharField(max_length=1)
    # Opaque subject for signed documents; never the database id.
    subject = fields.CharField(max_length=40, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"


class Passport(Record):
    """A passport bound to a person: one is current, earlier ones are superseded.

    Migration 0002 adds a partial unique index: at most one current passport per person.
    """

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = _refers_to("Person", "passports")
    number = fields.CharField(max_length=20)
    issuing_country = fields.CharField(max_length=3)
    valid_until = fields.DateField()
    bound_from = fields.DateField()
    bound_until = fields.DateField(null=True)
    is_current = fields.BooleanField(default=True)

    class Meta:
        table = "passport"
        unique_together = (("number", "issuing_country"),)
        # passports_by_person: ORDER BY is_current DESC, bound_from DESC (read backwards).
        indexes = (
            Index(fields=("person_id", "is_current", "bound_from"), name="ix_passport_person"),
        )


class Account(Record):
    """A sign-in: an e-mail, a password hash, roles, and at most one person."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=100)
    password_hash = fields.CharField(max_length=200)
    person: fields.OneToOneNullableRelation[Person] = fields.OneToOneField(
        "models.Person", related_name="account", null=True, on_delete=fields.SET_NULL
    )
    office: fields.ForeignKeyNullableRelation[Office] = fields.ForeignKeyField(
        "models.Office", related_name="staff", null=True, on_delete=fields.RESTRICT
    )
    password_changed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # When the owner proved the address (the mailed link); reset when the address changes.
    email_verified_at = fields.DatetimeField(null=True)
    # Language code chosen with setPreferences; else the one negotiated at the last sign-in.
    language = fields.CharField(max_length=2, null=True)
    signin_language = fields.CharField(max_length=2, null=True)
    # {NotificationKind: [channels]} for the kinds the owner changed; others (and NULL): every
    # channel. Nullable so that SQLite adds the column in place rather than rebuilding the table.
    notification_preferences = fields.JSONField(null=True)
    # The person staff unlinked this account from (a wrong match): it may not link itself to
    # them again; the person's own account links afresh.
    unlinked_person_id = fields.IntField(null=True)

    class Meta:
        table = "account"


class AccountRole(Record):
    """A role held by an account."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = _part_of("Account", "role_rows")
    role = fields.CharField(max_length=20)

    class Meta:
        table = "account_role"
        unique_together = (("account", "role"),)


class RefreshToken(Record):
    """A refresh token, stored hashed. Tokens rotated from one sign-in share a family."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = _part_of("Account", "refresh_tokens")
    family = fields.CharField(max_length=40, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    # Indexed: the revocations of the last minutes are read back when a process starts.
    revoked_at = fields.DatetimeField(null=True, db_index=True)
    # The successor's value, encrypted under this token's own value, kept only during the
    # reuse grace window so that a second presentation of this token gets the same successor.
    successor_sealed = fields.TextField(null=True)

    class Meta:
        table = "refresh_token"
        indexes = (Index(fields=("account_id",), name="ix_refresh_token_account"),)


class SigningKey(Record):
    """A signing key pair. The private half is encrypted at rest."""

    kid = fields.CharField(max_length=64, primary_key=True)
    purpose = fields.CharField(max_length=10)
    state = fields.CharField(max_length=10)
    alg = fields.CharField(max_length=10)
    public_jwk = fields.JSONField()
    private_pem = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    activated_at = fields.DatetimeField(null=True)
    retired_at = fields.DatetimeField(null=True)
    # The last moment a document signed with this key is valid: it is published until then.
    last_expiry = fields.DatetimeField(null=True)

    class Meta:
        table = "signing_key"


class Slot(Record):
    """A bookable time at an office for one service group.

    Migration 0002 makes the database refuse `booked` outside 0..capacity, and the waitlist's
    migration `booked + held` above capacity.
    """

    id = fields.IntField(primary_key=True)
    office: fields.ForeignKeyRelation[Office] = _part_of("Office", "slots")
    service_group = fields.CharField(max_length=20)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.SmallIntField()
    booked = fields.SmallIntField(default=0)
    # Places held for waitlist offers: nobody else may book them (a booking needs
    # booked + held < capacity); accepting an offer turns its hold into a booking. A database
    # default, so that adding the column keeps the table (and its capacity triggers) on SQLite.
    held = fields.SmallIntField(default=0, db_default=0)
    # False when a closure was added over it: it offers no places any more.
    open = fields.BooleanField(default=True)

    class Meta:
        table = "slot"
        unique_together = (("office", "service_group", "starts_at"),)
        indexes = (("office_id", "starts_at"),)


class Delegation(Record):
    """A helper account's right to act for a dependant person within scopes."""

    id = fields.IntField(primary_key=True)
    helper: fields.ForeignKeyRelation[Account] = _part_of("Account", "delegations_given")
    dependant: fields.ForeignKeyRelation[Person] = _part_of("Person", "delegations")
    relationship = fields.CharField(max_length=20)
    scopes = fields.JSONField()
    status = fields.CharField(max_length=10, db_index=True)
    valid_until = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    pending_until = fields.DatetimeField(null=True)
    responded_at = fields.DatetimeField(null=True)
    confirmed_by: fields.ForeignKeyNullableRelation[Account] = _may_refer_to(
        "Account", "delegations_confirmed"
    )
    ended_at = fields.DatetimeField(null=True)
    # What the helper typed when adding the dependant: shown back to the helper while the
    # delegation is not ACTIVE, instead of anything read from the person's record.
    requested_surname = fields.CharField(max_length=100, default="")
    requested_nationality = fields.CharField(max_length=3, default="")
    requested_birth_date = fields.DateField(null=True)

    class Meta:
        table = "delegation"
        # Authorization reads a helper's delegations on every request that acts for someone;
        # Viewer.dependants / helpers list them by created_at DESC, id DESC.
        indexes = (
            Index(fields=("helper_id", "created_at", "id"), name="ix_delegation_helper"),
            Index(fields=("dependant_id", "created_at", "id"), name="ix_delegation_dependant"),
        )


class Appointment(Record):
    """A booked place in a slot for one applicant and one service."""

    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=16, unique=True)
    applicant: fields.ForeignKeyRelation[Person] = _refers_to("Person", "appointments")
    service = fields.CharField(max_length=40)
    office: fields.ForeignKeyRelation[Office] = _refers_to("Office", "appointments")
    slot: fields.ForeignKeyRelation[Slot] = _refers_to("Slot", "appointments")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharField(max_length=24, db_index=True)
    # Set while the appointment is active (BOOKED or CHECKED_IN), NULL otherwise: the unique
    # constraint on it is what allows one active appointment per applicant and service.
    active_key = fields.CharField(max_length=80, null=True, unique=True)
    booked_by: fields.ForeignKeyRelation[Account] = _refers_to("Account", "bookings")
    # SELF, HELPER, OFFICER or ADMIN: in what capacity the booking was made.
    booked_by_kind = fields.CharField(max_length=10)
    delegation: fields.ForeignKeyNullableRelation[Delegation] = _may_refer_to(
        "Delegation", "appointments"
    )
    reschedule_count = fields.SmallIntField(default=0)
    rescheduled_from: fields.ForeignKeyNullableRelation[Appointment] = _may_refer_to(
        "Appointment", "rescheduled_to_rows"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "appointment"
        indexes = (
            # A person's appointments: ORDER BY starts_at DESC, id DESC (read backwards).
            Index(fields=("applicant_id", "starts_at", "id"), name="ix_appointment_applicant"),
            # An office's day: ORDER BY starts_at, id.
            Index(fields=("office_id", "starts_at", "id"), name="ix_appointment_office"),
            # Closing a day cancels the appointments of each slot.
            Index(fields=("slot_id",), name="ix_appointment_slot"),
            # Appointment.rescheduledTo.
            Index(fields=("rescheduled_from_id",), name="ix_appointment_rescheduled_from"),
        )


class WaitlistStatus(StrEnum):
    WAITING = "WAITING"
    OFFERED = "OFFERED"
    BOOKED = "BOOKED"
    EXPIRED = "EXPIRED"
    LEFT = "LEFT"


class WaitlistEntry(Record):
    """A person waiting for a place at an office for a service on one of a range of days.

    A freed place is offered to the first WAITING entry (join order: id) of the office and
    service group whose range holds it, and held on the slot (`Slot.held`) until the offer is
    accepted, declined or runs out."""

    id = fields.IntField(primary_key=True)
    applicant: fields.ForeignKeyRelation[Person] = _refers_to("Person", "waitlist_entries")
    service = fields.CharField(max_length=40)
    # The slots' group of the service: places of any service of the group are offered.
    service_group = fields.CharField(max_length=20)
    office: fields.ForeignKeyRelation[Office] = _refers_to("Office", "waitlist_entries")
    first_day = fields.DateField()
    last_day = fields.DateField()
    status = fields.CharField(max_length=10)
    # Set while WAITING or OFFERED, NULL otherwise: its uniqueness allows one entry in line per
    # applicant and service, however many requests race to join.
    active_key = fields.CharField(max_length=80, null=True, unique=True)
    joined_by: fields.ForeignKeyRelation[Account] = _refers_to("Account", "waitlist_joins")
    # SELF, HELPER, OFFICER or ADMIN: in what capacity the entry was made.
    joined_by_kind = fields.CharField(max_length=10)
    delegation: fields.ForeignKeyNullableRelation[Delegation] = _may_refer_to(
        "Delegation", "waitlist_entries"
    )
    created_at = fields.DatetimeField()
    # While OFFERED: the slot whose place is held, and until when.
    offer_slot: fields.ForeignKeyNullableRelation[Slot] = _may_refer_to("Slot", "waitlist_offers")
    offered_at = fields.DatetimeField(null=True)
    offer_expires_at = fields.DatetimeField(null=True)
    # BOOKED: the appointment the applicant holds for the service.
    appointment: fields.ForeignKeyNullableRelation[Appointment] = _may_refer_to(
        "Appointment", "waitlist_entries"
    )
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "waitlist_entry"
        indexes = (
            # The line of an office and service group: WAITING (or OFFERED) entries by id.
            Index(fields=("office_id", "service_group", "status", "id"), name="ix_waitlist_line"),
            # Offers running out, for the expiry loop.
            Index(fields=("status", "offer_expires_at"), name="ix_waitlist_offer_expiry"),
            # Person.waitlist: newest first (read backwards).
            Index(fields=("applicant_id", "created_at", "id"), name="ix_waitlist_applicant"),
        )


class IdempotencyRecord(Record):
    """The outcome of a mutation sent with an idempotency key, replayed on a retry."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = _part_of("Account", "idempotency_records")
    operation = fields.CharField(max_length=40)
    key = fields.CharField(max_length=100)
    request_hash = fields.CharField(max_length=64)
    outcome = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("account", "operation", "key"),)


class Application(Record):
    """An application lodged at an office."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=MAX_NUMBER_LENGTH, unique=True)
    applicant: fields.ForeignKeyRelation[Person] = _refers_to("Person", "applications")
    service = fields.CharField(max_length=40)
    office: fields.ForeignKeyRelation[Office] = _refers_to("Office", "applications")
    appointment: fields.ForeignKeyNullableRelation[Appointment] = _may_refer_to(
        "Appointment", "applications"
    )
    status = fields.CharField(max_length=24, db_index=True)
    submitted_at = fields.DatetimeField()
    accepted_on = fields.DateField(null=True)
    decided_at = fields.DatetimeField(null=True)
    recorded_by: fields.ForeignKeyRelation[Account] = _refers_to("Account", "applications_recorded")

    class Meta:
        table = "application"
        # A person's applications: ORDER BY submitted_at DESC, id DESC (read backwards).
        # An office's queue: ORDER BY submitted_at, id, of one status or of all.
        indexes = (
            Index(fields=("applicant_id", "submitted_at", "id"), name="ix_application_applicant"),
            Index(
                fields=("office_id", "status", "submitted_at", "id"),
                name="ix_application_office_status",
            ),
            Index(fields=("office_id", "submitted_at", "id"), name="ix_application_office"),
        )


class ApplicationCounter(Record):
    """The last application number given per office and year."""

    id = fields.IntField(primary_key=True)
    office: fields.ForeignKeyRelation[Office] = _part_of("Office", "application_counters")
    year = fields.IntField()
    last_number = fields.IntField(default=0)

    class Meta:
        table = "application_counter"
        unique_together = (("office", "year"),)


class ApplicationEvent(Record):
    """A dated status change of an application."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = _part_of("Application", "events")
    status = fields.CharField(max_length=24)
    at = fields.DatetimeField()
    note = fields.TextField(null=True)
    actor: fields.ForeignKeyNullableRelation[Account] = _may_refer_to(
        "Account", "application_events"
    )
    # The capacity the event was recorded in (ActorKind: SELF, HELPER, OFFICER, ADMIN, SYSTEM);
    # an account may hold several roles, so its roles today do not say it. Null: recorded
    # before actors were kept.
    actor_kind = fields.CharField(max_length=10, null=True)

    class Meta:
        table = "application_event"
        indexes = (Index(fields=("application_id", "at", "id"), name="ix_application_event_app"),)


class Document(Record):
    """An issued visa, stay permit or residence permit."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = _refers_to("Person", "documents")
    application: fields.ForeignKeyNullableRelation[Application] = _may_refer_to(
        "Application", "documents"
    )
    kind = fields.CharField(max_length=20)
    category = fields.CharField(max_length=30)
    number = fields.CharField(max_length=40, unique=True)
    valid_from = fields.DateField()
    valid_until = fields.DateField()
    entries = fields.CharField(max_length=10, null=True)
    duration_of_stay_days = fields.IntField(null=True)
    issued_by: fields.ForeignKeyNullableRelation[Office] = _may_refer_to(
        "Office", "documents_issued"
    )
    issued_at = fields.DatetimeField(auto_now_add=True)
    # A document replaced by a later one of the same kind (an extension, a renewal, a
    # reissuance: domain.documents.supersedes) is no longer valid from `superseded_on`.
    superseded_by: fields.ForeignKeyNullableRelation[Document] = _may_refer_to(
        "Document", "supersedes"
    )
    superseded_on = fields.DateField(null=True)

    class Meta:
        table = "document"
        indexes = (
            # A person's documents: ORDER BY valid_until DESC, id DESC (read backwards).
            Index(fields=("person_id", "valid_until", "id"), name="ix_document_person"),
            # The reminder scan: documents ending in the coming weeks, of every person (a few
            # percent of the table; without it, the whole table every round).
            Index(fields=("valid_until",), name="ix_document_valid_until"),
            # An application's document: the reminder scan asks which approved applications
            # were issued one (persistence.reminders.kinds_applied_for), and Application.document.
            Index(fields=("application_id",), name="ix_document_application"),
        )


class PermanentResidentCard(Record):
    """A Foreign Permanent Resident ID Card."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = _refers_to("Person", "pr_cards")
    number = fields.CharField(max_length=18, unique=True)
    issued_on = fields.DateField()
    valid_until = fields.DateField()
    issued_by: fields.ForeignKeyNullableRelation[Office] = _may_refer_to(
        "Office", "pr_cards_issued"
    )

    class Meta:
        table = "pr_card"
        # A person's cards: ORDER BY issued_on DESC, id DESC (read backwards).
        indexes = (Index(fields=("person_id", "issued_on", "id"), name="ix_pr_card_person"),)


class Certificate(Record):
    """A signed passport-information certificate, kept by its token id (jti)."""

    id = fields.IntField(primary_key=True)
    jti = fields.CharField(max_length=64, unique=True)
    person: fields.ForeignKeyRelation[Person] = _refers_to("Person", "certificates")
    issued_by: fields.ForeignKeyRelation[Account] = _refers_to("Account", "certificates_issued")
    delegation: fields.ForeignKeyNullableRelation[Delegation] = _may_refer_to(
        "Delegation", "certificates"
    )
    kid = fields.CharField(max_length=64)
    token = fields.TextField()
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=400, null=True)

    class Meta:
        table = "certificate"
        indexes = (Index(fields=("person_id",), name="ix_certificate_person"),)


class CertificatePresentation(Record):
    """A selective-disclosure presentation made of a certificate, kept by its random token id.

    Only the service links a presentation to its certificate (verifiers see no constant per
    person): verifyDocument finds the certificate here to tell REVOKED, and officers find the
    certificate of a presented code to revoke it. Kept until the certificate expires."""

    id = fields.IntField(primary_key=True)
    jti = fields.CharField(max_length=64, unique=True)
    certificate: fields.ForeignKeyRelation[Certificate] = _part_of("Certificate", "presentations")
    presented_by: fields.ForeignKeyRelation[Account] = _part_of("Account", "presentations_made")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "certificate_presentation"
        indexes = (
            Index(fields=("certificate_id",), name="ix_certificate_presentation_certificate"),
        )


class AuditEvent(Record):
    """A read or an action on a person's records by someone other than that person."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[Account] = _may_refer_to("Account", "audit_events")
    actor_kind = fields.CharField(max_length=10)
    subject: fields.ForeignKeyRelation[Person] = _part_of("Person", "audit_events")
    action = fields.CharField(max_length=60)
    target = fields.CharField(max_length=100, null=True)
    delegation: fields.ForeignKeyNullableRelation[Delegation] = _may_refer_to(
        "Delegation", "audit_events"
    )

    class Meta:
        table = "audit_event"
        # Viewer.actionsOnMyBehalf: ORDER BY at DESC, id DESC (read backwards).
        indexes = (Index(fields=("subject_id", "at", "id"), name="ix_audit_event_subject"),)


# What a notification is about (the contract's NotificationKind): the kinds the domain's
# notification rules know.
NotificationKind = Kind


class Notification(Record):
    """A message in the inbox of one account, about one person.

    Its title and body are rendered from `facts` in the reader's language when read."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = _part_of("Account", "notifications")
    person: fields.ForeignKeyRelation[Person] = _part_of("Person", "notifications")
    kind = fields.CharField(max_length=40)
    # The object it is about, as (GraphQL type name, row id); either may be missing.
    subject_type = fields.CharField(max_length=40, null=True)
    subject_id = fields.IntField(null=True)
    facts = fields.JSONField()
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        # An inbox: ORDER BY created_at DESC, id DESC (read backwards); unread counted apart.
        indexes = (
            Index(fields=("account_id", "created_at", "id"), name="ix_notification_account"),
            Index(fields=("account_id", "read_at"), name="ix_notification_unread"),
        )


class ScheduledReminder(Record):
    """A reminder the scheduler has made, once per kind, subject and due day.

    The unique key makes each one exactly once however many schedulers run: a second insert
    of the same key fails."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=40)
    subject_type = fields.CharField(max_length=40)
    subject_id = fields.IntField()
    due_on = fields.DateField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "scheduled_reminder"
        unique_together = (("kind", "subject_type", "subject_id", "due_on"),)


class Delivery(Record):
    """A mail in the transactional outbox, kept with when it was sent.

    Written in the transaction of the change that causes it and sent by the delivery worker.
    The Message-ID is fixed here so that a resend (after a crash between the server's 250 and
    our commit) carries the same one."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyNullableRelation[Account] = _may_refer_to("Account", "deliveries")
    notification: fields.ForeignKeyNullableRelation[Notification] = _may_refer_to(
        "Notification", "deliveries"
    )
    # A NotificationKind, or EMAIL_VERIFICATION / PASSWORD_RESET for security mail.
    kind = fields.CharField(max_length=40)
    to_address = fields.CharField(max_length=254)
    message_id = fields.CharField(max_length=200, unique=True)
    subject = fields.CharField(max_length=300)
    body = fields.TextField()
    # Security mail carries a one-time link: its body is blanked once sent.
    secret = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A worker that claimed it holds it until then; a killed worker's claim runs out.
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    # Mail that is wrong or useless once a moment has passed (a one-time link's expiry, a
    # reminder's appointment, a waitlist offer's end) is given up, not sent, from then on.
    send_before = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        # The worker's scan: unsent, undead rows due by next_attempt_at.
        indexes = (
            Index(fields=("sent_at", "failed_at", "next_attempt_at"), name="ix_delivery_due"),
        )


class AccountToken(Record):
    """A single-use token mailed to an account for e-mail verification or password reset.

    Only its SHA-256 is kept."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = _part_of("Account", "tokens")
    purpose = fields.CharField(max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    # The address it was sent to: verifying proves that address, not a later one.
    email = fields.CharField(max_length=254)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_token"
        indexes = (Index(fields=("account_id", "purpose"), name="ix_account_token_account"),)
