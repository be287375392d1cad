"""The mail outbox: adding mail in the caller's transaction, claiming due mail for a worker
(a lease that a killed worker's claim runs out of), and recording each attempt's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.expressions import F, Q

from persistence.models import Delivery

# A queued request for a password-reset mail: the address as typed (normalised), no account,
# no text. The worker writes the mail when an account has the address and drops the request
# either way, so that asking does the same work for every address (see resolvers/account_mail).
RESET_REQUEST = "PASSWORD_RESET_REQUEST"


async def add(*, now: datetime, **values: object) -> Delivery:
    """Mail queued at `now`, due at once; `values`: its other columns (account_id,
    notification_id, kind, to_address, subject, body, message_id, secret, send_before)."""
    now = now.astimezone(UTC)
    # In UTC, as every moment the worker compares in SQL (SQLite compares them as text).
    values = {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}
    return await Delivery.create(created_at=now, next_attempt_at=now, **values)


RAN_OUT = "not sent: what it was about ran out first"


async def give_up_ran_out(now: datetime) -> int:
    """Unsent mail whose `send_before` has come is given up (a one-time link blanked), in two
    statements; how many. A reset link that no longer works, a reminder of an appointment that
    has begun or an offer that has gone to someone else would only mislead."""
    now = now.astimezone(UTC)
    # Mail a worker holds is left to it: it looks at the moment itself just before sending.
    rows = Delivery.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        sent_at__isnull=True,
        failed_at__isnull=True,
        send_before__lte=now,
    )
    given_up = await rows.filter(secret=True).update(failed_at=now, last_error=RAN_OUT, body="")
    return given_up + await rows.filter(secret=False).update(failed_at=now, last_error=RAN_OUT)


async def add_reset_request(address: str, message_id: str, now: datetime) -> None:
    """Queue a request for a reset mail to `address`, in the caller's transaction."""
    await add(
        account_id=None,
        notification_id=None,
        kind=RESET_REQUEST,
        to_address=address,
        subject="",
        body="",
        message_id=message_id,
        secret=True,
        now=now,
    )


async def reset_requests(limit: int) -> list[Delivery]:
    """Queued reset requests, oldest first."""
    return await Delivery.filter(kind=RESET_REQUEST).order_by("id").limit(limit)


async def take_reset_request(request_id: int) -> bool:
    """Remove a queued reset request in the caller's transaction; False when another worker
    took it first (on PostgreSQL the second waits for the first's commit, then finds none)."""
    return await Delivery.filter(id=request_id, kind=RESET_REQUEST).delete() == 1


# Claiming due mail in one statement. PostgreSQL: picked FOR UPDATE SKIP LOCKED, and as a
# SELECT over the UPDATE so that Tortoise returns the rows (it reads only the status word of a
# statement that starts with UPDATE). SQLite: the statement runs alone (one writer). Queued
# reset requests are not mail: the worker answers them apart (reset_requests).
_CLAIM_POSTGRES = (
    "WITH claimed AS (UPDATE delivery SET claimed_until = $1, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM delivery WHERE sent_at IS NULL AND failed_at IS NULL "
    "AND kind <> $4 AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) "
    "AND (send_before IS NULL OR send_before > $2) "
    "ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id) SELECT id FROM claimed"
)
_CLAIM_SQLITE = (
    "UPDATE delivery SET claimed_until = ?, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM delivery WHERE sent_at IS NULL AND failed_at IS NULL "
    "AND kind <> ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
    "AND (send_before IS NULL OR send_before > ?) ORDER BY id LIMIT ?) RETURNING id"
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
        _, rows = await client.execute_query(_CLAIM_POSTGRES, [until, now, limit, RESET_REQUEST])
    else:
        _, rows = await client.execute_query(
            _CLAIM_SQLITE, [until, RESET_REQUEST, now, now, now, limit]
        )
    ids = [row["id"] for row in rows]
    return await Delivery.filter(id__in=ids).order_by("id") if ids else []


async def hold_claim(delivery: Delivery, until: datetime) -> bool:
    """Just before a claimed mail is sent: its claim extended to `until`, only if no other
    worker claimed it again since (each claim counts an attempt: a changed count is another
    worker's claim) and it is still unsent. False: leave it to that worker."""
    return (
        await Delivery.filter(
            id=delivery.id, attempts=delivery.attempts, sent_at__isnull=True, failed_at__isnull=True
        ).update(claimed_until=until.astimezone(UTC))
        == 1
    )


async def mark_sent(delivery: Delivery, now: datetime) -> None:
    """The server accepted it (250): sent, the claim released; a one-time link is blanked.
    Sent wins over given up (another worker may have given it up while the server took it)."""
    changes: dict[str, object] = {
        "sent_at": now,
        "failed_at": None,
        "claimed_until": None,
        "last_error": None,
    }
    if delivery.secret:
        changes["body"] = ""
    await Delivery.filter(id=delivery.id).update(**changes)


async def mark_failed(
    delivery: Delivery, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """An attempt failed: try again at `retry_at`, or (None) give up; a one-time link given
    up on is blanked, as one sent is."""
    changes: dict[str, object] = {"claimed_until": None, "last_error": error[:500]}
    if retry_at is None:
        changes["failed_at"] = now
        if delivery.secret:
            changes["body"] = ""
    else:
        changes["next_attempt_at"] = retry_at.astimezone(UTC)
    await Delivery.filter(id=delivery.id).update(**changes)


async def put_back(deliveries: Sequence[Delivery], retry_at: datetime, error: str) -> None:
    """Claimed mail that was not tried (the server took none): its claim released and its
    attempt not counted, due again at `retry_at`; only mail still under this claim (its
    attempt count unchanged: another worker's claim since counted one more), one statement
    per attempt count."""
    by_attempts: dict[int, list[int]] = {}
    for delivery in deliveries:
        by_attempts.setdefault(delivery.attempts, []).append(delivery.id)
    for attempts, ids in by_attempts.items():
        await Delivery.filter(
            id__in=ids, attempts=attempts, sent_at__isnull=True, failed_at__isnull=True
        ).update(
            claimed_until=None,
            attempts=F("attempts") - 1,
            next_attempt_at=retry_at.astimezone(UTC),
            last_error=error[:500],
        )


async def waiting(after_id: int, limit: int) -> list[Delivery]:
    """Unsent mail after `after_id`, oldest first (what the development server prints)."""
    return (
        await Delivery.filter(id__gt=after_id, sent_at__isnull=True, failed_at__isnull=True)
        .exclude(kind=RESET_REQUEST)
        .order_by("id")
        .limit(limit)
    )


async def supersede(account_id: int, kind: str, now: datetime) -> None:
    """The account's unsent mail of `kind` is not sent from `now` on (a newer link replaced
    the one it carries), in the caller's transaction."""
    await Delivery.filter(
        account_id=account_id, kind=kind, sent_at__isnull=True, failed_at__isnull=True
    ).update(send_before=now.astimezone(UTC))


async def by_id(delivery_id: int) -> Delivery | None:
    return await Delivery.get_or_none(id=delivery_id)
