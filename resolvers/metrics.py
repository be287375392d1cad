"""Prometheus metrics of this process: requests and latency by operation, booking outcomes."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

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

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def operation_label(name: str | None) -> str:
    """A bounded label: the client's operation name when it is a plain identifier."""
    if name is None:
        return "anonymous"
    return name if _NAME.match(name) else "invalid"
