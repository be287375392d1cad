"""Every setting of the service, read once from the environment with safe defaults: each field
of Settings from the variable of its name in capitals (ENVIRONMENT_NAMES lists the exceptions)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent


class AppEnv(StrEnum):
    """The only environments; anything else (a typo such as "prod") stops the start. Demo
    data is loaded only in development."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(ValueError):
    """A setting the service cannot run with; the message names the variable."""


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(name: str, raw: str) -> int:
    value = _int(name, raw)
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return value


def _not_negative(name: str, raw: str) -> int:
    value = _int(name, raw)
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 or more")
    return value


def _flag(name: str, raw: str) -> bool:
    if raw.strip().lower() in ("1", "true", "yes"):
        return True
    if raw.strip().lower() in ("0", "false", "no"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, not {raw!r}")


def _app_env(name: str, raw: str) -> AppEnv:
    try:
        return AppEnv(raw)
    except ValueError:
        choices = ", ".join(e.value for e in AppEnv)
        raise ConfigurationError(f"{name} must be one of {choices}, not {raw!r}") from None


def _networks(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks; a wrong entry stops the start."""
    entries = tuple(e.strip() for e in raw.split(",") if e.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigurationError(f"{name}: {entry!r} is not an IP address or network") from None
    return entries


def _origins(name: str, raw: str) -> tuple[str, ...] | None:
    """Comma-separated browser origins (scheme://host[:port]); blank: None (the default
    applies); a wrong entry stops the start."""
    if not raw.strip():
        return None
    origins = []
    for entry in (e.strip().rstrip("/") for e in raw.split(",") if e.strip()):
        parts = urlsplit(entry)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise ConfigurationError(f"{name}: {entry!r} is not an origin (scheme://host[:port])")
        origins.append(entry.lower())
    return tuple(origins)


def database_identity(url: str) -> str:
    """Which database a URL reaches, however it is spelled: the scheme's family, host, port
    and database, without the credentials (a rotated password reaches the same database) or
    the options. Processes sharing a database share a Redis namespace by it."""
    parts = urlsplit(url)
    scheme = {"postgresql": "postgres", "asyncpg": "postgres", "psycopg": "postgres"}.get(
        parts.scheme, parts.scheme
    )
    if scheme == "sqlite":
        return f"sqlite:{url.removeprefix('sqlite://').split('?')[0]}"
    port = parts.port or (5432 if scheme == "postgres" else None)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path}"


@dataclass(frozen=True)
class Settings:
    """Configuration of one server process. Policies (limits, windows) live here, not in code."""

    app_env: AppEnv = AppEnv.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = f"sqlite://{ROOT / 'data' / 'app.db'}"
    redis_url: str | None = None
    # A request waits at most this long for Redis (a connection or a reply, tried twice);
    # after a failure Redis is left alone this long, and each process counts limits on its
    # own, checks ended sign-ins in the database and delivers events only to its own
    # subscribers until Redis answers again (docs/scaling.md, "When Redis cannot answer").
    redis_timeout_ms: int = 300
    redis_retry_seconds: int = 5
    # A streaming replica of DATABASE_URL (PostgreSQL): public reads (office directory,
    # guidance, slots) and analysts' statistics are read there (docs/scaling.md, "Read
    # replica"); unset: everything on the primary.
    database_replica_url: str | None = None
    # After a connection error the replica is left alone this long, then tried again.
    database_replica_retry_seconds: int = 5
    database_replica_connect_timeout_seconds: int = 2
    # A public change (an office closure) waits up to this long for the replica to replay it
    # before cached public answers are dropped; past it this process reads public data from
    # the primary until the replica has it.
    database_replica_wait_ms: int = 1000
    # An account's last write is remembered this long at most: its reads stay on the primary
    # until the replica has replayed that write.
    database_replica_read_your_writes_seconds: int = 3600
    # Encrypts private signing keys at rest; required in production, generated in development.
    key_encryption_key: str | None = None
    data_dir: Path = ROOT / "data"
    public_base_url: str = "http://127.0.0.1:8000"
    issuer: str = "https://immigration.example.gov.cn"
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks).
    trusted_proxies: tuple[str, ...] = ()

    # Passwords (Argon2id). Tests use cheap parameters through the environment.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 2
    password_min_length: int = 10

    # Tokens
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # Presenting a just-rotated refresh token again within this many seconds returns the same
    # successor (two tabs refreshing at once); later, reuse ends the whole sign-in.
    refresh_reuse_grace_s: int = 10

    # Rate limits: count per window (seconds).
    signin_failures_per_account: int = 10
    signin_failures_per_ip: int = 50
    signin_failure_window_s: int = 900
    # Per (account, address): this many failures in the window are answered at once; each
    # further one waits 1, 2, 4, ... seconds after the previous failure, up to the cap.
    signin_backoff_after: int = 10
    signin_backoff_cap_s: int = 300
    # An address that signed in to an account within these days is not held to the
    # account's cap (SIGNIN_FAILURES_PER_ACCOUNT), so guessing elsewhere cannot lock it out.
    signin_known_address_days: int = 90
    signups_per_ip: int = 60
    signup_window_s: int = 60
    identity_attempts_per_account: int = 10
    identity_attempt_window_s: int = 3600
    identity_attempts_per_ip: int = 30
    # Misses by all clients per IDENTITY_ATTEMPT_WINDOW_S above which a warning is logged
    # and each further miss is answered more slowly (up to the maximum delay at twice it).
    identity_global_misses_alert: int = 500
    identity_global_slowdown_max_ms: int = 2000
    bookings_per_account: int = 20
    booking_window_s: int = 60

    # Appointments
    slot_minutes: int = 30
    booking_horizon_working_days: int = 14
    booking_min_lead_minutes: int = 120
    reschedule_limit: int = 2
    change_window_hours: int = 24

    # China's calendar is seeded from this year (the oldest records the service shows) to two
    # years ahead of today; years chinese-calendar does not know are provisional.
    calendar_first_year: int = 2024

    # Delegation
    max_active_dependants: int = 10
    pending_delegation_days: int = 14
    # A request to an adult with an account notifies and mails them: one helper may ask the
    # same person this often per window (withdrawing and asking again must not flood them).
    delegation_requests_per_person: int = 3
    delegation_request_window_s: int = 7 * 86400
    # Revoking a delegation (consent withdrawn) revokes the certificates the helper obtained
    # through it: they no longer verify in the helper's hands. An ending by date does not.
    revoke_helper_certificates: bool = True

    # Signed documents
    certificate_validity_days: int = 90
    # A certificate lists the current passport and at most this many of the superseded ones,
    # the latest bound first, and states how many earlier ones it leaves out; fewer when the
    # verification link would not fit one QR code (signing/certificates.py, sign_within_qr).
    certificate_max_earlier_passports: int = 4
    # A selective-disclosure presentation is shown once, at a counter or to an app: it expires
    # this many minutes after it is made (the holder makes a fresh one for the next checker).
    presentation_minutes: int = 10

    # Statistics: every published count is rounded to a multiple of this (1 = exact counts).
    statistics_rounding_base: int = 5

    # Query limits
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    # Fields an operation may select once its fragments are spread out (each spread counts
    # its fragment's fields again): bounds what checking a document costs, whatever its size.
    max_expanded_fields: int = 10_000
    max_page_size: int = 100
    max_batch_size: int = 10
    max_body_bytes: int = 1_000_000
    max_query_cost: int = 5000
    public_cache_seconds: int = 30
    # Run queries and mutations from plans compiled once per document (schema/execution/);
    # 0 runs every operation on graphql-core's own executor.
    execution_plans: bool = True
    # Report each request's SQL statement count in X-SQL-Statements (tests, benchmarks).
    report_sql: bool = False
    # A JSON file of the only documents accepted (registered-only mode); unset accepts any.
    persisted_queries_file: str | None = None
    cost_budget_per_minute: int = 100_000
    # Live subscriptions one account may hold at once, over all its connections and (with
    # Redis) all server processes; a further subscribe is refused (RATE_LIMITED).
    max_subscriptions_per_account: int = 20
    # GET /metrics requires "Authorization: Bearer <token>" when set; production without it
    # answers 404 (development and test without it: open).
    metrics_token: str | None = None
    # Origins allowed to call the API from a browser (and to open its WebSocket). None: the
    # local dev-server origins in development, none in production.
    cors_origins: tuple[str, ...] | None = None

    # Mail. SMTP_URL: smtp://[user:password@]host[:port] (STARTTLS when the server offers it)
    # or smtps://... (TLS from the start). Unset: mail stays in the outbox and the development
    # server prints it; production refuses to start without it.
    smtp_url: str | None = None
    mail_from: str = "no-reply@immigration.example.gov.cn"
    # Links in mail (sign in, verify, reset) point under this address; unset: PUBLIC_BASE_URL.
    account_link_base_url: str | None = None
    # The delivery worker looks for due mail this often (and at once after a commit).
    mail_poll_seconds: int = 1
    # A worker holds the mail it claimed this long; a killed worker's claim then runs out.
    mail_claim_seconds: int = 120
    mail_timeout_seconds: int = 30
    # A failed attempt waits base, 2 base, 4 base, ... up to the cap; then it is given up.
    mail_max_attempts: int = 10
    mail_retry_base_seconds: int = 30
    mail_retry_cap_seconds: int = 3600

    # Reminders: the scheduler looks for due reminders this often, and makes them from this
    # hour (local time) on their day. The extension window opens this many days before the
    # extension deadline (then reminders 14 and 3 days before it).
    reminder_every_seconds: int = 300
    reminder_hour: int = 8
    extension_window_days: int = 60

    # Waitlist: an offer holds its place this long (counted from 08:00 office time when made
    # between 22:00 and 08:00); the expiry loop looks for offers that ran out this often
    # (reading or booking a line's slots also ends them at once).
    waitlist_hold_minutes: int = 30
    waitlist_every_seconds: int = 30

    # Account recovery: mailed links live this long; requests per window (seconds), counted on
    # the address typed and on the client address (past them the answer is the same, and
    # nothing is sent), and fresh verification links per account.
    account_token_minutes: int = 30
    password_resets_per_email: int = 3
    password_resets_per_ip: int = 20
    password_reset_window_s: int = 3600
    verification_mails_per_account: int = 5
    verification_mail_window_s: int = 3600

    # The published password of the development-only demo sign-ins (CONTRACT.md).
    demo_password: str = "demo-pass-2024"  # noqa: S105

    def __post_init__(self) -> None:
        # Settings built in code (tests, benchmarks) name the environment as text.
        object.__setattr__(self, "app_env", _app_env("APP_ENV", str(self.app_env)))

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def loads_demo_data(self) -> bool:
        """Only development loads the demo sign-ins, whose password is published."""
        return self.app_env is AppEnv.DEVELOPMENT

    @property
    def redis_namespace(self) -> str:
        """Prefix of every Redis key and channel: processes sharing a database share it, and
        other deployments (or test runs) on the same Redis never see each other's data."""
        return hashlib.sha256(database_identity(self.database_url).encode()).hexdigest()[:12]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def tortoise_config(self) -> dict:
        """The Tortoise ORM configuration, shared by the server, migrations and tests."""
        url = self.database_url
        if url.startswith("sqlite://") and "busy_timeout" not in url:
            url += ("&" if "?" in url else "?") + "busy_timeout=10000"
        if url.startswith("postgresql://"):
            url = "postgres://" + url.removeprefix("postgresql://")
        replica = self.replica_connection() is not None
        return {
            # The replica is not one of Tortoise's named databases (then every transaction
            # would have to name its own): persistence/read_replica.py opens it, and this
            # router sends it the reads that may go there.
            "connections": {"default": url},
            **({"routers": ["persistence.read_replica.ReadRouter"]} if replica else {}),
            "apps": {
                "models": {
                    "models": ["persistence.models"],
                    "default_connection": "default",
                    "migrations": "persistence.migrations",
                }
            },
            "use_tz": True,
            "timezone": "UTC",
        }

    def replica_connection(self) -> dict | None:
        """The read replica's connection as Tortoise describes one (engine and credentials),
        None without DATABASE_REPLICA_URL. An SQLite database has no replicas: the setting is
        ignored there (the start logs it)."""
        if not self.database_replica_url or self.is_sqlite:
            return None
        from tortoise.backends.base.config_generator import expand_db_url

        url = self.database_replica_url
        if url.startswith("postgresql://"):
            url = "postgres://" + url.removeprefix("postgresql://")
        connection = expand_db_url(url)
        # asyncpg's connect timeout: an unreachable replica must not hold a request for long.
        connection["credentials"]["timeout"] = self.database_replica_connect_timeout_seconds
        # No connection floor: asyncpg would keep reconnecting (and logging) in the background
        # while the replica is down; reads try it again themselves (retry seconds).
        connection["credentials"]["minsize"] = 0
        return connection

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


# Environment variables whose name is not the field's name in capitals (the README documents
# these names), and fields that are not read from the environment at all.
ENVIRONMENT_NAMES = {"report_sql": "REPORT_SQL_STATEMENTS"}
NOT_FROM_ENVIRONMENT = frozenset({"demo_password"})

# How a variable's text becomes a field's value: by the field's name, else by its type.
_PARSE_FIELD: dict[str, Callable[[str, str], object]] = {
    "app_env": _app_env,
    "trusted_proxies": _networks,
    "cors_origins": _origins,
    "statistics_rounding_base": _positive,
    "max_subscriptions_per_account": _positive,
    "presentation_minutes": _positive,
    "certificate_max_earlier_passports": _not_negative,
    "mail_poll_seconds": _positive,
    "mail_max_attempts": _positive,
    "account_token_minutes": _positive,
    "waitlist_hold_minutes": _positive,
    "waitlist_every_seconds": _positive,
    "database_replica_retry_seconds": _positive,
    "redis_timeout_ms": _positive,
    "max_expanded_fields": _positive,
    "redis_retry_seconds": _positive,
    "database_replica_connect_timeout_seconds": _positive,
    "database_replica_read_your_writes_seconds": _positive,
}
_PARSE_TYPE: dict[str, Callable[[str, str], object]] = {
    "str": lambda _, raw: raw,
    "str | None": lambda _, raw: raw,
    "int": _int,
    "bool": _flag,
    "Path": lambda _, raw: Path(raw),
}


def environment_name(field_name: str) -> str:
    """The environment variable a setting is read from."""
    return ENVIRONMENT_NAMES.get(field_name, field_name.upper())


def environment_names() -> dict[str, str]:
    """Every setting read from the environment: field name -> variable name."""
    return {
        f.name: environment_name(f.name)
        for f in fields(Settings)
        if f.name not in NOT_FROM_ENVIRONMENT
    }


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment: each field from the variable named after it
    (see ENVIRONMENT_NAMES); unset or empty variables keep the field's default."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = environment_name(f.name)
        raw = environ.get(name)
        if f.name in NOT_FROM_ENVIRONMENT or raw is None or raw == "":
            continue
        parse = _PARSE_FIELD.get(f.name) or _PARSE_TYPE[str(f.type)]
        values[f.name] = parse(name, raw)
    if "public_base_url" not in values:
        host, port = values.get("host", Settings.host), values.get("port", Settings.port)
        values["public_base_url"] = f"http://{host}:{port}"
    loaded = Settings(**values)  # type: ignore[arg-type]
    validate(loaded)
    return loaded


def validate(settings: Settings) -> None:
    """Refuse combinations the service must not start with (ConfigurationError)."""
    if settings.is_production and not settings.key_encryption_key:
        raise ConfigurationError(
            "KEY_ENCRYPTION_KEY is not set: production refuses to start without the secret "
            "that encrypts signing keys at rest"
        )
    if settings.is_production and not settings.smtp_url:
        raise ConfigurationError(
            "SMTP_URL is not set: production refuses to start without a mail server "
            "(reminders, password resets and verification links are mailed)"
        )
    if settings.smtp_url and urlsplit(settings.smtp_url).scheme not in ("smtp", "smtps"):
        raise ConfigurationError("SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    replica = settings.database_replica_url
    if replica and urlsplit(replica).scheme not in ("postgres", "postgresql"):
        raise ConfigurationError("DATABASE_REPLICA_URL must be postgres://user@host:port/database")
    if not 0 <= settings.port <= 65535:
        raise ConfigurationError(f"PORT must be between 0 and 65535, not {settings.port}")


def __getattr__(name: str) -> object:
    # The migration CLI (`tortoise -c settings.TORTOISE_ORM ...`) reads TORTOISE_ORM; built on
    # first use so that importing this module never fails on a bad setting.
    if name == "TORTOISE_ORM":
        return load().tortoise_config()
    raise AttributeError(name)
