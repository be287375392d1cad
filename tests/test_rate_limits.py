"""Limits that cannot be walked around or turned against users: the client address behind
proxies, atomic check-and-reserve, sign-in throttling that spares the owner's usual address,
identity matching limited per address with a global alert."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import settings as settings_module
from persistence.rate_limits import MemoryRateLimiter, Quota, RedisRateLimiter, address_key
from resolvers.metrics import REGISTRY
from tests.conftest import SIGN_IN, SIGN_UP, gql, sign_up, unique_email
from tests.helpers import (
    PASSWORD,
    add_dependant,
    link_identity,
    new_member,
    passport_number,
    register_person,
)
from web.client_address import client_address

REDIS_URL = os.environ.get("TEST_REDIS_URL")
WRONG = "a-Wrong-passphrase-0"

CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    __typename
    ... on InvalidCredentials { message }
    ... on RateLimited { retryAfterSeconds }
  }
}"""


class LimiterTime:
    """The limiter's clock: starts at the real time and moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["memory", "redis"])
async def limiter_time(request: Any, app: Any) -> AsyncIterator[LimiterTime]:
    """A fresh limiter (in memory, or in Redis when TEST_REDIS_URL is set) on a clock the
    test moves, in place of the app's for this test."""
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    services = app.state.services
    clock = LimiterTime()
    limiter = (
        RedisRateLimiter(REDIS_URL, f"test-{secrets.token_hex(4)}:", clock=clock)
        if request.param == "redis"
        else MemoryRateLimiter(clock)
    )
    original = services.limiter
    services.limiter = limiter
    try:
        yield clock
    finally:
        services.limiter = original
        await limiter.close()


@pytest.fixture
def configure(app: Any) -> Iterator[Any]:
    """Change settings of the running app for this test only."""
    services = app.state.services
    original = services.settings

    def change(**changes: Any) -> None:
        services.settings = services.settings.with_(**changes)

    yield change
    services.settings = original


_next_address = iter(range(1, 1_000_000))


def new_address() -> str:
    n = next(_next_address)
    return f"172.{16 + n // 65536 % 16}.{n // 256 % 256}.{n % 256}"


