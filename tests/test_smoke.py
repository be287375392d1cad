"""The service starts, migrates and answers through HTTP."""

from tests.conftest import gql, sign_in


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_demo_pr_sees_two_passports_current_first(client):
    token = await sign_in(client, "pr@demo.test")
    body = await gql(
        client, "{ viewer { person { passports { number current boundUntil } } } }", token=token
    )
    passports = body["data"]["viewer"]["person"]["passports"]
    assert [p["current"] for p in passports] == [True, False]
    assert passports[0]["boundUntil"] is None and passports[1]["boundUntil"] is not None
