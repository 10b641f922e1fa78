"""The per-provider circuit breaker (state shared through the database) and /metrics."""

from __future__ import annotations

from datetime import timedelta

from core.db import unit_of_work, utcnow
from delivery import breaker
from delivery.models import ProviderCircuit
from tests.delivery.conftest import SITI, ask_delivery, finished_request, post_webhook, signed


def _circuit(name: str) -> ProviderCircuit:
    with unit_of_work() as s:
        row = s.get(ProviderCircuit, name)
        assert row is not None
        return row


def test_breaker_opens_probes_once_and_closes(engine):
    now = utcnow()
    with unit_of_work() as s:
        assert breaker.allow(s, "sandbox", now)
        for _ in range(breaker.FAILURE_THRESHOLD - 1):
            breaker.record_failure(s, "sandbox", "503", now=now)
        assert breaker.allow(s, "sandbox", now)  # not yet
        breaker.record_failure(s, "sandbox", "503", now=now)
    assert _circuit("sandbox").state == "open"
    with unit_of_work() as s:
        assert not breaker.allow(s, "sandbox", now + timedelta(seconds=5))
    later = now + breaker.OPEN_FOR + timedelta(seconds=1)
    with unit_of_work() as s:
        assert breaker.allow(s, "sandbox", later)  # the one probe
    with unit_of_work() as s:
        assert not breaker.allow(s, "sandbox", later)  # everyone else waits
    with unit_of_work() as s:
        breaker.record_failure(s, "sandbox", "503 again", now=later)
    reopened = _circuit("sandbox")
    assert reopened.state == "open" and reopened.retry_at > later + breaker.OPEN_FOR
    with unit_of_work() as s:
        breaker.record_success(s, "sandbox")
    assert _circuit("sandbox").state == "closed" and _circuit("sandbox").failures == 0


def test_a_success_on_a_healthy_circuit_takes_no_lock(engine, backend):
    """Bookings of one provider must not queue on its circuit row: while another transaction
    holds that row locked, a success on the closed circuit goes through at once."""
    with unit_of_work() as s:
        assert breaker.allow(s, "sandbox")
        breaker.record_failure(s, "sandbox", "503")
    with unit_of_work() as s:
        breaker.record_success(s, "sandbox")  # resets the failure: a real write
    assert _circuit("sandbox").failures == 0
    if backend != "postgresql":
        return  # SQLite has no row locks; the rest is about PostgreSQL's
    from sqlalchemy import text

    holder = engine.connect()
    try:
        holder.begin()
        holder.execute(text("SELECT 1 FROM provider_circuits WHERE provider = 'sandbox' "
                            "FOR UPDATE"))
        with unit_of_work() as s:
            s.execute(text("SET LOCAL lock_timeout = '300ms'"))
            assert breaker.allow(s, "sandbox")
            breaker.record_success(s, "sandbox")  # would wait on the lock, then fail
    finally:
        holder.rollback()
        holder.close()


def test_retry_after_holds_everyone_off(engine):
    now = utcnow()
    with unit_of_work() as s:
        breaker.record_failure(s, "lalamove", "429", retry_after=30, now=now)
    assert _circuit("lalamove").state == "closed"
    with unit_of_work() as s:
        assert not breaker.allow(s, "lalamove", now + timedelta(seconds=10))
        assert breaker.allow(s, "lalamove", now + timedelta(seconds=31))


def test_metrics(client, demo, providers_env, installed, outbox):
    ask_delivery(client, demo, finished_request(SITI))
    body, headers = signed({"event_id": "e1"}, secret="wrong")
    assert client.post("/webhooks/sandbox", content=body, headers=headers).status_code == 401
    post_webhook(client, {"event_id": "e2", "type": "order.status",
                          "occurred_at": "2026-01-01T00:00:00Z",
                          "order": {"order_id": "7", "status": "CREATED",
                                    "updated_at": "2026-01-01T00:00:00Z"}})
    with unit_of_work() as s:
        breaker.record_failure(s, "lalamove", "x")
    text = client.get("/metrics").text
    assert 'sipoke_deliveries{state="quoting"} 1.0' in text
    assert 'sipoke_webhooks_total{outcome="rejected",provider="sandbox"}' in text
    assert 'sipoke_webhooks_total{outcome="stored",provider="sandbox"}' in text
    assert "sipoke_webhook_ingest_seconds_bucket" in text
    assert 'sipoke_provider_circuit_open{provider="lalamove"} 0.0' in text
    assert "sipoke_outbox_backlog" in text
    outbox()
    text = client.get("/metrics").text
    assert 'sipoke_provider_calls_total{operation="quote",outcome="ok",provider="sandbox"}' \
        in text
    assert 'sipoke_deliveries{state="awaiting_choice"} 1.0' in text
