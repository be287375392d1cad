"""Every way in to a person's data, tried by people who may not have it, through HTTP and
WebSocket.

The actors: the demo helper (two dependants, one of them without VIEW_DOCUMENTS), a fresh
stranger account, helpers whose delegation grants a single scope, the analyst and anonymous
callers. The targets ("the world", built once per module): the demo applicant and the demo
permanent resident, a fresh person with an account and every kind of record (the victim), a
fresh person without an account with every kind of record (the scoped dependant), and an
unrelated delegation. A refusal must look exactly like a missing object: `node` is null and
mutations answer NotPermitted with the one fixed message, and no response text contains the
target's names or numbers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import GraphQLList, GraphQLNonNull, build_client_schema, get_introspection_query
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from persistence.models import Certificate as CertificateRow
from tests.conftest import gql, sign_in
from tests.helpers import (
    ACTIONS,
    BOOK,
    CANCEL,
    NOT_PERMITTED,
    RESCHEDULE,
    UPDATE_STATUS,
    Member,
    Registered,
    accepted_dependant,
    active_dependant,
    add_ok,
    beijing_today,
    book,
    book_open_slot,
    confirm,
    gid,
    member_with_person,
    move_application,
    mutate,
    new_member,
    officer_token,
    open_slots,
    person_node,
    pk_of,
    record_application,
    register_person,
    respond,
    revoke,
    viewer,
)
from tests.test_subscriptions import wait_until_listening

# Authorization and audit must hold whichever executor runs the operation.
pytestmark = pytest.mark.usefixtures("each_executor")

NOT_FOUND_SUBSCRIPTION = "No such applicant, or you may not follow their applications."
UNKNOWN_PERSON = gid("Person", 999999999)
UNKNOWN_APPOINTMENT = gid("Appointment", 999999999)
NODE_TYPES = (
    "Person",
    "Application",
    "Appointment",
    "Document",
    "PermanentResidentCard",
    "Passport",
    "Certificate",
    "Delegation",
    "AuditEvent",
    "Account",
)
REFUSED = {"__typename": "NotPermitted", "message": NOT_PERMITTED}

# ------------------------------------------------------------------------ GraphQL documents

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"

DEEP_NODE = """
query($id: ID!) { node(id: $id) {
  __typename id
  ... on Person { surname givenNames birthDate grantedScopes passports { number } }
  ... on Appointment { reference applicant { surname givenNames passports { number } }
                       rescheduledFrom { applicant { surname } }
                       rescheduledTo { applicant { surname } } }
  ... on Application { number events { status note } }
  ... on Document { number }
  ... on PermanentResidentCard { number }
  ... on Passport { number }
  ... on Certificate { token }
  ... on Delegation { dependant { surname givenNames } helper { displayName } }
  ... on AuditEvent { action subject { surname givenNames } }
  ... on Account { email }
} }"""

ISSUE_DOCUMENT = """
mutation($input: IssueDocumentInput!) {
  issueDocument(input: $input) {
    __typename
    ... on DocumentIssued { document { id number } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

ISSUE_CARD = """
mutation($input: IssuePermanentResidentCardInput!) {
  issuePermanentResidentCard(input: $input) {
    __typename
    ... on PermanentResidentCardIssued { card { id number } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

ISSUE_CERTIFICATE = """
mutation($id: ID!) {
  issuePassportCertificate(personId: $id) {
    __typename
    ... on CertificateIssued { certificate { id token } }
    ... on NotPermanentResident { message }
    ... on NotPermitted { message }
  }
}"""

BIND_PASSPORT = """
mutation($input: BindPassportInput!) {
  bindPassport(input: $input) {
    __typename
    ... on PassportBound { passport { id number } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

UNLINK = """
mutation($id: ID!) {
  unlinkIdentity(personId: $id) {
    __typename
    ... on IdentityUnlinked { person { id surname } }
    ... on NotPermitted { message }
  }
}"""

CHECK_IN = """
mutation($id: ID!) {
  checkInAppointment(id: $id) {
    __typename
    ... on AppointmentCheckedIn { appointment { id applicant { surname } } }
    ... on NotPermitted { message }
    ... on ValidationError { message field }
  }
}"""

RECORD = """
mutation($input: RecordApplicationInput!) {
  recordApplication(input: $input) {
    __typename
    ... on ApplicationRecorded { application { id number } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

LINK = """
mutation($input: LinkIdentityInput!) {
  linkIdentity(input: $input) {
    __typename
    ... on IdentityLinked { person { id surname givenNames } }
    ... on IdentityNotFound { message }
    ... on ValidationError { message field }
    ... on RateLimited { message }
  }
}"""

SUBSCRIBE = """
subscription($id: ID!) { applicationUpdates(applicantId: $id) { status note at } }"""

REACHABLE = """
query($id: ID!) { node(id: $id) { ... on Person {
  id grantedScopes
  appointments(first: 40) { edges { node { id } } }
  applications(first: 40) { edges { node { id } } }
  documents { id }
  permanentResidentCard { id }
  passports { id }
} } }"""

SLOT_REMAINING = "query($id: ID!) { node(id: $id) { ... on Slot { remaining } } }"

OFFICE_DAY = """
query($office: ID!, $day: Date!) { node(id: $office) { ... on Office {
  code appointments(on: $day, first: 20) { edges { node { id reference applicant { surname } } } }
} } }"""

# ------------------------------------------------------------------------------- the world


@dataclass
class Target:
    """One object of someone else's: its global ID, and who may legitimately see it."""

    label: str
    id: str
    seen_by: str  # the actor (a key of `tokens`) who may see it: the positive control


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    scoped: Registered | None = None
    victim_office: str = ""
    victim_day: str = ""

    def target(self, label: str) -> Target:
        return next(t for t in self.targets if t.label == label)

    def stranger_targets(self) -> list[Target]:
        """Everything neither the demo helper nor a fresh account may see."""
        return [t for t in self.targets if not t.label.startswith("kim.")]


async def _ok(client: httpx.AsyncClient, document: str, token: str, **variables: Any) -> dict:
    result = await mutate(client, document, token, **variables)
    assert result["__typename"] not in ("NotPermitted", "ValidationError"), result
    return result


async def _mutations(client: httpx.AsyncClient) -> set[str]:
    body = await gql(client, '{ __type(name: "Mutation") { fields { name } } }')
    return {f["name"] for f in body["data"]["__type"]["fields"]}


async def _records_for(
    client: httpx.AsyncClient, officer: str, person_id: str
) -> tuple[str, str, str]:
    """An approved application, a residence permit issued for it and a PR card."""
    application = await record_application(client, person_id, officer=officer)
    await move_application(
        client, application["id"], "ACCEPTED", "UNDER_REVIEW", "APPROVED", officer=officer
    )
    today = beijing_today()
    document = await _ok(
        client,
        ISSUE_DOCUMENT,
        officer,
        input={
            "applicationId": application["id"],
            "kind": "RESIDENCE_PERMIT",
            "category": "WORK",
            "validFrom": today.isoformat(),
            "validUntil": (today + timedelta(days=365)).isoformat(),
        },
    )
    card = await _ok(
        client,
        ISSUE_CARD,
        officer,
        input={
            "personId": person_id,
            "issuedOn": today.isoformat(),
            "validUntil": (today + timedelta(days=3650)).isoformat(),
        },
    )
    return application["id"], document["document"]["id"], card["card"]["id"]


async def _build_world(client: httpx.AsyncClient) -> World:
    w = World()
    officer = await officer_token(client)
    w.tokens["officer"] = officer
    # Every mutation this file tries must exist: a renamed one would otherwise go untested.
    mutations = await _mutations(client)
    assert {"issuePassportCertificate", "revokeCertificate"} <= mutations, mutations

    def add(label: str, global_id: str, seen_by: str = "officer") -> None:
        w.targets.append(Target(label, global_id, seen_by))

    # The demo applicant (Schmidt) and the demo permanent resident (Johnson).
    applicant = await sign_in(client, "applicant@demo.test")
    body = await gql(
        client,
        "{ viewer { account { id } person { id applications(first: 5) { edges { node { id } } }"
        " documents { id } passports { id } } } }",
        token=applicant,
    )
    schmidt = body["data"]["viewer"]["person"]
    add("schmidt.person", schmidt["id"])
    add("schmidt.account", body["data"]["viewer"]["account"]["id"], "applicant")
    for edge in schmidt["applications"]["edges"]:
        add("schmidt.application", edge["node"]["id"])
    for document in schmidt["documents"]:
        add("schmidt.document", document["id"])
    for passport in schmidt["passports"]:
        add("schmidt.passport", passport["id"])
    w.secrets += ["Schmidt", "Anna Maria", "C01X00T47", "applicant@demo.test"]

    pr = await sign_in(client, "pr@demo.test")
    body = await gql(
        client,
        "{ viewer { person { id permanentResidentCard { id number } passports { id } } } }",
        token=pr,
    )
    johnson = body["data"]["viewer"]["person"]
    add("johnson.person", johnson["id"])
    add("johnson.card", johnson["permanentResidentCard"]["id"])
    for passport in johnson["passports"]:
        add("johnson.passport", passport["id"])
    w.secrets += [
        "Johnson",
        "Michael James",
        "590123456",
        johnson["permanentResidentCard"]["number"],
    ]

    # The demo helper's dependants; Kim's passports lie beyond the helper's scopes.
    helper = await sign_in(client, "helper@demo.test")
    w.tokens["helper"] = helper
    me = await viewer(client, helper)
    for applicant_row in me["applicants"]:
        w.ids[applicant_row["surname"].lower()] = applicant_row["id"]
    kim = await person_node(client, officer, w.ids["kim"])
    assert kim is not None
    for passport in kim["passports"]:
        add("kim.passport", passport["id"])
    for document in kim["documents"]:
        add("kim.document", document["id"])

    # The victim: a fresh person with an account and every kind of record.
    victim = await member_with_person(client, officer=officer)
    assert victim.person is not None
    w.members["victim"] = victim
    w.tokens["victim"] = victim.token
    application, document, card = await _records_for(client, officer, victim.person.id)
    appointment = await book_open_slot(client, victim.token, victim.person.id)
    add("victim.person", victim.person.id)
    add("victim.account", victim.account_id, "victim")
    add("victim.application", application)
    add("victim.document", document)
    add("victim.card", card)
    add("victim.appointment", appointment["id"])
    seen = await person_node(client, officer, victim.person.id)  # audited for the victim
    assert seen is not None
    for passport in seen["passports"]:
        add("victim.passport", passport["id"])
    issued = await _ok(client, ISSUE_CERTIFICATE, victim.token, id=victim.person.id)
    add("victim.certificate", issued["certificate"]["id"])
    body = await gql(client, ACTIONS, token=victim.token)
    events = body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
    assert events, body
    add("victim.audit_event", events[0]["node"]["id"], "victim")
    w.secrets += [
        victim.person.surname,
        victim.person.given_names,
        victim.person.passport_number,
        victim.email,
        appointment["reference"],
    ]
    located = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Appointment { startsAt office { id } } } }",
        {"id": appointment["id"]},
        token=officer,
    )
    w.victim_office = located["data"]["node"]["office"]["id"]
    w.victim_day = located["data"]["node"]["startsAt"][:10]

    # A delegation between two others.
    other_helper, other_child, delegation = await active_dependant(client)
    w.members["other_helper"] = other_helper
    add("other.delegation", delegation["id"], "other_helper")
    add("other.child", other_child.id, "other_helper")
    w.secrets += [other_child.surname, other_child.given_names]

    # The scoped dependant: an adult without an account, every kind of record, and three
    # helpers confirmed at the counter with one scope each.
    scoped = await register_person(client, officer=officer)
    w.scoped = scoped
    w.ids["scoped"] = scoped.id
    application, document, card = await _records_for(client, officer, scoped.id)
    # Booked at the counter by an admin (an officer books at its own office only).
    admin = await sign_in(client, "admin@demo.test")
    appointment = await book_open_slot(client, admin, scoped.id)
    w.ids.update(
        {
            "scoped.application": application,
            "scoped.document": document,
            "scoped.card": card,
            "scoped.appointment": appointment["id"],
        }
    )
    seen = await person_node(client, officer, scoped.id)
    assert seen is not None
    w.ids["scoped.passport"] = seen["passports"][0]["id"]
    for name, scope in (
        ("h_book", "BOOK_APPOINTMENTS"),
        ("h_apps", "VIEW_APPLICATIONS"),
        ("h_docs", "VIEW_DOCUMENTS"),
    ):
        member = await new_member(client)
        added = await add_ok(client, member.token, scoped, scopes=[scope], relationship="PARENT")
        confirmed = await confirm(client, officer, added["id"])
        assert confirmed["delegation"]["status"] == "ACTIVE", confirmed
        w.members[name] = member
        w.tokens[name] = member.token
        w.ids[f"{name}.delegation"] = added["id"]
    issued = await _ok(client, ISSUE_CERTIFICATE, w.tokens["h_docs"], id=scoped.id)
    w.ids["scoped.certificate"] = issued["certificate"]["id"]
    for label in ("application", "document", "card", "appointment", "passport", "certificate"):
        if f"scoped.{label}" in w.ids:
            add(f"scoped.{label}", w.ids[f"scoped.{label}"])
    add("scoped.person", scoped.id)
    w.secrets += [scoped.surname, scoped.given_names, scoped.passport_number]

    stranger = await new_member(client)
    w.members["stranger"] = stranger
    w.tokens["stranger"] = stranger.token
    w.tokens["analyst"] = await sign_in(client, "analyst@demo.test")
    w.tokens["admin"] = await sign_in(client, "admin@demo.test")
    return w


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    transport = httpx.ASGITransport(app=app, client=("172.31.7.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield await _build_world(c)


@pytest.fixture
async def tokens(world: World, client: httpx.AsyncClient) -> dict[str, str]:
    """Fresh access tokens for the world's actors (they live 15 minutes)."""
    fresh = dict(world.tokens)
    for name, member in world.members.items():
        fresh[name] = await member.refresh(client)
    for name, email in (
        ("helper", "helper@demo.test"),
        ("officer", "officer@demo.test"),
        ("analyst", "analyst@demo.test"),
        ("admin", "admin@demo.test"),
        ("applicant", "applicant@demo.test"),
    ):
        fresh[name] = await sign_in(client, email)
    return fresh


# ------------------------------------------------------------------------------- helpers


async def nodes(client: httpx.AsyncClient, token: str | None, ids: list[str]) -> list[Any]:
    """`node` for each ID, 25 aliases per request; returns the nodes in order."""
    found: list[Any] = []
    for start in range(0, len(ids), 25):
        chunk = ids[start : start + 25]
        query = (
            "{ "
            + " ".join(
                f'n{i}: node(id: "{global_id}") {{ __typename id }}'
                for i, global_id in enumerate(chunk)
            )
            + " }"
        )
        body = await gql(client, query, token=token)
        assert "errors" not in body, body
        found += [body["data"][f"n{i}"] for i in range(len(chunk))]
    return found


async def post(client: httpx.AsyncClient, query: str, variables: dict, token: str | None) -> str:
    """The raw response text, for checking that nothing of the target appears anywhere."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.text


def assert_no_secrets(text: str, world: World, *, allowed: tuple[str, ...] = ()) -> None:
    for secret in world.secrets:
        if secret not in allowed:
            assert secret not in text, (secret, text[:500])


@asynccontextmanager
async def websocket(app: Any, token: str | None) -> AsyncIterator[Any]:
    transport = ASGIWebSocketTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        async with aconnect_ws("/graphql", c, subprotocols=["graphql-transport-ws"]) as ws:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            await ws.send_json({"type": "connection_init", "payload": payload})
            ack = await ws.receive_json(timeout=5)
            assert ack["type"] == "connection_ack", ack
            yield ws


async def subscription_refusal(app: Any, token: str | None, person_id: str) -> str | None:
    """The error message the subscription answers with; None when it is running (no message
    within a second)."""
    async with websocket(app, token) as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": person_id}},
            }
        )
        try:
            message = await ws.receive_json(timeout=1)
        except TimeoutError:
            return None
    assert message["type"] in ("next", "error"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert message["type"] == "error" or message["payload"].get("data") is None, message
    assert len(errors) == 1, message
    return errors[0]["message"]


async def reachable(client: httpx.AsyncClient, token: str) -> dict[str, set[str]]:
    """Everything the caller may reach the legitimate way: their account, their own person
    and dependants (with what their scopes show), their delegations, their audit trail."""
    me = await viewer(client, token)
    found: dict[str, set[str]] = {t: set() for t in NODE_TYPES}
    found["Account"].add(me["account"]["id"])
    found["Delegation"] |= {d["id"] for d in me["dependants"]} | {d["id"] for d in me["helpers"]}
    body = await gql(
        client,
        "{ viewer { actionsOnMyBehalf(first: 100) { edges { node { id } } } } }",
        token=token,
    )
    found["AuditEvent"] |= {
        e["node"]["id"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
    }
    documents_of: list[int] = []
    for applicant in me["applicants"]:
        found["Person"].add(applicant["id"])
        body = await gql(client, REACHABLE, {"id": applicant["id"]}, token=token)
        person = body["data"]["node"]
        for connection, type_name in (
            ("appointments", "Appointment"),
            ("applications", "Application"),
        ):
            if person[connection] is not None:
                found[type_name] |= {e["node"]["id"] for e in person[connection]["edges"]}
        for items, type_name in (("documents", "Document"), ("passports", "Passport")):
            found[type_name] |= {item["id"] for item in person[items] or []}
        if person["permanentResidentCard"]:
            found["PermanentResidentCard"].add(person["permanentResidentCard"]["id"])
        if "VIEW_DOCUMENTS" in person["grantedScopes"]:
            documents_of.append(pk_of(applicant["id"]))
    for row in await CertificateRow.filter(person_id__in=documents_of):
        found["Certificate"].add(gid("Certificate", row.id))
    return found


# ===================================================================== node(id:) of strangers


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_node_of_every_record_of_a_stranger_is_null(client, world, tokens, actor):
    targets = world.stranger_targets()
    labels = {t.label.split(".")[1] for t in targets}
    assert labels >= {
        "person",
        "application",
        "appointment",
        "document",
        "card",
        "passport",
        "delegation",
        "audit_event",
        "account",
    }
    # Positive control: each ID is real and seen by whoever may see it.
    for target in targets:
        control = await nodes(client, tokens[target.seen_by], [target.id])
        assert control[0] is not None and control[0]["id"] == target.id, target

    found = await nodes(client, tokens[actor], [t.id for t in targets])

    leaked = [(t.label, n) for t, n in zip(targets, found, strict=True) if n is not None]
    assert leaked == []


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_deep_node_queries_of_strangers_reveal_nothing(client, world, tokens, actor):
    for target in world.stranger_targets():
        text = await post(client, DEEP_NODE, {"id": target.id}, tokens[actor])
        assert '"node":null' in text.replace(" ", ""), (target.label, text)
        assert_no_secrets(text, world)


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_hand_built_and_retyped_ids_of_a_stranger_are_null(client, world, tokens, actor):
    import base64

    variants = []
    for label in ("schmidt.person", "victim.person", "scoped.person"):
        pk = pk_of(world.target(label).id)
        raw = f"Person:{pk}".encode()
        variants += [
            gid("Person", pk),
            base64.urlsafe_b64encode(raw).decode(),  # with padding
            base64.b64encode(raw).decode(),  # standard alphabet
            gid("Person", f"0{pk}"),  # a leading zero
            gid("Person", f"00000{pk}"),
        ]
    for label, type_name in (
        ("victim.application", "Application"),
        ("victim.appointment", "Appointment"),
        ("victim.document", "Document"),
        ("victim.card", "PermanentResidentCard"),
        ("victim.passport", "Passport"),
        ("victim.audit_event", "AuditEvent"),
        ("other.delegation", "Delegation"),
        ("victim.account", "Account"),
        ("johnson.card", "PermanentResidentCard"),
        ("schmidt.application", "Application"),
    ):
        pk = pk_of(world.target(label).id)
        variants += [gid(type_name, pk), gid(type_name, f"0{pk}")]
    # Another type's key under the Person type, and a person's key under other types.
    victim_pk = pk_of(world.target("victim.person").id)
    variants += [gid(t, victim_pk) for t in NODE_TYPES]
    variants += [gid("Person", pk_of(world.target("victim.application").id))]

    found = await nodes(client, tokens[actor], variants)

    allowed = set().union(*(await reachable(client, tokens[actor])).values())
    leaked = [(v, n) for v, n in zip(variants, found, strict=True) if n and n["id"] not in allowed]
    assert leaked == []
    # The officer sees the hand-built person IDs: they do name real persons.
    officer_view = await nodes(client, tokens["officer"], [gid("Person", victim_pk)])
    assert officer_view[0] is not None


@pytest.mark.parametrize("actor", ["helper", "stranger", "h_book", "h_apps", "h_docs", "analyst"])
async def test_enumerating_ids_finds_only_what_the_caller_may_reach(client, world, tokens, actor):
    """Application:1..20 and the like, for every type, plus the world's own keys ± 1."""
    allowed = await reachable(client, tokens[actor])
    keys: dict[str, set[int]] = {t: set(range(1, 21)) for t in NODE_TYPES}
    type_of_label = {
        "person": "Person",
        "child": "Person",
        "application": "Application",
        "appointment": "Appointment",
        "document": "Document",
        "card": "PermanentResidentCard",
        "passport": "Passport",
        "certificate": "Certificate",
        "delegation": "Delegation",
        "audit_event": "AuditEvent",
        "account": "Account",
    }
    for target in world.targets:
        type_name = type_of_label[target.label.split(".")[1]]
        pk = pk_of(target.id)
        keys[type_name] |= {pk - 1, pk, pk + 1}
    probes = [gid(t, pk) for t in NODE_TYPES for pk in sorted(keys[t]) if pk > 0]

    found = await nodes(client, tokens[actor], probes)

    visible = {n["id"] for n in found if n is not None}
    everything_allowed = set().union(*allowed.values())
    assert visible - everything_allowed == set()
    if actor in ("stranger", "analyst"):
        assert visible <= allowed["Account"]
    if actor.startswith("h_"):
        # A single-scope helper of the scoped dependant sees that person and no more than
        # the one kind of record its scope covers.
        assert world.ids["scoped"] in visible
        kinds = {"h_book": "appointment", "h_apps": "application", "h_docs": "document"}
        for label in ("appointment", "application", "document", "card", "passport"):
            expected = label == kinds[actor] or (
                actor == "h_docs" and label in ("card", "passport")
            )
            assert (world.ids[f"scoped.{label}"] in visible) is expected, (actor, label)


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_nested_fields_of_strangers_objects_are_null(client, world, tokens, actor):
    queries = [
        (
            "query($id: ID!) { node(id: $id) { ... on Appointment { applicant { surname } } } }",
            world.target("victim.appointment").id,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on Appointment { applicant { surname "
            "applications { edges { node { number } } } } rescheduledFrom { id } } } }",
            world.target("scoped.appointment").id,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on AuditEvent { subject { surname } "
            "delegation { dependant { surname } } } } }",
            world.target("victim.audit_event").id,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on Delegation { dependant { surname "
            "applications { edges { node { number } } } } } } }",
            world.target("other.delegation").id,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on Application { events { status note "
            "application { number } } } } }",
            world.target("victim.application").id,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on Person { passports { number } "
            "permanentResidentCard { number } documents { number } } } }",
            world.target("johnson.person").id,
        ),
    ]
    for query, target_id in queries:
        text = await post(client, query, {"id": target_id}, tokens[actor])
        assert '"node":null' in text.replace(" ", ""), text
        assert_no_secrets(text, world)


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_aliases_of_strangers_are_all_null(client, world, tokens, actor):
    query = """
    query($x: ID!, $y: ID!, $z: ID!, $own: ID!) {
      a: node(id: $x) { id ... on Person { surname } }
      b: node(id: $y) { id ... on Person { surname } }
      c: node(id: $z) { id ... on Appointment { applicant { surname } } }
      d: node(id: $x) { id ... on Person { applications { edges { node { id } } } } }
      mine: node(id: $own) { id }
    }"""
    own = (await viewer(client, tokens[actor]))["applicants"]
    own_id = own[0]["id"] if own else (await viewer(client, tokens[actor]))["account"]["id"]
    variables = {
        "x": world.target("victim.person").id,
        "y": world.target("schmidt.person").id,
        "z": world.target("victim.appointment").id,
        "own": own_id,
    }

    body = await gql(client, query, variables, token=tokens[actor])

    assert "errors" not in body, body
    data = body["data"]
    assert (data["a"], data["b"], data["c"], data["d"]) == (None, None, None, None)
    assert data["mine"] == {"id": own_id}  # what the caller may see still shows
    # Visible first, then the stranger: the order does not open anything either.
    reverse = await gql(
        client,
        "query($own: ID!, $x: ID!) { mine: node(id: $own) { id } "
        "theirs: node(id: $x) { id ... on Person { surname } } }",
        {"own": own_id, "x": variables["x"]},
        token=tokens[actor],
    )
    assert reverse["data"] == {"mine": {"id": own_id}, "theirs": None}


async def test_viewer_applicants_never_include_a_stranger(client, world, tokens):
    async def applicants(token: str) -> set[str]:
        return {a["id"] for a in (await viewer(client, token))["applicants"]}

    assert await applicants(tokens["helper"]) == {world.ids["tanaka"], world.ids["kim"]}
    assert await applicants(tokens["stranger"]) == set()
    assert await applicants(tokens["analyst"]) == set()
    assert await applicants(tokens["victim"]) == {world.target("victim.person").id}
    for name in ("h_book", "h_apps", "h_docs"):
        assert await applicants(tokens[name]) == {world.ids["scoped"]}, name
    body = await gql(client, "{ viewer { person { id } } }", token=tokens["analyst"])
    assert body["data"]["viewer"]["person"] is None


# ========================================================================= mutations


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_booking_for_a_stranger_is_refused_like_for_a_missing_person(
    client, world, tokens, actor
):
    (slot,) = await open_slots(client, "VISA_RENEWAL")
    remaining = (await gql(client, SLOT_REMAINING, {"id": slot["id"]}))["data"]

    results = {}
    for label in ("victim.person", "schmidt.person", "scoped.person", "johnson.person"):
        results[label] = await book(
            client, tokens[actor], world.target(label).id, slot["id"], "VISA_RENEWAL"
        )
    for label, person_id in (
        ("unknown", UNKNOWN_PERSON),
        ("garbage", "not-an-id"),
        ("slot as person", slot["id"]),
        ("retyped", gid("Application", pk_of(world.target("victim.person").id))),
    ):
        results[label] = await book(client, tokens[actor], person_id, slot["id"], "VISA_RENEWAL")

    # The victim already holds a VISA_EXTENSION appointment: AlreadyBooked (which carries
    # the existing appointment) must not answer a caller who may not book for them.
    (same_service,) = await open_slots(client, "VISA_EXTENSION")
    results["already booked"] = await book(
        client, tokens[actor], world.target("victim.person").id, same_service["id"]
    )

    assert all(r == REFUSED for r in results.values()), results
    assert (await gql(client, SLOT_REMAINING, {"id": slot["id"]}))["data"] == remaining


@pytest.mark.parametrize("actor", ["helper", "stranger", "h_apps", "h_docs"])
async def test_cancel_and_reschedule_of_a_strangers_appointment_are_refused(
    client, world, tokens, actor
):
    targets = [world.target("victim.appointment").id, world.target("scoped.appointment").id]
    (slot,) = await open_slots(client)

    for appointment_id in [*targets, UNKNOWN_APPOINTMENT, gid("Appointment", "x")]:
        cancelled = await mutate(client, CANCEL, tokens[actor], id=appointment_id)
        moved = await mutate(
            client,
            RESCHEDULE,
            tokens[actor],
            input={"appointmentId": appointment_id, "slotId": slot["id"]},
        )
        assert cancelled == REFUSED, (appointment_id, cancelled)
        assert moved == REFUSED, (appointment_id, moved)

    still = await gql(
        client,
        "query($a: ID!, $b: ID!) { a: node(id: $a) { ... on Appointment { status } } "
        "b: node(id: $b) { ... on Appointment { status } } }",
        {"a": targets[0], "b": targets[1]},
        token=tokens["officer"],
    )
    assert still["data"] == {"a": {"status": "BOOKED"}, "b": {"status": "BOOKED"}}


async def test_scope_not_granted_refuses_booking(client, world, tokens):
    (slot,) = await open_slots(client, "VISA_REISSUANCE")
    for actor in ("h_apps", "h_docs"):
        refused = await book(
            client, tokens[actor], world.ids["scoped"], slot["id"], "VISA_REISSUANCE"
        )
        unknown = await book(client, tokens[actor], UNKNOWN_PERSON, slot["id"], "VISA_REISSUANCE")
        assert refused == unknown == REFUSED, actor


@pytest.mark.parametrize("actor", ["helper", "stranger", "analyst"])
async def test_staff_mutations_on_a_strangers_records_are_refused(client, world, tokens, actor):
    token = tokens[actor]
    victim = world.target("victim.person").id
    application = world.target("victim.application").id
    appointment = world.target("victim.appointment").id
    today = beijing_today()
    attempts = {
        "recordApplication": (
            RECORD,
            {"input": {"applicantId": victim, "service": "VISA_EXTENSION"}},
        ),
        "updateApplicationStatus": (
            UPDATE_STATUS,
            {"input": {"applicationId": application, "status": "READY_FOR_COLLECTION"}},
        ),
        "issueDocument": (
            ISSUE_DOCUMENT,
            {
                "input": {
                    "applicationId": application,
                    "kind": "RESIDENCE_PERMIT",
                    "category": "WORK",
                    "validFrom": today.isoformat(),
                    "validUntil": (today + timedelta(days=30)).isoformat(),
                }
            },
        ),
        "issuePermanentResidentCard": (
            ISSUE_CARD,
            {
                "input": {
                    "personId": victim,
                    "issuedOn": today.isoformat(),
                    "validUntil": (today + timedelta(days=30)).isoformat(),
                }
            },
        ),
        "bindPassport": (
            BIND_PASSPORT,
            {
                "input": {
                    "personId": victim,
                    "passportNumber": f"Q{secrets.token_hex(4).upper()}",
                    "issuingCountry": "GBR",
                    "validUntil": "2035-01-01",
                }
            },
        ),
        "unlinkIdentity": (UNLINK, {"id": victim}),
        "checkInAppointment": (CHECK_IN, {"id": appointment}),
        "confirmDelegation": (
            "mutation($id: ID!) { confirmDelegation(id: $id) { __typename "
            "... on NotPermitted { message } ... on DelegationConfirmed { delegation { id } } } }",
            {"id": world.target("other.delegation").id},
        ),
        "respondToDelegation": (
            "mutation($id: ID!) { respondToDelegation(input: {delegationId: $id, accept: true}) "
            "{ __typename ... on NotPermitted { message } "
            "... on DelegationResponded { delegation { id } } } }",
            {"id": world.target("other.delegation").id},
        ),
        "revokeDelegation": (
            "mutation($id: ID!) { revokeDelegation(id: $id) { __typename "
            "... on NotPermitted { message } ... on DelegationRevoked { delegation { id } } } }",
            {"id": world.target("other.delegation").id},
        ),
    }
    attempts["revokeCertificate"] = (
        'mutation($id: ID!) { revokeCertificate(input: {certificateId: $id, reason: "x"}) '
        "{ __typename ... on NotPermitted { message } "
        "... on CertificateRevoked { certificate { id token } } "
        "... on ValidationError { message } } }",
        {"id": world.target("victim.certificate").id},
    )
    for name, (document, variables) in attempts.items():
        text = await post(client, document, variables, token)
        body = json.loads(text)
        assert "errors" not in body, (name, body)
        assert body["data"][name] == REFUSED, (name, body)
        assert_no_secrets(text, world)
    # Nothing changed: the victim is still linked and the appointment still booked.
    me = await viewer(client, tokens["victim"])
    assert me["person"] == {"id": victim}


@pytest.mark.parametrize("actor", ["helper", "stranger"])
async def test_linking_to_someone_elses_person_says_no_more_than_a_mismatch(client, world, actor):
    member = await new_member(client)  # its own link attempts, not the actor's
    victim = world.members["victim"].person
    assert victim is not None

    taken = await mutate(client, LINK, member.token, input=victim.facts())
    wrong = await mutate(
        client, LINK, member.token, input={**victim.facts(), "birthDate": "1901-01-01"}
    )

    assert taken["__typename"] == wrong["__typename"] == "IdentityNotFound", (taken, wrong)
    assert taken["message"] == wrong["message"]


# ========================================================================= subscriptions


@pytest.mark.parametrize("actor", ["helper", "stranger", "analyst", "h_book", "h_docs"])
async def test_subscribing_to_a_strangers_updates_fails_like_for_a_missing_person(
    app, world, tokens, actor
):
    unknown = await subscription_refusal(app, tokens[actor], UNKNOWN_PERSON)
    assert unknown == NOT_FOUND_SUBSCRIPTION

    for label in ("victim.person", "schmidt.person", "scoped.person"):
        if actor.startswith("h_") and label != "scoped.person":
            continue
        refused = await subscription_refusal(app, tokens[actor], world.target(label).id)
        assert refused == unknown, (actor, label)
    garbage = await subscription_refusal(app, tokens[actor], "not-an-id")
    assert garbage == unknown


async def test_subscription_runs_for_a_dependant_with_view_applications(app, world, tokens):
    """Positive control for the refusals above."""
    assert await subscription_refusal(app, tokens["h_apps"], world.ids["scoped"]) is None
    assert await subscription_refusal(app, tokens["helper"], world.ids["kim"]) is None


async def test_anonymous_subscription_is_refused(app, world):
    message = await subscription_refusal(app, None, world.target("victim.person").id)
    assert message is not None and message != ""


async def test_subscription_ends_when_the_delegation_is_revoked(app, client):
    helper, child, delegation = await active_dependant(client)
    officer = await officer_token(client)
    application = await record_application(client, child.id, officer=officer)

    async with websocket(app, helper.token) as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": child.id}},
            }
        )
        await wait_until_listening(app, child.id)
        await move_application(client, application["id"], "ACCEPTED", officer=officer)
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "next", first
        assert first["payload"]["data"]["applicationUpdates"]["status"] == "ACCEPTED"

        assert (await revoke(client, helper.token, delegation["id"]))["__typename"] == (
            "DelegationRevoked"
        )
        await move_application(client, application["id"], "UNDER_REVIEW", officer=officer)
        following = await ws.receive_json(timeout=10)

    assert following["type"] == "complete", following


async def test_queries_over_websocket_stop_at_once_when_the_delegation_is_revoked(app, client):
    """An open WebSocket connection must not keep the rights of a revoked delegation."""
    helper, dependant, delegation = await accepted_dependant(client)
    assert dependant.person is not None
    await record_application(client, dependant.person.id)
    query = (
        "query($id: ID!) { node(id: $id) { id ... on Person { surname "
        "applications { edges { node { id number } } } } } }"
    )
    message = {
        "type": "subscribe",
        "payload": {"query": query, "variables": {"id": dependant.person.id}},
    }

    async with websocket(app, helper.token) as ws:
        await ws.send_json({"id": "1", **message})
        before = await ws.receive_json(timeout=5)
        assert before["type"] == "next", before
        assert before["payload"]["data"]["node"]["id"] == dependant.person.id
        await ws.receive_json(timeout=5)  # complete

        await revoke(client, helper.token, delegation["id"])
        assert await person_node(client, helper.token, dependant.person.id) is None  # HTTP

        await ws.send_json({"id": "2", **message})
        after = await ws.receive_json(timeout=5)

    assert after["type"] == "next", after
    assert after["payload"]["data"]["node"] is None, after


async def test_booking_over_websocket_is_refused_once_the_delegation_is_revoked(app, client):
    helper, child, delegation = await active_dependant(client)
    (slot,) = await open_slots(client, "VISA_EXTENSION")
    query = "query($id: ID!) { node(id: $id) { id } }"
    booking = {
        "query": BOOK,
        "variables": {
            "input": {"applicantId": child.id, "slotId": slot["id"], "service": "VISA_EXTENSION"}
        },
    }

    async with websocket(app, helper.token) as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": child.id}},
            }
        )
        seen = await ws.receive_json(timeout=5)
        assert seen["payload"]["data"]["node"] == {"id": child.id}, seen
        await ws.receive_json(timeout=5)  # complete
        await revoke(client, helper.token, delegation["id"])

        await ws.send_json({"id": "2", "type": "subscribe", "payload": booking})
        result = await ws.receive_json(timeout=5)

    assert result["type"] == "next", result
    assert result["payload"]["data"]["bookAppointment"] == REFUSED, result


async def test_reads_over_websocket_are_audited(app, client):
    helper, dependant, _ = await accepted_dependant(client)
    assert dependant.person is not None
    await record_application(client, dependant.person.id)

    async def helper_reads() -> list[dict]:
        body = await gql(client, ACTIONS, token=dependant.token)
        return [
            e["node"]
            for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
            if e["node"]["actor"]["kind"] == "HELPER" and e["node"]["action"] == "READ_APPLICATIONS"
        ]

    before = await helper_reads()
    async with websocket(app, helper.token) as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "query($id: ID!) { node(id: $id) { ... on Person { "
                    "applications { edges { node { id } } } } } }",
                    "variables": {"id": dependant.person.id},
                },
            }
        )
        result = await ws.receive_json(timeout=5)
        assert result["type"] == "next", result
        assert result["payload"]["data"]["node"]["applications"]["edges"]
        done = await ws.receive_json(timeout=5)
        assert done == {"id": "1", "type": "complete"}, done

    assert len(await helper_reads()) == len(before) + 1


async def test_a_read_over_websocket_is_audited_even_if_the_client_leaves_at_once(app, client):
    """The audit record must not depend on the client staying for `complete`: whoever has
    received the data has read it."""
    helper, dependant, _ = await accepted_dependant(client)
    assert dependant.person is not None
    await record_application(client, dependant.person.id)
    query = (
        "query($id: ID!) { node(id: $id) { ... on Person { "
        "applications { edges { node { id } } } } } }"
    )

    async with websocket(app, helper.token) as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": dependant.person.id}},
            }
        )
        result = await ws.receive_json(timeout=5)
        assert result["payload"]["data"]["node"]["applications"]["edges"], result
    # The connection is closed right after the data arrived.

    body = await gql(client, ACTIONS, token=dependant.token)
    reads = [
        e["node"]
        for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
        if e["node"]["actor"]["kind"] == "HELPER" and e["node"]["action"] == "READ_APPLICATIONS"
    ]
    assert len(reads) == 1, body


# =================================================== delegations that are not (or no longer) active


async def _inactive(
    client: httpx.AsyncClient, clock: Any, state: str
) -> tuple[Member, Member, dict]:
    """A helper, a dependant with an account and an application, and their delegation in
    `state` (with the clock pinned for the expired ones)."""
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    await record_application(client, dependant.person.id)
    today = beijing_today()
    valid_until = today.isoformat() if state == "EXPIRED_AFTER_VALID_UNTIL" else None
    added = await add_ok(client, helper.token, dependant.person, valid_until=valid_until)
    if state in ("DECLINED", "REVOKED", "EXPIRED_AFTER_VALID_UNTIL"):
        answered = await respond(client, dependant.token, added["id"], state != "DECLINED")
        assert answered["__typename"] == "DelegationResponded", answered
    if state == "REVOKED":
        assert (await revoke(client, helper.token, added["id"]))["__typename"] == (
            "DelegationRevoked"
        )
    if state == "EXPIRED_PENDING":
        clock.pinned = datetime.now(UTC) + timedelta(days=15)
    if state == "EXPIRED_AFTER_VALID_UNTIL":
        clock.pinned = datetime.now(UTC) + timedelta(days=2)
    if clock.pinned is not None:
        await helper.refresh(client)
        await dependant.refresh(client)
    return helper, dependant, added


@pytest.mark.parametrize(
    "state", ["PENDING", "DECLINED", "REVOKED", "EXPIRED_PENDING", "EXPIRED_AFTER_VALID_UNTIL"]
)
async def test_a_delegation_that_is_not_active_grants_nothing(app, client, clock, state):
    (slot,) = await open_slots(client, "STAY_PERMIT_RENEWAL")
    helper, dependant, _ = await _inactive(client, clock, state)
    assert dependant.person is not None
    person_id = dependant.person.id
    officer = await officer_token(client)
    theirs = await person_node(client, officer, person_id)
    assert theirs is not None
    application_id = theirs["applications"]["edges"][0]["node"]["id"]

    mine = await viewer(client, helper.token)
    expected = {"PENDING": "PENDING", "DECLINED": "DECLINED", "REVOKED": "REVOKED"}
    assert mine["dependants"][0]["status"] == expected.get(state, "EXPIRED")
    # No person behind the delegation: only the facts the helper typed.
    assert mine["dependants"][0]["dependant"] is None
    assert mine["dependants"][0]["requestedFor"] == {
        "surname": dependant.person.surname.upper(),
        "nationality": dependant.person.nationality,
        "birthDate": dependant.person.birth_date,
    }
    through_node = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Delegation { dependant { id } } } }",
        {"id": mine["dependants"][0]["id"]},
        token=helper.token,
    )
    assert through_node["data"]["node"] == {"dependant": None}, through_node
    # The dependant still sees themselves in it.
    theirs = await viewer(client, dependant.token)
    assert theirs["helpers"][0]["dependant"]["id"] == person_id
    assert mine["applicants"] == []
    assert await nodes(client, helper.token, [person_id, application_id]) == [None, None]
    booked = await book(client, helper.token, person_id, slot["id"], "STAY_PERMIT_RENEWAL")
    unknown = await book(client, helper.token, UNKNOWN_PERSON, slot["id"], "STAY_PERMIT_RENEWAL")
    assert booked == unknown == REFUSED
    refused = await subscription_refusal(app, helper.token, person_id)
    assert refused == await subscription_refusal(app, helper.token, UNKNOWN_PERSON)
    assert refused == NOT_FOUND_SUBSCRIPTION
    if "issuePassportCertificate" in await _mutations(client):
        certificate = await mutate(client, ISSUE_CERTIFICATE, helper.token, id=person_id)
        assert certificate == REFUSED


async def test_revocation_holds_for_the_next_operation_of_a_batch(client):
    """A batch's operations are separate requests: the one after the revocation is refused."""
    helper, child, delegation = await active_dependant(client)
    (slot,) = await open_slots(client, "VISA_EXTENSION")
    batch = [
        {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": child.id}},
        {
            "query": "mutation($id: ID!) { revokeDelegation(id: $id) { __typename } }",
            "variables": {"id": delegation["id"]},
        },
        {
            "query": "query($id: ID!) { node(id: $id) { id ... on Person { "
            "applications { edges { node { id } } } } } }",
            "variables": {"id": child.id},
        },
        {
            "query": BOOK,
            "variables": {
                "input": {
                    "applicantId": child.id,
                    "slotId": slot["id"],
                    "service": "VISA_EXTENSION",
                }
            },
        },
    ]

    response = await client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {helper.token}"}
    )

    assert response.status_code == 200, response.text
    results = response.json()
    assert results[0]["data"]["node"] == {"id": child.id}
    assert results[1]["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked"
    assert results[2]["data"]["node"] is None, results[2]
    assert results[3]["data"]["bookAppointment"] == REFUSED, results[3]


async def test_revocation_holds_for_the_next_field_of_the_same_mutation(client):
    helper, child, delegation = await active_dependant(client)
    (first,) = await open_slots(client, "VISA_EXTENSION")
    (second,) = await open_slots(client, "VISA_RENEWAL")
    document = """
    mutation($child: ID!, $d: ID!, $s1: ID!, $s2: ID!) {
      before: bookAppointment(input: {applicantId: $child, slotId: $s1, service: VISA_EXTENSION}) {
        __typename
      }
      revoke: revokeDelegation(id: $d) { ... on DelegationRevoked { delegation { status } } }
      after: bookAppointment(input: {applicantId: $child, slotId: $s2, service: VISA_RENEWAL}) {
        __typename ... on NotPermitted { message }
      }
    }"""

    body = await gql(
        client,
        document,
        {"child": child.id, "d": delegation["id"], "s1": first["id"], "s2": second["id"]},
        token=helper.token,
    )

    assert "errors" not in body, body
    assert body["data"]["before"]["__typename"] == "BookingConfirmed"
    assert body["data"]["revoke"]["delegation"]["status"] == "REVOKED"
    assert body["data"]["after"] == REFUSED, body


# ========================================================================= scopes not granted


async def test_elderly_dependant_without_view_documents(client, world, tokens):
    helper = tokens["helper"]
    kim = await person_node(client, helper, world.ids["kim"])
    assert kim is not None
    assert (kim["documents"], kim["permanentResidentCard"], kim["passports"]) == (None, None, None)
    assert kim["applications"] is not None and kim["appointments"] is not None
    passports = [t.id for t in world.targets if t.label in ("kim.passport", "kim.document")]
    assert passports
    assert await nodes(client, helper, passports) == [None] * len(passports)
    text = await post(
        client,
        "query($id: ID!) { node(id: $id) { ... on Person { passports { number } "
        "documents { number } permanentResidentCard { number } } } }",
        {"id": world.ids["kim"]},
        helper,
    )
    assert "M12345678" not in text  # Kim's passport number


async def test_issue_passport_certificate_needs_view_documents(client, world, tokens):
    unknown = await mutate(client, ISSUE_CERTIFICATE, tokens["h_book"], id=UNKNOWN_PERSON)
    assert unknown == REFUSED
    for actor in ("h_book", "h_apps"):
        refused = await mutate(client, ISSUE_CERTIFICATE, tokens[actor], id=world.ids["scoped"])
        assert refused == unknown, actor
    for actor, person in (
        ("helper", world.ids["kim"]),  # BOOK_APPOINTMENTS and VIEW_APPLICATIONS only
        ("helper", world.target("johnson.person").id),
        ("stranger", world.target("johnson.person").id),
        ("analyst", world.target("johnson.person").id),
    ):
        text = await post(client, ISSUE_CERTIFICATE, {"id": person}, tokens[actor])
        assert json.loads(text)["data"]["issuePassportCertificate"] == REFUSED
        assert_no_secrets(text, world)
    # Positive control: VIEW_DOCUMENTS suffices.
    issued = await mutate(client, ISSUE_CERTIFICATE, tokens["h_docs"], id=world.ids["scoped"])
    assert issued["__typename"] == "CertificateIssued", issued


async def test_scoped_person_fields_follow_each_single_scope(client, world, tokens):
    expect = {
        "h_book": {"appointments"},
        "h_apps": {"applications"},
        "h_docs": {"documents", "permanentResidentCard", "passports"},
    }
    gated = {"appointments", "applications", "documents", "permanentResidentCard", "passports"}
    for actor, shown in expect.items():
        node = await person_node(client, tokens[actor], world.ids["scoped"])
        assert node is not None, actor
        assert {f for f in gated if node[f] is not None} == shown, (actor, node)
        assert len(node["grantedScopes"]) == 1


# ========================================================================= analyst, anonymous


async def test_analyst_reads_statistics_and_no_person(client, world, tokens):
    analyst = tokens["analyst"]
    found = await nodes(client, analyst, [t.id for t in world.targets])
    assert found == [None] * len(world.targets)
    today = beijing_today()
    body = await gql(
        client,
        "query($from: Date!, $to: Date!) { statistics(from: $from, to: $to) "
        "{ appointmentsBooked applicationsByStatus { status count } } }",
        {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()},
        token=analyst,
    )
    assert "errors" not in body, body
    me = await viewer(client, analyst)
    assert (me["person"], me["applicants"], me["dependants"], me["helpers"]) == (None, [], [], [])


@pytest.mark.parametrize("actor", ["helper", "stranger", "analyst", "anonymous"])
async def test_office_day_lists_are_null_for_everyone_but_staff(client, world, tokens, actor):
    token = None if actor == "anonymous" else tokens[actor]
    variables = {"office": world.victim_office, "day": world.victim_day}

    text = await post(client, OFFICE_DAY, variables, token)

    body = json.loads(text)
    assert "errors" not in body, body
    assert body["data"]["node"]["appointments"] is None
    assert_no_secrets(text, world)
    # Positive control: an admin sees that day's list, with the victim's appointment.
    admin = await gql(client, OFFICE_DAY, variables, token=tokens["admin"])
    listed = {e["node"]["id"] for e in admin["data"]["node"]["appointments"]["edges"]}
    assert world.target("victim.appointment").id in listed or len(listed) == 20


async def test_anonymous_node_of_anything_is_null(client, world):
    found = await nodes(client, None, [t.id for t in world.targets])
    assert found == [None] * len(world.targets)
    body = await gql(client, "{ viewer { account { id } } }")
    assert body["data"]["viewer"] is None
    for target in world.targets[:5]:
        assert_no_secrets(await post(client, DEEP_NODE, {"id": target.id}, None), world)


PUBLIC_OFFICE_DAY = """
query($code: String!, $day: Date!) { offices(first: 1, filter: {text: $code}) { edges { node {
  code appointments(on: $day, first: 5) { edges { node { id applicant { surname } } } }
} } } }"""


async def test_the_public_response_cache_never_serves_staff_answers(client, world, tokens):
    """`offices` is a public root field whose answers to anonymous callers are cached; the
    staff-only appointments below it must stay null for them, before and after staff ask."""
    located = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Office { code } } }",
        {"id": world.victim_office},
    )
    variables = {"code": located["data"]["node"]["code"], "day": world.victim_day}

    def day_list(body: dict) -> Any:
        (edge,) = body["data"]["offices"]["edges"]
        return edge["node"]["appointments"]

    assert day_list(await gql(client, PUBLIC_OFFICE_DAY, variables)) is None
    admin = await gql(client, PUBLIC_OFFICE_DAY, variables, token=tokens["admin"])
    assert day_list(admin) is not None and day_list(admin)["edges"]
    for token in (None, tokens["stranger"], tokens["helper"]):
        text = await post(client, PUBLIC_OFFICE_DAY, variables, token)
        assert day_list(json.loads(text)) is None
        assert_no_secrets(text, world)


