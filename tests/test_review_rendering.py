"""Drawing QR codes and printing PDFs cost CPU (tens to hundreds of milliseconds each, and a
fresh presentation's codes are never cached): they are paid for from the caller's per-minute
budget like queries, so one account cannot keep the server's cores busy. A QR code costs
its points in the query's estimate; a PDF download costs its points on the route, and past
the budget the route answers 429 with Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from persistence.rate_limits import MemoryCostBudget
from schema.limits import PDF_POINTS, QR_PNG_POINTS, QR_SVG_POINTS
from tests.conftest import gql
from tests.helpers import pk_of
from tests.test_certificate_pdf import (
    base_url_of,
    download,
    holder_with_certificate,
    issued,
    path_of,
)
from tests.test_presentations import PRESENT


@pytest.fixture(autouse=True)
def _budget_window_held_still(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read what a budget holds before and after an operation: a per-minute
    window that rolled over between the two readings would refill it (the difference
    negative, the test failing at random), so the window here never rolls."""
    monkeypatch.setattr(app.state.services, "budget", MemoryCostBudget(clock=lambda: 0.0))


async def cost_of(client: httpx.AsyncClient, query: str, variables: dict, token: str) -> int:
    body = await gql(client, query, variables, token)
    assert "errors" not in body, body
    return body["extensions"]["cost"]["requestedQueryCost"]


async def test_qr_codes_cost_their_points(client: httpx.AsyncClient) -> None:
    _, _, holder, certificate = await holder_with_certificate(client, surname="Qrcost")
    node = "query($id: ID!) { node(id: $id) { ... on Certificate { id %s } } }"
    plain = await cost_of(client, node % "", {"id": certificate["id"]}, holder)
    png = await cost_of(client, node % "qrPng", {"id": certificate["id"]}, holder)
    svg = await cost_of(client, node % "qrSvg", {"id": certificate["id"]}, holder)
    assert png - plain == QR_PNG_POINTS and svg - plain == QR_SVG_POINTS
    presented = await cost_of(
        client,
        PRESENT,
        {"input": {"certificateId": certificate["id"], "disclose": ["NAME"]}},
        holder,
    )
    assert presented >= QR_PNG_POINTS + QR_SVG_POINTS


async def test_pdf_downloads_are_paid_from_the_budget(client: httpx.AsyncClient, app: Any) -> None:
    _, _, holder, certificate = await holder_with_certificate(client, surname="Pdfcost")
    path = path_of(certificate["pdfUrl"], base_url_of(app))
    assert (await download(client, path, holder)).status_code == 200
    account = await gql(client, "{ viewer { account { id } } }", token=holder)
    bucket = f"cost:acct:{pk_of(account['data']['viewer']['account']['id'])}"
    services = app.state.services
    budget = services.settings.cost_budget_per_minute
    # Everything but a little less than a PDF's points spent this minute:
    left = await services.budget.spend(bucket, 0, budget, 60)
    assert left is not None and left >= PDF_POINTS
    assert await services.budget.spend(bucket, left - PDF_POINTS + 1, budget, 60) is not None
    refused = await download(client, path, holder)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["cache-control"] == "no-store"
    assert refused.json()["error"]["code"] == "RATE_LIMITED"


CERTIFICATES_QR = """query($id: ID!) { node(id: $id) { ... on Person {
  certificates { id qrSvg } } } }"""


