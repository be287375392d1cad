"""/verify-email and /reset-password in Chromium, with no network beyond 127.0.0.1, opened
with the links of real mail: a server of its own here sends its outbox to a real SMTP server
(tests/mail_server.py), whose mail gives the token. The verification link confirms the address
once (the second time it says the link is used); the reset link sets a password one can sign
in with, after refusing differing and too-weak ones; a link without its token sends nothing;
the pages speak Chinese to a Chinese browser and switch language on demand; a request the
service refuses as a whole (its budget used up) shows the service's words, and the link still
works once it answers."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from domain.messages import N_
from tests.browser import api
from tests.browser.conftest import NetworkLog
from tests.browser.test_graphiql import CSP_WATCH
from tests.conftest import SIGN_IN, SIGN_UP, unique_email
from tests.helpers import running_servers, server_environment
from tests.mail_server import Handler, smtp_server
from web.errors import refusal_body
from web.operation_limits import Refusal

# Its server runs on a SQLite database of its own: the SQLite pass runs it (tests/conftest.py).
pytestmark = pytest.mark.own_database

PASSWORD = "a-Strong-passphrase-1"
NEW_PASSWORD = "another-Strong-passphrase-2"
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(email: $email) {
  __typename } }"""
VERIFIED = "{ viewer { account { email emailVerified } } }"
CHINESE_BROWSER = "Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN', 'zh']});"


class Mailed:
    """A server process whose mail reaches `mail` (SMTP on 127.0.0.1)."""

    def __init__(self, api: str, mail: Handler) -> None:
        self.api, self.mail = api, mail

    async def link_to(self, address: str, count: int) -> str:
        """The link of the `count`-th mail to `address` (path and fragment)."""
        received = (await self.mail.wait_for(address, count, within=60))[count - 1]
        token = received.link_token()
        assert token is not None, received.body
        path = "verify-email" if "/verify-email#token=" in received.body else "reset-password"
        assert f"/{path}#token={token}" in received.body
        return f"/{path}#token={token}"


@pytest.fixture(scope="module")
async def mailed(test_settings: Any) -> AsyncIterator[Mailed]:
    directory = Path(tempfile.mkdtemp(prefix="browser-mail-"))
    with smtp_server() as (mail, url):
        env = server_environment(
            test_settings,
            DATABASE_URL=f"sqlite://{directory / 'app.db'}",
            DATA_DIR=str(directory / "data"),
            SMTP_URL=url,
        )
        env.pop("REDIS_URL", None)
        async with running_servers(1, env, ready_attempts=600) as ports:
            yield Mailed(f"http://127.0.0.1:{ports[0]}", mail)


async def signed_up(mailed: Mailed) -> tuple[str, str]:
    """A fresh account's address and access token."""
    email = unique_email()
    data = await api.post(
        mailed.api, SIGN_UP, {"email": email, "password": PASSWORD, "name": "Browser User"}
    )
    assert data["signUp"]["__typename"] == "AuthSession", data
    return email, data["signUp"]["accessToken"]


async def open_link(mailed: Mailed, page: Any, link: str) -> dict:
    """The page loaded afresh from `link`, as when it is opened from the mail."""
    await page.add_init_script(CSP_WATCH)
    await page.goto("about:blank")
    await page.goto(f"{mailed.api}{link}")
    await page.wait_for_selector("body[data-ready='true']")
    return await shown(page)


async def shown(page: Any) -> dict:
    await page.wait_for_selector("#outcome:not([data-status='']):not([data-status='working'])")
    return await page.evaluate(
        """() => ({
          status: document.getElementById('outcome').dataset.status,
          heading: document.getElementById('outcome-heading').textContent,
          detail: document.getElementById('outcome-detail').textContent,
          next: document.getElementById('outcome-next').textContent,
          lang: document.documentElement.lang,
          href: location.href,
        })"""
    )


async def no_csp_violation(page: Any, network: NetworkLog) -> None:
    assert await page.evaluate("window.__cspViolations") == []
    assert network.console_errors == []


def graphql_requests(network: NetworkLog) -> list[str]:
    return [url for url in network.requested if url.endswith("/graphql")]


