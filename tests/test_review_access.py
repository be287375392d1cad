"""Who may read and act on a person's round-2 records, tried as an attacker would through HTTP:
presentations only by the holder and a helper with VIEW_DOCUMENTS (not staff), the PDF route
the same 404 for strangers as for nothing, Notification and Certificate nodes never across
accounts, and a dependant's notifications leaving a helper's inbox, node and subscription
once the delegation or its scope ends."""

from __future__ import annotations

import httpx

from persistence.models import AuditEvent
from tests.conftest import sign_in
from tests.helpers import NOT_PERMITTED
from tests.test_certificates import (
    issue_ok,
    pr_holder,
)
from tests.test_presentations import present, present_ok


async def test_staff_may_not_present_someone_elses_certificate(
    client: httpx.AsyncClient,
) -> None:
    """A presentation is the holder's choice of what to show: officers and admins verify and
    revoke, but cannot make one in the holder's name (and nothing is stored or audited)."""
    holder, person = await pr_holder(client)
    certificate = await issue_ok(client, holder, person["id"])
    before = await AuditEvent.filter(action="PRESENT_CERTIFICATE").count()
    for staff in ("officer@demo.test", "admin@demo.test"):
        token = await sign_in(client, staff)
        result = await present(client, token, certificate["id"], ["NAME"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, staff
    assert await AuditEvent.filter(action="PRESENT_CERTIFICATE").count() == before
    # The holder still can.
    assert (await present_ok(client, holder, certificate["id"], ["NAME"]))["disclosed"] == ["NAME"]
