"""The ASGI app: Starlette routes, the lifespan that brings the database and keys up, GraphQL."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

import settings as settings_module
from domain.booking import horizon_end
from domain.dates import local_day
from persistence import account_tokens as account_token_store
from persistence import accounts as account_store
from persistence import appointments as appointment_store
from persistence import calendar as calendar_store
from persistence import delegations as delegation_store
from persistence import presentations as presentation_store
from persistence import read_replica, redis_link, statement_counter
from persistence import waitlist as waitlist_store
from persistence.database import close_database, database_ready, open_database, startup_lock
from persistence.demo.load import database_is_empty, load_demo_data, load_reference_data
from persistence.rate_limits import make_cost_budget, make_rate_limiter
from persistence.session_revocations import make_session_revocations
from persistence.session_revocations import restore as restore_session_revocations
from persistence.subscription_slots import make_subscription_slots
from resolvers import reminders, waitlist
from resolvers.appointments import booking_policy
from resolvers.context import Clock, Services
from resolvers.events import EventBus
from resolvers.mail_delivery import DeliveryWorker, sender_for
from resolvers.metrics import REGISTRY
from schema.app import create_schema
from settings import Settings
from signing.keys import KeyRing
from web.account_pages import reset_password_page, verify_email_page
from web.certificate_pdf import certificate_pdf
from web.cors import CORSMiddleware, OriginPolicy
from web.fast_cache import CachedGetFront
from web.graphql_http import GraphQLEndpoint
from web.logging_setup import RequestIdMiddleware, stamp_records, start_job
from web.logging_setup import configure as configure_logging
from web.pages import STATIC_PREFIX, StaticAssets
from web.persisted import PersistedQueries
from web.response_cache import ResponseCache
from web.verify_page import verify_page
from web.websocket import GraphQLWebSocket

log = logging.getLogger("server")


def password_hasher(settings: Settings) -> PasswordHasher:
    """Argon2id as RFC 9106's low-memory profile, with the cost the settings tune."""
    return PasswordHasher.from_parameters(
        dataclasses.replace(
            RFC_9106_LOW_MEMORY,
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
    )


def calendar_years(settings: Settings, this_year: int) -> range:
    """The years whose holidays are stored: from the oldest the data needs to two years ahead
    (booking horizons and document validity reach into next year). The calendar answers dates
    of other years itself, in memory (domain.calendar.WorkingCalendar)."""
    return range(min(settings.calendar_first_year, this_year - 1), this_year + 3)


async def open_for_service(settings: Settings, now: datetime) -> KeyRing:
    """Open the database as every process does, the server and each `manage.py` command:
    under the start-up lock, migrate, seed the calendar and reference data (and sample data in
    development), and make sure the signing keys exist; the key ring, loaded."""
    keys = KeyRing(settings)
    require_sqlite_folder(settings)
    async with startup_lock(settings):
        await open_database(settings)
        await calendar_store.seed_years(calendar_years(settings, now.year))
        await load_reference_data()
        if settings.loads_demo_data and await database_is_empty():
            demo_hash = password_hasher(settings).hash(settings.demo_password)
            await load_demo_data(demo_hash, local_day(now))
        await keys.ensure(now)
    return keys


async def start_services(settings: Settings, clock: Clock) -> Services:
    """Open the database (open_for_service), then the services around it: limits, events,
    session revocations, the calendar; one upkeep round before serving."""
    now = clock.now()
    keys = await open_for_service(settings, now)
    if settings.report_sql:
        statement_counter.enable()
    url, namespace = settings.redis_url, settings.redis_namespace
    timeout_s, retry_s = settings.redis_timeout_ms / 1000, settings.redis_retry_seconds
    services = Services(
        settings=settings,
        keys=keys,
        limiter=make_rate_limiter(url, namespace, timeout_s, retry_s),
        clock=clock,
        hasher=password_hasher(settings),
        calendar=await calendar_store.load_calendar(),
        events=EventBus(url, namespace, timeout_s),
        budget=make_cost_budget(url, namespace, timeout_s, retry_s),
        sessions=make_session_revocations(
            url, namespace, settings.access_token_minutes, timeout_s, retry_s, clock.now
        ),
        subscriptions=make_subscription_slots(url, namespace, timeout_s),
    )
    # Before serving: a sign-out of the last minutes stays a sign-out after a restart.
    await restore_session_revocations(services.sessions, settings.access_token_minutes, now)
    await services.events.start()
    await upkeep(services)
    return services


def require_sqlite_folder(settings: Settings) -> None:
    """An SQLite file in a missing folder would make the migrations wait forever."""
    if not settings.is_sqlite:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.database_url.removeprefix("sqlite://").split("?")[0]
    if path != ":memory:" and not Path(path).parent.is_dir():
        raise FileNotFoundError(f"the folder of the SQLite database {path} does not exist")


async def upkeep(services: Services) -> None:
    """Idempotent housekeeping any process may run: slots for the booking horizon, the
    appointments of days that have ended (no-shows; check-ins release the applicant's booking),
    waits whose days have all passed."""
    now = services.clock.now()
    today = local_day(now)
    last = horizon_end(today, services.calendar, booking_policy(services.settings))
    # Places of new slots go first to those waiting for them, in the same unit of work.
    created = await waitlist.release_slots(
        services,
        lambda offices: appointment_store.generate_slots(
            services.calendar, today, last, services.settings.slot_minutes, offices
        ),
    )
    # Days the official calendar made holidays after their slots were made (a newly
    # published year) close as an admin's closure would.
    holiday_cancellations = await waitlist.close_public_holidays(services, today, last)
    no_shows = await appointment_store.mark_no_shows(now)
    released = await appointment_store.release_past_check_ins(now)
    waits_ended = await waitlist_store.end_past_ranges(now)
    expired = await delegation_store.expire_due(now, today)
    grace = timedelta(seconds=services.settings.refresh_reuse_grace_s)
    await account_store.forget_successors(now - grace)
    # Mailed links a day past their expiry serve nobody: their hashes go.
    await account_token_store.forget_expired(now - timedelta(days=1))
    # Which certificate a presentation showed matters only while the certificate is valid.
    await presentation_store.forget_expired(now)
    if created or holiday_cancellations or no_shows or released or waits_ended or expired:
        log.info(
            "upkeep: %d slots created up to %s, %d appointments on public holidays cancelled, "
            "%d no-shows, %d past check-ins released, %d waits past their days ended, "
            "%d delegations expired",
            created,
            last,
            holiday_cancellations,
            no_shows,
            released,
            waits_ended,
            expired,
        )


async def upkeep_forever(services: Services, every_s: float = 600) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await upkeep(services)
        except Exception:  # keep serving; the next round retries
            log.exception("upkeep failed")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    """The whole service as an ASGI app; tests call this with their own settings and clock."""
    settings = settings or settings_module.load()
    clock = clock or Clock()
    schema = create_schema(settings)
    holder: dict[str, Any] = {}
    stamp_records()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            services = await start_services(settings, clock)
        except Exception as exc:
            log.critical("cannot start: %s", start_failure(exc, settings))
            raise
        app.state.services = services
        app.state.schema = schema  # tests run some modules under each executor through it
        namespace = settings.redis_namespace
        timeout_s = settings.redis_timeout_ms / 1000
        persisted = PersistedQueries(
            settings.redis_url,
            settings.persisted_queries_file,
            namespace=namespace,
            timeout_s=timeout_s,
            retry_s=settings.redis_retry_seconds,
        )
        response_cache = ResponseCache(
            settings.redis_url,
            settings.public_cache_seconds,
            namespace=namespace,
            timeout_s=timeout_s,
        )
        # /ready says whether Redis answers: the service keeps working without it (each
        # process on its own, docs/scaling.md), so it is reported, not made a refusal.
        holder["redis"] = (
            redis_link.connect(settings.redis_url, timeout_s) if settings.redis_url else None
        )
        await persisted.start()
        await response_cache.start()
        services.on_public_change = public_change(response_cache)
        holder["graphql"] = GraphQLEndpoint(schema, services, persisted, response_cache)
        holder["ws"] = GraphQLWebSocket(schema, services, persisted.registry)
        app.state.websocket_view = holder["ws"]  # its per-connection limit, for tests
        task = start_job("upkeep", upkeep_forever(services))
        # Mail from the outbox and scheduled reminders run inside every server process: the
        # outbox's claims and the reminders' unique keys make that safe with several.
        mail = DeliveryWorker(settings, clock, sender_for(settings))
        services.on_outbox_change = mail.wake
        background = [
            start_job("mail", mail.run_forever()),
            start_job("reminders", reminders.run_forever(services)),
            # Waitlist offers that ran out pass to the next in line (reads and bookings of a
            # line's slots do it too, so nothing waits for this loop's timing).
            start_job("waitlist", waitlist.run_forever(services)),
        ]
        if not settings.smtp_url:
            log.info("SMTP_URL is not set: mail stays in the outbox and is printed here")
        try:
            yield
        finally:
            task.cancel()
            for job in background:
                job.cancel()
            # A round in progress ends at its next await; a mail cut short before its 250 is
            # sent again once its claim runs out.
            await asyncio.gather(*background, return_exceptions=True)
            await services.limiter.close()
            await services.events.close()
            await services.budget.close()
            await services.sessions.close()
            await services.subscriptions.close()
            await persisted.close()
            await response_cache.close()
            if holder["redis"] is not None:
                await holder["redis"].aclose()
            await close_database()

    async def graphql(request: Request) -> Response:
        return await holder["graphql"].handle(request)

    async def graphql_ws(websocket: WebSocket) -> None:
        await holder["ws"](websocket.scope, websocket.receive, websocket.send)

    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(settings, request.headers.get("authorization"))
        if refusal is not None:
            return refusal
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        """503 when the database does not answer; with REDIS_URL set, also whether Redis
        does ("ok" or "unavailable"), without changing the status: the process serves
        either way, with limits and live events of its own until Redis is back."""
        ok = await database_ready()
        body = {"status": "ready" if ok else "unavailable"}
        if holder.get("redis") is not None:
            answered = await redis_link.answers(holder["redis"], settings.redis_timeout_ms / 1000)
            body["redis"] = "ok" if answered else "unavailable"
        return JSONResponse(body, 200 if ok else 503)

    async def jwks(request: Request) -> Response:
        services: Services = request.app.state.services
        await services.keys.reload()
        body = orjson.dumps({"keys": services.keys.published_document_keys(clock.now())})
        return Response(
            body,
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    return Starlette(
        routes=[
            Route(
                "/graphql", graphql, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
            ),
            WebSocketRoute("/graphql", graphql_ws),
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/ready", ready),
            Route("/.well-known/jwks.json", jwks),
            Route("/certificates/{id}.pdf", certificate_pdf, methods=["GET"]),
            Route("/verify", verify_page),
            Route("/verify-email", verify_email_page),
            Route("/reset-password", reset_password_page),
            Mount(STATIC_PREFIX, app=StaticAssets(), name="static"),
        ],
        lifespan=lifespan,
        # The request id first, for everything after it; CORS around everything that answers;
        # cached public GETs are answered before routing (see web/fast_cache.py).
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(CORSMiddleware, policy=OriginPolicy.from_settings(settings)),
            Middleware(CachedGetFront, endpoint=lambda: holder.get("graphql")),
        ],
    )


def public_change(response_cache: ResponseCache) -> Callable[[], Awaitable[None]]:
    """What follows a change of public data: once a read replica has it (or its wait ran out,
    persistence/read_replica.py), cached public answers are dropped in every process, so none
    is refilled from a replica that lacks the change."""

    async def changed() -> None:
        await read_replica.public_data_changed()
        await response_cache.invalidate()

    return changed


def metrics_refusal(settings: Settings, authorization: str | None) -> Response | None:
    """/metrics: with METRICS_TOKEN, only for its bearer; in production without it, absent."""
    if settings.metrics_token:
        expected = f"Bearer {settings.metrics_token}".encode()
        if hmac.compare_digest((authorization or "").encode(), expected):
            return None
        return Response(
            "Send Authorization: Bearer <METRICS_TOKEN>.",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if settings.is_production:
        return Response("Not Found", status_code=404)
    return None


def start_failure(exc: BaseException, settings: Settings) -> str:
    """What stopped the start, in one line for the operator (no traceback, no password)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("asyncpg", "sqlite3"):
        if settings.is_sqlite:
            where = settings.database_url.removeprefix("sqlite://")
        else:
            parts = urlsplit(settings.database_url)
            where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        return f"database {where} unavailable: {type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {text}"


class TracebackFreeStartFailure:
    """The lifespan has logged why the start failed in one line; uvicorn would log Starlette's
    traceback of it as well, so the message of `lifespan.startup.failed` is dropped."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def quiet_send(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                message = {**message, "message": ""}
            await send(message)

        await self.app(scope, receive, quiet_send)


def main() -> None:
    """`python server.py`: exits at once, non-zero, with one line when it cannot start."""
    import uvicorn

    configure_logging()
    try:
        settings = settings_module.load()
    except ValueError as exc:  # settings.ConfigurationError and the other refusals of load()
        log.critical("cannot start: bad configuration: %s", exc)
        sys.exit(2)
    # lifespan="on": a failed start (database unreachable, ...) ends the process with
    # uvicorn's exit status 3 instead of serving without a database.
    # SIGTERM: stop accepting, finish in-flight requests (up to 20 s), then close the database.
    uvicorn.run(
        TracebackFreeStartFailure(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        proxy_headers=False,
        # A WebSocket message is read whole: one well past the body limit is not even taken in
        # (1009); one just past it is refused as invalid (4400, web/websocket.py).
        ws_max_size=2 * settings.max_body_bytes,
        lifespan="on",
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
