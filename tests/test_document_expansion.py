"""A small document must not cost a large amount of work to check: fragments that each spread
the next twice select 2^n fields in about 50 bytes a fragment. Such a document is refused
(QUERY_TOO_COMPLEX) before anything walks it spread out; the walks that come before that
refusal (is the answer public? what does it cost?) look at each fragment once. And variables
nested deeper than any input of the schema are a bad request, not a 500."""

from __future__ import annotations

import pytest
from graphql import parse

import schema.limits as limits
import web.response_cache as response_cache
from schema.limits import estimate, expanded_size
from web.negotiation import MAX_VARIABLES_DEPTH
from web.response_cache import is_public

GQL = "application/graphql-response+json"


def doubling_fragments(n: int) -> str:
    """`{ services { ...F0 } }` where F0 spreads F1 twice, F1 spreads F2 twice, ... and Fn
    selects `code`: 2^n + 1 fields spread out."""
    chain = "".join(
        f"fragment F{i} on ServiceType {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(n)
    )
    return "{ services { ...F0 } }\n" + chain + f"fragment F{n} on ServiceType {{ code }}\n"


def test_the_spread_out_size_is_counted_exactly_and_stops_past_the_limit():
    assert expanded_size(parse(doubling_fragments(14)), 10**9) == 2**14 + 1
    # 2^60 fields: counted only until past the limit, at once.
    assert expanded_size(parse(doubling_fragments(60)), 10_000) == 10_001
    assert expanded_size(parse("{ a { b c } d }"), 10) == 4
    # A cycle counts nothing (validation refuses it).
    cycle = "{ services { ...A } } fragment A on ServiceType { code ...A }"
    assert expanded_size(parse(cycle), 100) == 2


def counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    calls = [0]
    original = getattr(owner, name)

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_deciding_whether_an_answer_is_public_looks_at_each_fragment_once(app, monkeypatch):
    schema = app.state.schema._schema
    document = parse(doubling_fragments(14))
    calls = counting(monkeypatch, response_cache, "_reads_only_public")
    assert is_public(document, None, schema)
    assert calls[0] <= 3 * 16  # 2^15 without the fragments' verdicts kept


def test_the_cost_estimate_looks_at_each_fragment_once(app, monkeypatch):
    schema = app.state.schema._schema
    document = parse(doubling_fragments(14))
    calls = counting(monkeypatch, limits._Estimator, "selection")
    estimate(schema, document, None, None)
    assert calls[0] <= 3 * 16  # 2^15 without the fragments' costs kept


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_kilobyte_document_that_spreads_out_to_a_million_fields_is_refused(client, method):
    query = doubling_fragments(20)
    assert len(query) < 1000
    if method == "POST":
        response = await client.post("/graphql", json={"query": query}, headers={"accept": GQL})
    else:
        response = await client.get("/graphql", params={"query": query}, headers={"accept": GQL})
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "10000" in error["message"] or "10,000" in error["message"]


async def test_fragments_spread_a_few_times_still_run(client):
    response = await client.post("/graphql", json={"query": doubling_fragments(5)})
    assert response.status_code == 200, response.text
    services = response.json()["data"]["services"]
    assert services and all(s["code"] for s in services)


def nested(depth: int) -> str:
    """JSON text of lists nested `depth` deep (json.dumps itself cannot write 1,000 levels)."""
    return "[" * (depth - 1) + "1" + "]" * (depth - 1)


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_variables_nested_deeper_than_any_input_are_a_bad_request(client, method):
    """Even unused ones, on a public query (whose answer is shared, keyed by its variables)."""
    query = "{ services { code } }"
    deep = '{"x": ' + nested(1020) + "}"
    if method == "POST":
        body = '{"query": "' + query + '", "variables": ' + deep + "}"
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = await client.get("/graphql", params={"query": query, "variables": deep})
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "variables" in error["message"]

    # As deep as the limit allows is fine.
    fine = '{"query": "' + query + '", "variables": {"x": ' + nested(MAX_VARIABLES_DEPTH - 1)
    fine += "}}"
    response = await client.post(
        "/graphql", content=fine, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["services"]
