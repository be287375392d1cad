"""A front-end on a second origin (listed in CORS_ORIGINS) uses the API with the real client
libraries in Chromium: Apollo Client over HTTP (preflighted, with Authorization) and graphql-ws
for subscriptions. The same page on an unlisted origin is refused by the browser."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.browser import api
from tests.browser.conftest import Stack

# Its server runs on a SQLite database of its own: the SQLite pass runs it (tests/conftest.py).
pytestmark = pytest.mark.own_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE = "VISA_EXTENSION"
BEIJING = {"latitude": 39.9042, "longitude": 116.4074}


async def open_client(page: Any, origin: str, api_url: str) -> None:
    await page.goto(f"{origin}/pages/client.html?api={api_url}")
    await page.wait_for_function("window.client !== undefined")


async def test_a_page_on_another_origin_books_cancels_and_hears_an_update(stack: Stack, page):
    browser_page, network = page
    person_id, application = await api.applicant_and_application(stack.api)
    await open_client(browser_page, stack.page_origin, stack.api)

    viewer = await browser_page.evaluate(
        "([email, password]) => client.signIn(email, password)",
        [api.APPLICANT, api.DEMO_PASSWORD],
    )
    assert viewer == {"email": api.APPLICANT, "personId": person_id}

    offices = await browser_page.evaluate(
        "([lat, lng, service]) => client.nearestOffices(lat, lng, service)",
        [BEIJING["latitude"], BEIJING["longitude"], SERVICE],
    )
    assert offices, "no office offers the service"
    distances = [office["distanceKm"] for office in offices]
    assert distances == sorted(distances)

    today = datetime.now(SHANGHAI).date()
    booked = await browser_page.evaluate(
        "([person, office, service, from, to]) => client.book(person, office, service, from, to)",
        [
            person_id,
            offices[0]["id"],
            SERVICE,
            str(today + timedelta(days=1)),
            str(today + timedelta(days=20)),
        ],
    )
    assert booked["typename"] == "BookingConfirmed", booked
    assert booked["appointment"]["status"] == "BOOKED"

    cancelled = await browser_page.evaluate("id => client.cancel(id)", booked["appointment"]["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    assert cancelled["appointment"]["status"] == "CANCELLED"

    async with browser_page.expect_websocket(timeout=10_000) as opened:
        await browser_page.evaluate("person => client.follow(person)", person_id)
    socket = await opened.value
    assert socket.url == f"{stack.api.replace('http', 'ws')}/graphql"
    await network.subscribed()
    for _ in range(3):
        await asyncio.sleep(0.5)
        status = await api.move_application(stack.api, application["id"])
        try:
            await browser_page.wait_for_function(
                "status => client.events.some(e => e.status === status)", arg=status, timeout=3000
            )
            break
        except PlaywrightTimeout:  # the listener was not registered yet: move it again
            continue
    else:
        raise AssertionError(f"no event arrived: {await browser_page.evaluate('client.errors')}")
    events = await browser_page.evaluate("client.events")
    assert events[-1]["application"]["number"] == application["number"]
    assert await browser_page.evaluate("client.errors") == []
    assert network.outside() == []
    assert network.console_errors == []


async def test_a_page_on_an_unlisted_origin_cannot_call_the_api(stack: Stack, page):
    browser_page, network = page
    await open_client(browser_page, stack.stranger_origin, stack.api)
    failure = await browser_page.evaluate(
        "([email, password]) => client.signIn(email, password).then(() => 'signed in',"
        " (error) => String(error.message || error))",
        [api.APPLICANT, api.DEMO_PASSWORD],
    )
    assert failure != "signed in"
    assert "fetch" in failure.lower()
    assert any("CORS" in message for message in network.console_errors)


async def test_the_websocket_refuses_an_unlisted_origin_with_403(stack: Stack):
    handshake = {
        "connection": "Upgrade",
        "upgrade": "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": "graphql-transport-ws",
    }
    async with httpx.AsyncClient(timeout=10) as c:
        refused = await c.get(
            f"{stack.api}/graphql", headers={**handshake, "origin": stack.stranger_origin}
        )
        listed = await c.get(
            f"{stack.api}/graphql", headers={**handshake, "origin": stack.page_origin}
        )
    assert refused.status_code == 403
    assert listed.status_code == 101
