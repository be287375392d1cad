"""The mail outbox: adding mail in the caller's transaction, claiming due mail for a worker
(a lease that a killed worker's claim runs out of), and recording each attempt's outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise import connections

from persistence.models import Delivery


async def add(
    *,
    account_id: int | None,
    notification_id: int | None,
    kind: str,
    to_address: str,
    subject: str,
    body: str,
    message_id: str,
    secret: bool,
    now: datetime,
) -> Delivery:
    return await Delivery.create(
        account_id=account_id,
        notification_id=notification_id,
        kind=kind,
        to_address=to_address,
        subject=subject,
        body=body,
        message_id=message_id,
        secret=secret,
        created_at=now,
        next_attempt_at=now,
    )


# Claiming due mail in one statement. PostgreSQL: picked FOR UPDATE SKIP LOCKED, and as a
# SELECT over the UPDATE so that Tortoise returns the rows (it reads only the status word of a
# statement that starts with UPDATE). SQLite: the statement runs alone (one writer).
_CLAIM_POSTGRES = (
    "WITH claimed AS (UPDATE delivery SET claimed_until = $1, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM delivery WHERE sent_at IS NULL AND failed_at IS NULL "
    "AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) "
    "ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id) SELECT id FROM claimed"
)
_CLAIM_SQLITE = (
    "UPDATE delivery SET claimed_until = ?, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM delivery WHERE sent_at IS NULL AND failed_at IS NULL "
    "AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
    "ORDER BY id LIMIT ?) RETURNING id"
)


async def claim(now: datetime, lease_s: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due mails for `lease_s` seconds, oldest first, in one statement (two
    workers never take one mail; on PostgreSQL they do not wait for each other either). A
    worker killed while holding mail lets the claim run out, and the mail is claimed again
    (at least once)."""
    now = now.astimezone(UTC)
    until = now + timedelta(seconds=lease_s)
    client = connections.get("default")
    if client.capabilities.dialect == "postgres":
        _, rows = await client.execute_query(_CLAIM_POSTGRES, [until, now, limit])
    else:
        _, rows = await client.execute_query(_CLAIM_SQLITE, [until, now, now, limit])
    ids = [row["id"] for row in rows]
    return await Delivery.filter(id__in=ids).order_by("id") if ids else []


async def mark_sent(delivery: Delivery, now: datetime) -> None:
    """The server accepted it (250): sent, the claim released; a one-time link is blanked."""
    changes: dict[str, object] = {"sent_at": now, "claimed_until": None, "last_error": None}
    if delivery.secret:
        changes["body"] = ""
    await Delivery.filter(id=delivery.id).update(**changes)


async def mark_failed(
    delivery: Delivery, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """An attempt failed: try again at `retry_at`, or (None) give up."""
    changes: dict[str, object] = {"claimed_until": None, "last_error": error[:500]}
    if retry_at is None:
        changes["failed_at"] = now
    else:
        changes["next_attempt_at"] = retry_at
    await Delivery.filter(id=delivery.id).update(**changes)


async def waiting(after_id: int, limit: int) -> list[Delivery]:
    """Unsent mail after `after_id`, oldest first (what the development server prints)."""
    return (
        await Delivery.filter(id__gt=after_id, sent_at__isnull=True, failed_at__isnull=True)
        .order_by("id")
        .limit(limit)
    )


async def by_id(delivery_id: int) -> Delivery | None:
    return await Delivery.get_or_none(id=delivery_id)
