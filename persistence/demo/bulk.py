"""National-volume sample rows, made by the database itself (PostgreSQL only): the query-plan
test and the read-index benchmark load them to see which plans the planner picks at volume.

`load(connection, persons, base)` inserts, set-based, for `persons` persons with ids base+1 ..
base+persons: an account each (with a role and a refresh token), a current passport each and a
superseded one for every other person, two documents, one application with three events and
one appointment each, a PR card and a certificate for every other person, half as many
delegations as persons and two audit events per person. Slots (half as many as persons) start
at :07 and :37 past the hour, so they never collide with generated ones. Every text that must be
unique carries the id, prefixed BK/bulk. The tables must exist (the caller chooses the schema
through the connection's search_path); the `office` table must hold at least one office.
"""

from __future__ import annotations

from typing import Any

# Every table `load` writes, in an order that satisfies the foreign keys.
TABLES = (
    "person",
    "account",
    "account_role",
    "refresh_token",
    "passport",
    "slot",
    "appointment",
    "application",
    "application_event",
    "document",
    "pr_card",
    "delegation",
    "audit_event",
    "certificate",
)

# $1 = number of persons, $2 = id base. Offices are read from the `office` table (o.ids, o.n);
# slots start three days ago, at 7 minutes past the hour.

_STATEMENTS = (
    """INSERT INTO person (id, surname, given_names, surname_key, nationality, birth_date, sex,
        subject, created_at)
    SELECT $2::int + i, 'Bulk', 'P' || i, 'bulk', 'ITA', DATE '1950-01-01' + (i % 20000), 'X',
        'bulk-' || ($2::int + i), now()
    FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO account (id, email, display_name, password_hash, created_at, person_id)
    SELECT $2::int + i, 'bulk-' || ($2::int + i) || '@bulk.test', 'Bulk', 'x', now(), $2::int + i
    FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO account_role (id, role, account_id)
    SELECT $2::int + i, 'APPLICANT', $2::int + i FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO refresh_token (id, family, token_hash, created_at, expires_at, account_id)
    SELECT $2::int + i, 'bulk' || ($2::int + i), 'bulk' || ($2::int + i), now(),
        now() + interval '30 days', $2::int + i
    FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO passport (id, number, issuing_country, valid_until, bound_from, bound_until,
        is_current, person_id)
    SELECT $2::int + i, 'BK' || ($2::int + i), 'ITA', DATE '2031-01-01', DATE '2021-01-01', NULL,
        true, $2::int + i
    FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO passport (id, number, issuing_country, valid_until, bound_from, bound_until,
        is_current, person_id)
    SELECT $2::int + $1::int + i, 'BK' || ($2::int + $1::int + i), 'ITA', DATE '2021-01-01',
        DATE '2016-01-01', DATE '2021-01-01', false, $2::int + 2 * i
    FROM generate_series(1, $1::int / 2) AS i""",
    # (office, group, start) is unique: within each run of 2 * n slots, i % n picks the office
    # and (i / n) % 2 the group; the start moves on by 30 minutes per run.
    """WITH o AS (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM office),
    t AS (SELECT date_trunc('day', now()) - interval '3 days' + interval '7 minutes' AS t0)
    INSERT INTO slot (id, service_group, starts_at, ends_at, capacity, booked, open, office_id)
    SELECT $2::int + i, CASE WHEN (i / o.n) % 2 = 0 THEN 'VISA' ELSE 'RESIDENCE' END,
        t.t0 + (i / (2 * o.n)) * interval '30 minutes',
        t.t0 + (i / (2 * o.n)) * interval '30 minutes' + interval '30 minutes',
        2, 1, true, o.ids[1 + i % o.n]
    FROM generate_series(1, $1::int / 2) AS i, o, t""",
    # One appointment per person, in a slot; every tenth rescheduled from the one before.
    """INSERT INTO appointment (id, reference, service, starts_at, ends_at, status, active_key,
        booked_by_kind, reschedule_count, created_at, updated_at, applicant_id, booked_by_id,
        office_id, rescheduled_from_id, slot_id)
    SELECT $2::int + i, 'BK' || ($2::int + i), 'VISA_EXTENSION', s.starts_at, s.ends_at,
        CASE WHEN i % 10 = 9 THEN 'RESCHEDULED' ELSE 'COMPLETED' END, NULL, 'SELF',
        CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, now(), now(), $2::int + i, $2::int + i,
        s.office_id, CASE WHEN i % 10 = 0 THEN $2::int + i - 1 END, s.id
    FROM generate_series(1, $1::int) AS i
    JOIN slot s ON s.id = $2::int + 1 + i % ($1::int / 2)""",
    """WITH o AS (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM office)
    INSERT INTO application (id, number, service, status, submitted_at, accepted_on,
        applicant_id, office_id, recorded_by_id)
    SELECT $2::int + i, 'BULK-' || ($2::int + i), 'VISA_EXTENSION', 'UNDER_REVIEW',
        now() - (i % 5000) * interval '1 hour', NULL, $2::int + i, o.ids[1 + i % o.n],
        $2::int + 1
    FROM generate_series(1, $1::int) AS i, o""",
    """INSERT INTO application_event (id, status, at, note, application_id)
    SELECT $2::int * 3 + i,
        (ARRAY['SUBMITTED', 'ACCEPTED', 'UNDER_REVIEW'])[1 + (i - 1) % 3],
        now() - (i % 5000) * interval '1 hour', NULL, $2::int + 1 + (i - 1) / 3
    FROM generate_series(1, $1::int * 3) AS i""",
    """WITH o AS (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM office)
    INSERT INTO document (id, kind, category, number, valid_from, valid_until, entries,
        duration_of_stay_days, issued_at, issued_by_id, person_id)
    SELECT $2::int * 2 + i, 'VISA', 'M', 'BKD' || ($2::int * 2 + i), DATE '2025-01-01',
        DATE '2026-01-01' + (i % 900), 'MULTIPLE', 30, now(), o.ids[1 + i % o.n],
        $2::int + 1 + i % $1::int
    FROM generate_series(1, $1::int * 2) AS i, o""",
    """INSERT INTO pr_card (id, number, issued_on, valid_until, person_id)
    SELECT $2::int + i, 'BK' || lpad(($2::int + i)::text, 16, '0'), DATE '2024-01-01',
        DATE '2034-01-01', $2::int + 2 * i
    FROM generate_series(1, $1::int / 2) AS i""",
    """INSERT INTO delegation (id, relationship, scopes, status, created_at, dependant_id,
        helper_id, requested_surname, requested_nationality)
    SELECT $2::int + i, 'CHILD', '["VIEW_DOCUMENTS"]'::jsonb,
        CASE WHEN i % 3 = 0 THEN 'ACTIVE' ELSE 'REVOKED' END, now(),
        $2::int + 1 + (i * 13) % $1::int, $2::int + 1 + (i * 7) % $1::int, 'Bulk', 'ITA'
    FROM generate_series(1, $1::int / 2) AS i""",
    """INSERT INTO audit_event (id, at, actor_kind, action, target, subject_id)
    SELECT $2::int * 2 + i, now() - i * interval '1 second', 'OFFICER', 'READ_DOCUMENTS', NULL,
        $2::int + 1 + i % $1::int
    FROM generate_series(1, $1::int * 2) AS i""",
    """INSERT INTO certificate (id, jti, kid, token, issued_at, expires_at, issued_by_id,
        person_id)
    SELECT $2::int + i, 'bulk' || ($2::int + i), 'bulk', 'x', now(), now() + interval '90 days',
        $2::int + 1, $2::int + 2 * i
    FROM generate_series(1, $1::int / 2) AS i""",
)


async def load(connection: Any, persons: int, base: int = 0) -> None:
    """Insert the rows (see the module description) through an asyncpg connection, then
    ANALYZE the tables so the planner knows their sizes."""
    for statement in _STATEMENTS:
        await connection.execute(statement, persons, base)
    for table in TABLES:
        await connection.execute(f'ANALYZE "{table}"')
