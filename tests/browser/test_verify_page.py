"""The /verify page in Chromium, with no network beyond 127.0.0.1: it checks a full certificate
(valid, every fact), a presentation (only what it discloses, also from a QR code's link and from
a photo of the QR code), a tampered token (not valid), an expired presentation (the page's clock
moved on), a revoked certificate (asked of the service), and works offline with a saved or a
pasted JWK Set (revocation then said to be unchecked), and says so plainly when a token verifies
with a pasted key the service does not recognise (never "not revoked"). The service's EXPIRED
stands over a device clock running behind, and only the latest check's verdict is shown (a slow
earlier check never overwrites it)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jwcrypto import jwk

from signing import certificates, qr
from tests.browser import api
from tests.browser.conftest import Stack
from tests.browser.test_graphiql import CSP_WATCH

# Its server runs on a SQLite database of its own: the SQLite pass runs it (tests/conftest.py).
pytestmark = pytest.mark.own_database

ALL_CLAIMS = [
    "NAME",
    "BIRTH_DATE",
    "NATIONALITY",
    "PR_CARD_NUMBER",
    "PR_CARD_VALIDITY",
    "CURRENT_PASSPORT",
    "PASSPORT_HISTORY",
]
ISSUE = """
mutation($id: ID!) { issuePassportCertificate(personId: $id) {
  __typename ... on CertificateIssued { certificate { id token } } } }"""
PRESENT = """
mutation($input: PresentCertificateInput!) { presentCertificate(input: $input) {
  __typename ... on CertificatePresented { presentation { token disclosed qrPng expiresAt } } } }"""
REVOKE = """
mutation($input: RevokeCertificateInput!) { revokeCertificate(input: $input) { __typename } }"""


async def pr_certificate(stack: Stack) -> tuple[str, dict]:
    """pr@demo.test's access token and a fresh certificate of theirs."""
    token = await api.sign_in(stack.api, "pr@demo.test")
    person = (await api.post(stack.api, "{ viewer { person { id } } }", token=token))["viewer"]
    issued = await api.post(stack.api, ISSUE, {"id": person["person"]["id"]}, token)
    assert issued["issuePassportCertificate"]["__typename"] == "CertificateIssued", issued
    return token, issued["issuePassportCertificate"]["certificate"]


async def presentation(stack: Stack, token: str, certificate_id: str, disclose: list[str]):
    data = await api.post(
        stack.api,
        PRESENT,
        {"input": {"certificateId": certificate_id, "disclose": disclose}},
        token,
    )
    result = data["presentCertificate"]
    assert result["__typename"] == "CertificatePresented", result
    return result["presentation"]


def claims_of(token: str) -> dict:
    payload = token.split("~")[0].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def open_page(stack: Stack, page: Any, fragment: str = "") -> None:
    await page.add_init_script(CSP_WATCH)
    await page.goto(f"{stack.api}/verify{fragment}")
    await page.wait_for_selector("body[data-ready='true']")


async def verify_in_page(page: Any, token: str) -> dict:
    """Paste the token, press Verify; what the page then shows."""
    await page.fill("#token-input", token)
    await page.click("#verify-button")
    return await shown(page)


async def shown(page: Any) -> dict:
    await page.wait_for_selector("#result:not([hidden])[data-status]")
    return await page.evaluate(
        """() => {
          const result = document.getElementById('result');
          return {
            status: result.dataset.status,
            kind: result.dataset.kind,
            heading: document.getElementById('result-status').textContent,
            detail: document.getElementById('result-detail').textContent,
            revocation: document.getElementById('revocation').dataset.state,
            revocationText: document.getElementById('revocation').textContent,
            facts: Object.fromEntries([...document.querySelectorAll('#facts dd[data-claim]')]
              .map((dd) => [dd.dataset.claim, dd.textContent])),
            text: document.body.innerText,
          };
        }"""
    )


async def no_csp_violation(page: Any) -> None:
    assert await page.evaluate("window.__cspViolations") == []


