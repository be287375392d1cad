"""Limits refuse abusive queries before execution and let ordinary ones through; persisted
queries, ETags and the public response cache behave as CDNs and Apollo clients expect."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from graphql import get_introspection_query

from persistence.demo.records import person_with_records
from persistence.rate_limits import MemoryCostBudget
from tests.conftest import DEMO_PASSWORD, gql, sign_in, sign_up

SHANGHAI = ZoneInfo("Asia/Shanghai")

GQL = "application/graphql-response+json"


async def post(client, body: dict, accept: str = GQL, **headers: str):
    return await client.post("/graphql", json=body, headers={"accept": accept, **headers})


async def test_graphiql_introspection_passes_every_limit(client):
    response = await post(client, {"query": get_introspection_query(descriptions=True)})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_too_deep_a_query_is_refused_before_execution(client):
    inner = "id"
    for _ in range(14):
        inner = f"applications {{ edges {{ node {{ office {{ id }} {inner} }} }} }}"
    query = "{ viewer { person { " + inner + " } } }"
    response = await post(client, {"query": query})
    assert response.status_code == 400
    assert "data" not in response.json()
    assert "depth" in response.json()["errors"][0]["message"].lower()


async def test_too_many_aliases_are_refused(client):
    query = "{ " + " ".join(f"a{i}: services {{ code }}" for i in range(40)) + " }"
    response = await post(client, {"query": query})
    assert response.status_code == 400
    assert "alias" in response.json()["errors"][0]["message"].lower()


async def test_too_many_tokens_are_refused(client):
    query = "{ services { " + " ".join(["code"] * 2500) + " } }"
    response = await post(client, {"query": query})
    assert response.status_code == 400
    assert "token" in response.json()["errors"][0]["message"].lower()


async def test_a_query_over_the_cost_limit_is_refused_with_its_cost(client):
    query = """{ offices(first: 100) { edges { node { services { guidance {
                 materials { name } fees { amount { amount } } } } } } } }"""
    response = await post(client, {"query": query})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "cost" in error["message"]


async def test_a_page_size_given_by_a_variables_default_is_costed_as_it_runs(client):
    """`first: $n` with `$n: Int = 100` and no variables pages 100 when it runs: the estimate
    counts 100 too, so the costly query above cannot pass by moving its size to a default."""
    selection = """offices(first: $n) { edges { node { services { guidance {
                   materials { name } fees { amount { amount } } } } } } }"""
    by_default = await post(client, {"query": f"query($n: Int = 100) {{ {selection} }}"})
    assert by_default.status_code == 400, by_default.text
    assert by_default.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # A value the request sends wins over the default, as it does when the operation runs.
    small = await post(
        client,
        {"query": f"query($n: Int = 100) {{ {selection} }}", "variables": {"n": 2}},
    )
    assert small.status_code == 200, small.text
    assert "errors" not in small.json()


async def test_ordinary_queries_report_their_cost(client):
    token = await sign_in(client, "applicant@demo.test")
    body = await gql(
        client, "{ viewer { person { applications { edges { node { number } } } } } }", token=token
    )
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] > 0
    assert cost["remaining"] < cost["maximumAvailable"]


async def test_page_size_is_capped_at_100(client, clock):
    # 120 applications: a cap that did not hold would show them all.
    email = await person_with_records(120, surname="Pagecap", now=clock.now())
    token = await sign_in(client, email)
    query = """{ viewer { person { applications(first: 1000) {
        edges { cursor } pageInfo { hasNextPage } } } } }"""
    body = await gql(client, query, token=token)
    page = body["data"]["viewer"]["person"]["applications"]
    assert len(page["edges"]) == 100
    assert page["pageInfo"]["hasNextPage"] is True


async def test_page_size_and_the_cost_estimate_follow_the_max_page_size_setting(
    app, client, clock, monkeypatch
):
    email = await person_with_records(40, surname="Pagesetting", now=clock.now())
    token = await sign_in(client, email)
    query = """{ viewer { person { applications(first: 1000) {
        edges { node { number } } pageInfo { hasNextPage } } } } }"""
    default = await gql(client, query, token=token)
    services = app.state.services
    monkeypatch.setattr(services, "settings", services.settings.with_(max_page_size=30))
    capped = await gql(client, query, token=token)

    assert len(default["data"]["viewer"]["person"]["applications"]["edges"]) == 40
    page = capped["data"]["viewer"]["person"]["applications"]
    assert len(page["edges"]) == 30
    assert page["pageInfo"]["hasNextPage"] is True
    cost = capped["extensions"]["cost"]["requestedQueryCost"]
    assert cost < default["extensions"]["cost"]["requestedQueryCost"]


async def test_a_batch_over_the_limit_is_refused(client):
    response = await client.post(
        "/graphql",
        json=[{"query": "{ services { code } }"}] * 11,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


async def test_automatic_persisted_queries_as_apollo_sends_them(client):
    query = f"{{ services {{ code }} __typename }} # {secrets.token_hex(4)}"
    digest = _hash(query)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    first = await client.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers={"accept": GQL}
    )
    assert first.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await post(client, {"query": query, "extensions": extensions})
    assert registered.status_code == 200
    assert len(registered.json()["data"]["services"]) == 11
    again = await client.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers={"accept": GQL}
    )
    assert again.status_code == 200
    assert again.json()["data"] == registered.json()["data"]


async def test_a_hash_that_does_not_match_its_query_is_refused(client):
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    response = await post(client, {"query": "{ services { code } }", "extensions": extensions})
    assert response.status_code == 400


async def test_public_get_has_etag_and_cache_control_and_revalidates(client):
    query = "{ services { code name } }"
    first = await client.get("/graphql", params={"query": query}, headers={"accept": GQL})
    assert first.status_code == 200
    assert "public" in first.headers["cache-control"]
    etag = first.headers["etag"]
    second = await client.get(
        "/graphql", params={"query": query}, headers={"accept": GQL, "if-none-match": etag}
    )
    assert second.status_code == 304


async def test_if_none_match_is_compared_as_rfc_9110_says(client):
    """Weak comparison of whole tags in a list, or `*`: a proxy that drops the W/ still gets
    its 304, and a tag buried in other text is no match (it used to be a substring test)."""
    query = "{ services { code name } }"
    first = await client.get("/graphql", params={"query": query}, headers={"accept": GQL})
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    strong = etag.removeprefix("W/")
    expected = {
        etag: 304,
        strong: 304,
        "*": 304,
        f'"other", {strong}': 304,
        f'"other",{etag} ': 304,
        f"x{etag}x": 200,
        '"other"': 200,
        "": 200,
    }
    for sent, status in expected.items():
        response = await client.get(
            "/graphql", params={"query": query}, headers={"accept": GQL, "if-none-match": sent}
        )
        assert response.status_code == status, sent


async def test_private_answers_are_not_cacheable(client):
    token = await sign_in(client, "applicant@demo.test")
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { account { email } } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_tokens_batches_and_verified_facts_are_never_stored(client):
    """Answers that are not the shared public cache's are `no-store` for anonymous callers too
    (signIn's tokens, a verified document's facts) and in a batch."""
    signed_in = await client.post(
        "/graphql",
        json={
            "query": """mutation($e: String!, $p: String!) { signIn(input: {email: $e,
                password: $p}) { __typename ... on AuthSession { accessToken } } }""",
            "variables": {"e": "applicant@demo.test", "p": DEMO_PASSWORD},
        },
    )
    assert signed_in.json()["data"]["signIn"]["accessToken"]
    assert signed_in.headers["cache-control"] == "no-store"
    verified = await client.get(
        "/graphql", params={"query": '{ verifyDocument(token: "x.y.z") { valid } }'}
    )
    assert verified.status_code == 200
    assert verified.headers["cache-control"] == "no-store"
    token = await sign_in(client, "applicant@demo.test")
    batch = await client.post(
        "/graphql",
        json=[{"query": "{ viewer { account { email } } }"}, {"query": "{ services { code } }"}],
        headers={"authorization": f"Bearer {token}"},
    )
    assert batch.json()[0]["data"]["viewer"]["account"]["email"] == "applicant@demo.test"
    assert batch.headers["cache-control"] == "no-store"


async def test_a_cached_public_answer_keeps_the_negotiated_media_type(client):
    """Served again from the fast path, a public answer still has the media type the client's
    Accept header chose (here JSON, the other one refused)."""
    query = "{ bookingRules { slotMinutes } }"
    accept = f"{GQL};q=0, application/json"
    first = await client.get("/graphql", params={"query": query}, headers={"accept": accept})
    again = await client.get("/graphql", params={"query": query}, headers={"accept": accept})
    for response in (first, again):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json;"), response.headers
    preferred = await client.get(
        "/graphql", params={"query": query}, headers={"accept": f"{GQL};q=0.5, application/json"}
    )
    assert preferred.headers["content-type"].startswith("application/json;")


async def test_a_closure_invalidates_the_cached_directory_at_once(client, clock):
    # A day well ahead of whatever "today" is, so the test passes on any date.
    day = (clock.now().astimezone(SHANGHAI) + timedelta(days=45)).date()
    query = """query($f: OfficeFilter, $from: Date!, $to: Date!) { offices(first: 100, filter: $f) {
        edges { node { code closures(from: $from, to: $to) { date } } } } }"""
    variables = {
        "f": {"city": "Nanjing"},
        "from": (day - timedelta(days=2)).isoformat(),
        "to": (day + timedelta(days=1)).isoformat(),
    }
    before = await gql(client, query, variables)
    office = before["data"]["offices"]["edges"][0]["node"]
    assert office["closures"] == []
    token = await sign_in(client, "admin@demo.test")
    ids = await gql(client, query.replace("code closures", "id code closures"), variables)
    office_id = ids["data"]["offices"]["edges"][0]["node"]["id"]
    added = await gql(
        client,
        """mutation($o: ID!, $d: Date!) { addOfficeClosure(input: {officeId: $o, date: $d,
             reason: "Fire drill"}) { __typename } }""",
        {"o": office_id, "d": day.isoformat()},
        token=token,
    )
    assert added["data"]["addOfficeClosure"]["__typename"] == "OfficeClosureAdded"
    after = await gql(client, query, variables)
    assert after["data"]["offices"]["edges"][0]["node"]["closures"] == [{"date": day.isoformat()}]


async def test_metrics_count_requests_by_operation(client):
    # The label is the root field: names clients make up would grow the metrics without end.
    await gql(client, "query MetricsProbe { services { code } }")
    text = (await client.get("/metrics")).text
    assert 'graphql_requests_total{operation="services",status="200"}' in text
    assert "MetricsProbe" not in text


async def test_responses_carry_a_request_id(client):
    response = await post(client, {"query": "{ services { code } }"})
    assert len(response.headers["x-request-id"]) >= 8


async def test_a_cached_public_answer_carries_no_callers_cost(client):
    query = f"{{ services {{ code }} }} # {secrets.token_hex(4)}"
    first = await client.get("/graphql", params={"query": query}, headers={"accept": GQL})
    second = await client.get("/graphql", params={"query": query}, headers={"accept": GQL})
    assert first.headers["etag"] == second.headers["etag"]
    assert "extensions" not in first.json() and "extensions" not in second.json()
    assert len(second.json()["data"]["services"]) == 11


# --------------------------------------------------------- public answers for signed-in apps


async def test_a_signed_in_get_of_public_data_is_answered_from_the_shared_cache(client):
    query = f"{{ services {{ code }} }} # {secrets.token_hex(4)}"
    token = await sign_in(client, "applicant@demo.test")
    anonymous = await client.get("/graphql", params={"query": query})
    signed_in = await client.get(
        "/graphql", params={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    assert anonymous.status_code == signed_in.status_code == 200
    assert signed_in.headers["etag"] == anonymous.headers["etag"]
    assert signed_in.headers["cache-control"].startswith("public")
    assert signed_in.json() == anonymous.json()
    revalidated = await client.get(
        "/graphql",
        params={"query": query},
        headers={"authorization": f"Bearer {token}", "if-none-match": anonymous.headers["etag"]},
    )
    assert revalidated.status_code == 304


async def test_a_signed_in_get_from_the_cache_still_spends_the_budget(app, client):
    services = app.state.services
    query = f"{{ offices(first: 50) {{ edges {{ node {{ code }} }} }} }} # {secrets.token_hex(4)}"
    token = (await sign_up(client))["accessToken"]
    await client.get("/graphql", params={"query": query})  # fills the cache anonymously
    executed = await gql(client, query, token=token)  # signed-in POSTs always run
    cost = executed["extensions"]["cost"]["requestedQueryCost"]
    original, budget = services.settings, services.budget
    # A budget of two such reads, in a window that cannot roll over during the test.
    services.settings = original.with_(cost_budget_per_minute=2 * cost)
    services.budget = MemoryCostBudget(clock=lambda: 0.0)
    try:
        answers = [
            await client.get(
                "/graphql", params={"query": query}, headers={"authorization": f"Bearer {token}"}
            )
            for _ in range(3)
        ]
    finally:
        services.settings, services.budget = original, budget
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["etag"] == answers[1].headers["etag"]
    assert answers[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_signed_in_post_of_public_data_is_always_executed(client):
    query = f"{{ services {{ code }} }} # {secrets.token_hex(4)}"
    token = await sign_in(client, "applicant@demo.test")
    await client.get("/graphql", params={"query": query})
    response = await client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    assert response.json()["extensions"]["cost"]["requestedQueryCost"] >= 1


async def test_a_staff_get_reaching_an_offices_appointments_is_not_shared(client):
    officer = await sign_in(client, "officer@demo.test")
    query = f"""{{ offices(first: 30) {{ edges {{ node {{ code
        appointments(on: "2026-12-02") {{ edges {{ node {{ reference }} }} }} }} }} }} }}
        # {secrets.token_hex(4)}"""
    anonymous = await client.get("/graphql", params={"query": query})
    staff = await client.get(
        "/graphql", params={"query": query}, headers={"authorization": f"Bearer {officer}"}
    )
    assert "etag" not in staff.headers and staff.headers["cache-control"] == "no-store"
    nodes = [e["node"] for e in staff.json()["data"]["offices"]["edges"]]
    own = next(n for n in nodes if n["code"] == "BJ-DC")
    assert own["appointments"] is not None  # the officer's own office: not the shared null
    assert "etag" not in anonymous.headers


