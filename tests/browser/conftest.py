"""The browser suite's world: a real server process (uvicorn, its own SQLite database with the
demo data), a second origin serving tests/browser/pages and the vendored client libraries, and
Debian's Chromium driven by Playwright with its network limited to 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import free_port, running_servers, server_environment

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
HERE = Path(__file__).resolve().parent
LOCAL_HOSTS = frozenset({"127.0.0.1"})

if not CHROMIUM.exists():
    message = f"Chromium is not installed at {CHROMIUM} (`make test` installs it with the venv)"
    if os.environ.get("CI"):
        # In CI the browser suite must run: a missing browser is a broken set-up, not a skip.
        raise pytest.UsageError(message)
    pytest.skip(message, allow_module_level=True)
async_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is missing: pip install '.[test]'"
)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def static_origin() -> Iterator[str]:
    """tests/browser (pages/ and vendor/) served on a free port of 127.0.0.1."""
    handler = functools.partial(QuietHandler, directory=str(HERE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Stack:
    api: str  # the service, e.g. http://127.0.0.1:41234
    page_origin: str  # the listed second origin serving the test pages
    stranger_origin: str  # the same pages from an origin CORS_ORIGINS does not list
    browser: Any
    artifacts: Path


@dataclass
class NetworkLog:
    """Every URL the page asked for; anything not on 127.0.0.1 is aborted and kept here."""

    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    frames_sent: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def subscribed(self, timeout_s: float = 10) -> None:
        """Until a graphql-ws `subscribe` message has left the page."""
        for _ in range(int(timeout_s * 20)):
            if any('"subscribe"' in frame for frame in self.frames_sent):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no subscribe message was sent: {self.frames_sent}")

    def outside(self) -> list[str]:
        urls = self.requested + self.websockets
        return [u for u in urls if urlsplit(u).hostname not in LOCAL_HOSTS] + self.refused


def artifacts_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots go to BROWSER_ARTIFACTS when set (CI keeps them), else to pytest's tmp."""
    configured = os.environ.get("BROWSER_ARTIFACTS")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return Path(configured)
    return tmp_path_factory.mktemp("browser-artifacts")


@pytest.fixture(scope="session")
async def stack(
    test_settings: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    directory = Path(tempfile.mkdtemp(prefix="browser-suite-"))
    with static_origin() as page_origin, static_origin() as stranger_origin:
        env = server_environment(
            test_settings,
            DATABASE_URL=f"sqlite://{directory / 'app.db'}",
            DATA_DIR=str(directory / "data"),
            CORS_ORIGINS=page_origin,
            # Short sessions, so GraphiQL's renewal happens within a test.
            ACCESS_TOKEN_MINUTES="1",
        )
        env.pop("REDIS_URL", None)
        async with (
            running_servers(1, env, ready_attempts=600) as ports,
            async_api.async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            try:
                yield Stack(
                    api=f"http://127.0.0.1:{ports[0]}",
                    page_origin=page_origin,
                    stranger_origin=stranger_origin,
                    browser=browser,
                    artifacts=artifacts_directory(tmp_path_factory),
                )
            finally:
                await browser.close()


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[tuple[Any, NetworkLog]]:
    """A fresh browser context whose network ends at 127.0.0.1."""
    context = await stack.browser.new_context(viewport={"width": 1280, "height": 720})
    network = NetworkLog()

    async def only_local(route: Any) -> None:
        url = route.request.url
        network.requested.append(url)
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and (
            urlsplit(url).hostname not in LOCAL_HOSTS
        ):
            network.refused.append(url)
            await route.abort()
        else:
            await route.continue_()

    await context.route("**/*", only_local)
    page = await context.new_page()

    def watch(socket: Any) -> None:
        network.websockets.append(socket.url)
        socket.on("framesent", lambda payload: network.frames_sent.append(str(payload)))

    page.on("websocket", watch)
    page.on(
        "console",
        lambda message: message.type == "error" and network.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: network.console_errors.append(str(error)))
    try:
        yield page, network
    finally:
        await context.close()
    assert network.outside() == [], "the page reached beyond 127.0.0.1"
