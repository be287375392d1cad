"""The layers as drawn: imports point one way (server -> schema -> resolvers -> domain,
persistence, signing), checked on the source of every module so the architecture cannot
drift back. `make lint` runs this file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = (
    "domain",
    "persistence",
    "resolvers",
    "schema",
    "signing",
    "translations",
    "web",
    "server",
    "settings",
)

# For each layer, the imports it must never make (a module or any module inside it).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "schema": ("persistence", "tortoise", "web", "server"),
    "resolvers": ("schema", "web", "server"),
    "persistence": ("resolvers", "schema", "web", "server"),
    "signing": ("schema", "resolvers", "web", "server"),
    "domain": (*(p for p in OUR_PACKAGES if p != "domain"), "tortoise"),
    # The message catalogues render domain Messages; every layer above may use them.
    "translations": (*(p for p in OUR_PACKAGES if p not in ("domain", "translations")), "tortoise"),
}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in `source`, relative imports made absolute."""
    found: list[tuple[int, str]] = []
    package = module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def wrong_way_imports(source: str, module: str) -> list[str]:
    """The imports of `module` (dotted name, source given) that go against the layers."""
    layer = module.split(".")[0]
    banned = FORBIDDEN.get(layer, ())
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(source, module)
        if name.split(".")[0] in banned
    ]


def our_modules() -> list[tuple[str, Path]]:
    modules = []
    for layer in FORBIDDEN:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            modules.append((".".join(relative.parts), path))
    return modules


def test_every_layer_imports_only_downwards() -> None:
    problems = [
        problem
        for module, path in our_modules()
        for problem in wrong_way_imports(path.read_text(encoding="utf-8"), module)
    ]
    assert problems == []


# The execution plans (schema/execution/) are GraphQL machinery, not the service's: they know
# graphql-core and Strawberry, and of this service only the metrics they report to.
EXECUTION_MAY_IMPORT = ("schema.execution", "resolvers.metrics", "settings")


def test_execution_plans_know_nothing_of_the_service() -> None:
    problems = [
        f"{module}:{line} imports {name}"
        for module, path in our_modules()
        if module.startswith("schema.execution")
        for line, name in imported_modules(path.read_text(encoding="utf-8"), module)
        if name.split(".")[0] in OUR_PACKAGES
        and not any(name == m or name.startswith(f"{m}.") for m in EXECUTION_MAY_IMPORT)
    ]
    assert [module for module, _ in our_modules() if module.startswith("schema.execution")]
    assert problems == []


def test_the_walk_reaches_every_layer() -> None:
    layers = {module.split(".")[0] for module, _ in our_modules()}
    assert layers == set(FORBIDDEN)
    assert len(our_modules()) > 50


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("schema.things", "from persistence.models import Person as PersonRow\n"),
        ("schema.things", "import tortoise.transactions\n"),
        ("schema.things", "def f():\n    from persistence import offices\n"),
        ("resolvers.things", "from schema.common import to_global_id\n"),
        ("resolvers.things", "import web.graphql_http\n"),
        ("persistence.things", "from resolvers.context import Context\n"),
        ("signing.things", "from schema import app\n"),
        ("domain.things", "from persistence.models import Role\n"),
    ],
)
def test_a_wrong_way_import_is_caught(module: str, source: str) -> None:
    assert len(wrong_way_imports(source, module)) == 1


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("schema.things", "from resolvers.rows import PersonRow\nimport strawberry\n"),
        ("resolvers.things", "from persistence import offices\nfrom domain import booking\n"),
        (
            "domain.things",
            "import chinese_calendar\nfrom datetime import date\nfrom . import text\n",
        ),
    ],
)
def test_a_right_way_import_passes(module: str, source: str) -> None:
    assert wrong_way_imports(source, module) == []
