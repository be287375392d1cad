"""Every GraphQL document the test suite sends, run by the plan executor and by graphql-core's
own against the same data, must get the same `data` and `errors`, byte for byte (the JSON
text, key order included).

The documents are collected from the test modules themselves: every string literal in
tests/**/*.py that parses as a GraphQL document with an operation (so a new test's documents
are covered without anyone listing them). Each operation of each document runs as anonymous
and as each demo sign-in (applicant, permanent resident, helper, officer, admin, analyst),
with variables made from the seeded data: IDs of the objects the variable's position names
(an office for `officeId`, the node type a `node(id:)` selection expects, ...), and values
by type for the rest. Mutations run inside a transaction rolled back after each executor's
run (and PostgreSQL's sequences put back), with the clock pinned, so both executors start
from the same state. Subscriptions are counted and left out: plans never run them (they go
to graphql-core unchanged; tests/test_subscriptions.py covers them).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    InlineFragmentNode,
    ListValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
    type_from_ast,
)
from starlette.requests import Request
from tortoise import connections
from tortoise.transactions import in_transaction

from persistence.models import (
    Account,
    Application,
    Appointment,
    AuditEvent,
    Certificate,
    Delegation,
    Document,
    Office,
    Passport,
    PermanentResidentCard,
    Slot,
)
from persistence.rate_limits import MemoryCostBudget, MemoryRateLimiter
from persistence.session_revocations import MemorySessionRevocations, keep_seconds
from schema.app import create_schema
from schema.common import to_global_id
from tests.conftest import DEMO_PASSWORD, MovableClock, sign_in
from web.authentication import authenticate
from web.context_factory import build_context

TESTS = Path(__file__).resolve().parent
IDENTITIES = (
    None,
    "applicant@demo.test",
    "pr@demo.test",
    "helper@demo.test",
    "officer@demo.test",
    "admin@demo.test",
    "analyst@demo.test",
)
# Values that differ on every call by design (fresh secrets and signatures), whichever
# executor runs: compared as "present or absent" only. A presentation (an SD-JWT with fresh
# salts, its link and QR codes) is one: once a test earlier in the session has given a
# replayed viewer a certificate, presentCertificate succeeds under both executors.
RANDOM_KEYS = frozenset({"accessToken", "refreshToken", "keyId", "nextKeyId", "presentation"})


# Mutations whose work escapes the transaction (the process's key ring): run only by those
# who are refused them, so the session's other tests keep the keys they know.
OUTSIDE_THE_DATABASE = {"rotateSigningKey": frozenset({"admin@demo.test"})}


# ------------------------------------------------------------------ the documents


def collect_documents() -> dict[str, list[str]]:
    """Document text -> the test modules that send it (string literals with an operation)."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            if "{" not in text:
                continue
            try:
                document = parse(text)
            except GraphQLError:
                continue
            if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                found.setdefault(text, []).append(path.name)
    return found


DOCUMENTS = collect_documents()


def _document_id(text: str) -> str:
    words = re.sub(r"[^A-Za-z0-9_]+", " ", text).split()
    # A digest, not hash(): the same in every process (pytest-xdist's workers must agree).
    digest = int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)
    return "-".join(words[:4])[:50] + "-" + format(digest % 10**6, "06d")


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


# ------------------------------------------------------------------ the seeded data


@dataclass
class Seeded:
    """Global IDs of seeded objects by type name, and what a value of a variable is made of."""

    ids: dict[str, str] = field(default_factory=dict)
    today: str = ""
    now: str = ""


async def seeded_ids() -> Seeded:
    applicant = await Account.get(email="applicant@demo.test")
    person_id = applicant.person_id
    found: dict[str, Any] = {
        "Office": await Office.filter(code="BJ-DC").first(),
        "Person": person_id,
        "Account": applicant.id,
        "Application": await Application.filter(applicant_id=person_id).first(),
        "Appointment": await Appointment.filter(applicant_id=person_id).first(),
        "Document": await Document.filter(person_id=person_id).first(),
        "PermanentResidentCard": await PermanentResidentCard.first(),
        "Passport": await Passport.first(),
        "Delegation": await Delegation.first(),
        "Certificate": await Certificate.first(),
        "AuditEvent": await AuditEvent.first(),
        "Slot": await Slot.filter(starts_at__gt=datetime.now(UTC) + timedelta(days=1))
        .order_by("starts_at")
        .first(),
    }
    ids = {}
    for type_name, row in found.items():
        pk = row if isinstance(row, int) else getattr(row, "id", None)
        # An object kind the data lacks still gets an ID: an unknown one, answered as such.
        ids[type_name] = to_global_id(type_name, pk if pk is not None else 999_999)
    now = datetime.now(UTC)
    return Seeded(ids, (now + timedelta(days=1)).date().isoformat(), now.isoformat())


