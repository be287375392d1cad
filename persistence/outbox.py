"""The mail outbox: adding mail in the caller's transaction, claiming due mail for a worker
(a lease that a killed worker's claim runs out of), and recording each attempt's outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import F, Q

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


def _due(now: datetime) -> Q:
    return Q(
        Q(sent_at__isnull=True),
        Q(failed_at__isnull=True),
        Q(next_attempt_at__lte=now),
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
    )


async def claim(now: datetime, lease_s: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due mails for `lease_s` seconds, oldest first. Each claim is a
    compare-and-set on the row (due and unclaimed, or its claim run out), so two workers, in
    one process or several, never both hold a mail; a worker killed while holding one lets
    the claim run out and the mail is claimed again (at least once)."""
    candidates = await Delivery.filter(_due(now)).order_by("id").limit(limit)
    until = now + timedelta(seconds=lease_s)
    claimed = []
    for row in candidates:
        won = await Delivery.filter(_due(now), id=row.id).update(
            claimed_until=until, attempts=F("attempts") + 1
        )
        if won:
            row.claimed_until, row.attempts = until, row.attempts + 1
            claimed.append(row)
    return claimed


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
