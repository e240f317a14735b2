"""Prometheus metrics shared by every process (names listed in docs/metrics.md).

Labels stay bounded: service, method/endpoint, outcome, event type, error code, plan item — never a
person, a card, a claim id or a free-text value.
"""

from __future__ import annotations

import time
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

RPC_REQUESTS = Counter(
    "ytcs_rpc_requests_total", "Entrypoint calls handled by a service, by outcome", ["service", "method", "outcome"]
)
RPC_LATENCY = Histogram(
    "ytcs_rpc_duration_seconds", "Time to handle an entrypoint call", ["service", "method"], buckets=LATENCY_BUCKETS
)
EVENTS_PUBLISHED = Counter(
    "ytcs_events_published_total", "Events published from the outbox with broker confirm", ["service", "event_type"]
)
EVENTS_CONSUMED = Counter(
    "ytcs_events_consumed_total",
    "Events handled, by outcome (ok, duplicate, retry, dead_lettered)",
    ["service", "event_type", "outcome"],
)
OUTBOX_BACKLOG = Gauge("ytcs_outbox_backlog", "Outbox rows not yet published", ["service"], multiprocess_mode="max")
OUTBOX_OLDEST_AGE = Gauge(
    "ytcs_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"], multiprocess_mode="max"
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "ytcs_outbox_publish_failures_total", "Relay passes that failed (broker or database away)", ["service"]
)


class EntrypointMetrics(DependencyProvider):
    """Counts and times every RPC, event handler and timer of the service it is declared on."""

    def setup(self) -> None:
        self.service = self.container.service_name
        self._starts: dict[Any, float] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        self._starts[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._starts.pop(worker_ctx, None)
        method = worker_ctx.entrypoint.method_name
        if exc_info is None:
            outcome = "ok"
        else:
            from services.common.errors import DomainError

            outcome = "refused" if isinstance(exc_info[1], DomainError) else "error"
        RPC_REQUESTS.labels(self.service, method, outcome).inc()
        if started is not None:
            RPC_LATENCY.labels(self.service, method).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx: Any) -> None:
        return None


def serve(port: int) -> None:
    """Expose this process's metrics on `port` (each service has its own)."""
    start_http_server(port, addr="0.0.0.0")  # noqa: S104 - Prometheus scrapes from another host