@pytest.mark.parametrize("actor", ["helper", "stranger", "anonymous"])
async def test_node_over_get_is_null_for_strangers(client, world, tokens, actor):
    headers = {} if actor == "anonymous" else {"authorization": f"Bearer {tokens[actor]}"}
    for label in ("victim.person", "victim.appointment", "scoped.application", "johnson.card"):
        response = await client.get(
            "/graphql",
            params={"query": DEEP_NODE, "variables": json.dumps({"id": world.target(label).id})},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["node"] is None, (label, response.text)
        assert_no_secrets(response.text, world)


# ============================================================================= e-mail addresses


@pytest.mark.parametrize("actor", ["helper", "stranger", "officer", "admin", "analyst"])
async def test_another_accounts_node_is_null(client, world, tokens, actor):
    victim_account = world.target("victim.account").id
    schmidt_account = world.target("schmidt.account").id
    hand_built = gid("Account", pk_of(victim_account))

    text = await post(
        client,
        "query($a: ID!, $b: ID!, $c: ID!) { a: node(id: $a) { id ... on Account { email } } "
        "b: node(id: $b) { id ... on Account { email } } "
        "c: node(id: $c) { id ... on Account { email } } }",
        {"a": victim_account, "b": schmidt_account, "c": hand_built},
        tokens[actor],
    )

    assert json.loads(text)["data"] == {"a": None, "b": None, "c": None}
    assert world.members["victim"].email not in text
    assert "applicant@demo.test" not in text


async def test_own_account_node_shows_the_own_email(client, world, tokens):
    victim = world.members["victim"]
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { id ... on Account { email } } }",
        {"id": victim.account_id},
        token=tokens["victim"],
    )
    assert body["data"]["node"] == {"id": victim.account_id, "email": victim.email}


