"""Test fixtures: one app per test session on SQLite, or on PostgreSQL when TEST_DATABASE_URL
is set (a fresh database is created for the session and dropped after it)."""

from __future__ import annotations

import itertools
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

import settings as settings_module
from resolvers.context import Clock
from schema.execution.executor import executor_class
from server import create_app

DEMO_PASSWORD = "demo-pass-2024"


class MovableClock(Clock):
    """Real time unless a test pins it."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def now(self) -> datetime:
        return self.pinned or datetime.now(UTC)


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


async def _create_pg_database(base_url: str) -> tuple[str, str]:
    import asyncpg

    name = f"test_{secrets.token_hex(4)}"
    parts = urlsplit(base_url.replace("postgres://", "postgresql://", 1))
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(parts._replace(path=f"/{name}")).replace("postgresql://", "postgres://"), name


async def _drop_pg_database(base_url: str, name: str) -> None:
    import asyncpg

    parts = urlsplit(base_url.replace("postgres://", "postgresql://", 1))
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "own_database: the test's server makes a SQLite database of its own, whatever the "
        "session's database is (so the PostgreSQL pass leaves it out)",
    )
    config.addinivalue_line(
        "markers",
        "postgres_pass: the test needs the PostgreSQL pass without the session's database "
        "(a cluster of its own): the PostgreSQL pass keeps it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass (TEST_DATABASE_URL set) runs what depends on the session's
    database. A test that reaches none (no `database_url` among its fixtures), or only a
    SQLite database of its own (`own_database`), runs the same in both passes: the SQLite
    pass ran it, so this one deselects it (pytest's summary counts them)."""
    if _postgres_url() is None:
        return
    keep: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        same_on_both = item.get_closest_marker("own_database") is not None or (
            "database_url" not in getattr(item, "fixturenames", ())
            and item.get_closest_marker("postgres_pass") is None
        )
        (left_out if same_on_both else keep).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgres" if _postgres_url() else "sqlite"


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    base = _postgres_url()
    if base is None:
        directory = tempfile.mkdtemp(prefix="immigration-test-")
        yield f"sqlite://{Path(directory) / 'test.db'}"
        return
    url, name = await _create_pg_database(base)
    yield url
    await _drop_pg_database(base, name)


@pytest.fixture(scope="session")
def test_settings(database_url: str) -> settings_module.Settings:
    data_dir = Path(tempfile.mkdtemp(prefix="immigration-data-"))
    return settings_module.load().with_(
        app_env="development",
        database_url=database_url,
        redis_url=None,
        data_dir=data_dir,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        key_encryption_key="test-key-encryption-key",
        report_sql=True,
    )


@pytest.fixture(scope="session")
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(autouse=True)
def _unpin_clock(clock: MovableClock) -> Iterator[None]:
    """Each test starts and ends on the real clock: unpinned after it too, since the next
    module's module-scoped fixtures are set up before this fixture runs for its first test
    (they read a pinned clock left behind as 'today')."""
    clock.pinned = None
    yield
    clock.pinned = None


@pytest.fixture(scope="session")
async def app(test_settings: settings_module.Settings, clock: MovableClock) -> AsyncIterator[Any]:
    application = create_app(test_settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(params=["plans", "graphql-core"])
def each_executor(request: pytest.FixtureRequest, app: Any) -> Iterator[str]:
    """Runs a test once with the plan executor and once with graphql-core's (modules that
    cover authorization and audit say `pytestmark = pytest.mark.usefixtures(...)`)."""
    schema = app.state.schema
    saved = schema.execution_context_class
    schema.execution_context_class = executor_class(plans=request.param == "plans")
    yield request.param
    schema.execution_context_class = saved


_addresses = itertools.count(1)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own IP address, so per-IP limits of other tests do not interfere."""
    n = next(_addresses)
    transport = httpx.ASGITransport(
        app=app, client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 4000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict | None = None,
    token: str | None = None,
    **headers: str,
) -> dict:
    """POST a GraphQL request; returns the JSON body (asserting HTTP 200)."""
    sent = {
        "content-type": "application/json",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    if token:
        sent["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
    )
    assert response.status_code == 200, response.text
    return response.json()


SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    __typename
    ... on AuthSession { accessToken refreshToken account { id email roles } }
    ... on InvalidCredentials { message }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""

SIGN_UP = """
mutation($email: String!, $password: String!, $name: String!) {
  signUp(input: {email: $email, password: $password, displayName: $name}) {
    __typename
    ... on AuthSession { accessToken refreshToken expiresAt account { id email displayName roles } }
    ... on EmailTaken { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""


async def sign_in(client: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD) -> str:
    body = await gql(client, SIGN_IN, {"email": email, "password": password})
    result = body["data"]["signIn"]
    assert result["__typename"] == "AuthSession", result
    return result["accessToken"]


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = "a-Strong-passphrase-1"
) -> dict:
    email = email or f"user-{secrets.token_hex(5)}@example.test"
    body = await gql(client, SIGN_UP, {"email": email, "password": password, "name": "Test User"})
    result = body["data"]["signUp"]
    assert result["__typename"] == "AuthSession", result
    return result


def unique_email() -> str:
    return f"user-{secrets.token_hex(5)}@example.test"
