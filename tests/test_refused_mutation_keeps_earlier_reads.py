"""A mutation refused after an earlier field of the same operation still leaves that field's
reads in the trail: mutation fields run one after another, and the refusal rolls back only
its own work."""

from __future__ import annotations

from tests.conftest import gql, sign_in
from tests.helpers import ACTIONS, new_applicant, new_surname

RECORD_THEN_REFUSED = """
mutation($input: RecordApplicationInput!, $other: ID!) {
  recorded: recordApplication(input: $input) {
    __typename
    ... on ApplicationRecorded { application { number applicant { documents { number } } } }
  }
  refused: updateApplicationStatus(input: {applicationId: $other, status: ACCEPTED}) {
    __typename
  }
}"""


async def test_a_refused_mutation_keeps_the_reads_an_earlier_field_recorded(client):
    applicant = await new_applicant(client, surname=new_surname("Trail"))
    officer = await sign_in(client, "officer@demo.test")
    variables = {
        "input": {"applicantId": applicant.person_id, "service": "RESIDENCE_PERMIT_ISSUANCE"},
        "other": "QXBwbGljYXRpb246OTk5OTk5OTk5",  # Application:999999999, which does not exist
    }
    body = await gql(client, RECORD_THEN_REFUSED, variables, token=officer)
    assert "errors" not in body, body
    assert body["data"]["recorded"]["__typename"] == "ApplicationRecorded"
    assert body["data"]["refused"]["__typename"] == "NotPermitted"

    trail = await gql(client, ACTIONS, token=await applicant.sign_in_again(client))
    actions = {e["node"]["action"] for e in trail["data"]["viewer"]["actionsOnMyBehalf"]["edges"]}
    assert "RECORD_APPLICATION" in actions
    assert "READ_DOCUMENTS" in actions, actions
