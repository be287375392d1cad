"""A delegation that is ACTIVE because its dependant was a minor without an account (neither
answered by the dependant nor confirmed by an officer) holds until the day before the
dependant turns 18 at the latest: from then on an adult answers for themselves. Rows made
before that rule get the same last day (an earlier `valid_until` of the helper's stays);
those whose dependant is an adult already expire on the next read and upkeep. Backward leaves
the dates as they are (the earlier ones are not kept)."""

from datetime import date, timedelta

from tortoise import migrations
from tortoise.migrations import operations as ops


def _represented_until(birth_date: date, valid_until: date | None) -> date:
    """The rule as it stood when this migration was written (domain.delegation's
    represented_until), kept here so that a later change to the rule does not change what
    this migration did: the day before the 18th birthday (born on 29 February: 28 February),
    or the helper's earlier last day."""
    try:
        birthday = birth_date.replace(year=birth_date.year + 18)
    except ValueError:  # 29 February in a common year: 18 on 1 March
        birthday = date(birth_date.year + 18, 3, 1)
    cap = birthday - timedelta(days=1)
    return cap if valid_until is None else min(valid_until, cap)

_MINOR_RULE = """
SELECT "delegation"."id", "delegation"."valid_until", "person"."birth_date"
FROM "delegation" JOIN "person" ON "person"."id" = "delegation"."dependant_id"
WHERE "delegation"."status" = 'ACTIVE' AND "delegation"."responded_at" IS NULL
  AND "delegation"."confirmed_by_id" IS NULL
"""


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    update = (
        'UPDATE "delegation" SET "valid_until" = ? WHERE "id" = ?'
        if sqlite
        else 'UPDATE "delegation" SET "valid_until" = $1 WHERE "id" = $2'
    )
    _, rows = await client.execute_query(_MINOR_RULE)
    for row in rows:
        valid_until, birth_date = row["valid_until"], row["birth_date"]
        if sqlite:  # SQLite hands dates back as text
            valid_until = date.fromisoformat(valid_until) if valid_until else None
            birth_date = date.fromisoformat(birth_date)
        capped = _represented_until(birth_date, valid_until)
        if capped != valid_until:
            await client.execute_query(update, [capped, row["id"]])


async def backward(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0014_delegation_one_open")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
