"""The ASGI app: Starlette routes, the lifespan that brings the database and keys up, GraphQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from persistence import accounts as account_store
from persistence import appointments as appointment_store
from persistence import calendar as calendar_store
from persistence import delegations as delegation_store
from persistence import statement_counter
from persistence.database import close_database, database_ready, open_database, startup_lock
from persistence.demo.load import database_is_empty, load_demo_data, load_reference_data
from persistence.rate_limits import make_cost_budget, make_rate_limiter
from persistence.session_revocations import make_session_revocations
from persistence.session_revocations import restore as restore_session_revocations
from resolvers.appointments import booking_policy
from resolvers.context import Clock, Services
from resolvers.events import EventBus
from resolvers.metrics import REGISTRY
from schema import schema
from settings import Settings
from signing.keys import KeyRing
from web.caching import PersistedQueries, ResponseCache
from web.cors import CORSMiddleware, OriginPolicy
from web.fast_cache import CachedGetFront
from web.graphiql import STATIC_PREFIX, StaticAssets
from web.graphql_http import GraphQLEndpoint
from web.logging_setup import configure as configure_logging
from web.websocket import GraphQLWebSocket

log = logging.getLogger("server")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def password_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=RFC_9106_LOW_MEMORY.hash_len,
        salt_len=RFC_9106_LOW_MEMORY.salt_len,
    )


def calendar_years(settings: Settings, this_year: int) -> range:
    """The years whose holidays are stored: from the oldest the data needs to two years ahead
    (booking horizons and document validity reach into next year)."""
    return range(min(settings.calendar_first_year, this_year - 1), this_year + 3)


async def start_services(settings: Settings, clock: Clock) -> Services:
    """Migrate, seed reference data (and sample data in development), load keys and calendar."""
    now = clock.now()
    hasher = password_hasher(settings)
    keys = KeyRing(settings)
    async with startup_lock(settings):
        await open_database(settings)
        await calendar_store.seed_years(calendar_years(settings, now.year))
        await load_reference_data()
        if not settings.is_production and await database_is_empty():
            await load_demo_data(hasher.hash(settings.demo_password), now.date())
        await keys.ensure(now)
    if settings.report_sql:
        statement_counter.enable()
    services = Services(
        settings=settings,
        keys=keys,
        limiter=make_rate_limiter(settings.redis_url, settings.redis_namespace),
        clock=clock,
        hasher=hasher,
        calendar=await calendar_store.load_calendar(),
        events=EventBus(settings.redis_url, settings.redis_namespace),
        budget=make_cost_budget(settings.redis_url, settings.redis_namespace),
        sessions=make_session_revocations(
            settings.redis_url, settings.redis_namespace, settings.access_token_minutes
        ),
    )
    # Before serving: a sign-out of the last minutes stays a sign-out after a restart.
    await restore_session_revocations(services.sessions, settings.access_token_minutes, now)
    await services.events.start()
    await upkeep(services)
    return services


async def upkeep(services: Services) -> None:
    """Idempotent housekeeping any process may run: slots for the booking horizon, no-shows."""
    now = services.clock.now()
    today = now.astimezone(SHANGHAI).date()
    last = horizon_end(today, services.calendar, booking_policy(services.settings))
    created = await appointment_store.generate_slots(
        services.calendar, today, last, services.settings.slot_minutes
    )
    no_shows = await appointment_store.mark_no_shows(now)
    expired = await delegation_store.expire_due(now, today)
    grace = timedelta(seconds=services.settings.refresh_reuse_grace_s)
    await account_store.forget_successors(now - grace)
    if created or no_shows or expired:
        log.info(
            "upkeep: %d slots created up to %s, %d no-shows, %d delegations expired",
            created,
            last,
            no_shows,
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
    holder: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await start_services(settings, clock)
        app.state.services = services
        namespace = settings.redis_namespace
        persisted = PersistedQueries(
            settings.redis_url, settings.persisted_queries_file, namespace=namespace
        )
        response_cache = ResponseCache(
            settings.redis_url, settings.public_cache_seconds, namespace=namespace
        )
        await persisted.start()
        await response_cache.start()
        services.on_public_change = response_cache.invalidate
        holder["graphql"] = GraphQLEndpoint(schema, services, persisted, response_cache)
        holder["ws"] = GraphQLWebSocket(schema, services)
        task = asyncio.create_task(upkeep_forever(services))
        try:
            yield
        finally:
            task.cancel()
            await services.limiter.close()
            await services.events.close()
            await services.budget.close()
            await services.sessions.close()
            await persisted.close()
            await response_cache.close()
            await close_database()

    async def graphql(request: Request) -> Response:
        return await holder["graphql"].handle(request)

    async def graphql_ws(websocket: WebSocket) -> None:
        await holder["ws"](websocket.scope, websocket.receive, websocket.send)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        ok = await database_ready()
        return JSONResponse({"status": "ready" if ok else "unavailable"}, 200 if ok else 503)

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
            Route("/graphql", graphql, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            WebSocketRoute("/graphql", graphql_ws),
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/ready", ready),
            Route("/.well-known/jwks.json", jwks),
            Mount(STATIC_PREFIX, app=StaticAssets(), name="static"),
        ],
        lifespan=lifespan,
        # Cached public GETs are answered before routing (see web/fast_cache.py).
        middleware=[
            Middleware(CORSMiddleware, policy=OriginPolicy.from_settings(settings)),
            Middleware(CachedGetFront, endpoint=lambda: holder.get("graphql")),
        ],
    )


def main() -> None:
    import uvicorn

    settings = settings_module.load()
    configure_logging()
    # SIGTERM: stop accepting, finish in-flight requests (up to 20 s), then close the database.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
