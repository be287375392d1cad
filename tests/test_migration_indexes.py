"""The migrated database has every index the models declare, on SQLite and on PostgreSQL.

SQLite alters a column by rebuilding the table, and a rebuild drops the table's indexes (0005
lost the refresh-token ones, 0008 makes them again): this compares the database the test
server migrated from empty with the models, so a later rebuild that loses one fails here."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections


def _declared() -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every index the models declare: db_index fields and Meta.indexes."""
    wanted: set[tuple[str, tuple[str, ...]]] = set()
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        for name, field in meta.fields_map.items():
            if getattr(field, "index", False) and not field.pk:
                wanted.add((meta.db_table, (meta.fields_db_projection[name],)))
        for index in meta.indexes:
            columns = getattr(index, "fields", index)
            wanted.add((meta.db_table, tuple(columns)))
    return wanted


async def _present(backend: str) -> set[tuple[str, tuple[str, ...]]]:
    conn = connections.get("default")
    found: set[tuple[str, tuple[str, ...]]] = set()
    if backend == "sqlite":
        _, rows = await conn.execute_query(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"
        )
        for row in rows:
            _, columns = await conn.execute_query(f'PRAGMA index_info("{row["name"]}")')
            ordered = sorted(columns, key=lambda c: c["seqno"])
            found.add((row["tbl_name"], tuple(c["name"] for c in ordered)))
    else:
        _, rows = await conn.execute_query(
            "SELECT t.relname AS tbl, array_agg(a.attname ORDER BY k.n) AS cols "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = current_schema() "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "GROUP BY i.indexrelid, t.relname"
        )
        found = {(row["tbl"], tuple(row["cols"])) for row in rows}
    return found


async def test_every_declared_index_exists_after_migrating_from_empty(
    app: Any, backend: str
) -> None:
    missing = _declared() - await _present(backend)
    assert not missing, f"indexes the models declare but the migrated {backend} lacks: {missing}"


async def test_the_check_sees_a_dropped_index(app: Any, backend: str) -> None:
    conn = connections.get("default")
    await conn.execute_script('DROP INDEX "ix_refresh_token_account"')
    try:
        assert ("refresh_token", ("account_id",)) in _declared() - await _present(backend)
    finally:
        await conn.execute_script(
            'CREATE INDEX "ix_refresh_token_account" ON "refresh_token" ("account_id")'
        )
