"""A unit of work keeps what it records to itself: audit entries are written with its
transaction and actions wait for its commit, or both go with a rollback, whatever else runs
on the same context (the operations of one WebSocket connection share one) meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from persistence import records as record_store
from persistence.models import Account, Application, AuditEvent
from resolvers import authorization as gate
from resolvers import unit_of_work
from resolvers.context import Context
from resolvers.outcomes import Refusal, invalid
from tests.helpers import (
    UPDATE_STATUS,
    graphql_ws,
    new_applicant,
    officer_token,
    pk_of,
    record_application,
    register_person,
)
from tests.test_subscriptions import wait_until_listening


async def _init(ws: Any, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"


async def _run(ws: Any, op_id: str, query: str, variables: dict) -> list[dict]:
    await ws.send_json(
        {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )
    got = []
    while True:
        message = await ws.receive_json(timeout=10)
        got.append(message)
        if message["type"] in ("complete", "error"):
            return got


async def _officer_and_subject(app: Any) -> tuple[Context, int]:
    """A demo officer's context (as one WebSocket connection's), and a person to act on."""
    ctx = Context(
        services=app.state.services,
        account=await Account.get(email="officer@demo.test"),
        roles=frozenset({"OFFICER"}),
        client_ip="10.0.0.1",
        accept_language=None,
    )
    subject = (await Account.get(email="applicant@demo.test")).person_id
    assert subject is not None
    return ctx, subject


async def test_a_mutation_that_fails_midway_leaves_no_audit_entry_and_no_later_action(
    app, client, monkeypatch
):
    officer = await officer_token(client)
    person = await register_person(client, officer=officer)
    first = await record_application(client, person.id, officer=officer)
    other = await record_application(client, person.id, "VISA_RENEWAL", officer=officer)
    first_pk = pk_of(first["id"])
    # A fault after the change was made (a lost connection, a serialization failure),
    # simulated on updateApplicationStatus's last read of the application.
    original = record_store.application
    reads: dict[int, int] = {}

    async def failing(application_id: int) -> Any:
        reads[application_id] = reads.get(application_id, 0) + 1
        if application_id == first_pk and reads[application_id] == 2:
            raise RuntimeError("connection lost")
        return await original(application_id)

    monkeypatch.setattr(record_store, "application", failing)
    published: list[tuple[int, int]] = []

    async def spy(applicant_id: int, event_id: int) -> None:
        published.append((applicant_id, event_id))

    monkeypatch.setattr(app.state.services, "publish_application_event", spy)

    async with graphql_ws(app) as ws:
        await _init(ws, officer)
        variables = {"input": {"applicationId": first["id"], "status": "ACCEPTED"}}
        failed = (await _run(ws, "1", UPDATE_STATUS, variables))[0]
        assert failed["payload"]["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert (await Application.get(id=first_pk)).status == "SUBMITTED"  # rolled back
        # The next mutation on the connection runs its own after-commit actions only.
        variables = {"input": {"applicationId": other["id"], "status": "ACCEPTED"}}
        answer = await _run(ws, "2", UPDATE_STATUS, variables)
        updated = answer[0]["payload"]["data"]["updateApplicationStatus"]
        assert updated["__typename"] == "ApplicationStatusUpdated", answer

    trail = await AuditEvent.filter(
        subject_id=pk_of(person.id), action="UPDATE_APPLICATION_STATUS"
    ).values_list("target", flat=True)
    assert f"{first['number']}:ACCEPTED" not in trail, trail
    assert f"{other['number']}:ACCEPTED" in trail, trail
    assert len(published) == 1, published


async def test_an_operation_ending_meanwhile_does_not_write_a_rolled_back_units_entries(app):
    """Another operation of the connection ends (and writes its reads) while a mutation's
    unit of work is open; the mutation then rolls back: its entry is never written."""
    ctx, subject = await _officer_and_subject(app)
    target = f"unit-of-work-{id(ctx)}"
    go_on = asyncio.Event()

    async def work() -> None:
        gate.staff_write(ctx, subject, "RECORD_APPLICATION", target)
        await go_on.wait()
        raise invalid("refused after all")

    mutation = asyncio.create_task(unit_of_work.run(ctx, work))
    await asyncio.sleep(0.05)
    # Another operation ends meanwhile (on SQLite its write waits for the transaction).
    other = asyncio.create_task(unit_of_work.write_recorded_reads(ctx))
    await asyncio.sleep(0.05)
    go_on.set()
    assert isinstance(await mutation, Refusal)
    await other
    assert not await AuditEvent.filter(target=target).exists()


async def test_a_unit_that_commits_writes_its_entries_and_runs_its_actions_once(app):
    ctx, subject = await _officer_and_subject(app)
    target = f"unit-of-work-ok-{id(ctx)}"
    ran: list[str] = []

    async def action() -> None:
        ran.append("after commit")

    async def work() -> str:
        gate.staff_write(ctx, subject, "RECORD_APPLICATION", target)
        ctx.after_commit(action)
        assert ran == []
        return "done"

    assert await unit_of_work.run(ctx, work) == "done"
    assert ran == ["after commit"]
    assert await AuditEvent.filter(target=target).count() == 1
    assert ctx.take_audit() == [] and ctx.pending_after_commit == []


async def test_an_event_id_published_for_someone_else_is_not_shown(app, client):
    """applicationUpdates looks an event up as the followed person's: an id published on
    their channel for another person's application shows nothing."""
    watcher = await new_applicant(client)
    officer = await officer_token(client)
    stranger = await register_person(client, officer=officer)
    theirs = await record_application(client, stranger.id, officer=officer)
    [events] = await record_store.events_by_application([pk_of(theirs["id"])])
    query = """subscription($id: ID!) { applicationUpdates(applicantId: $id) {
      status application { number } } }"""
    async with graphql_ws(app) as ws:
        await _init(ws, watcher.token)
        await ws.send_json(
            {
                "id": "s",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": watcher.person_id}},
            }
        )
        await wait_until_listening(app, watcher.person_id)
        await app.state.services.publish_application_event(pk_of(watcher.person_id), events[0].id)
        try:
            message = await ws.receive_json(timeout=1.5)
        except TimeoutError:
            message = None
    assert message is None, message
