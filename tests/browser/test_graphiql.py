"""GraphiQL as the service serves it, in Chromium with no network beyond 127.0.0.1: it renders
(screenshot kept), an analyst signs in through its form and runs `statistics`, the session
renews itself, tokens stay out of storage, and a subscription event arrives."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser import api
from tests.browser.conftest import Stack

# Its server runs on a SQLite database of its own: the SQLite pass runs it (tests/conftest.py).
pytestmark = pytest.mark.own_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Counts every CSP violation from the first script on (set up before the page's own scripts).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


async def open_graphiql(stack: Stack, page: Any) -> None:
    await page.add_init_script(CSP_WATCH)
    await page.goto(f"{stack.api}/graphql")
    await page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
    # The schema arrived through introspection: the docs button is enabled.
    await page.wait_for_selector(".graphiql-execute-button:not([disabled])")


async def sign_in_through_the_form(page: Any, email: str) -> dict:
    """Fills the page's form; returns the AuthSession the page received."""
    async with page.expect_response(
        lambda r: r.url.endswith("/graphql") and "signIn" in (r.request.post_data or "")
    ) as signed:
        await page.fill("#sign-in-email", email)
        await page.fill("#sign-in-password", api.DEMO_PASSWORD)
        await page.click("#sign-in-button")
    session = (await (await signed.value).json())["data"]["signIn"]
    assert session["__typename"] == "AuthSession", session
    await page.wait_for_selector("#signed-in:not([hidden])")
    assert not await page.is_visible("#sign-in-form")
    assert await page.inner_text("#signed-in-email") == email
    return session


async def run_in_graphiql(page: Any, query: str) -> None:
    await page.evaluate(
        "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)",
        query,
    )
    # GraphiQL reads the editor after a 100 ms debounce (its parsed document decides between
    # HTTP and the WebSocket).
    await asyncio.sleep(0.3)
    await page.click(".graphiql-execute-button")


async def result_pane(page: Any, containing: str, timeout_s: float = 10) -> dict:
    pane = page.locator(".graphiql-response .CodeMirror")
    for _ in range(int(timeout_s * 10)):
        text = await pane.evaluate("el => el.CodeMirror.getValue()")
        if containing in text:
            return json.loads(text)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the result pane never showed {containing!r}: {text}")


async def no_token_stored(page: Any, *tokens: str) -> None:
    stored = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie, location.href])"
    )
    for token in tokens:
        assert token not in stored
    assert (await page.context.cookies()) == []


async def test_graphiql_renders_offline_with_our_assets_only(stack: Stack, page):
    browser_page, network = page
    await open_graphiql(stack, browser_page)
    screenshot = stack.artifacts / "graphiql.png"
    await browser_page.screenshot(path=str(screenshot))
    print(f"GraphiQL screenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000
    assert await browser_page.locator(".graphiql-logo").inner_text() == "GraphiQL"
    assert network.outside() == []
    assets = [u for u in network.requested if "/static/" in u]
    assert len(assets) >= 6 and all(u.startswith(f"{stack.api}/static/") for u in assets)
    assert await browser_page.evaluate("window.__cspViolations") == []
    assert network.console_errors == []


async def test_an_analyst_signs_in_from_graphiql_and_runs_statistics(stack: Stack, page):
    browser_page, network = page
    await open_graphiql(stack, browser_page)
    session = await sign_in_through_the_form(browser_page, api.ANALYST)
    today = datetime.now(SHANGHAI).date()
    await run_in_graphiql(
        browser_page,
        f'{{ statistics(from: "{today - timedelta(days=90)}", to: "{today}") '
        "{ roundingBase applicationsByStatus { status count } } }",
    )
    result = await result_pane(browser_page, "roundingBase")
    assert "errors" not in result, result
    statuses = [row["status"] for row in result["data"]["statistics"]["applicationsByStatus"]]
    assert "UNDER_REVIEW" in statuses
    await browser_page.screenshot(path=str(stack.artifacts / "graphiql-statistics.png"))

    # The session renews itself before the (one-minute) access token expires, and the new
    # token works: statistics again, after the renewal.
    async with browser_page.expect_response(
        lambda r: "refreshSession" in (r.request.post_data or ""), timeout=15_000
    ) as renewed:
        pass
    fresh = (await (await renewed.value).json())["data"]["refreshSession"]
    assert fresh["__typename"] == "AuthSession"
    assert fresh["accessToken"] != session["accessToken"]
    await run_in_graphiql(browser_page, "{ viewer { account { email roles } } }")
    viewer = await result_pane(browser_page, "roles")
    assert viewer["data"]["viewer"]["account"]["email"] == api.ANALYST
    await no_token_stored(
        browser_page,
        session["accessToken"],
        session["refreshToken"],
        fresh["accessToken"],
        fresh["refreshToken"],
    )
    assert network.outside() == []
    assert await browser_page.evaluate("window.__cspViolations") == []


async def test_graphiql_receives_a_subscription_event(stack: Stack, page):
    browser_page, network = page
    person_id, application = await api.applicant_and_application(stack.api)
    await open_graphiql(stack, browser_page)
    await sign_in_through_the_form(browser_page, api.OFFICER)
    async with browser_page.expect_websocket(timeout=10_000) as opened:
        await run_in_graphiql(
            browser_page,
            f'subscription {{ applicationUpdates(applicantId: "{person_id}") '
            "{ status note application { number } } }",
        )
    socket = await opened.value
    assert socket.url == f"{stack.api.replace('http', 'ws')}/graphql"
    await network.subscribed()
    # The server registers the listener right after it checks the right to follow.
    for _ in range(3):
        await asyncio.sleep(0.5)
        status = await api.move_application(stack.api, application["id"])
        try:
            event = await result_pane(browser_page, f'"status": "{status}"', timeout_s=3)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError("no subscription event reached GraphiQL")
    assert event["data"]["applicationUpdates"]["application"]["number"] == application["number"]
    assert event["data"]["applicationUpdates"]["note"] == "browser"
    assert network.outside() == []