async def test_the_mailed_link_confirms_the_address_once(mailed: Mailed, page) -> None:
    browser_page, network = page
    email, session = await signed_up(mailed)
    link = await mailed.link_to(email, 1)
    assert link.startswith("/verify-email#token=")

    result = await open_link(mailed, browser_page, link)
    assert result["status"] == "verified", result
    assert result["heading"] == "Your address is confirmed"
    assert email in result["detail"]
    assert "token" not in result["href"]  # out of the address bar once read
    assert result["lang"] == "en"
    viewer = await api.post(mailed.api, VERIFIED, token=session)
    assert viewer["viewer"]["account"] == {"email": email, "emailVerified": True}
    await no_csp_violation(browser_page, network)

    again = await open_link(mailed, browser_page, link)
    assert again["status"] == "invalid", again
    assert again["heading"] == "This link cannot be used"
    assert "not valid any more" in again["detail"]
    assert "ask for a new confirmation mail" in again["next"]


async def test_the_reset_link_sets_a_password_to_sign_in_with(mailed: Mailed, page) -> None:
    browser_page, network = page
    email, _ = await signed_up(mailed)
    requested = await api.post(mailed.api, REQUEST_RESET, {"email": email})
    assert requested["requestPasswordReset"]["__typename"] == "PasswordResetRequested"
    link = await mailed.link_to(email, 2)  # after the verification mail
    assert link.startswith("/reset-password#token=")

    await browser_page.add_init_script(CSP_WATCH)
    await browser_page.goto(f"{mailed.api}{link}")
    await browser_page.wait_for_selector("body[data-ready='true']")
    assert "token" not in await browser_page.evaluate("location.href")
    await browser_page.wait_for_selector("#reset-form:not([hidden])")

    # Differing passwords: said in the page, nothing sent.
    await browser_page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await browser_page.get_by_label("The new password again").fill(NEW_PASSWORD + "x")
    await browser_page.click("#reset-button")
    assert "differ" in await browser_page.inner_text("#form-problem")
    assert await browser_page.get_attribute("#new-password", "aria-invalid") == "true"
    assert graphql_requests(network) == []

    # Too weak: the service's ValidationError; the form stays, the token still good.
    await browser_page.fill("#new-password", "short")
    await browser_page.fill("#repeat-password", "short")
    await browser_page.click("#reset-button")
    await browser_page.wait_for_selector("#form-problem:has-text('at least')")
    assert await browser_page.is_visible("#reset-form")
    assert await browser_page.get_attribute("#outcome", "data-status") == ""

    await browser_page.fill("#new-password", NEW_PASSWORD)
    await browser_page.fill("#repeat-password", NEW_PASSWORD)
    await browser_page.click("#reset-button")
    result = await shown(browser_page)
    assert result["status"] == "done", result
    assert result["heading"] == "Your password is changed"
    assert "Sign in again" in result["detail"]
    assert not await browser_page.is_visible("#reset-form")
    await no_csp_violation(browser_page, network)

    signed_in = await api.post(mailed.api, SIGN_IN, {"email": email, "password": NEW_PASSWORD})
    assert signed_in["signIn"]["__typename"] == "AuthSession", signed_in
    old = await api.post(mailed.api, SIGN_IN, {"email": email, "password": PASSWORD})
    assert old["signIn"]["__typename"] == "InvalidCredentials", old

    # The same link once more: used, so the page says to ask for a new one.
    await browser_page.goto("about:blank")
    await browser_page.goto(f"{mailed.api}{link}")
    await browser_page.wait_for_selector("#reset-form:not([hidden])")
    await browser_page.fill("#new-password", NEW_PASSWORD + "!")
    await browser_page.fill("#repeat-password", NEW_PASSWORD + "!")
    await browser_page.click("#reset-button")
    used = await shown(browser_page)
    assert used["status"] == "invalid", used
    assert "Ask for a new password-reset link" in used["next"]
    assert not await browser_page.is_visible("#reset-form")


@pytest.mark.parametrize("path", ["/verify-email", "/reset-password", "/verify-email#token="])
async def test_a_link_without_its_token_sends_nothing(mailed: Mailed, page, path: str) -> None:
    browser_page, network = page
    result = await open_link(mailed, browser_page, path)
    assert result["status"] == "incomplete", result
    assert result["heading"] == "This link is incomplete"
    assert "whole link" in result["next"]
    assert await browser_page.is_hidden("#reset-form")
    assert graphql_requests(network) == []
    await no_csp_violation(browser_page, network)