async def test_a_full_certificate_is_valid_and_shows_every_fact(stack: Stack, page) -> None:
    browser_page, network = page
    _, certificate = await pr_certificate(stack)
    claims = claims_of(certificate["token"])
    await open_page(stack, browser_page)
    assert await browser_page.get_attribute("#keys-status", "data-state") == "service"

    result = await verify_in_page(browser_page, certificate["token"])
    assert result["status"] == "valid", result
    assert result["kind"] == "certificate"
    assert result["revocation"] == "not-revoked", result
    assert list(result["facts"]) == ALL_CLAIMS
    assert claims["name"]["surname"] in result["facts"]["NAME"]
    assert result["facts"]["BIRTH_DATE"] == claims["birthDate"]
    assert result["facts"]["PR_CARD_NUMBER"] == claims["prCard"]["number"]
    (superseded,) = [p for p in claims["passports"] if not p["current"]]
    assert superseded["number"] in result["facts"]["PASSPORT_HISTORY"]
    await browser_page.screenshot(
        path=str(stack.artifacts / "verify-certificate.png"), full_page=True
    )
    await no_csp_violation(browser_page)
    assert network.console_errors == []
    assets = [u for u in network.requested if "/static/" in u]
    assert assets and all(u.startswith(f"{stack.api}/static/") for u in assets)


async def test_a_presentation_from_a_qr_link_shows_only_what_it_discloses(
    stack: Stack, page
) -> None:
    browser_page, network = page
    token, certificate = await pr_certificate(stack)
    claims = claims_of(certificate["token"])
    presented = await presentation(stack, token, certificate["id"], ["NAME", "CURRENT_PASSPORT"])

    # What the QR code holds: <PUBLIC_BASE_URL>/verify#token=<token>; the page checks it at once.
    await open_page(stack, browser_page, f"#token={presented['token']}")
    result = await shown(browser_page)
    assert result["status"] == "valid", result
    assert result["kind"] == "presentation"
    assert list(result["facts"]) == ["NAME", "CURRENT_PASSPORT"]
    (current,) = [p for p in claims["passports"] if p["current"]]
    assert current["number"] in result["facts"]["CURRENT_PASSPORT"]
    (superseded,) = [p for p in claims["passports"] if not p["current"]]
    for hidden in (claims["birthDate"], claims["prCard"]["number"], superseded["number"]):
        assert hidden not in result["text"]
    assert "Date of birth" in await browser_page.inner_text("#undisclosed")
    # The token left the address bar (and the history) once read.
    assert "token" not in await browser_page.evaluate("location.href")
    await browser_page.screenshot(
        path=str(stack.artifacts / "verify-presentation.png"), full_page=True
    )
    await no_csp_violation(browser_page)
    assert network.console_errors == []


