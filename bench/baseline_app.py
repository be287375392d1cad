"""Baselines for bench/public_reads.py: how fast could the office directory be served at all?

A tiny Starlette app, run by uvicorn exactly like the real server (one worker), with two routes:

* `GET /handwritten` answers the office-directory query of public_reads.py
  (`offices(first: 20)` with id, code, name, city, phone, hours and services) from the same
  database, written by hand: three Tortoise queries (offices, their hours, their services
  joined with the service catalogue) and orjson. No GraphQL, no cache. This is the cost of
  the data access and the encoding alone.
* `GET /bare` answers fixed bytes: the GraphQL response body that public_reads.py captured
  once from the real server and left in the file named by BARE_BODY_FILE. No database, no
  work: the ceiling of uvicorn + Starlette on this machine for a body of that size.

    DATABASE_URL=sqlite:///tmp/x/bench.db BARE_BODY_FILE=/tmp/x/body.json \
        .venv/bin/python -m uvicorn --factory bench.baseline_app:create_app --port 8001

The database must already be migrated (the real server does it on start); this app never
migrates nor writes.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = 20
SERVICES_SQL = (
    "SELECT os.office_id, st.code, st.name_en FROM office_service os "
    "JOIN service_type st ON st.code = os.service "
    "WHERE os.office_id IN ({ids}) ORDER BY st.position, st.code"
)
JSON_MEDIA = "application/json; charset=utf-8"


def global_id(type_name: str, pk: int) -> str:
    """The same opaque id as schema.common.to_global_id (kept here so nothing of the GraphQL
    layer is imported)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


async def office_directory(first: int = PAGE) -> bytes:
    """The body of `{ offices(first: 20) { edges { node { id code name city phone
    hours { weekday opens closes } services { code name } } } } }`, English names."""
    from tortoise import connections

    from persistence.models import Office, OfficeHours

    offices = await (
        Office.all()
        .order_by("code")
        .limit(first)
        .values_list("id", "code", "name_en", "city", "phone")
    )
    ids = [row[0] for row in offices]
    hours: dict[int, list[dict]] = defaultdict(list)
    services: dict[int, list[dict]] = defaultdict(list)
    if ids:
        for office_id, weekday, opens, closes in (
            await OfficeHours.filter(office_id__in=ids)
            .order_by("weekday", "opens")
            .values_list("office_id", "weekday", "opens", "closes")
        ):
            hours[office_id].append({"weekday": weekday, "opens": opens, "closes": closes})
        # The office's offer joined with the catalogue, in catalogue order. The ids are
        # integers read from the database just above, so inlining them is safe, and it keeps
        # the statement identical on SQLite and PostgreSQL (no placeholder dialects).
        in_list = ",".join(str(int(i)) for i in ids)
        _, rows = await connections.get("default").execute_query(SERVICES_SQL.format(ids=in_list))
        for row in rows:
            office_id, code, name = (row[0], row[1], row[2])
            services[office_id].append({"code": code, "name": name})
    edges = [
        {
            "node": {
                "id": global_id("Office", pk),
                "code": code,
                "name": name,
                "city": city,
                "phone": phone,
                "hours": hours[pk],
                "services": services[pk],
            }
        }
        for pk, code, name, city, phone in offices
    ]
    return orjson.dumps({"data": {"offices": {"edges": edges}}})


def create_app() -> Starlette:
    import settings as settings_module

    settings = settings_module.load()  # DATABASE_URL, exactly as the server reads it
    bare_file = os.environ.get("BARE_BODY_FILE")
    bare_body = Path(bare_file).read_bytes() if bare_file else b'{"data":null}'

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from tortoise import Tortoise

        await Tortoise.init(config=settings.tortoise_config(), _enable_global_fallback=True)
        try:
            yield
        finally:
            await Tortoise.close_connections()

    async def handwritten(_: Request) -> Response:
        return Response(await office_directory(), media_type=JSON_MEDIA)

    async def bare(_: Request) -> Response:
        return Response(bare_body, media_type=JSON_MEDIA)

    async def health(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON_MEDIA)

    return Starlette(
        routes=[
            Route("/handwritten", handwritten, methods=["GET"]),
            Route("/bare", bare, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
