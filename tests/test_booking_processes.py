"""Capacity holds when two server processes share one PostgreSQL database."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest

from domain.persons import PersonFacts
from persistence.models import Account, AccountRole, Slot
from persistence.persons import create_person
from tests.conftest import SIGN_IN
from tests.helpers import PASSWORD, gid, running_servers, server_environment

BOOK = """
mutation($applicant: ID!, $slot: ID!) {
  bookAppointment(input: {applicantId: $applicant, slotId: $slot, service: VISA_EXTENSION}) {
    __typename
  }
}"""


@pytest.fixture
async def two_servers(app, backend, test_settings):
    if backend != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    env = server_environment(test_settings, BOOKINGS_PER_ACCOUNT="1000")
    async with running_servers(2, env, ready_attempts=200) as ports:
        yield [f"http://127.0.0.1:{port}" for port in ports]


async def test_two_processes_never_oversell_a_slot(app, two_servers):
    services = app.state.services
    password_hash = services.hasher.hash(PASSWORD)
    applicants = []
    for _ in range(30):
        tag = secrets.token_hex(4).upper()
        person = await create_person(
            PersonFacts(
                surname="Rush",
                given_names=tag,
                nationality="FRA",
                birth_date=date(1990, 1, 1),
                sex="X",
                passport_number=f"RUSH{tag}",
                passport_valid_until=date(2031, 1, 1),
            ),
            bound_from=date(2026, 1, 1),
        )
        account = await Account.create(
            email=f"rush-{tag.lower()}@example.test",
            display_name="Rush",
            password_hash=password_hash,
            person_id=person.id,
        )
        await AccountRole.create(account_id=account.id, role="APPLICANT")
        applicants.append((account.email, person.id))
    slot = await Slot.filter(
        service_group="VISA",
        booked=0,
        open=True,
        starts_at__gte=services.clock.now() + timedelta(days=3),
    ).first()
    assert slot is not None
    await Slot.filter(id=slot.id).update(capacity=4, booked=0)

    async def one(i: int, email: str, person_id: int) -> str:
        base = two_servers[i % 2]
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            signed = await c.post(
                "/graphql",
                json={
                    "query": SIGN_IN,
                    "variables": {"email": email, "password": PASSWORD},
                },
            )
            token = signed.json()["data"]["signIn"]["accessToken"]
            response = await c.post(
                "/graphql",
                json={
                    "query": BOOK,
                    "variables": {
                        "applicant": gid("Person", person_id),
                        "slot": gid("Slot", slot.id),
                    },
                },
                headers={"authorization": f"Bearer {token}"},
            )
            return response.json()["data"]["bookAppointment"]["__typename"]

    outcomes = Counter(await asyncio.gather(*(one(i, e, p) for i, (e, p) in enumerate(applicants))))
    assert outcomes == {"BookingConfirmed": 4, "SlotUnavailable": 26}
    refreshed = await Slot.get(id=slot.id)
    assert refreshed.booked == 4
