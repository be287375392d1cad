"""Writing and reading the audit trail of reads and actions on a person's records."""

from __future__ import annotations

from persistence.combined_reads import array_literal
from persistence.models import AuditEvent

# Rows per INSERT: far below SQLite's 32,766 parameters at 7 columns a row.
CHUNK = 1000


def _insert_sql(postgres: bool, columns: list[str], types: list[str], rows: int) -> str:
    table = AuditEvent._meta.db_table
    names = ", ".join(f'"{c}"' for c in columns)
    if postgres:
        # One array per column, sent as its text (see combined_reads.array_literal): the
        # same statement (prepared once per connection) for any number of rows.
        arrays = ", ".join(f"CAST(${i + 1}::text AS {t}[])" for i, t in enumerate(types))
        return f'INSERT INTO "{table}" ({names}) SELECT * FROM unnest({arrays})'  # noqa: S608
    row = "(" + ", ".join("?" * len(columns)) + ")"
    return f'INSERT INTO "{table}" ({names}) VALUES ' + ", ".join([row] * rows)  # noqa: S608


async def write_audit(events: list[AuditEvent]) -> None:
    """Write the audit events a request collected, in one INSERT statement. (Tortoise's
    bulk_create sends one statement per row on PostgreSQL, inside a BEGIN and a COMMIT.)"""
    if not events:
        return
    client = AuditEvent._choose_db(for_write=True)
    postgres = client.capabilities.dialect == "postgres"
    meta = AuditEvent._meta
    names = [n for n in meta.fields_db_projection if n != meta.pk_attr]
    fields = [meta.fields_map[n] for n in names]
    columns = [meta.fields_db_projection[n] for n in names]
    types = [f.get_for_dialect("postgres", "SQL_TYPE") for f in fields]
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        rows = [
            [f.to_db_value(getattr(e, n), e) for n, f in zip(names, fields, strict=True)]
            for e in chunk
        ]
        if postgres:
            params: list = [array_literal(column) for column in zip(*rows, strict=True)]
        else:
            params = [value for row in rows for value in row]
        await client.execute_query(_insert_sql(postgres, columns, types, len(chunk)), params)
