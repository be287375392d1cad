"""A document replaced by a later one of the same kind (an extension, a renewal, a reissuance)
records what replaced it and the first day it no longer holds. Documents issued before this
migration are marked the same way, replaying the issues in order: each document issued on an
application for a service other than a first issuance replaces, from the day it took effect (its
issue day in Beijing, or its first valid day when later), the holder's earlier documents of its
kind that would still be in force on a day from then on that it covers (persistence.records'
supersede, as it stood when this was written). Backward drops the columns."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

# The service's home time zone as it stood when this migration was written.
_HOME = ZoneInfo("Asia/Shanghai")

_ISSUED = """
SELECT "document"."id", "document"."person_id", "document"."kind", "document"."valid_from",
       "document"."valid_until", "document"."issued_at", "application"."service"
FROM "document" LEFT JOIN "application" ON "application"."id" = "document"."application_id"
ORDER BY "document"."issued_at", "document"."id"
"""


def _day(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _moment(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    mark = (
        'UPDATE "document" SET "superseded_by_id" = ?, "superseded_on" = ? WHERE "id" = ?'
        if sqlite
        else 'UPDATE "document" SET "superseded_by_id" = $1, "superseded_on" = $2 WHERE "id" = $3'
    )
    _, rows = await client.execute_query(_ISSUED)
    issued: dict[tuple[int, str], list[dict]] = {}  # (person, kind): documents so far
    for row in rows:
        document = {
            "id": row["id"],
            "valid_from": _day(row["valid_from"]),
            "valid_until": _day(row["valid_until"]),
            "superseded_on": None,
        }
        earlier = issued.setdefault((row["person_id"], row["kind"]), [])
        service = row["service"]
        if service is not None and not service.endswith("_ISSUANCE"):
            day = _moment(row["issued_at"]).astimezone(_HOME).date()
            effective = max(day, document["valid_from"])
            for other in earlier:
                if (
                    other["valid_until"] >= effective
                    and (other["superseded_on"] is None or other["superseded_on"] > effective)
                    and other["valid_from"] <= document["valid_until"]
                ):
                    await client.execute_query(mark, [row["id"], effective, other["id"]])
                    other["superseded_on"] = effective
        earlier.append(document)


async def backward(apps, schema_editor) -> None:
    return None


# The document table's indexes as they stood before this migration (0013, 0018 and the first).
_INDEXES_BEFORE = (
    'CREATE INDEX IF NOT EXISTS "ix_document_person" ON "document" '
    '("person_id", "valid_until", "id")',
    'CREATE INDEX IF NOT EXISTS "ix_document_valid_until" ON "document" ("valid_until")',
    'CREATE INDEX IF NOT EXISTS "ix_document_application" ON "document" ("application_id")',
)


async def _nothing(apps, schema_editor) -> None:
    return None


async def indexes_back(apps, schema_editor) -> None:
    """Backward, last: SQLite drops a column by rebuilding the table, and the rebuild drops
    the table's indexes; they are made again (PostgreSQL kept them). The rebuild also keeps the
    reference's column (superseded_by_id, without its reference): dropped here."""
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    _, columns = await client.execute_query('PRAGMA table_info("document")')
    if any(column["name"] == "superseded_by_id" for column in columns):
        await client.execute_script('ALTER TABLE "document" DROP COLUMN "superseded_by_id"')
    for statement in _INDEXES_BEFORE:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0018_document_application_index")]

    initial = False

    operations = [
        ops.RunPython(_nothing, indexes_back),
        ops.AddField(
            model_name="Document",
            name="superseded_by",
            field=fields.ForeignKeyField(
                "models.Document",
                source_field="superseded_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="supersedes",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="Document",
            name="superseded_on",
            field=fields.DateField(null=True),
        ),
        ops.RunPython(forward, backward),
    ]