# Where a variable stands (argument or input field name) -> the type of the object it names.
_NAMED_BY = {
    "office": "Office",
    "person": "Person",
    "dependant": "Person",
    "applicant": "Person",
    "child": "Person",
    "subject": "Person",
    "application": "Application",
    "appointment": "Appointment",
    "slot": "Slot",
    "document": "Document",
    "certificate": "Certificate",
    "delegation": "Delegation",
    "card": "PermanentResidentCard",
    "permanentresidentcard": "PermanentResidentCard",
    "passport": "Passport",
    "account": "Account",
    "helper": "Account",
}
_TEXT_BY_NAME = {
    "email": "applicant@demo.test",
    "e": "applicant@demo.test",
    "password": DEMO_PASSWORD,
    "current": "not-the-password-1",
    "new": "a-New-passphrase-22",
    "code": "BJ-DC",
    "number": "E12345678",
    "name": "Plan Differential",
    "token": "not-a-token",
    "t": "Beijing",
    "text": "Beijing",
    "a": "BJ",
}


def _usages(document: DocumentNode) -> dict[str, str]:
    """Variable name -> the name of the argument or input field it is given to, with the
    node type a `node(id:)` selection expects as `node:Type`."""
    usages: dict[str, str] = {}

    def first_condition(selection_set: SelectionSetNode | None) -> str | None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, InlineFragmentNode) and selection.type_condition:
                return selection.type_condition.name.value
        return None

    def value(node: Any, where: str) -> None:
        if isinstance(node, VariableNode):
            usages.setdefault(node.name.value, where)
        elif isinstance(node, ObjectValueNode):
            for item in node.fields:
                assert isinstance(item, ObjectFieldNode)
                value(item.value, item.name.value)
        elif isinstance(node, ListValueNode):
            for item in node.values:
                value(item, where)

    def selections(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    where = argument.name.value
                    if selection.name.value in ("node", "nodes") and where in ("id", "ids"):
                        where = f"node:{first_condition(selection.selection_set) or 'Office'}"
                    elif where in ("id", "ids"):
                        where = selection.name.value
                    value(argument.value, where)
            selections(getattr(selection, "selection_set", None))

    for definition in document.definitions:
        selections(getattr(definition, "selection_set", None))
    return usages


def make_value(type_: GraphQLInputType, where: str, seeded: Seeded, depth: int = 0) -> Any:
    """A value of `type_` for a variable or input field standing at `where`."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [make_value(type_.of_type, where, seeded, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: make_value(input_field.type, name, seeded, depth + 1)
            for name, input_field in type_.fields.items()
            if isinstance(input_field.type, GraphQLNonNull) and depth < 4
        }
    assert isinstance(type_, GraphQLScalarType)
    key = where.lower().removesuffix("ids").removesuffix("id")
    if type_.name == "ID":
        if where.startswith("node:"):
            return seeded.ids.get(where[5:], seeded.ids["Office"])
        return seeded.ids[_NAMED_BY.get(key, "Office")]
    if type_.name == "Date":
        return seeded.today
    if type_.name == "DateTime":
        return seeded.now
    if type_.name == "Int":
        return 5
    if type_.name == "Float":
        return 1.5
    if type_.name == "Boolean":
        return True
    if type_.name == "JSON":
        return {}
    return _TEXT_BY_NAME.get(where, _TEXT_BY_NAME.get(key, "Beijing"))


def variables_for(
    schema: Any, document: DocumentNode, operation: OperationDefinitionNode, seeded: Seeded
) -> dict[str, Any]:
    usages = _usages(document)
    made: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_ = type_from_ast(schema, definition.type)
        if type_ is None:
            continue  # an unknown type: the document is refused before execution anyway
        made[name] = make_value(type_, usages.get(name, name), seeded)
    return made


# ------------------------------------------------------------------ running both


@dataclass
class Tally:
    documents: int = 0
    operations: int = 0
    executions: int = 0
    with_errors: int = 0
    with_data: int = 0
    mutations: int = 0
    subscriptions: int = 0


TALLY = Tally()


@dataclass
class Runner:
    app: Any
    planned: Any
    core: Any
    identities: dict[str | None, Any]
    seeded: Seeded
    clock: MovableClock
    postgres: bool

    def context(self, email: str | None) -> Any:
        """A request's context, with limits and sign-in state of its own: what one executor's
        run counts (sign-in failures, bookings, spent budget, ended sessions) must neither
        change the other's answer nor reach the session's other tests."""
        base = self.app.state.services
        services = replace(
            base,
            limiter=MemoryRateLimiter(),
            budget=MemoryCostBudget(),
            sessions=MemorySessionRevocations(keep_seconds(base.settings.access_token_minutes)),
        )
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": [],
            "client": ("10.250.0.1", 4000),
            "query_string": b"",
        }
        request_id = f"plan-differential-{secrets.token_hex(4)}"
        return build_context(services, Request(scope), self.identities[email], request_id)

    async def run(
        self,
        schema: Any,
        text: str,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        email: str | None,
    ) -> str:
        """`data` and `errors` of one run, as JSON text; a mutation's work is rolled back."""
        name = operation.name.value if operation.name else None
        ctx = self.context(email)
        ctx.request_id = "plan-differential"  # masked errors quote it: the same for both
        if operation.operation is not OperationType.MUTATION:
            result = await schema.execute(
                text, variable_values=variables, context_value=ctx, operation_name=name
            )
            return _dumps(result)
        sequences = await self._sequences()
        try:
            async with in_transaction():
                result = await schema.execute(
                    text, variable_values=variables, context_value=ctx, operation_name=name
                )
                raise _RollBack(_dumps(result))
        except _RollBack as done:
            await self._restore(sequences)
            return done.answer

    async def _sequences(self) -> list[tuple[str, int | None]]:
        if not self.postgres:
            return []
        rows = await connections.get("default").execute_query_dict(
            "SELECT schemaname || '.' || sequencename AS name, last_value FROM pg_sequences"
        )
        return [(row["name"], row["last_value"]) for row in rows]

    async def _restore(self, sequences: list[tuple[str, int | None]]) -> None:
        if not sequences:
            return
        await connections.get("default").execute_query(
            "SELECT setval(name::regclass, value, called) "
            "FROM unnest($1::text[], $2::bigint[], $3::bool[]) AS s(name, value, called)",
            [
                [name for name, _ in sequences],
                [value if value is not None else 1 for _, value in sequences],
                [value is not None for _, value in sequences],
            ],
        )


class _RollBack(Exception):
    def __init__(self, answer: str) -> None:
        super().__init__("roll back")
        self.answer = answer


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("<random>" if k in RANDOM_KEYS and v is not None else _masked(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _dumps(result: Any) -> str:
    errors = [error.formatted for error in result.errors or ()]
    return json.dumps({"data": _masked(result.data), "errors": errors}, ensure_ascii=False)


@pytest.fixture(scope="module")
async def runner(app: Any, test_settings: Any, clock: MovableClock, backend: str) -> Runner:
    identities: dict[str | None, Any] = {None: None}
    transport = httpx.ASGITransport(app=app, client=("10.250.0.2", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for email in IDENTITIES[1:]:
            assert email is not None
            token = await sign_in(client, email)
            identities[email] = await authenticate(app.state.services, f"Bearer {token}")
    return Runner(
        app=app,
        planned=create_schema(test_settings.with_(execution_plans=True)),
        core=create_schema(test_settings.with_(execution_plans=False)),
        identities=identities,
        seeded=await seeded_ids(),
        clock=clock,
        postgres=backend == "postgres",
    )


@pytest.fixture
async def pinned(clock: MovableClock) -> AsyncIterator[None]:
    # Mutations stamp "now" into what they answer: both executors see the same moment.
    clock.pinned = datetime.now(UTC).replace(microsecond=0)
    yield
    clock.pinned = None


@pytest.mark.parametrize("text", list(DOCUMENTS), ids=_document_id)
async def test_plans_answer_every_test_document_like_graphql_core(
    text: str, runner: Runner, pinned: None
) -> None:
    document = parse(text)
    TALLY.documents += 1
    for operation in operations(document):
        if operation.operation is OperationType.SUBSCRIPTION:
            TALLY.subscriptions += 1
            continue
        TALLY.operations += 1
        variables = variables_for(runner.core._schema, document, operation, runner.seeded)
        for email in IDENTITIES:
            if email in _not_run_by(operation):
                continue
            core = await runner.run(runner.core, text, operation, variables, email)
            planned = await runner.run(runner.planned, text, operation, variables, email)
            assert planned == core, f"as {email or 'anonymous'} with {variables}"
            TALLY.executions += 1
            TALLY.mutations += operation.operation is OperationType.MUTATION
            answer = json.loads(core)
            TALLY.with_errors += bool(answer["errors"])
            TALLY.with_data += _has_values(answer["data"])


def _not_run_by(operation: OperationDefinitionNode) -> frozenset[str]:
    if operation.operation is not OperationType.MUTATION:
        return frozenset()
    return frozenset().union(
        *(
            OUTSIDE_THE_DATABASE.get(selection.name.value, frozenset())
            for selection in operation.selection_set.selections
            if isinstance(selection, FieldNode)
        )
    )


def _has_values(data: Any) -> bool:
    """Whether an answer holds anything but nulls and typenames (it reached real data)."""
    if isinstance(data, dict):
        return any(k != "__typename" and _has_values(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_values(v) for v in data)
    return data is not None


def test_the_documents_of_the_suite_were_covered(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the documents (file order): says what was covered, and fails when the
    collection found next to nothing (a broken collector must not pass silently)."""
    with capsys.disabled():
        print(
            f"\nplan differential: {TALLY.documents} documents of the test suite, "
            f"{TALLY.operations} operations ({TALLY.subscriptions} subscriptions left to "
            f"graphql-core), {TALLY.executions} executions per executor "
            f"({TALLY.mutations} mutations rolled back), {TALLY.with_data} reaching data, "
            f"{TALLY.with_errors} with errors; byte-identical"
        )
    if TALLY.documents == 0:
        pytest.skip("run together with the document test above")
    assert len(DOCUMENTS) >= 200
    assert TALLY.documents == len(DOCUMENTS)
    assert TALLY.with_data >= TALLY.executions // 3
