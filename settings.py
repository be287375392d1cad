"""Every setting of the service, read once from the environment with safe defaults."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent


# The only environments: anything else (a typo such as "prod") would load the demo sign-ins.
APP_ENVIRONMENTS = ("development", "test", "production")


class ConfigurationError(ValueError):
    """A setting the service cannot run with; the message names the variable."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return raw if raw not in (None, "") else default


def _opt(name: str) -> str | None:
    raw = os.environ.get(name)
    return raw or None


def _networks(name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks; a wrong entry stops the start."""
    entries = tuple(e.strip() for e in os.environ.get(name, "").split(",") if e.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"{name}: {entry!r} is not an IP address or network") from exc
    return entries


def _origins(name: str) -> tuple[str, ...] | None:
    """Comma-separated browser origins (scheme://host[:port]); unset: None (the default
    applies); a wrong entry stops the start."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
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
            raise ValueError(f"{name}: {entry!r} is not an origin (scheme://host[:port])")
        origins.append(entry.lower())
    return tuple(origins)


@dataclass(frozen=True)
class Settings:
    """Configuration of one server process. Policies (limits, windows) live here, not in code."""

    app_env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = f"sqlite://{ROOT / 'data' / 'app.db'}"
    redis_url: str | None = None
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

    # Signed documents
    certificate_validity_days: int = 90

    # Statistics: every published count is rounded to a multiple of this (1 = exact counts).
    statistics_rounding_base: int = 5

    # Query limits
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_page_size: int = 100
    max_batch_size: int = 10
    max_body_bytes: int = 1_000_000
    max_query_cost: int = 5000
    public_cache_seconds: int = 30
    # Report each request's SQL statement count in X-SQL-Statements (tests, benchmarks).
    report_sql: bool = False
    # A JSON file of the only documents accepted (registered-only mode); unset accepts any.
    persisted_queries_file: str | None = None
    cost_budget_per_minute: int = 100_000
    # GET /metrics requires "Authorization: Bearer <token>" when set; production without it
    # answers 404 (development and test without it: open).
    metrics_token: str | None = None
    # Origins allowed to call the API from a browser (and to open its WebSocket). None: the
    # local dev-server origins in development, none in production.
    cors_origins: tuple[str, ...] | None = None

    # The published password of the development-only demo sign-ins (CONTRACT.md).
    demo_password: str = "demo-pass-2024"  # noqa: S105

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def redis_namespace(self) -> str:
        """Prefix of every Redis key and channel: processes sharing a database share it, and
        other deployments (or test runs) on the same Redis never see each other's data."""
        return hashlib.sha256(self.database_url.encode()).hexdigest()[:12]

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
        return {
            "connections": {"default": url},
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

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load() -> Settings:
    """Build the settings from the environment."""
    port = _int("PORT", 8000)
    host = _str("HOST", "127.0.0.1")
    d = Settings()
    loaded = Settings(
        app_env=_str("APP_ENV", "development"),
        host=host,
        port=port,
        database_url=_str("DATABASE_URL", d.database_url),
        redis_url=_opt("REDIS_URL"),
        key_encryption_key=_opt("KEY_ENCRYPTION_KEY"),
        data_dir=Path(_str("DATA_DIR", str(d.data_dir))),
        public_base_url=_str("PUBLIC_BASE_URL", f"http://{host}:{port}"),
        issuer=_str("ISSUER", d.issuer),
        trusted_proxies=_networks("TRUSTED_PROXIES"),
        argon2_time_cost=_int("ARGON2_TIME_COST", d.argon2_time_cost),
        argon2_memory_kib=_int("ARGON2_MEMORY_KIB", d.argon2_memory_kib),
        argon2_parallelism=_int("ARGON2_PARALLELISM", d.argon2_parallelism),
        password_min_length=_int("PASSWORD_MIN_LENGTH", d.password_min_length),
        access_token_minutes=_int("ACCESS_TOKEN_MINUTES", d.access_token_minutes),
        refresh_token_days=_int("REFRESH_TOKEN_DAYS", d.refresh_token_days),
        refresh_reuse_grace_s=_int("REFRESH_REUSE_GRACE_S", d.refresh_reuse_grace_s),
        signin_failures_per_account=_int(
            "SIGNIN_FAILURES_PER_ACCOUNT", d.signin_failures_per_account
        ),
        signin_failures_per_ip=_int("SIGNIN_FAILURES_PER_IP", d.signin_failures_per_ip),
        signin_failure_window_s=_int("SIGNIN_FAILURE_WINDOW_S", d.signin_failure_window_s),
        signin_backoff_after=_int("SIGNIN_BACKOFF_AFTER", d.signin_backoff_after),
        signin_backoff_cap_s=_int("SIGNIN_BACKOFF_CAP_S", d.signin_backoff_cap_s),
        signin_known_address_days=_int("SIGNIN_KNOWN_ADDRESS_DAYS", d.signin_known_address_days),
        signups_per_ip=_int("SIGNUPS_PER_IP", d.signups_per_ip),
        signup_window_s=_int("SIGNUP_WINDOW_S", d.signup_window_s),
        identity_attempts_per_account=_int(
            "IDENTITY_ATTEMPTS_PER_ACCOUNT", d.identity_attempts_per_account
        ),
        identity_attempt_window_s=_int("IDENTITY_ATTEMPT_WINDOW_S", d.identity_attempt_window_s),
        identity_attempts_per_ip=_int("IDENTITY_ATTEMPTS_PER_IP", d.identity_attempts_per_ip),
        identity_global_misses_alert=_int(
            "IDENTITY_GLOBAL_MISSES_ALERT", d.identity_global_misses_alert
        ),
        identity_global_slowdown_max_ms=_int(
            "IDENTITY_GLOBAL_SLOWDOWN_MAX_MS", d.identity_global_slowdown_max_ms
        ),
        bookings_per_account=_int("BOOKINGS_PER_ACCOUNT", d.bookings_per_account),
        booking_window_s=_int("BOOKING_WINDOW_S", d.booking_window_s),
        slot_minutes=_int("SLOT_MINUTES", d.slot_minutes),
        booking_horizon_working_days=_int(
            "BOOKING_HORIZON_WORKING_DAYS", d.booking_horizon_working_days
        ),
        booking_min_lead_minutes=_int("BOOKING_MIN_LEAD_MINUTES", d.booking_min_lead_minutes),
        reschedule_limit=_int("RESCHEDULE_LIMIT", d.reschedule_limit),
        change_window_hours=_int("CHANGE_WINDOW_HOURS", d.change_window_hours),
        calendar_first_year=_int("CALENDAR_FIRST_YEAR", d.calendar_first_year),
        max_active_dependants=_int("MAX_ACTIVE_DEPENDANTS", d.max_active_dependants),
        pending_delegation_days=_int("PENDING_DELEGATION_DAYS", d.pending_delegation_days),
        certificate_validity_days=_int("CERTIFICATE_VALIDITY_DAYS", d.certificate_validity_days),
        statistics_rounding_base=_positive("STATISTICS_ROUNDING_BASE", d.statistics_rounding_base),
        max_query_depth=_int("MAX_QUERY_DEPTH", d.max_query_depth),
        max_aliases=_int("MAX_ALIASES", d.max_aliases),
        max_tokens=_int("MAX_TOKENS", d.max_tokens),
        max_page_size=_int("MAX_PAGE_SIZE", d.max_page_size),
        max_batch_size=_int("MAX_BATCH_SIZE", d.max_batch_size),
        max_body_bytes=_int("MAX_BODY_BYTES", d.max_body_bytes),
        max_query_cost=_int("MAX_QUERY_COST", d.max_query_cost),
        public_cache_seconds=_int("PUBLIC_CACHE_SECONDS", d.public_cache_seconds),
        report_sql=_str("REPORT_SQL_STATEMENTS", "0") == "1",
        persisted_queries_file=_opt("PERSISTED_QUERIES_FILE"),
        cost_budget_per_minute=_int("COST_BUDGET_PER_MINUTE", d.cost_budget_per_minute),
        metrics_token=_opt("METRICS_TOKEN"),
        cors_origins=_origins("CORS_ORIGINS"),
    )
    validate(loaded)
    return loaded


def validate(settings: Settings) -> None:
    """Refuse combinations the service must not start with (ConfigurationError)."""
    if settings.app_env not in APP_ENVIRONMENTS:
        raise ConfigurationError(
            f"APP_ENV must be one of {', '.join(APP_ENVIRONMENTS)}, not {settings.app_env!r}"
        )
    if settings.is_production and not settings.key_encryption_key:
        raise ConfigurationError(
            "KEY_ENCRYPTION_KEY is not set: production refuses to start without the secret "
            "that encrypts signing keys at rest"
        )
    if not 0 <= settings.port <= 65535:
        raise ConfigurationError(f"PORT must be between 0 and 65535, not {settings.port}")


def __getattr__(name: str) -> object:
    # The migration CLI (`tortoise -c settings.TORTOISE_ORM ...`) reads TORTOISE_ORM; built on
    # first use so that importing this module never fails on a bad setting.
    if name == "TORTOISE_ORM":
        return load().tortoise_config()
    raise AttributeError(name)
