"""Identity reads through the gate: who sees a person's identity, other than the person, is
recorded in the person's trail (actionsOnMyBehalf), like every other read."""

from __future__ import annotations

import pytest

from tests.conftest import gql
from tests.helpers import ACTIONS, accepted_dependant, person_node, pk_of

# Authorization and audit must hold whichever executor runs the operation.
pytestmark = pytest.mark.usefixtures("each_executor")


async def _trail(client, token: str) -> list[dict]:
    body = await gql(client, ACTIONS, token=token)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]


async def test_a_helper_listing_applicants_is_recorded_in_the_dependants_trail(client):
    helper, dependant, _ = await accepted_dependant(client)
    assert dependant.person is not None
    before = {e["id"] for e in await _trail(client, dependant.token)}

    body = await gql(client, "{ viewer { applicants { id surname } } }", token=helper.token)
    assert dependant.person.id in [p["id"] for p in body["data"]["viewer"]["applicants"]]

    new = [e for e in await _trail(client, dependant.token) if e["id"] not in before]
    assert [(e["action"], e["actor"]["kind"], e["onBehalf"]) for e in new] == [
        ("READ_IDENTITY", "HELPER", True)
    ]
    assert new[0]["target"] == f"Person:{pk_of(dependant.person.id)}"


async def test_reading_a_person_by_node_is_recorded_but_reading_oneself_is_not(client):
    helper, dependant, _ = await accepted_dependant(client)
    assert dependant.person is not None
    before = {e["id"] for e in await _trail(client, dependant.token)}

    assert await gql(
        client, "{ viewer { person { id } applicants { id } } }", token=dependant.token
    )
    assert [e for e in await _trail(client, dependant.token) if e["id"] not in before] == []

    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": dependant.person.id},
        token=helper.token,
    )
    assert body["data"]["node"] == {"id": dependant.person.id}
    new = [e for e in await _trail(client, dependant.token) if e["id"] not in before]
    assert [e["action"] for e in new] == ["READ_IDENTITY"]


async def test_a_stranger_who_cannot_see_the_person_leaves_no_trail(client):
    _, dependant, _ = await accepted_dependant(client)
    other_helper, _, _ = await accepted_dependant(client)
    assert dependant.person is not None
    before = {e["id"] for e in await _trail(client, dependant.token)}

    assert await person_node(client, other_helper.token, dependant.person.id) is None
    assert [e for e in await _trail(client, dependant.token) if e["id"] not in before] == []


TRAIL_PAGE = """
query($first: Int, $after: String) { viewer { actionsOnMyBehalf(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { id } }
} } }"""


async def _trail_page(client, token: str, **variables) -> dict:
    body = await gql(client, TRAIL_PAGE, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["viewer"]["actionsOnMyBehalf"]


async def _helper_reads(client, helper, dependant, times: int) -> None:
    for _ in range(times):
        body = await gql(
            client,
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": dependant.person.id},
            token=helper.token,
        )
        assert body["data"]["node"] is not None, body


async def test_entries_recorded_between_pages_of_the_trail_are_not_shown_twice(client):
    """The trail grows while the person reads it (a helper acting meanwhile): the next page
    goes on after the last entry shown, not after a count of places."""
    helper, dependant, _ = await accepted_dependant(client)
    await _helper_reads(client, helper, dependant, 3)
    everything = [e["node"]["id"] for e in (await _trail_page(client, dependant.token))["edges"]]
    first = await _trail_page(client, dependant.token, first=2)

    await _helper_reads(client, helper, dependant, 2)
    rest = await _trail_page(
        client, dependant.token, first=100, after=first["pageInfo"]["endCursor"]
    )

    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == everything
    assert not rest["pageInfo"]["hasNextPage"]


async def test_a_helper_refused_a_certificate_for_want_of_a_card_is_in_the_trail(client):
    """NotPermanentResident tells the helper a fact of the dependant's documents (no valid PR
    card): that read is recorded, as the certificate would have been."""
    helper, dependant, _ = await accepted_dependant(client, ["VIEW_DOCUMENTS"])
    assert dependant.person is not None
    before = {e["id"] for e in await _trail(client, dependant.token)}
    body = await gql(
        client,
        "mutation($id: ID!) { issuePassportCertificate(personId: $id) { __typename } }",
        {"id": dependant.person.id},
        token=helper.token,
    )
    assert body["data"]["issuePassportCertificate"]["__typename"] == "NotPermanentResident"
    new = [e for e in await _trail(client, dependant.token) if e["id"] not in before]
    assert [(e["action"], e["actor"]["kind"], e["onBehalf"]) for e in new] == [
        ("READ_DOCUMENTS", "HELPER", True)
    ]
