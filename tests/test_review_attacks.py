"""Found by a review that tried the round's new fields and transports as an attacker and as a
careless client would: each test is one way in that was open, kept shut."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import sign_in

# ------------------------------------------------------------- the shared response cache


@pytest.mark.parametrize(
    "queue",
    [
        "applications { pageInfo { hasNextPage } edges { cursor } }",
        'appointments(on: "2026-12-02") { pageInfo { hasNextPage } edges { cursor } }',
        "applications { __typename }",
    ],
)
async def test_an_officers_get_of_a_queue_without_its_nodes_is_not_shared(client, queue):
    """An office's queues vary by viewer even when no node is selected (only cursors, page
    info, __typename): an officer's answer must not be stored and served to anyone else."""
    officer = await sign_in(client, "officer@demo.test")
    query = f"""{{ offices(filter: {{text: "BJ-DC"}}) {{ edges {{ node {{ code {queue} }} }} }} }}
        # {secrets.token_hex(4)}"""
    staff = await client.get(
        "/graphql", params={"query": query}, headers={"authorization": f"Bearer {officer}"}
    )
    anonymous = await client.get("/graphql", params={"query": query})
    assert "etag" not in staff.headers and staff.headers["cache-control"] == "no-store"
    field = queue.split(" ")[0].split("(")[0]
    own = staff.json()["data"]["offices"]["edges"][0]["node"]
    assert own["code"] == "BJ-DC" and own[field] is not None, staff.text
    assert anonymous.json()["data"]["offices"]["edges"][0]["node"][field] is None, anonymous.text