async def test_qr_codes_past_a_lists_estimate_are_paid_as_they_are_drawn(
    client: httpx.AsyncClient, app: Any
) -> None:
    """The estimate counts ten certificates in a person's list; a holder who obtained twelve
    pays the two further codes as they are drawn, and past the budget gets RATE_LIMITED for
    them instead of drawing on (one account with thousands of certificates held a core)."""
    _, person_id, holder, _ = await holder_with_certificate(client, surname="Qrmany")
    for _ in range(11):
        await issued(client, holder, person_id)
    account = await gql(client, "{ viewer { account { id } } }", token=holder)
    bucket = f"cost:acct:{pk_of(account['data']['viewer']['account']['id'])}"
    services = app.state.services
    budget = services.settings.cost_budget_per_minute

    before = await services.budget.spend(bucket, 0, budget, 60)
    body = await gql(client, CERTIFICATES_QR, {"id": person_id}, holder)
    assert "errors" not in body, body
    assert len(body["data"]["node"]["certificates"]) == 12
    estimate = body["extensions"]["cost"]["requestedQueryCost"]
    after = await services.budget.spend(bucket, 0, budget, 60)
    assert before - after == estimate + 2 * QR_SVG_POINTS

    # Left: the next estimate and one further code, not two.
    assert await services.budget.spend(bucket, after - estimate - QR_SVG_POINTS, budget, 60)
    refused = await gql(client, CERTIFICATES_QR, {"id": person_id}, holder)
    codes = {error["extensions"]["code"] for error in refused["errors"]}
    assert codes == {"RATE_LIMITED"}, refused["errors"]
    assert refused["data"]["node"]["certificates"] is None


async def test_qr_codes_the_estimate_counted_are_not_paid_again(
    client: httpx.AsyncClient, app: Any
) -> None:
    """What the estimate paid for is not charged twice: both codes of six certificates (the
    estimate counted ten of each), or twelve aliased certificates' codes (each counted)."""
    _, person_id, holder, first = await holder_with_certificate(client, surname="Qrpaid")
    ids = [first["id"]] + [(await issued(client, holder, person_id))["id"] for _ in range(5)]
    account = await gql(client, "{ viewer { account { id } } }", token=holder)
    bucket = f"cost:acct:{pk_of(account['data']['viewer']['account']['id'])}"
    services = app.state.services
    budget = services.settings.cost_budget_per_minute

    both = """query($id: ID!) { node(id: $id) { ... on Person {
      certificates { id qrSvg qrPng } } } }"""
    fields = " ".join(
        f'c{i}: node(id: "{ids[i % 6]}") {{ ... on Certificate {{ qrSvg }} }}' for i in range(12)
    )
    aliased = "query { " + fields + " }"
    for query, variables in ((both, {"id": person_id}), (aliased, {})):
        before = await services.budget.spend(bucket, 0, budget, 60)
        body = await gql(client, query, variables, holder)
        assert "errors" not in body, body
        after = await services.budget.spend(bucket, 0, budget, 60)
        assert before - after == body["extensions"]["cost"]["requestedQueryCost"], query


async def test_a_presentations_qr_codes_are_drawn_against_what_the_operation_paid(app) -> None:
    """The estimate counts a presentation's codes in the work it paid for, so drawing them
    must draw on that same account: beyond it, they are paid from the budget as drawn (else
    their points would pay for other codes the operation draws)."""
    import contextvars

    from resolvers import budget as budget_module
    from resolvers import certificates as resolve
    from resolvers.outcomes import ClientError
    from resolvers.reminders import system_context

    ctx = system_context(app.state.services)
    link = "https://services.example.test/verify#token=abc"

    async def draw_twice_with(paid: int, left: int) -> str:
        budget_module.operation_starts(paid)
        bucket = budget_module.budget_bucket(ctx)
        maximum = ctx.services.settings.cost_budget_per_minute
        spent = await ctx.services.budget.spend(bucket, 0, maximum, 60)
        await ctx.services.budget.spend(bucket, spent - left, maximum, 60)
        await resolve.presentation_qr_svg(ctx, link)  # paid by the estimate
        try:
            await resolve.presentation_qr_png(ctx, link)  # beyond it: from the budget
        except ClientError as refused:
            return refused.extensions["code"]
        return "drawn"

    async def run(paid: int, left: int) -> str:
        return await contextvars.copy_context().run(
            asyncio.create_task, draw_twice_with(paid, left)
        )

    assert await run(QR_SVG_POINTS + QR_PNG_POINTS, 0) == "drawn"
    assert await run(QR_SVG_POINTS, 0) == "RATE_LIMITED"