def _named(gtype: Any) -> Any:
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        gtype = gtype.of_type
    return gtype


async def _schema(client: httpx.AsyncClient) -> Any:
    body = await gql(client, get_introspection_query())
    assert "errors" not in body, body
    return build_client_schema(body["data"])


async def test_email_is_only_on_account_and_account_only_under_viewer_and_session(client):
    schema = await _schema(client)
    with_email = set()
    account_holders = set()
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or not hasattr(gtype, "fields"):
            continue
        for field_name, definition in gtype.fields.items():
            if field_name == "email" and name not in ("SignUpInput", "SignInInput"):
                with_email.add(name)
            if getattr(_named(definition.type), "name", None) == "Account":
                account_holders.add(f"{name}.{field_name}")
    assert with_email == {"Account"}
    assert account_holders <= {
        "Viewer.account",
        "AuthSession.account",
        "PasswordChanged.account",
        "EmailVerified.account",
        "PreferencesSaved.account",
    }
    for actor_field in (
        "Delegation.helper",
        "AuditEvent.actor",
        "Appointment.bookedBy",
        "ApplicationEvent.actor",
    ):
        type_name, field_name = actor_field.split(".")
        assert _named(schema.get_type(type_name).fields[field_name].type).name == "Actor"


# Every field through which a person's data (or an object carrying it) can be reached, with
# the test above that guards it. A new path must get a guard before it joins this list.
KNOWN_PATHS = {
    "Query.node",
    "Query.applicationByNumber",  # tests/test_application_lookup.py
    "Query.viewer",
    "Viewer.account",
    "Viewer.person",
    "Viewer.applicants",
    "Viewer.dependants",
    "Viewer.helpers",
    "Viewer.actionsOnMyBehalf",
    "Person.appointments",
    "Person.applications",
    "Person.documents",
    "Person.permanentResidentCard",
    "Person.passports",
    "Appointment.applicant",
    "Appointment.rescheduledFrom",
    "Appointment.rescheduledTo",
    "Application.events",
    "ApplicationEvent.application",
    "Delegation.dependant",
    "Delegation.requestedFor",
    "AuditEvent.subject",
    "AuditEvent.delegation",
    "Office.appointments",
    "Office.applications",  # tests/test_officer_queue_screen.py
    "Application.applicant",  # seen only by whoever sees the application
    "Query.persons",  # tests/test_officer_queue_screen.py
    "AlreadyBooked.existing",
    "AuthSession.account",
    "PasswordChanged.account",
    "BookingConfirmed.appointment",
    "AppointmentCancelled.appointment",
    "AppointmentRescheduled.appointment",
    "AppointmentRescheduled.previous",
    "AppointmentCheckedIn.appointment",
    "ApplicationRecorded.application",
    "ApplicationStatusUpdated.application",
    "DocumentIssued.document",
    "PermanentResidentCardIssued.card",
    "PassportBound.passport",
    "PassportBound.previous",
    "IdentityLinked.person",
    "IdentityUnlinked.person",
    "PersonRegistered.person",
    "DependantAdded.delegation",
    "DelegationResponded.delegation",
    "DelegationRevoked.delegation",
    "DelegationConfirmed.delegation",
    "CertificateIssued.certificate",
    "CertificateRevoked.certificate",
    "Subscription.applicationUpdates",
    "Query.verifyDocument",
    # tests/test_waitlist.py: a helper without BOOK_APPOINTMENTS and a stranger get null from
    # Person.waitlist and node, NotPermitted from the mutations (before any entry is shown).
    "Person.waitlist",
    "WaitlistEntry.applicant",
    "WaitlistJoined.entry",
    "WaitlistLeft.entry",
    "AlreadyWaiting.existingEntry",
    # tests/test_certificate_pdf.py: Person.certificates is null for a helper without
    # VIEW_DOCUMENTS and for strangers (test_a_helper_sees_certificates_only_with_view_documents).
    "Person.certificates",
    # tests/test_notifications.py: a notification is no node for anyone but its addressee, and a
    # helper's copies leave the inbox when the delegation or the scope ends.
    "Notification.person",
    # The caller's own account: verifyEmail's to whoever holds the mailed token (who knows the
    # address already), setPreferences' to the signed-in account (tests/test_account_recovery.py,
    # tests/test_notifications.py).
    "EmailVerified.account",
    "PreferencesSaved.account",
    # tests/test_document_supersession.py: the same holder's document, reached only through a
    # document the viewer may see (a helper without VIEW_DOCUMENTS and a stranger get null).
    "Document.supersededBy",
}
PERSONAL = {
    "Person",
    "Appointment",
    "AppointmentConnection",
    "AppointmentEdge",
    "Application",
    "ApplicationConnection",
    "ApplicationEdge",
    "ApplicationEvent",
    "PersonConnection",
    "PersonEdge",
    "Document",
    "PermanentResidentCard",
    "Passport",
    "Certificate",
    "Delegation",
    "DependantFacts",
    "AuditEvent",
    "AuditEventConnection",
    "AuditEventEdge",
    "Account",
    "Viewer",
    "DocumentVerification",
    "WaitlistEntry",
}


async def test_every_path_to_person_data_in_the_schema_is_guarded(client):
    schema = await _schema(client)
    connections = {
        "AppointmentConnection",
        "ApplicationConnection",
        "AuditEventConnection",
        "PersonConnection",
    }
    edges = {"AppointmentEdge", "ApplicationEdge", "AuditEventEdge", "PersonEdge"}
    paths = set()
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or name in connections | edges or not hasattr(gtype, "fields"):
            continue
        for field_name, definition in gtype.fields.items():
            if getattr(_named(definition.type), "name", None) in PERSONAL:
                paths.add(f"{name}.{field_name}")
    unguarded = paths - KNOWN_PATHS
    assert unguarded == set(), f"new paths to person data need a security test: {unguarded}"
