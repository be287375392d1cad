"""What the browser tests do to the server over plain HTTP (the officer's side)."""

from __future__ import annotations

import httpx

from tests.conftest import DEMO_PASSWORD, SIGN_IN

APPLICANT = "applicant@demo.test"
OFFICER = "officer@demo.test"
ANALYST = "analyst@demo.test"

APPLICANT_APPLICATIONS = """
{ viewer { person { id applications(first: 5) { edges { node { id number status } } } } } }"""
UPDATE_STATUS = """
mutation($input: UpdateApplicationStatusInput!) {
  updateApplicationStatus(input: $input) {
    __typename
    ... on ApplicationStatusUpdated { application { status } }
  }
}"""


async def post(api: str, query: str, variables: dict | None = None, token: str | None = None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as c:
        response = await c.post(
            f"{api}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def sign_in(api: str, email: str) -> str:
    data = await post(api, SIGN_IN, {"email": email, "password": DEMO_PASSWORD})
    assert data["signIn"]["__typename"] == "AuthSession", data
    return data["signIn"]["accessToken"]


async def applicant_and_application(api: str) -> tuple[str, dict]:
    """The demo applicant's person id and her open application (at the officer's office)."""
    token = await sign_in(api, APPLICANT)
    person = (await post(api, APPLICANT_APPLICATIONS, token=token))["viewer"]["person"]
    application = person["applications"]["edges"][0]["node"]
    return person["id"], application


async def move_application(api: str, application_id: str) -> str:
    """The officer moves the application between UNDER_REVIEW and MATERIALS_REQUESTED (both
    ways are allowed); returns the new status."""
    officer = await sign_in(api, OFFICER)
    data = await post(
        api,
        "query($id: ID!) { node(id: $id) { ... on Application { status } } }",
        {"id": application_id},
        officer,
    )
    current = data["node"]["status"]
    target = "UNDER_REVIEW" if current == "MATERIALS_REQUESTED" else "MATERIALS_REQUESTED"
    result = await post(
        api,
        UPDATE_STATUS,
        {"input": {"applicationId": application_id, "status": target, "note": "browser"}},
        officer,
    )
    assert result["updateApplicationStatus"]["__typename"] == "ApplicationStatusUpdated", result
    return target
