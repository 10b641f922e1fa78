"""Prometheus metrics, served at ``/metrics`` by the API.

Counters and histograms are per process (the API records webhook ingest; provider calls are
recorded where they happen). Gauges that must agree across processes (deliveries by state,
breaker state, outbox backlog) are read from the database at scrape time by a collector.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

WEBHOOKS = Counter("sipoke_webhooks_total", "Provider webhooks received, by outcome",
                   ["provider", "outcome"])
WEBHOOK_LATENCY = Histogram("sipoke_webhook_ingest_seconds",
                            "Time to verify, store and answer a webhook", ["provider"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
PROVIDER_CALLS = Counter("sipoke_provider_calls_total", "Calls to provider adapters",
                         ["provider", "operation", "outcome"])
PROVIDER_LATENCY = Histogram("sipoke_provider_call_seconds", "Provider call latency",
                             ["provider", "operation"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20))


@contextmanager
def provider_call(provider: str, operation: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        PROVIDER_CALLS.labels(provider, operation, outcome).inc()
        PROVIDER_LATENCY.labels(provider, operation).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Gauges read from the database, so every replica reports the same numbers."""

    def collect(self):
        from core.db import new_session
        from core.outbox import OutboxRepository
        from delivery.models import CircuitState
        from delivery.repository import CircuitRepository, DeliveryRepository

        by_state = GaugeMetricFamily("sipoke_deliveries", "Deliveries by state",
                                     labels=["state"])
        breaker = GaugeMetricFamily("sipoke_provider_circuit_open",
                                    "Circuit breaker: 0 closed, 1 half open, 2 open",
                                    labels=["provider"])
        backlog = GaugeMetricFamily("sipoke_outbox_backlog",
                                    "Outbox messages not yet published (queue depth)")
        session = new_session()
        try:
            for state, count in DeliveryRepository(session).count_by_state():
                by_state.add_metric([state], count)
            level = {CircuitState.closed: 0, CircuitState.half_open: 1, CircuitState.open: 2}
            for row in CircuitRepository(session).all():
                breaker.add_metric([row.provider], level[CircuitState(row.state)])
            backlog.add_metric([], OutboxRepository(session).count_unpublished())
        finally:
            session.close()
        yield by_state
        yield breaker
        yield backlog


_collector: DatabaseCollector | None = None


def install_collector() -> None:
    global _collector
    if _collector is None:
        _collector = DatabaseCollector()
        REGISTRY.register(_collector)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
