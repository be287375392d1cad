"""A TCP proxy in front of PostgreSQL that records every statement a client sends, as the
server receives it: each simple-protocol Query ('Q', which is also how asyncpg sends BEGIN,
COMMIT and a pooled connection's reset) and each extended-protocol Execute ('E', one per
statement run, the SQL named by the Parse/Bind before it). That is what PostgreSQL's own
statement log (log_statement = 'all') writes one line for. Nothing is changed on the way:
the proxy only refuses TLS (answers 'N'), so that it can read the messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
# What asyncpg sends when it gives a connection back to its pool (Connection.reset).
RESET_MARKERS = ("RESET ALL", "pg_advisory_unlock_all", "UNLISTEN *", "CLOSE ALL")


@dataclass(frozen=True)
class Statement:
    """One statement as PostgreSQL received it, on which client connection."""

    connection: int
    sql: str
    simple: bool  # 'Q' (simple protocol) rather than 'E'

    @property
    def is_reset(self) -> bool:
        return self.simple and any(marker in self.sql for marker in RESET_MARKERS)


@dataclass
class _Session:
    statements: dict[bytes, str] = field(default_factory=dict)  # prepared name -> SQL
    portals: dict[bytes, bytes] = field(default_factory=dict)  # portal -> prepared name


def _cstring(body: bytes, at: int) -> tuple[bytes, int]:
    end = body.index(b"\0", at)
    return body[at:end], end + 1


class StatementProxy:
    """Listens on 127.0.0.1; `sent` lists the statements of every connection, in order."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.sent: list[Statement] = []
        self.port = 0
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    def url(self, database_url: str) -> str:
        """`database_url` with this proxy as its host and port."""
        parts = urlsplit(database_url)
        netloc = parts.netloc.rsplit("@", 1)
        where = f"127.0.0.1:{self.port}"
        return urlunsplit(
            parts._replace(netloc=f"{netloc[0]}@{where}" if len(netloc) == 2 else where)
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _observe(self, connection: int, session: _Session, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self.sent.append(Statement(connection, body.rstrip(b"\0").decode(), simple=True))
        elif kind == b"P":
            name, at = _cstring(body, 0)
            query, _ = _cstring(body, at)
            session.statements[name] = query.decode()
        elif kind == b"B":
            portal, at = _cstring(body, 0)
            statement, _ = _cstring(body, at)
            session.portals[portal] = statement
        elif kind == b"E":
            portal, _ = _cstring(body, 0)
            sql = session.statements.get(session.portals.get(portal, b""), "?")
            self.sent.append(Statement(connection, sql, simple=False))

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = next(self._ids)
        server_r, server_w = await asyncio.open_connection(*self.upstream)
        back = asyncio.create_task(self._pipe(server_r, client_w))
        self._tasks.add(back)
        try:
            # Start-up: untyped messages (length, code); TLS and GSS encryption refused.
            while True:
                head = await client_r.readexactly(8)
                length, code = struct.unpack("!ii", head)
                body = await client_r.readexactly(length - 8)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    client_w.write(b"N")
                    await client_w.drain()
                    continue
                server_w.write(head + body)
                break
            session = _Session()
            while True:
                head = await client_r.readexactly(5)
                (length,) = struct.unpack("!i", head[1:])
                body = await client_r.readexactly(length - 4)
                self._observe(connection, session, head[:1], body)
                server_w.write(head + body)
                await server_w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            for writer in (server_w, client_w):
                writer.close()
            self._tasks.discard(back)
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def statement_proxy(database_url: str) -> AsyncIterator[StatementProxy]:
    """A running proxy in front of the server of `database_url`."""
    parts = urlsplit(database_url)
    proxy = StatementProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