async def test_a_subscription_sent_over_http_is_a_clear_refusal(client):
    token = await sign_in(client, "applicant@demo.test")
    response = await client.post(
        "/graphql",
        json={"query": 'subscription { applicationUpdates(applicantId: "x") { at } }'},
        headers={"authorization": f"Bearer {token}", "accept": GQL},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"]


async def test_an_answer_read_before_a_change_is_not_cached_after_it(
    app, client, clock, monkeypatch
):
    """An anonymous directory read that read the closures before an admin's closure committed,
    and finished after it dropped the cache, answers its caller but is not stored: every
    later reader sees the closure."""
    import asyncio

    from resolvers import offices as office_resolvers
    from tests.helpers import office_id

    calendar = app.state.services.calendar
    day = (clock.now().astimezone(SHANGHAI) + timedelta(days=200)).date()  # past any slot
    while day.isoweekday() != 3 or not calendar.is_working_day(day):  # a Wednesday, open
        day += timedelta(days=1)
    query = """query($d: Date!) { offices(first: 100, filter: {openOn: $d, city: "Beijing"}) {
      edges { node { code } } } }"""
    read_done, go_on = asyncio.Event(), asyncio.Event()
    original = office_resolvers.open_on

    async def held_open_on(ctx, office, on):
        answer = await original(ctx, office, on)  # the closures are read here
        read_done.set()
        await go_on.wait()
        return answer

    monkeypatch.setattr(office_resolvers, "open_on", held_open_on)
    reader = asyncio.create_task(gql(client, query, {"d": day.isoformat()}))
    await asyncio.wait_for(read_done.wait(), 10)
    monkeypatch.setattr(office_resolvers, "open_on", original)
    admin = await sign_in(client, "admin@demo.test")
    added = await gql(
        client,
        """mutation($o: ID!, $d: Date!) { addOfficeClosure(input: {officeId: $o, date: $d,
             reason: "Fire drill"}) { __typename } }""",
        {"o": await office_id(client, "BJ-HD"), "d": day.isoformat()},
        token=admin,
    )
    assert added["data"]["addOfficeClosure"]["__typename"] == "OfficeClosureAdded", added
    go_on.set()
    first = await reader
    assert "BJ-HD" in [e["node"]["code"] for e in first["data"]["offices"]["edges"]]  # in flight

    later = await gql(client, query, {"d": day.isoformat()})
    assert "BJ-HD" not in [e["node"]["code"] for e in later["data"]["offices"]["edges"]], later