async def test_a_photo_of_the_qr_code_is_read(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NATIONALITY"])
    await open_page(stack, browser_page)
    await browser_page.set_input_files(
        "#qr-file",
        files=[
            {
                "name": "qr.png",
                "mimeType": "image/png",
                "buffer": base64.b64decode(presented["qrPng"]),
            }
        ],
    )
    result = await shown(browser_page)
    assert result["status"] == "valid", result
    assert list(result["facts"]) == ["NATIONALITY"]
    assert await browser_page.input_value("#token-input") == presented["token"]


async def test_a_tampered_token_is_not_valid(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NAME"])
    await open_page(stack, browser_page)

    document = certificate["token"]
    middle = len(document) // 2
    altered = document[:middle] + ("A" if document[middle] != "A" else "B") + document[middle + 1 :]
    result = await verify_in_page(browser_page, altered)
    assert result["status"] == "invalid", result
    assert result["facts"] == {}

    # A presentation carrying a disclosure its issuer did not sign.
    jwt, disclosure, _ = presented["token"].split("~")
    forged = (
        base64.urlsafe_b64encode(
            json.dumps(["c2FsdHNhbHRzYWx0", "birthDate", "1999-01-01"]).encode()
        )
        .decode()
        .rstrip("=")
    )
    result = await verify_in_page(browser_page, f"{jwt}~{disclosure}~{forged}~")
    assert result["status"] == "invalid", result
    assert "altered" in result["detail"]
    result = await verify_in_page(browser_page, "not a token at all")
    assert result["status"] == "invalid", result


async def test_an_expired_presentation_shows_expired(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NAME"])
    expires = datetime.fromisoformat(presented["expiresAt"])
    # The page's clock a minute past the presentation's expiry.
    await browser_page.clock.install(time=expires + timedelta(minutes=1))
    await open_page(stack, browser_page)
    result = await verify_in_page(browser_page, presented["token"])
    assert result["status"] == "expired", result
    assert "Expired" in result["heading"]
    assert list(result["facts"]) == ["NAME"]


async def test_a_revoked_certificate_shows_revoked(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NAME"])
    officer = await api.sign_in(stack.api, api.OFFICER)
    revoked = await api.post(
        stack.api,
        REVOKE,
        {"input": {"certificateId": certificate["id"], "reason": "Browser test."}},
        officer,
    )
    assert revoked["revokeCertificate"]["__typename"] == "CertificateRevoked", revoked
    await open_page(stack, browser_page)
    for document in (certificate["token"], presented["token"]):
        result = await verify_in_page(browser_page, document)
        assert result["status"] == "revoked", result
        assert result["revocation"] == "revoked"


async def test_offline_with_the_saved_keys(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NAME", "BIRTH_DATE"])
    await open_page(stack, browser_page)
    await browser_page.click("#save-keys-button")
    saved = await browser_page.evaluate("JSON.parse(localStorage.getItem('verify.jwks'))")
    async with httpx.AsyncClient() as client:
        published = (await client.get(f"{stack.api}/.well-known/jwks.json")).json()
    assert saved["keys"] == published["keys"]

    # The network goes away after the page has loaded: the signature is still checked; the
    # page says revocation could not be.
    await browser_page.context.set_offline(True)
    result = await verify_in_page(browser_page, presented["token"])
    assert result["status"] == "valid", result
    assert result["revocation"] == "unknown"
    assert "could not be checked" in result["revocationText"]
    assert list(result["facts"]) == ["NAME", "BIRTH_DATE"]
    result = await verify_in_page(browser_page, presented["token"][:-5] + "AAAA~")
    assert result["status"] == "invalid", result
    await browser_page.context.set_offline(False)

    # Loaded again where the keys and the API cannot be reached: the saved keys are used.
    async def unreachable(route: Any) -> None:
        await route.abort()

    await browser_page.route("**/.well-known/jwks.json", unreachable)
    await browser_page.route("**/graphql", unreachable)
    await browser_page.reload()
    await browser_page.wait_for_selector("body[data-ready='true']")
    assert await browser_page.get_attribute("#keys-status", "data-state") == "saved"
    result = await verify_in_page(browser_page, certificate["token"])
    assert result["status"] == "valid", result
    assert result["revocation"] == "unknown"


async def test_a_pasted_jwk_set_is_used(stack: Stack, page) -> None:
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["PR_CARD_VALIDITY"])
    async with httpx.AsyncClient() as client:
        published = (await client.get(f"{stack.api}/.well-known/jwks.json")).text

    async def unreachable(route: Any) -> None:
        await route.abort()

    await browser_page.route("**/.well-known/jwks.json", unreachable)
    await browser_page.route("**/graphql", unreachable)
    await open_page(stack, browser_page)
    assert await browser_page.get_attribute("#keys-status", "data-state") == "none"
    await browser_page.click("#keys-section summary")
    await browser_page.fill("#jwks-input", published)
    await browser_page.click("#use-jwks-button")
    assert await browser_page.get_attribute("#keys-status", "data-state") == "pasted"
    result = await verify_in_page(browser_page, presented["token"])
    assert result["status"] == "valid", result
    assert list(result["facts"]) == ["PR_CARD_VALIDITY"]
    assert result["revocation"] == "unknown"


async def test_a_browser_without_the_signature_algorithm_says_so(stack: Stack, page) -> None:
    """An older browser whose WebCrypto lacks Ed25519 must not call a genuine certificate
    altered: it says it cannot check it here."""
    browser_page, _ = page
    _, certificate = await pr_certificate(stack)
    await browser_page.add_init_script(
        """
        const original = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
          algorithm && algorithm.name === 'Ed25519'
            ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
            : original(format, data, algorithm, ...rest);
        """
    )
    await open_page(stack, browser_page)
    header = certificate["token"].split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "EdDSA"
    await browser_page.fill("#token-input", certificate["token"])
    await browser_page.click("#verify-button")
    await browser_page.wait_for_selector("#result[data-status='error']")
    detail = await browser_page.inner_text("#result-detail")
    assert "cannot check EdDSA signatures" in detail, detail


def forged_copy(token: str, kid: str) -> tuple[str, dict]:
    """The certificate's facts, signed again by an Ed25519 key of our own under `kid` (issued
    and expiring when the genuine one does); the token and a JWK Set holding that key."""
    claims = claims_of(token)
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    envelope = {"iss", "sub", "jti", "iat", "nbf", "exp", "doc"}
    forged = certificates.sign(
        private_key=key,
        kid=kid,
        alg="EdDSA",
        issuer=claims["iss"],
        subject=claims["sub"],
        facts={k: v for k, v in claims.items() if k not in envelope},
        now=issued,
        validity_days=(claims["exp"] - claims["iat"]) // 86400,
    )
    public = key.export_public(as_dict=True)
    public.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
    return forged.token, {"keys": [public]}


async def paste_keys(page: Any, key_set: dict) -> None:
    if not await page.evaluate("document.querySelector('#keys-section details').open"):
        await page.click("#keys-section summary")
    await page.fill("#jwks-input", json.dumps(key_set))
    await page.click("#use-jwks-button")
    assert await page.get_attribute("#keys-status", "data-state") == "pasted"


async def test_a_pasted_key_the_service_does_not_recognise_is_never_called_not_revoked(
    stack: Stack, page
) -> None:
    """A checker given a JWK Set along with a token: the signature holds for that set, but the
    service does not publish the key (UNKNOWN_KEY) or publishes another under its id
    (BAD_SIGNATURE). The page shows that disagreement, in EN and ZH, instead of "valid, not
    revoked"; with the service unreachable it can only say revocation is unchecked."""
    browser_page, network = page
    _, certificate = await pr_certificate(stack)
    async with httpx.AsyncClient() as client:
        published = (await client.get(f"{stack.api}/.well-known/jwks.json")).json()
    published_kid = published["keys"][0]["kid"]
    await open_page(stack, browser_page)

    unpublished, unpublished_keys = forged_copy(certificate["token"], "doc-not-published")
    await paste_keys(browser_page, unpublished_keys)
    result = await verify_in_page(browser_page, unpublished)
    assert result["status"] == "unrecognised", result
    assert result["revocation"] == "unrecognised", result
    assert "Not revoked" not in result["text"] and "未撤销" not in result["text"]
    assert "Valid" not in result["heading"]
    assert "Not recognised by the service" in result["heading"]
    assert "服务端不认可" in result["heading"]
    assert "does not publish" in result["detail"] and "未公布" in result["detail"]
    assert "doc-not-published" in result["detail"]
    await browser_page.screenshot(
        path=str(stack.artifacts / "verify-unrecognised-key.png"), full_page=True
    )

    # The same facts signed by another key under a kid the service does publish.
    impostor, impostor_keys = forged_copy(certificate["token"], published_kid)
    await paste_keys(browser_page, impostor_keys)
    result = await verify_in_page(browser_page, impostor)
    assert result["status"] == "unrecognised", result
    assert result["revocation"] == "unrecognised", result
    assert "Not revoked" not in result["text"]
    assert "does not match the key the service publishes" in result["detail"]
    await no_csp_violation(browser_page)
    assert network.console_errors == []

    # The service unreachable: nothing to disagree with, revocation unchecked.
    async def unreachable(route: Any) -> None:
        await route.abort()

    await browser_page.route("**/graphql", unreachable)
    await paste_keys(browser_page, unpublished_keys)
    result = await verify_in_page(browser_page, unpublished)
    assert result["status"] == "valid", result
    assert result["revocation"] == "unknown", result
    assert "could not be checked" in result["revocationText"]


async def test_a_slow_earlier_check_never_overwrites_the_latest_verdict(stack: Stack, page) -> None:
    """A genuine presentation A is pasted and verified while the service is slow to answer
    its revocation question; meanwhile a photo of forged B's QR code is read (a second check,
    with Verify still disabled). B's "not valid" stands when A's answer arrives late: the page
    never flips to "valid" with A's facts while the input holds B, and Verify comes back."""
    browser_page, network = page
    token, certificate = await pr_certificate(stack)
    genuine = await presentation(stack, token, certificate["id"], ["NAME"])
    # B: A with one character of its signature changed.
    jwt, disclosure, _ = genuine["token"].split("~")
    forged = f"{jwt[:-3]}{'A' if jwt[-3] != 'A' else 'B'}{jwt[-2:]}~{disclosure}~"
    forged_png = base64.b64decode(qr.qr_png_base64(qr.verification_link(stack.api, forged)))

    asked = asyncio.Event()
    release = asyncio.Event()

    async def slow_service(route: Any) -> None:
        asked.set()
        await release.wait()
        await route.continue_()

    await open_page(stack, browser_page)
    await browser_page.route("**/graphql", slow_service)
    await browser_page.fill("#token-input", genuine["token"])
    await browser_page.click("#verify-button")
    await asyncio.wait_for(asked.wait(), timeout=10)  # A's check waits for the service
    assert await browser_page.is_disabled("#verify-button")

    await browser_page.set_input_files(
        "#qr-file", files=[{"name": "b.png", "mimeType": "image/png", "buffer": forged_png}]
    )
    result = await shown(browser_page)
    assert result["status"] == "invalid", result
    assert await browser_page.input_value("#token-input") == forged

    # A's answer arrives (the whole response, then a moment for the page to read it): dropped.
    async with browser_page.expect_event(
        "requestfinished", lambda request: request.url.endswith("/graphql")
    ):
        release.set()
    await asyncio.sleep(0.5)
    assert not await browser_page.is_disabled("#verify-button")
    result = await shown(browser_page)
    assert result["status"] == "invalid", result
    assert result["facts"] == {}
    assert "Valid" not in result["heading"]
    assert await browser_page.input_value("#token-input") == forged
    assert network.console_errors == []


async def test_the_services_expired_verdict_wins_over_a_clock_running_behind(
    stack: Stack, page
) -> None:
    """A presentation still in date by this device's clock, which the service answers EXPIRED
    (the device clock runs behind): the page shows it expired, in EN and ZH, never "valid"."""
    browser_page, _ = page
    token, certificate = await pr_certificate(stack)
    presented = await presentation(stack, token, certificate["id"], ["NAME"])
    expired = {"data": {"verifyDocument": {"valid": False, "failure": "EXPIRED"}}}

    async def service_says_expired(route: Any) -> None:
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(expired))

    await open_page(stack, browser_page)
    await browser_page.route("**/graphql", service_says_expired)
    result = await verify_in_page(browser_page, presented["token"])
    assert result["status"] == "expired", result
    assert "Expired" in result["heading"] and "已过期" in result["heading"]
    assert "Valid" not in result["heading"]
    assert "The service says it has expired" in result["detail"], result
    assert "服务端核验" in result["detail"], result
    assert list(result["facts"]) == ["NAME"]
