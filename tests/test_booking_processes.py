"""Capacity holds when two server processes share one PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from persistence.models import Account, AccountRole, Passport, Person, Slot
from tests.conftest import SIGN_IN

ROOT = Path(__file__).resolve().parent.parent
BOOK = """
mutation($applicant: ID!, $slot: ID!) {
  bookAppointment(input: {applicantId: $applicant, slotId: $slot, service: VISA_EXTENSION}) {
    __typename
  }
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64(type_name: str, pk: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


async def _wait_ready(base: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if (await c.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


@pytest.fixture
async def two_servers(app, backend, test_settings):
    if backend != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    env = {
        **os.environ,
        "DATABASE_URL": test_settings.database_url,
        "APP_ENV": "development",
        "KEY_ENCRYPTION_KEY": test_settings.key_encryption_key or "",
        "DATA_DIR": str(test_settings.data_dir),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "BOOKINGS_PER_ACCOUNT": "1000",
    }
    processes, bases = [], []
    for _ in range(2):
        port = _free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(process)
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base, process in zip(bases, processes, strict=True):
            await _wait_ready(base, process)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


async def test_two_processes_never_oversell_a_slot(app, two_servers):
    services = app.state.services
    password_hash = services.hasher.hash("a-Strong-passphrase-1")
    applicants = []
    for _ in range(30):
        tag = secrets.token_hex(4).upper()
        person = await Person.create(
            surname="Rush",
            given_names=tag,
            surname_key="rush",
            nationality="FRA",
            birth_date="1990-01-01",
            sex="X",
            subject=secrets.token_urlsafe(18),
        )
        await Passport.create(
            person_id=person.id,
            number=f"RUSH{tag}",
            issuing_country="FRA",
            valid_until="2031-01-01",
            bound_from="2026-01-01",
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
                    "variables": {"email": email, "password": "a-Strong-passphrase-1"},
                },
            )
            token = signed.json()["data"]["signIn"]["accessToken"]
            response = await c.post(
                "/graphql",
                json={
                    "query": BOOK,
                    "variables": {
                        "applicant": _b64("Person", person_id),
                        "slot": _b64("Slot", slot.id),
                    },
                },
                headers={"authorization": f"Bearer {token}"},
            )
            return response.json()["data"]["bookAppointment"]["__typename"]

    outcomes = Counter(await asyncio.gather(*(one(i, e, p) for i, (e, p) in enumerate(applicants))))
    assert outcomes == {"BookingConfirmed": 4, "SlotUnavailable": 26}
    refreshed = await Slot.get(id=slot.id)
    assert refreshed.booked == 4
