"""An officer's page of an office's day audits exactly the appointments it shows: the row read
ahead to tell whether more follow is not shown, so it is not in its applicant's trail.

The day is a Wednesday of May 2027 at BJ-DC that no other test books, with the clock pinned.
"""

from __future__ import annotations

from datetime import date, datetime

from tests.conftest import gql, sign_in
from tests.helpers import (
    ACTIONS,
    available,
    beijing,
    book_ok,
    generate_day,
    new_applicant,
    new_surname,
    office_id,
)

DAY = date(2027, 5, 12)  # a Wednesday: a working day at BJ-DC
EVE = date(2027, 5, 10)

DAY_PAGE = """
query($office: ID!, $on: Date!) { node(id: $office) { ... on Office {
  appointments(on: $on, first: 1) {
    edges { node { reference applicant { id } } } pageInfo { hasNextPage }
  } } } }"""


async def _appointment_reads(client, token: str, moment: datetime) -> list[str]:
    body = await gql(client, ACTIONS, token=token)
    assert "errors" not in body, body
    return [
        e["node"]["target"]
        for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
        if e["node"]["action"] == "READ_APPOINTMENTS"
        and datetime.fromisoformat(e["node"]["at"]) == moment
    ]


async def test_a_day_page_audits_the_appointments_it_shows_and_not_the_one_read_ahead(
    app, client, clock
):
    clock.pinned = beijing(EVE, 9)
    await generate_day(app, "BJ-DC", DAY)
    early = await new_applicant(client, surname=new_surname("Early"))
    late = await new_applicant(client, surname=new_surname("Late"))
    slots = {
        datetime.fromisoformat(s["startsAt"]).hour: s
        for s in await available(client, "BJ-DC", "VISA_EXTENSION", DAY, DAY)
    }
    shown = await book_ok(client, early, slots[9]["id"])
    ahead = await book_ok(client, late, slots[10]["id"])

    moment = beijing(DAY, 8)
    clock.pinned = moment
    officer = await sign_in(client, "officer@demo.test")
    variables = {"office": await office_id(client, "BJ-DC"), "on": DAY.isoformat()}
    body = await gql(client, DAY_PAGE, variables, token=officer)
    assert "errors" not in body, body
    page = body["data"]["node"]["appointments"]
    assert [e["node"]["reference"] for e in page["edges"]] == [shown["reference"]]
    assert page["pageInfo"]["hasNextPage"] is True

    assert await _appointment_reads(client, await early.sign_in_again(client), moment) == [
        shown["reference"]
    ]
    assert await _appointment_reads(client, await late.sign_in_again(client), moment) == [], (
        f"{ahead['reference']} was not shown, so it was not read"
    )
