"""Prometheus metrics of this process: requests, latency, execution plans, bookings, identity
matching misses."""

from __future__ import annotations

from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from persistence import read_replica

REGISTRY = CollectorRegistry(auto_describe=True)
# The read replica's routing and fallbacks (persistence/read_replica.py).
for _metric in read_replica.METRICS:
    REGISTRY.register(_metric)

REQUESTS = Counter(
    "graphql_requests_total",
    "GraphQL requests by operation name and HTTP status.",
    ["operation", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "graphql_request_seconds",
    "GraphQL request latency by operation name.",
    ["operation"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
BOOKINGS = Counter(
    "booking_outcomes_total",
    "bookAppointment and rescheduleAppointment results by type.",
    ["mutation", "outcome"],
    registry=REGISTRY,
)
IDENTITY_MISSES = Counter(
    "identity_match_misses_total",
    "linkIdentity and addDependant attempts whose passport facts matched no person.",
    registry=REGISTRY,
)
IDENTITY_MISSES_IN_WINDOW = Gauge(
    "identity_match_misses_in_window",
    "Misses by all clients in the current identity-attempt window, as last counted here.",
    registry=REGISTRY,
)
IDENTITY_MISSES_SLOWED = Counter(
    "identity_match_misses_slowed_total",
    "Misses answered with a delay because all clients together missed too often.",
    registry=REGISTRY,
)
PLANS_COMPILED = Counter(
    "graphql_execution_plans_compiled_total",
    "Operations compiled into an execution plan (once per document, operation and "
    "@skip/@include variable values, until the plan cache forgets it).",
    registry=REGISTRY,
)
PLAN_FALLBACKS = Counter(
    "graphql_execution_plan_fallbacks_total",
    "Operations run by graphql-core's executor instead of a plan, by reason (subscription, "
    "directive, middleware, compile-error, ...).",
    ["reason"],
    registry=REGISTRY,
)

# Labels that are not operation names: a batch, an answer from the response cache, a request
# refused before its document was read, and anything the service does not know by name.
BATCH, CACHED, UNPARSED, OTHER = "batch", "cached", "unparsed", "other"


def operation_label(name: str | None, known: Collection[str]) -> str:
    """A bounded label: `name` only when the service itself knows it (an operation of a
    registered document, or a root field of the schema), else `other`. Clients choose
    operation names freely, so using theirs would let anyone grow the metrics without end."""
    return name if name is not None and name in known else OTHER
