"""The reminder scan sends the ids it found in parts (persistence/reminders.IDS_PER_STATEMENT):
at national volume one statement would carry more than the 32,767 parameters asyncpg takes
(~200,000 documents end in the scan's window at a million persons), and every round failed.
Parts of one id must answer exactly as one statement does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from persistence import reminders as reminder_store
from tests.helpers import beijing_today, member_with_person
from tests.test_reminders import residence_permit


async def test_the_scan_answers_the_same_in_parts_of_one_id(client, monkeypatch):
    today = beijing_today()
    first, last = today + timedelta(days=500), today + timedelta(days=510)
    members = [await member_with_person(client) for _ in range(3)]
    ending = [await residence_permit(m, first + timedelta(days=i)) for i, m in enumerate(members)]
    # The third person's permit was extended: a later one replaces it, no reminder.
    await residence_permit(members[2], last + timedelta(days=365))

    whole = await reminder_store.documents_ending_between(first, last)
    monkeypatch.setattr(reminder_store, "IDS_PER_STATEMENT", 1)
    parts = await reminder_store.documents_ending_between(first, last)

    assert [d.id for d in parts] == [d.id for d in whole]
    assert {ending[0].id, ending[1].id} <= {d.id for d in parts}
    assert ending[2].id not in {d.id for d in parts}

    now = datetime.now(UTC)
    keys = [("DOCUMENT_EXPIRING", "Document", d.id, first) for d in ending]
    for key in keys[:2]:
        assert await reminder_store.claim(*key, now)
    assert await reminder_store.made(keys) == set(keys[:2])
