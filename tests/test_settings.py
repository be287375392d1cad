"""Configuration: one Settings object, each field read from the variable named after it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

import settings as settings_module
from settings import AppEnv, ConfigurationError, Settings

README = Path(__file__).resolve().parent.parent / "README.md"

# A valid value, different from the default, for variables whose text has a shape.
SAMPLE_VALUES = {
    "APP_ENV": "test",
    "DATABASE_URL": "postgres://someone@db.example:5432/immigration",
    "REDIS_URL": "redis://cache.example:6379/2",
    "DATABASE_REPLICA_URL": "postgres://reader@replica.example:5432/immigration",
    "TRUSTED_PROXIES": "10.0.0.0/8",
    "CORS_ORIGINS": "https://apply.example.gov.cn",
    "REPORT_SQL_STATEMENTS": "1",
    "PUBLIC_BASE_URL": "https://api.example.gov.cn",
    "SMTP_URL": "smtp://mail.example.gov.cn:587",
}


def documented_names() -> list[str]:
    """Every variable named in the README's configuration table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names += re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell)
    return names


def sample(name: str, default: object) -> str:
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    if isinstance(default, bool):
        return "0" if default else "1"
    if isinstance(default, int):
        return str(default + 7)
    return f"elsewhere/{name.lower()}" if isinstance(default, Path) else f"value-of-{name.lower()}"


def test_the_readme_documents_every_setting_read_from_the_environment():
    assert sorted(documented_names()) == sorted(settings_module.environment_names().values())


@pytest.mark.parametrize("name", documented_names())
def test_every_variable_the_readme_documents_is_read(name):
    by_variable = {v: k for k, v in settings_module.environment_names().items()}
    assert name in by_variable, f"{name} is documented but no setting is read from it"
    field = by_variable[name]
    default = getattr(Settings(), field)
    loaded = settings_module.load({name: sample(name, default), "KEY_ENCRYPTION_KEY": "k"})
    assert getattr(loaded, field) != default, f"{name} did not change {field}"


def test_every_field_has_a_variable_and_loads_from_it():
    """Each setting read from the environment is read under its derived name, whatever its
    type (a field of a new type needs a parser, not a forgotten line in load())."""
    d = Settings()
    environ = {
        variable: sample(variable, getattr(d, field))
        for field, variable in settings_module.environment_names().items()
    }
    environ["APP_ENV"] = "production"
    loaded = settings_module.load(environ)
    for field, variable in settings_module.environment_names().items():
        assert getattr(loaded, field) != getattr(d, field), variable
    assert settings_module.environment_name("max_page_size") == "MAX_PAGE_SIZE"
    assert settings_module.environment_name("report_sql") == "REPORT_SQL_STATEMENTS"
    assert "demo_password" not in settings_module.environment_names()
    assert {f.name for f in fields(Settings)} - set(settings_module.environment_names()) == {
        "demo_password"
    }


def test_unset_and_empty_variables_keep_the_defaults():
    loaded = settings_module.load({"MAX_PAGE_SIZE": "", "HOST": "192.0.2.1", "PORT": "9000"})
    assert loaded.max_page_size == Settings().max_page_size
    assert loaded.public_base_url == "http://192.0.2.1:9000"


@pytest.mark.parametrize("wrong", ["prod", "Production", "staging", " test"])
def test_an_unknown_app_env_is_refused(wrong):
    with pytest.raises(ConfigurationError, match="APP_ENV must be one of development, test"):
        settings_module.load({"APP_ENV": wrong})
    with pytest.raises(ConfigurationError, match="APP_ENV"):
        Settings(app_env=wrong)  # type: ignore[arg-type]


def test_app_env_is_an_enum_and_only_development_loads_demo_data():
    assert Settings(app_env="test").app_env is AppEnv.TEST  # type: ignore[arg-type]
    assert Settings().loads_demo_data
    assert not Settings(app_env=AppEnv.TEST).loads_demo_data
    assert not Settings(app_env=AppEnv.PRODUCTION, key_encryption_key="k").loads_demo_data


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "abc"), ("MAX_PAGE_SIZE", "1.5"), ("REPORT_SQL_STATEMENTS", "maybe")],
)
def test_a_malformed_value_names_its_variable(variable, value):
    with pytest.raises(ConfigurationError, match=variable):
        settings_module.load({variable: value})


DEEP = "{ offices(first: 1) { edges { node { code } } } }"


def limit_errors(result: object) -> list[str]:
    """The refusals of the depth, alias and token limits among the result's errors."""
    words = ("exceeds", "aliases found", "token")
    errors = getattr(result, "errors", None) or []
    return [e.message for e in errors if any(w in e.message for w in words)]


async def test_the_schema_takes_its_document_limits_from_the_settings_given(app, monkeypatch):
    from schema.app import create_schema

    # The environment says otherwise: only the settings object passed in counts.
    monkeypatch.setenv("MAX_QUERY_DEPTH", "1")
    monkeypatch.setenv("MAX_ALIASES", "0")
    lenient = create_schema(Settings())
    strict = create_schema(Settings(max_query_depth=2, max_aliases=1, max_tokens=2000))

    assert limit_errors(await lenient.execute(DEEP)) == []
    assert limit_errors(await strict.execute(DEEP)) != []
    aliased = "{ a: __typename b: __typename }"
    assert limit_errors(await lenient.execute(aliased)) == []
    assert limit_errors(await strict.execute(aliased)) != []
    tiny = create_schema(Settings(max_tokens=5))
    assert limit_errors(await tiny.execute(DEEP)) != []


def test_passwords_are_hashed_with_rfc_9106_argon2id_at_the_configured_cost():
    from argon2 import Type
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from server import password_hasher

    hasher = password_hasher(
        settings_module.Settings(argon2_time_cost=2, argon2_memory_kib=32768, argon2_parallelism=1)
    )
    assert hasher.type is Type.ID
    assert (hasher.hash_len, hasher.salt_len) == (
        RFC_9106_LOW_MEMORY.hash_len,
        RFC_9106_LOW_MEMORY.salt_len,
    )
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (2, 32768, 1)
    encoded = hasher.hash("correct horse battery staple")
    assert encoded.startswith("$argon2id$v=19$m=32768,t=2,p=1$")
    assert hasher.verify(encoded, "correct horse battery staple")


def test_processes_reaching_one_database_share_a_redis_namespace_however_its_url_is_spelled():
    """A rotated password, `postgresql://` for `postgres://`, a capital in the host name or an
    option must not split the processes of one deployment into two namespaces (their ended
    sign-ins and limits would no longer be shared); another database has its own."""
    spellings = [
        "postgres://app:old@db/immigration",
        "postgres://app:new@db/immigration",
        "postgresql://app:old@DB:5432/immigration?ssl=require",
    ]
    namespaces = {Settings(database_url=url).redis_namespace for url in spellings}
    assert len(namespaces) == 1
    others = [
        "postgres://app:old@db/other",
        "postgres://app:old@replica/immigration",
        "postgres://app:old@db:5433/immigration",
    ]
    assert namespaces.isdisjoint(Settings(database_url=url).redis_namespace for url in others)
