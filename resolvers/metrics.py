"""Prometheus metrics of this process: requests, latency, bookings, identity-matching misses."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

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

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def operation_label(name: str | None) -> str:
    """A bounded label: the client's operation name when it is a plain identifier."""
    if name is None:
        return "anonymous"
    return name if _NAME.match(name) else "invalid"
