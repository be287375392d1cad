"""The plan executor (schema/execution/) against graphql-core's own on every corner of the
GraphQL specification, on a small schema made for it: `@skip`/`@include` with variables,
fragments on interfaces and unions, inline fragments, `__typename` on abstract types, aliases,
field errors in nullable and non-null positions (null bubbling to the nearest nullable
parent), errors in list items, async resolvers and awaitable list items, custom scalars,
enums in and out, default argument values, variables with defaults, nested input objects,
mutations executed serially, and what is not planned (subscriptions, middleware) falling
back, counted. Each document runs through both executors and must answer the same `data`
and `errors`, byte for byte (JSON text, key order included). Also: each document text is
parsed and validated once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.extensions import FieldExtension, MaxTokensLimiter, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

from resolvers.metrics import REGISTRY
from schema.execution.documents import CachedDocuments, ValidationVerdicts
from schema.execution.executor import plan_executor

# ------------------------------------------------------------------------------ the schema


@strawberry.enum
class Color(Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Shade(Enum):
    """Not in the schema: its members are no Color."""

    RED = "red"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Dog(Named):
    barks: bool

    @strawberry.field
    async def friend(self) -> Named | None:
        await asyncio.sleep(0)
        return Cat(name=f"friend of {self.name}", lives=9)


@strawberry.type
class Cat(Named):
    lives: int


@strawberry.type
class Fish:
    fins: int


Pet = Annotated[Dog | Cat | Fish, strawberry.union("Pet")]


@strawberry.input
class Inner:
    label: str
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class Outer:
    inner: Inner
    count: int = 3
    color: Color = Color.RED
    at: datetime | None = None


class NotForYou(BasePermission):
    message = "Not for you."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return bool(kwargs.get("please"))


class Exclaim(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return f"{next_(source, info, **kwargs)}!"


def rooted(root: Item, info: strawberry.Info, times: int = 1) -> str:
    """A resolver outside the class: the source comes as `root`, with the info."""
    return f"{root.id}x{times} at {info.path.key}"


@strawberry.type
class Item:
    id: strawberry.ID
    value: int | None

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom {self.id}")

    @strawberry.field
    def required_boom(self) -> str:
        raise ValueError(f"required boom {self.id}")

    @strawberry.field
    def required_null(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def later(self) -> int | None:
        await asyncio.sleep(0)
        return self.value

    @strawberry.field
    async def later_boom(self) -> int:
        await asyncio.sleep(0)
        raise ValueError(f"later boom {self.id}")

    @strawberry.field
    def scaled(self, by: int = 2) -> int | None:
        return None if self.value is None else self.value * by

    rooted: str = strawberry.field(resolver=rooted)

    @strawberry.field(permission_classes=[NotForYou])
    def secret(self, please: bool = False) -> str | None:
        return f"secret of {self.id}"

    @strawberry.field(extensions=[Exclaim()])
    def loud(self, tone: Color = Color.RED) -> str:
        return f"{self.id} in {tone.name}"

    @strawberry.field
    @staticmethod
    def constant(parent: strawberry.Parent[Item], word: str = "same") -> str:
        return f"{word} for {parent.id}"


ITEMS = [Item(id=strawberry.ID("i1"), value=1), Item(id=strawberry.ID("i2"), value=None)]


async def _value(n: int) -> int:
    await asyncio.sleep(0)
    return n


async def _fail() -> int:
    await asyncio.sleep(0)
    raise ValueError("awaited item failed")


@strawberry.type
class Query:
    @strawberry.field
    def pets(self) -> list[Pet]:
        return [Dog(name="Rex", barks=True), Cat(name="Tom", lives=7), Fish(fins=4)]

    @strawberry.field
    def named(self) -> list[Named]:
        return [Cat(name="Kit", lives=3), Dog(name="Fido", barks=False)]

    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def strict_items(self) -> list[Item] | None:
        return ITEMS

    @strawberry.field
    def maybe_items(self) -> list[Item | None]:
        return [ITEMS[0], None, ITEMS[1]]

    @strawberry.field
    def texts_with_errors(self) -> list[str | None]:
        return ["a", ValueError("second item"), "c"]  # type: ignore[list-item]

    @strawberry.field
    def strict_texts(self) -> list[str] | None:
        return ["a", None, "c"]  # type: ignore[list-item]

    @strawberry.field
    def awaited_items(self) -> list[int | None]:
        return [_value(1), _fail(), _value(3)]  # type: ignore[list-item]

    @strawberry.field
    async def slow_number(self, n: int = 5) -> int:
        await asyncio.sleep(0)
        return n

    @strawberry.field
    def big_number(self) -> int:
        return 2**40

    @strawberry.field
    def ratio(self) -> float:
        return 0.25

    @strawberry.field
    def when(self) -> datetime:
        return datetime(2026, 11, 30, 8, 30, tzinfo=UTC)

    @strawberry.field
    def day(self, d: date | None = None) -> date:
        return d or date(2026, 12, 1)

    @strawberry.field
    def blob(self) -> JSON:
        return {"b": [1, 2, {"c": None}], "a": "x"}

    @strawberry.field
    def ident(self) -> strawberry.ID:
        return strawberry.ID("opaque-1")

    @strawberry.field
    def color(self, c: Color = Color.GREEN) -> Color:
        return c

    @strawberry.field
    def colors(self) -> list[Color]:
        return [Color.BLUE, Color.RED, Color.BLUE]

    @strawberry.field
    def wrong_colors(self) -> list[Color | None]:
        return [Color.RED, Shade.RED, "GREEN", "green"]  # type: ignore[list-item]

    @strawberry.field
    def echo(self, o: Outer) -> JSON:
        return {
            "label": o.inner.label,
            "tags": o.inner.tags,
            "count": o.count,
            "color": o.color.name,
            "at": o.at.isoformat() if o.at else None,
        }

    @strawberry.field
    def greet(self, name: str = "world", times: int = 1) -> str:
        return " ".join([f"hello {name}"] * times)

    @strawberry.field
    def wrong_pet(self) -> Pet | None:
        return Item(id=strawberry.ID("x"), value=1)  # type: ignore[return-value]

    @strawberry.field
    def wrong_named(self) -> Named | None:
        return "not an object"  # type: ignore[return-value]

    @strawberry.field
    def not_a_list(self) -> list[int] | None:
        return 5  # type: ignore[return-value]


LOG: list[str] = []


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def first(self) -> list[str]:
        LOG.append("first started")
        await asyncio.sleep(0.01)
        LOG.append("first done")
        return list(LOG)

    @strawberry.mutation
    async def second(self) -> list[str]:
        LOG.append("second started")
        await asyncio.sleep(0)
        LOG.append("second done")
        return list(LOG)

    @strawberry.mutation
    def fails(self) -> str:
        raise ValueError("mutation failed")


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, n: int = 2) -> AsyncGenerator[int, None]:
        for i in range(n):
            yield i


def build(plans: bool, extensions: list | None = None) -> strawberry.Schema:
    """The schema as schema/app.py assembles the service's: documents parsed and validated
    once per text, then run from plans (or by graphql-core)."""
    verdicts = ValidationVerdicts()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Dog, Cat, Fish],
        extensions=[
            lambda: CachedDocuments(verdicts),
            lambda: MaxTokensLimiter(max_token_count=1000),
            *(extensions or []),
        ],
        execution_context_class=plan_executor() if plans else None,
    )


PLANNED = build(plans=True)
CORE = build(plans=False)


async def answer(schema: strawberry.Schema, query: str, variables: dict | None = None) -> str:
    """`data` and `errors` as JSON text, in the order the executor produced them."""
    LOG.clear()
    result = await schema.execute(query, variable_values=variables)
    errors = [error.formatted for error in result.errors or ()]
    return json.dumps({"data": result.data, "errors": errors}, ensure_ascii=False)


# --------------------------------------------------------------------------- the corners

CORNERS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "skip and include with variables": (
        """query ($yes: Boolean!, $no: Boolean!) {
          a: greet @include(if: $yes)
          b: greet @include(if: $no)
          c: greet @skip(if: $yes)
          d: greet @skip(if: $no) @include(if: $yes)
          items { id ... on Item @skip(if: $no) { value } ...V @include(if: $no) }
        }
        fragment V on Item { scaled }""",
        {"yes": True, "no": False},
    ),
    "skip and include the other way round": (
        """query ($yes: Boolean!, $no: Boolean!) {
          a: greet @include(if: $yes)
          b: greet @include(if: $no)
          items { id ... on Item @skip(if: $no) { value } ...V @include(if: $no) }
        }
        fragment V on Item { scaled }""",
        {"yes": False, "no": True},
    ),
    "skip and include with literals": (
        "{ a: greet @skip(if: true) b: greet @include(if: true) c: ratio @include(if: false) }",
        None,
    ),
    "fragments on an interface and a union": (
        """{
          pets { __typename ...PetFields ... on Named { name } }
          named { __typename ...NamedFields ... on Dog { barks friend { name __typename } } }
        }
        fragment PetFields on Pet { ... on Dog { barks } ... on Cat { lives } ... on Fish { fins } }
        fragment NamedFields on Named { name ... on Cat { lives } }""",
        None,
    ),
    "inline fragments without a type and merged selections": (
        """{ items { id ... { value } ... { value scaled(by: 3) } id } }""",
        None,
    ),
    "typename on abstract types and the root": (
        "{ __typename pets { __typename } named { __typename name } }",
        None,
    ),
    "aliases of one field with other arguments": (
        """{ two: slowNumber(n: 2) three: slowNumber(n: 3) slowNumber
             x: items { twice: scaled thrice: scaled(by: 3) } y: items { id } }""",
        None,
    ),
    "errors in nullable fields": ("{ items { id boom value } }", None),
    "an error in a non-null field nulls the nearest nullable parent": (
        "{ strictItems { id requiredBoom } greet }",
        None,
    ),
    "null in a non-null field bubbles to the root when nothing between is nullable": (
        "{ items { id requiredNull } greet }",
        None,
    ),
    "an awaited error in a non-null field bubbles": ("{ items { id laterBoom } ratio }", None),
    "async fields next to sync ones": ("{ items { id later value } slowNumber }", None),
    "errors in list items": ("{ textsWithErrors strictTexts maybeItems { id boom } }", None),
    "awaitable list items, one failing": ("{ awaitedItems }", None),
    "a value that is no list": ("{ notAList }", None),
    "Int out of range and Float": ("{ ratio bigNumber }", None),
    "abstract values of the wrong type": (
        "{ wrongPet { __typename } wrongNamed { name } }",
        None,
    ),
    "custom scalars": ("{ when day blob ident }", None),
    "Date argument from a variable": (
        "query ($d: Date) { day(d: $d) }",
        {"d": "2027-02-03"},
    ),
    "enums out and in, literal and default": (
        "{ colors default: color lit: color(c: RED) }",
        None,
    ),
    "values that are no member of the enum": ("{ wrongColors colors }", None),
    "enum from a variable": ("query ($c: Color!) { color(c: $c) }", {"c": "BLUE"}),
    "default argument values": ('{ greet twice: greet(times: 2) other: greet(name: "Ada") }', None),
    "variables with defaults, given and not given": (
        """query ($name: String = "Grace", $times: Int = 2, $n: Int) {
          greet(name: $name, times: $times) slowNumber(n: $n) items { scaled(by: $times) }
        }""",
        {"n": 7},
    ),
    "nested input objects from literals": (
        """{ echo(o: {inner: {label: "x", tags: ["a", "b"]}, count: 1, color: BLUE,
                      at: "2026-11-30T08:00:00+08:00"}) }""",
        None,
    ),
    "nested input objects from variables, with defaults inside": (
        "query ($o: Outer!) { echo(o: $o) }",
        {"o": {"inner": {"label": "y"}}},
    ),
    "input object with a variable inside a literal": (
        "query ($l: String!) { echo(o: {inner: {label: $l}}) }",
        {"l": "z"},
    ),
    "a variable that does not coerce": ("query ($n: Int) { slowNumber(n: $n) }", {"n": "many"}),
    "mutations run one after the other": ("mutation { first second again: first }", None),
    "a failing mutation among others": ("mutation { first fails second }", None),
    "resolvers with root, parent, info, permissions and field extensions": (
        """query ($p: Boolean) {
          items { rooted twice: rooted(times: 2) secret allowed: secret(please: true)
                  maybe: secret(please: $p) loud quiet: loud(tone: BLUE) constant
                  other: constant(word: "other") }
        }""",
        {"p": False},
    ),
    "introspection": (
        """{ __schema { queryType { name } types { name kind } }
             __type(name: "Dog") { name interfaces { name }
               fields { name args { name defaultValue } type { name kind ofType { name } } } } }""",
        None,
    ),
    "a list variable inside an input object": (
        'query ($t: [String!]) { echo(o: {inner: {label: "l", tags: $t}, count: 2}) }',
        {"t": ["p", "q"]},
    ),
    "errors from several async branches": (
        """{ a: items { laterBoom } b: maybeItems { later boom } c: awaitedItems
             pets { ... on Dog { friend { name ... on Cat { lives } } } } }""",
        None,
    ),
    "named operation of several": (
        "query A { greet } query B { ratio }",
        None,
    ),
}


@pytest.mark.parametrize("name", list(CORNERS))
async def test_plan_answers_like_graphql_core(name: str) -> None:
    query, variables = CORNERS[name]
    if name == "named operation of several":
        for operation in ("A", "B"):
            planned = await PLANNED.execute(query, operation_name=operation)
            core = await CORE.execute(query, operation_name=operation)
            assert planned.data == core.data and planned.data is not None
        return
    expected = await answer(CORE, query, variables)
    fallbacks = _all_fallbacks()
    assert await answer(PLANNED, query, variables) == expected
    # Again, from the plan compiled the first time.
    assert await answer(PLANNED, query, variables) == expected
    assert _all_fallbacks() == fallbacks  # both runs were planned


async def test_the_corners_do_produce_errors_and_nulls() -> None:
    """The corner documents are not vacuous: errors, bubbled nulls and serial order show."""
    bubbled = json.loads(
        await answer(
            PLANNED, CORNERS["an error in a non-null field nulls the nearest nullable parent"][0]
        )
    )
    assert bubbled["data"] == {"strictItems": None, "greet": "hello world"}
    assert bubbled["errors"][0]["path"] == ["strictItems", 0, "requiredBoom"]
    to_root = json.loads(await answer(PLANNED, "{ items { id requiredNull } greet }"))
    assert to_root["data"] is None
    assert (
        "Cannot return null for non-nullable field Item.requiredNull."
        in to_root["errors"][0]["message"]
    )
    serial = json.loads(await answer(PLANNED, "mutation { first second }"))
    assert serial["data"]["second"] == [
        "first started",
        "first done",
        "second started",
        "second done",
    ]
    items = json.loads(await answer(PLANNED, "{ textsWithErrors awaitedItems }"))
    assert items["data"] == {"textsWithErrors": ["a", None, "c"], "awaitedItems": [1, None, 3]}
    assert [e["path"] for e in items["errors"]] == [["textsWithErrors", 1], ["awaitedItems", 1]]


async def test_a_plan_is_compiled_once_per_skip_and_include_values() -> None:
    schema = build(plans=True)
    query = "query ($s: Boolean!, $n: Int) { greet @skip(if: $s) slowNumber(n: $n) }"
    before = _compiled()
    for skip, n in ((True, 1), (False, 2), (True, 3), (False, 4), (True, 5)):
        assert await answer(schema, query, {"s": skip, "n": n}) == await answer(
            CORE, query, {"s": skip, "n": n}
        )
    assert _compiled() - before == 2


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (
            "query A($x: Boolean!) { greet @skip(if: $x) }\nquery B($x: Outer!) { echo(o: $x) }",
            {"x": {"inner": {"label": "y"}}},
        ),
        (
            "query A($x: Boolean!) { greet @include(if: $x) }\n"
            'query B($x: [String!]) { echo(o: {inner: {label: "l", tags: $x}}) }',
            {"x": ["p", "q"]},
        ),
        (
            "query A($x: Boolean!) { greet @include(if: $x) }\n"
            "query B($x: String) { greet(name: $x) }",
            {"x": "same name, another type"},
        ),
    ],
)
async def test_another_operations_directive_variable_neither_keys_nor_breaks_a_plan(
    document: str, variables: dict
) -> None:
    """Operation A's `@skip`/`@include` reads `$x`; operation B of the same document declares
    an `$x` of another type (an input object, a list, a string). B answers as graphql-core
    does, and its plan is compiled once whatever `$x` holds (it decides none of B's
    directives)."""
    schema = build(plans=True)
    before = _compiled()
    for _ in range(3):
        planned = await schema.execute(document, variable_values=variables, operation_name="B")
        core = await CORE.execute(document, variable_values=variables, operation_name="B")
        assert core.errors is None, core.errors
        assert planned.errors is None, [e.formatted for e in planned.errors or ()]
        assert planned.data == core.data
        variables = (
            {"x": variables["x"]}
            if not isinstance(variables["x"], str)
            else {"x": variables["x"] + "!"}
        )
    assert _compiled() - before == 1


def _compiled() -> float:
    return REGISTRY.get_sample_value("graphql_execution_plans_compiled_total") or 0


def _all_fallbacks() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "graphql_execution_plan_fallbacks"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def _fallbacks(reason: str) -> float:
    sample = "graphql_execution_plan_fallbacks_total"
    return REGISTRY.get_sample_value(sample, {"reason": reason}) or 0


async def test_subscriptions_run_on_graphql_core_and_are_counted() -> None:
    before = _fallbacks("subscription")
    stream = await PLANNED.subscribe("subscription { ticks(n: 3) }")
    received = [result.data async for result in stream]  # type: ignore[union-attr]
    assert received == [{"ticks": 0}, {"ticks": 1}, {"ticks": 2}]
    assert _fallbacks("subscription") - before == 1


class Shout(SchemaExtension):
    """A middleware (an extension with `resolve`): plans do not run resolvers through one."""

    def resolve(self, _next, root, info, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) else result


async def test_middleware_makes_the_operation_fall_back_and_still_applies() -> None:
    schema = build(plans=True, extensions=[Shout])
    before = _fallbacks("middleware")
    result = await schema.execute("{ greet }")
    assert result.data == {"greet": "HELLO WORLD"}
    assert _fallbacks("middleware") - before == 1


async def test_a_text_too_long_to_cache_runs_on_graphql_core() -> None:
    """Parsed anew for every request, it would need a plan for every request: not made."""
    query = "# " + "x" * 20_000 + "\n{ items { id value } }"
    before = _fallbacks("uncached-document")
    assert await answer(PLANNED, query) == await answer(CORE, query)
    assert _fallbacks("uncached-document") - before == 1


async def test_an_operation_the_compiler_fails_on_is_answered_by_graphql_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import schema.execution.plans as plans

    def broken(*_: Any) -> Any:
        raise RuntimeError("a compiler fault")

    monkeypatch.setattr(plans, "compile_step", broken)
    schema = build(plans=True)
    query = "{ items { id value } pets { __typename } }"
    before = _fallbacks("compile-error")
    assert await answer(schema, query) == await answer(CORE, query)
    assert _fallbacks("compile-error") - before == 1


# ------------------------------------------------------------ parse and validate once


async def test_a_document_is_validated_once_and_its_verdict_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import strawberry.schema.schema as strawberry_schema

    calls: list[str] = []
    real = strawberry_schema.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        calls.append("validate")
        return real(schema, document, rules)

    monkeypatch.setattr(strawberry_schema, "validate_document", counting)
    schema = build(plans=True)
    verdicts = schema.extensions[0]().verdicts  # type: ignore[operator]
    good, bad = "{ greet ratio }", "{ greet nope }"
    first_bad = await schema.execute(bad)
    for _ in range(3):
        assert (await schema.execute(good)).data == {"greet": "hello world", "ratio": 0.25}
        again = await schema.execute(bad)
        assert [e.formatted for e in again.errors or ()] == [
            e.formatted for e in first_bad.errors or ()
        ]
        # A handler changing the error it got changes only its own copy.
        again.errors[0].message = "changed"  # type: ignore[index]
    assert calls == ["validate", "validate"]
    assert len(verdicts) == 2


# ------------------------------------------------------------- the service's switch


def test_the_setting_chooses_the_executor() -> None:
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    import settings as settings_module
    from schema.app import create_schema
    from schema.execution.executor import PlanExecutor

    assert settings_module.load({}).execution_plans is True
    assert settings_module.load({"EXECUTION_PLANS": "0"}).execution_plans is False
    planned = create_schema(settings_module.Settings())
    assert issubclass(planned.execution_context_class, PlanExecutor)
    core = create_schema(settings_module.Settings(execution_plans=False))
    assert core.execution_context_class is StrawberryGraphQLCoreExecutionContext


async def test_the_service_runs_from_plans_and_says_so_in_its_metrics(client: Any) -> None:
    from tests.conftest import gql

    query = "query PlannedOffices { offices(first: 2) { edges { node { code name } } } }"
    before = _compiled()
    assert "errors" not in await gql(client, query, token=None, accept_language="en")
    body = (await client.get("/metrics")).text
    assert "graphql_execution_plans_compiled_total" in body
    assert _compiled() > before
