"""The stored rows resolvers hand to the schema, named for the schema's type hints.

The schema imports these names from here, never from `persistence`, so that it depends on
resolvers only; a row is what a resolver returns and what a type's `from_row` reads.
"""

from __future__ import annotations

from persistence.models import Account as AccountRow
from persistence.models import Application as ApplicationRow
from persistence.models import ApplicationEvent as EventRow
from persistence.models import Appointment as AppointmentRow
from persistence.models import AppointmentStatus, Role
from persistence.models import AuditEvent as AuditRow
from persistence.models import Certificate as CertificateRow
from persistence.models import Delegation as DelegationRow
from persistence.models import Document as DocumentRow
from persistence.models import Guidance as GuidanceRow
from persistence.models import Notification as NotificationRow
from persistence.models import Office as OfficeRow
from persistence.models import OfficeClosure as ClosureRow
from persistence.models import Passport as PassportRow
from persistence.models import PermanentResidentCard as CardRow
from persistence.models import Person as PersonRow
from persistence.models import ServiceType as ServiceRow
from persistence.models import Slot as SlotRow
from persistence.models import WaitlistEntry as WaitlistEntryRow

__all__ = [
    "AccountRow",
    "ApplicationRow",
    "AppointmentRow",
    "AppointmentStatus",
    "AuditRow",
    "CardRow",
    "CertificateRow",
    "ClosureRow",
    "DelegationRow",
    "DocumentRow",
    "EventRow",
    "GuidanceRow",
    "NotificationRow",
    "OfficeRow",
    "PassportRow",
    "PersonRow",
    "Role",
    "ServiceRow",
    "SlotRow",
    "WaitlistEntryRow",
]
