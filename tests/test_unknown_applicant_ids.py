"""Staff naming a person who does not exist (the global ID of key 0, or of a key past the
last row) to book or to join a waitlist get NotPermitted, as for anyone else's unknown ID:
never a server error from the database's foreign key, nor an answer about the places."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import gql, sign_in
from tests.helpers import beijing_today, book, gid, office_id, officer_token, pick_slots
from tests.waitlist_lines import JOIN

UNKNOWN = [0, 2**31 - 1]


@pytest.mark.parametrize("pk", UNKNOWN)
async def test_staff_booking_for_a_person_who_does_not_exist_is_not_permitted(
    app, client, clock, pk
):
    (slot,) = await pick_slots(app, client, clock, office="BJ-DC")
    for token in (await officer_token(client), await sign_in(client, "admin@demo.test")):
        result = await book(client, token, gid("Person", pk), slot["id"])
        assert result["__typename"] == "NotPermitted", result


@pytest.mark.parametrize("pk", UNKNOWN)
async def test_staff_joining_a_waitlist_for_a_person_who_does_not_exist_is_not_permitted(
    client, pk
):
    today = beijing_today()
    values = {
        "applicantId": gid("Person", pk),
        "officeId": await office_id(client, "BJ-DC"),
        "service": "RESIDENCE_PERMIT_EXTENSION",
        "from": (today + timedelta(days=3)).isoformat(),
        "to": (today + timedelta(days=10)).isoformat(),
    }
    for token in (await officer_token(client), await sign_in(client, "admin@demo.test")):
        body = await gql(client, JOIN, {"input": values}, token=token)
        assert "errors" not in body, body
        result = body["data"]["joinWaitlist"]
        assert result["__typename"] == "NotPermitted", result