async def test_a_whole_link_pasted_into_the_incomplete_page_is_used(mailed: Mailed, page) -> None:
    """Pasting the link into the address bar of the open page changes only its fragment (no
    new load): the page takes that token."""
    browser_page, network = page
    email, session = await signed_up(mailed)
    link = await mailed.link_to(email, 1)
    assert (await open_link(mailed, browser_page, "/verify-email"))["status"] == "incomplete"
    await browser_page.goto(f"{mailed.api}{link}")
    await browser_page.wait_for_selector("#outcome[data-status='verified']")
    assert "token" not in await browser_page.evaluate("location.href")
    viewer = await api.post(mailed.api, VERIFIED, token=session)
    assert viewer["viewer"]["account"]["emailVerified"] is True
    await no_csp_violation(browser_page, network)


async def test_a_chinese_browser_gets_chinese_and_can_switch(mailed: Mailed, page) -> None:
    browser_page, network = page
    await browser_page.add_init_script(CHINESE_BROWSER)
    async with browser_page.expect_request(lambda r: r.url.endswith("/graphql")) as sent:
        result = await open_link(mailed, browser_page, "/verify-email#token=not-a-real-token")
    assert (await sent.value).headers["accept-language"] == "zh-CN"
    assert result["status"] == "invalid", result
    assert result["lang"] == "zh-CN"
    assert result["heading"] == "此链接无法使用"
    assert result["detail"] == "该链接已失效（已使用、已过期或输入有误），请重新申请。"
    assert await browser_page.title() == "确认电子邮箱地址"

    await browser_page.get_by_role("button", name="English").click()
    switched = await shown(browser_page)
    assert switched["lang"] == "en"
    assert switched["heading"] == "This link cannot be used"
    assert await browser_page.inner_text("h1") == "Confirm your e-mail address"
    assert await browser_page.get_attribute("[data-language='en']", "aria-pressed") == "true"
    await no_csp_violation(browser_page, network)


async def test_a_refused_request_shows_the_services_words_and_the_link_still_works(
    mailed: Mailed, page
) -> None:
    """The service answering with an error and no result (here its per-minute budget used up,
    the body made by the server's own envelope) is not "did not answer": the page shows the
    service's message and offers to try again, and the retry, once it answers, confirms."""
    browser_page, _network = page
    email, session = await signed_up(mailed)
    link = await mailed.link_to(email, 1)
    refusal = Refusal(
        N_("Query budget used up for this minute; try again shortly."),
        "RATE_LIMITED",
        status=429,
        retry_after=60,
    )
    body, status = refusal_body(refusal, "application/json", "en")
    said = body["errors"][0]["message"]

    async def budget_used_up(route: Any) -> None:
        await route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    await browser_page.route("**/graphql", budget_used_up)
    result = await open_link(mailed, browser_page, link)
    assert result["status"] == "refused", result
    assert result["heading"] == "This cannot be done just now"
    assert result["detail"] == said
    assert "try again" in result["next"]
    assert await browser_page.is_visible("#retry-button")

    await browser_page.unroute("**/graphql", budget_used_up)
    await browser_page.click("#retry-button")
    await browser_page.wait_for_selector("#outcome[data-status='verified']")
    viewer = await api.post(mailed.api, VERIFIED, token=session)
    assert viewer["viewer"]["account"]["emailVerified"] is True

    # The reset form says it in place of the form's problem, and keeps the form.
    requested = await api.post(mailed.api, REQUEST_RESET, {"email": email})
    assert requested["requestPasswordReset"]["__typename"] == "PasswordResetRequested"
    reset_link = await mailed.link_to(email, 2)
    await browser_page.route("**/graphql", budget_used_up)
    await browser_page.goto("about:blank")
    await browser_page.goto(f"{mailed.api}{reset_link}")
    await browser_page.wait_for_selector("#reset-form:not([hidden])")
    await browser_page.fill("#new-password", NEW_PASSWORD)
    await browser_page.fill("#repeat-password", NEW_PASSWORD)
    await browser_page.click("#reset-button")
    await browser_page.wait_for_selector(f"#form-problem:has-text('{said}')")
    assert await browser_page.is_visible("#reset-form")
    assert await browser_page.is_enabled("#reset-button")
