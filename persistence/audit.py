"""Writing and reading the audit trail of reads and actions on a person's records."""

from __future__ import annotations

from persistence.models import AuditEvent


async def write_audit(events: list[AuditEvent]) -> None:
    """Write the audit events a request collected, in one statement."""
    if events:
        await AuditEvent.bulk_create(events)
