"""Indexes for the reads that filter a large table by a foreign key, in the order the reads
sort (ascending columns: PostgreSQL and SQLite read them backwards for the DESC orders)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0003_delegation_requested_for")]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name="Application",
            name=None,
            fields=["applicant_id", "submitted_at"],
        ),
        ops.AddIndex(
            model_name="Application",
            index=Index(
                fields=["applicant_id", "submitted_at", "id"], name="ix_application_applicant"
            ),
        ),
        ops.AddIndex(
            model_name="ApplicationEvent",
            index=Index(fields=["application_id", "at", "id"], name="ix_application_event_app"),
        ),
        ops.RemoveIndex(
            model_name="Appointment",
            name=None,
            fields=["applicant_id", "created_at"],
        ),
        ops.AddIndex(
            model_name="Appointment",
            index=Index(
                fields=["applicant_id", "starts_at", "id"], name="ix_appointment_applicant"
            ),
        ),
        ops.AddIndex(
            model_name="Appointment",
            index=Index(fields=["office_id", "starts_at", "id"], name="ix_appointment_office"),
        ),
        ops.AddIndex(
            model_name="Appointment",
            index=Index(fields=["slot_id"], name="ix_appointment_slot"),
        ),
        ops.AddIndex(
            model_name="Appointment",
            index=Index(fields=["rescheduled_from_id"], name="ix_appointment_rescheduled_from"),
        ),
        ops.RemoveIndex(
            model_name="AuditEvent",
            name=None,
            fields=["subject_id", "at"],
        ),
        ops.AddIndex(
            model_name="AuditEvent",
            index=Index(fields=["subject_id", "at", "id"], name="ix_audit_event_subject"),
        ),
        ops.AddIndex(
            model_name="Certificate",
            index=Index(fields=["person_id"], name="ix_certificate_person"),
        ),
        ops.AddIndex(
            model_name="Delegation",
            index=Index(fields=["helper_id", "created_at", "id"], name="ix_delegation_helper"),
        ),
        ops.AddIndex(
            model_name="Delegation",
            index=Index(
                fields=["dependant_id", "created_at", "id"], name="ix_delegation_dependant"
            ),
        ),
        ops.AddIndex(
            model_name="Document",
            index=Index(fields=["person_id", "valid_until", "id"], name="ix_document_person"),
        ),
        ops.AddIndex(
            model_name="OfficeHours",
            index=Index(fields=["office_id", "weekday", "opens"], name="ix_office_hours_office"),
        ),
        ops.AddIndex(
            model_name="Passport",
            index=Index(
                fields=["person_id", "is_current", "bound_from"], name="ix_passport_person"
            ),
        ),
        ops.AddIndex(
            model_name="PermanentResidentCard",
            index=Index(fields=["person_id", "issued_on", "id"], name="ix_pr_card_person"),
        ),
        ops.AddIndex(
            model_name="RefreshToken",
            index=Index(fields=["account_id"], name="ix_refresh_token_account"),
        ),
    ]