def client_at(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in_as(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> dict:
    body = await gql(client, SIGN_IN, {"email": email, "password": password}, **headers)
    return body["data"]["signIn"]


async def account_at(app: Any, address: str) -> str:
    """A fresh account signed up from `address`; its e-mail address."""
    email = unique_email()
    async with client_at(app, address) as c:
        await sign_up(c, email, PASSWORD)
    return email


# ------------------------------------------------------------------ the client's address


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert client_address("203.0.113.9", ["198.51.100.1"], ()) == "203.0.113.9"
    trusted = ("10.0.0.0/8",)
    assert client_address("203.0.113.9", ["198.51.100.1"], trusted) == "203.0.113.9"


def test_forwarded_for_from_a_trusted_peer_gives_the_right_most_untrusted_address():
    trusted = ("10.0.0.0/8", "192.0.2.7")
    # The client wrote 1.1.1.1 itself; the outer proxy saw 198.51.100.4 and appended it.
    hops = ["1.1.1.1, 198.51.100.4", "10.1.2.3"]
    assert client_address("192.0.2.7", hops, trusted) == "198.51.100.4"
    assert client_address("10.9.9.9", ["198.51.100.4:5123"], trusted) == "198.51.100.4"
    assert client_address("10.9.9.9", ["[2001:db8::5]:443"], trusted) == "2001:db8::5"
    mapped = client_address("::ffff:10.9.9.9", ["::ffff:198.51.100.4"], trusted)
    assert mapped == "198.51.100.4"


def test_a_trusted_peer_without_a_usable_forwarded_for_is_the_client():
    trusted = ("10.0.0.0/8",)
    assert client_address("10.0.0.1", [], trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", ["10.0.0.2, 10.0.0.3"], trusted) == "10.0.0.2"
    # Garbage at the right comes from a trusted proxy gone wrong: stop at that proxy.
    assert client_address("10.0.0.1", ["198.51.100.4, unknown"], trusted) == "10.0.0.1"


def test_ipv6_addresses_of_one_slash_64_count_as_one():
    assert address_key("2001:db8:1:2::5") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:3::5") != address_key("2001:db8:1:2::5")
    assert address_key("198.51.100.4") == "198.51.100.4"


def test_trusted_proxies_and_the_readme_limits_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
    monkeypatch.setenv("SIGNIN_FAILURES_PER_ACCOUNT", "7")
    monkeypatch.setenv("SIGNIN_FAILURES_PER_IP", "70")
    monkeypatch.setenv("SIGNIN_FAILURE_WINDOW_S", "700")
    monkeypatch.setenv("IDENTITY_ATTEMPTS_PER_ACCOUNT", "4")
    monkeypatch.setenv("IDENTITY_ATTEMPTS_PER_IP", "40")
    monkeypatch.setenv("IDENTITY_ATTEMPT_WINDOW_S", "400")
    loaded = settings_module.load()
    assert loaded.trusted_proxies == ("10.0.0.0/8", "192.0.2.7")
    assert (loaded.signin_failures_per_account, loaded.signin_failures_per_ip) == (7, 70)
    assert loaded.signin_failure_window_s == 700
    assert (loaded.identity_attempts_per_account, loaded.identity_attempts_per_ip) == (4, 40)
    assert loaded.identity_attempt_window_s == 400
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        settings_module.load()


async def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(
    app, configure, limiter_time
):
    configure(signin_failures_per_ip=3, trusted_proxies=("192.0.2.0/24",))
    async with client_at(app, new_address()) as attacker:
        results = [
            await sign_in_as(attacker, unique_email(), WRONG, x_forwarded_for=new_address())
            for _ in range(4)
        ]
    assert [r["__typename"] for r in results] == ["InvalidCredentials"] * 3 + ["RateLimited"]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(app, configure, limiter_time):
    configure(signin_failures_per_ip=3, trusted_proxies=("192.0.2.0/24",))
    async with client_at(app, "192.0.2.10") as proxy:
        # Many clients behind one proxy: each has its own per-address count...
        results = [
            await sign_in_as(proxy, unique_email(), WRONG, x_forwarded_for=new_address())
            for _ in range(6)
        ]
        assert {r["__typename"] for r in results} == {"InvalidCredentials"}
        # ...and one client is limited whatever it puts to the left of what the proxy saw.
        client = new_address()
        results = [
            await sign_in_as(
                proxy, unique_email(), WRONG, x_forwarded_for=f"{new_address()}, {client}"
            )
            for _ in range(4)
        ]
    assert [r["__typename"] for r in results] == ["InvalidCredentials"] * 3 + ["RateLimited"]


async def test_websocket_connections_use_the_same_client_address(app, configure):
    configure(trusted_proxies=("192.0.2.0/24",))
    from web.websocket import GraphQLWebSocket

    socket = GraphQLWebSocket(None, app.state.services)

    def request(peer: str) -> Request:
        headers = [(b"x-forwarded-for", b"1.1.1.1, 198.51.100.77")]
        return Request({"type": "http", "headers": headers, "client": (peer, 1)})

    assert (await socket.get_context(request("192.0.2.3"))).client_ip == "198.51.100.77"
    assert (await socket.get_context(request("203.0.113.3"))).client_ip == "203.0.113.3"


# ------------------------------------------------------------------ atomic reservations


async def test_concurrent_reservations_grant_exactly_the_limit(limiter_time, app):
    limiter = app.state.services.limiter
    quota = [Quota(f"t:{secrets.token_hex(4)}", 10, 60)]
    results = await asyncio.gather(*(limiter.reserve(quota) for _ in range(30)))
    assert sum(r.granted for r in results) == 10
    assert all(r.retry_after and 0 < r.retry_after <= 60 for r in results if not r.granted)
    await limiter.release(next(r for r in results if r.granted))
    assert (await limiter.reserve(quota)).granted


async def test_thirty_concurrent_wrong_sign_ins_check_exactly_ten_passwords(
    app, limiter_time, monkeypatch
):
    # On PostgreSQL the sign-ins overlap (checking without reserving lets 14 through); SQLite
    # runs one mutation at a time, so there the limiter-level test above is the one that bites.
    services = app.state.services
    address = new_address()
    email = await account_at(app, address)
    checked = 0
    verify = services.verify_password

    async def counting(password_hash: str, password: str) -> bool:
        nonlocal checked
        checked += 1
        return await verify(password_hash, password)

    monkeypatch.setattr(services, "verify_password", counting)
    async with client_at(app, address) as c:
        results = await asyncio.gather(
            *(sign_in_as(c, email, f"a-Wrong-passphrase-{n}") for n in range(30))
        )
    kinds = [r["__typename"] for r in results]
    assert kinds.count("InvalidCredentials") == 10, kinds
    assert kinds.count("RateLimited") == 20, kinds
    assert checked == 10


# ------------------------------------------------------------------ sign-in throttling


async def test_guessing_from_elsewhere_does_not_lock_the_owner_out_of_a_known_address(
    app, limiter_time
):
    home, attacker_address, new_place = new_address(), new_address(), new_address()
    email = await account_at(app, home)
    async with client_at(app, home) as owner:
        assert (await sign_in_as(owner, email, PASSWORD))["__typename"] == "AuthSession"
    async with client_at(app, attacker_address) as attacker:
        for n in range(10):
            result = await sign_in_as(attacker, email, f"a-Wrong-passphrase-{n}")
            assert result["__typename"] == "InvalidCredentials", n
        assert (await sign_in_as(attacker, email, WRONG))["__typename"] == "RateLimited"
        assert (await sign_in_as(attacker, email, PASSWORD))["__typename"] == "RateLimited"
    async with client_at(app, home) as owner:
        assert (await sign_in_as(owner, email, PASSWORD))["__typename"] == "AuthSession"
    async with client_at(app, new_place) as stranger:
        refused = await sign_in_as(stranger, email, PASSWORD)
        assert refused["__typename"] == "RateLimited"
        assert refused["retryAfterSeconds"] > 0
    # Known addresses are forgotten after SIGNIN_KNOWN_ADDRESS_DAYS (90).
    limiter_time.advance(91 * 86400)
    async with client_at(app, attacker_address) as attacker:
        for n in range(10):
            result = await sign_in_as(attacker, email, f"a-Wrong-passphrase-{n}")
            assert result["__typename"] == "InvalidCredentials", n
    async with client_at(app, home) as owner:
        assert (await sign_in_as(owner, email, PASSWORD))["__typename"] == "RateLimited"


async def test_one_address_is_capped_across_many_accounts(app, configure, limiter_time):
    configure(signin_failures_per_ip=5)
    accounts = [await account_at(app, new_address()) for _ in range(6)]
    async with client_at(app, new_address()) as sprayer:
        for email in accounts[:5]:
            assert (await sign_in_as(sprayer, email, WRONG))["__typename"] == "InvalidCredentials"
        refused = await sign_in_as(sprayer, accounts[5], PASSWORD)
        assert refused["__typename"] == "RateLimited"
        assert 0 < refused["retryAfterSeconds"] <= 900
    async with client_at(app, new_address()) as owner:
        assert (await sign_in_as(owner, accounts[5], PASSWORD))["__typename"] == "AuthSession"


async def test_wrong_passwords_from_one_address_wait_longer_and_longer(app, limiter_time):
    home = new_address()
    email = await account_at(app, home)
    async with client_at(app, home) as c:
        assert (await sign_in_as(c, email, PASSWORD))["__typename"] == "AuthSession"
        for n in range(10):
            result = await sign_in_as(c, email, f"a-Wrong-passphrase-{n}")
            assert result["__typename"] == "InvalidCredentials", n
        waits = []
        for _ in range(5):
            refused = await sign_in_as(c, email, WRONG)
            assert refused["__typename"] == "RateLimited", refused
            waits.append(refused["retryAfterSeconds"])
            limiter_time.advance(refused["retryAfterSeconds"])
            assert (await sign_in_as(c, email, WRONG))["__typename"] == "InvalidCredentials"
        assert waits == [1, 2, 4, 8, 16]
        # The owner, from this known address, is past the per-account cap and still gets in
        # once the wait is over; the right password starts the backoff over.
        limiter_time.advance(32)
        assert (await sign_in_as(c, email, PASSWORD))["__typename"] == "AuthSession"
        assert (await sign_in_as(c, email, WRONG))["__typename"] == "InvalidCredentials"


async def test_the_backoff_stops_growing_at_its_cap(app, configure, limiter_time):
    configure(signin_backoff_after=2, signin_backoff_cap_s=5)
    address = new_address()
    email = await account_at(app, address)
    async with client_at(app, address) as c:
        waits = []
        for _ in range(2):
            await sign_in_as(c, email, WRONG)
        for _ in range(5):
            refused = await sign_in_as(c, email, WRONG)
            waits.append(refused["retryAfterSeconds"])
            limiter_time.advance(refused["retryAfterSeconds"])
            assert (await sign_in_as(c, email, WRONG))["__typename"] == "InvalidCredentials"
    assert waits == [1, 2, 4, 5, 5]


async def test_wrong_current_passwords_count_as_failed_sign_ins(app, limiter_time):
    address = new_address()
    email = unique_email()
    async with client_at(app, address) as c:
        token = (await sign_up(c, email, PASSWORD))["accessToken"]
        for n in range(10):
            body = await gql(
                c,
                CHANGE_PASSWORD,
                {"current": f"wrong-current-{n}", "new": "another-Strong-pass-9"},
                token=token,
            )
            assert body["data"]["changePassword"]["__typename"] == "InvalidCredentials", n
        assert (await sign_in_as(c, email, PASSWORD))["__typename"] == "RateLimited"


# ------------------------------------------------------------------ identity matching


async def test_new_accounts_buy_no_new_identity_guesses_from_one_address(
    app, configure, limiter_time
):
    configure(identity_attempts_per_ip=3)
    address = new_address()
    async with client_at(app, new_address()) as officer:
        person = await register_person(officer)
    async with client_at(app, address) as c:
        for _ in range(3):
            member = await new_member(c)
            wrong = {**person.facts(), "passportNumber": passport_number("D")}
            assert (await link_identity(c, member.token, wrong))["__typename"] == (
                "IdentityNotFound"
            )
        fresh = await new_member(c)
        assert (await link_identity(c, fresh.token, person.facts()))["__typename"] == (
            "RateLimited"
        )
        # addDependant draws on the same per-address count.
        added = await add_dependant(c, fresh.token, person.facts())
        assert added["__typename"] == "RateLimited"
    async with client_at(app, new_address()) as elsewhere:
        member = await new_member(elsewhere)
        linked = await link_identity(elsewhere, member.token, person.facts())
        assert linked["__typename"] == "IdentityLinked"


async def test_identity_hits_do_not_count_against_the_address(app, configure, limiter_time):
    configure(identity_attempts_per_ip=2)
    async with client_at(app, new_address()) as c:
        member = await new_member(c)
        for _ in range(4):
            person = await register_person(c)
            added = await add_dependant(c, member.token, person.facts(), relationship="OTHER")
            assert added["__typename"] == "DependantAdded", added


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_many_misses_by_all_clients_alert_and_slow_down_but_never_refuse(
    app, configure, limiter_time, caplog
):
    configure(identity_global_misses_alert=2, identity_global_slowdown_max_ms=400)
    limiter_time.now = limiter_time.now // 3600 * 3600 + 1  # all misses in one window
    async with client_at(app, new_address()) as officer:
        person = await register_person(officer)
    slowed_before = _sample("identity_match_misses_slowed_total")
    misses_before = _sample("identity_match_misses_total")
    elapsed = []
    with caplog.at_level(logging.WARNING, logger="resolvers.persons"):
        for _ in range(4):
            async with client_at(app, new_address()) as c:
                member = await new_member(c)
                wrong = {**person.facts(), "passportNumber": passport_number("D")}
                started = time.perf_counter()
                result = await link_identity(c, member.token, wrong)
                elapsed.append(time.perf_counter() - started)
                assert result["__typename"] == "IdentityNotFound"
    assert _sample("identity_match_misses_total") - misses_before == 4
    assert _sample("identity_match_misses_in_window") == 4
    assert _sample("identity_match_misses_slowed_total") - slowed_before == 2
    warnings = [r for r in caplog.records if "identity matching" in r.getMessage()]
    assert len(warnings) == 1  # once a minute, not once a miss
    # Third miss: half-way to twice the alert level (200 ms); fourth: the maximum (400 ms).
    assert elapsed[2] >= 0.2 and elapsed[3] >= 0.4
    assert elapsed[0] < 0.2
    async with client_at(app, new_address()) as c:
        member = await new_member(c)
        linked = await link_identity(c, member.token, person.facts())
        assert linked["__typename"] == "IdentityLinked"


# ------------------------------------------------------------------ sign-up and booking


async def test_concurrent_sign_ups_from_one_address_create_exactly_the_limit(
    app, configure, limiter_time
):
    configure(signups_per_ip=5)
    async with client_at(app, new_address()) as c:
        bodies = await asyncio.gather(
            *(
                gql(
                    c,
                    SIGN_UP,
                    {"email": unique_email(), "password": PASSWORD, "name": "Rush Hour"},
                )
                for _ in range(12)
            )
        )
    kinds = [b["data"]["signUp"]["__typename"] for b in bodies]
    assert kinds.count("AuthSession") == 5, kinds
    assert kinds.count("RateLimited") == 7, kinds


async def test_the_address_an_owner_signed_up_from_is_known_to_their_account(
    app, configure, limiter_time
):
    configure(signin_failures_per_account=3)
    home = new_address()
    email = await account_at(app, home)
    async with client_at(app, new_address()) as attacker:
        for n in range(4):
            await sign_in_as(attacker, email, f"a-Wrong-passphrase-{n}")
        assert (await sign_in_as(attacker, email, PASSWORD))["__typename"] == "RateLimited"
    async with client_at(app, home) as owner:
        assert (await sign_in_as(owner, email, PASSWORD))["__typename"] == "AuthSession"


async def test_failed_sign_ins_keep_no_typed_address_in_the_limiter(app, client):
    """The sign-in counters are keyed on a digest of the address typed: failures with long
    made-up addresses hold keys of bounded size, and the typed text is not kept."""
    limiter = app.state.services.limiter
    before = set(limiter._events)
    typed = ["a" * 200_000 + f"{n}@example.test" for n in range(3)]
    document = """mutation($e: String!) { signIn(input: {email: $e, password: "wrong-pass-123"})
      { __typename } }"""
    for email in typed:
        body = await gql(client, document, {"e": email})
        assert body["data"]["signIn"]["__typename"] == "InvalidCredentials", body
    added = set(limiter._events) - before
    assert added and all(len(key) < 200 for key in added), sorted(len(k) for k in added)
    assert not any("a" * 100 in key for key in limiter._events)
