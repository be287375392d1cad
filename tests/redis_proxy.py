"""A TCP proxy in front of the test Redis, to take Redis away from a server and give it back:
`cut` refuses connections and ends the open ones (Redis down), `black_hole` accepts
connections and never answers (Redis unreachable behind a dropped route), `mend` forwards
again; `pause` keeps every connection open but holds what goes either way until `resume`
(a Redis that is stopped, not gone: what was sent meanwhile runs when it wakes)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class RedisProxy:
    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 6379)
        self._database = target.path or "/0"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._answering = True
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self._database}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if not self._answering:
                while await reader.read(65536):
                    pass  # swallowed: no answer ever comes
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(writer)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(writer)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        with contextlib.suppress(Exception):
            writer.close()

    def _drop_connections(self) -> None:
        for writer in list(self._writers):
            self._close(writer)

    async def cut(self) -> None:
        """Redis is down: connections are refused, open ones end."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._drop_connections()
        await asyncio.sleep(0)

    async def black_hole(self) -> None:
        """Redis is unreachable: connections are taken and never answered, open ones end."""
        self._answering = False
        self._drop_connections()
        if self._server is None:
            await self.start()

    async def mend(self) -> None:
        """Redis is back."""
        self._answering = True
        self._drop_connections()
        if self._server is None:
            await self.start()

    def pause(self) -> None:
        """Redis stops answering, its connections left open."""
        self._flowing.clear()

    def resume(self) -> None:
        """Redis answers again, everything held in between delivered."""
        self._flowing.set()

    async def close(self) -> None:
        await self.cut()
