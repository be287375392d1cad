"""Structured (JSON) logs, each line carrying the request id of the request it belongs to."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sys
import uuid
from typing import Any

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# The background job (mail, reminders, ...) a record comes from, where no request is in force.
job: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)

# A caller's own id is kept when it is plain: letters, digits, - _ . and at most 64 of them.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def accepted_request_id(incoming: str | None) -> str:
    """The caller's X-Request-Id when well formed, else a fresh one."""
    if incoming and _ACCEPTED_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex[:16]


def _stamping(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id.get()
        record.job = job.get()
        return record

    make_record.stamps_request_id = True  # type: ignore[attr-defined]
    return make_record


# A name of the query string an access line keeps: plain ASCII, short.
_QUERY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def _without_values(target: str) -> str:
    """A request target without the values of its query string: `/graphql?query&variables`."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    names = (part.partition("=")[0] for part in query.split("&") if part)
    return path + "?" + "&".join(n if _QUERY_NAME.fullmatch(n) else "-" for n in names)


class AccessLinesWithoutValues(logging.Filter):
    """uvicorn's access lines, without what a query string carries: a GET's variables (the
    passport number an officer searched for, the certificate a bank verified) are personal
    data, and the log is read by people who may not see them. The names stay, so a GET
    query is still told from a POST."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access line: client, method, target with its query string, version, status.
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], _without_values(args[2]), *args[3:])
        return True


def stamp_records() -> None:
    """Give every log record (ours, Tortoise's, Strawberry's, uvicorn's) the request id in
    force where it was made, as `record.request_id`; keep query values out of uvicorn's access
    lines. Idempotent."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "stamps_request_id", False):
        logging.setLogRecordFactory(_stamping(factory))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLinesWithoutValues) for f in access.filters):
        access.addFilter(AccessLinesWithoutValues())
    # aiosqlite's debug records come from its worker thread, where no request is in force,
    # and repeat the statements Tortoise already logs (with the id) from the request itself.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def start_job(name: str, work: Any) -> asyncio.Task:
    """Run `work` (a coroutine) as a background task whose log records say `job: name`, so
    an operator tells a sweep's statements from a request's."""
    context = contextvars.copy_context()
    context.run(request_id.set, None)
    context.run(job.set, name)
    return asyncio.create_task(work, name=name, context=context)


class RequestIdMiddleware:
    """Outermost ASGI layer: sets the request id for everything the request (or WebSocket
    connection) does, so even answers from the cached-GET front are tagged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        token = request_id.set(
            accepted_request_id(incoming.decode("latin-1") if incoming is not None else None)
        )
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["requestId"] = rid
        name = getattr(record, "job", None) or job.get()
        if name:
            entry["job"] = name
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(level: int = logging.INFO) -> None:
    stamp_records()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
