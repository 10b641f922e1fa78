"""Booking through the outbox: reference first, provider call outside the transaction, unknown
outcomes resolved by lookup, one active attempt per delivery, failover and requote."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from core.db import unit_of_work
from core.errors import Conflict
from delivery import breaker
from delivery.booking.service import book_attempt
from delivery.flow import start_booking
from delivery.models import DeliveryAttempt, DeliveryQuote
from delivery.repository import DeliveryRepository
from providers.errors import TransientProviderError
from tests.delivery.conftest import (
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    load,
    switches,
)


def _choose(client, demo, outbox, *, book: bool = True) -> str:
    """Quotes asked (outbox drained), the first chosen; booked too unless ``book`` is off."""
    created = ask_delivery(client, demo, finished_request(originals=False))
    outbox()
    headers = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
    response = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=headers,
                           json={"quote_id": view["quotes"][0]["id"]})
    assert response.status_code == 200, response.text
    if book:
        outbox()
    return created["id"]


def test_reference_is_stored_before_the_call(client, demo, providers_env, installed, outbox):
    did = _choose(client, demo, outbox, book=False)
    [attempt] = attempts(did)
    # Committed with the choice, before any worker called the provider.
    assert attempt.status == "pending" and attempt.reference.startswith("spk-")
    assert attempt.provider_order_id is None and attempt.calls == 0


def test_timeout_after_accept_is_resolved_by_lookup(client, demo, providers_env, installed,
                                                    outbox, monkeypatch):
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT", "0.5")
    from core.settings import reset_settings_cache

    reset_settings_cache()
    switches(providers_env, hang_after_accept_rate=1.0, hang_seconds=1.5)
    did = _choose(client, demo, outbox, book=False)
    [attempt] = attempts(did)
    with pytest.raises(TransientProviderError) as raised:
        book_attempt(attempt.id)
    assert raised.value.outcome_unknown
    [attempt] = attempts(did)
    assert attempt.status == "unknown" and attempt.calls == 1
    # The retry looks the order up by our reference instead of booking again.
    assert book_attempt(attempt.id) == "booked"
    [attempt] = attempts(did)
    assert attempt.status == "active" and attempt.calls == 2
    assert len(providers_env.simulator.find(attempt.reference)) == 1
    assert len(providers_env.simulator.orders) == 1
    assert book_attempt(attempt.id) == "skipped"  # a duplicate task changes nothing


def test_one_active_attempt_per_delivery(client, demo, providers_env, installed, outbox):
    did = _choose(client, demo, outbox)
    # The Conflict ends the unit of work: the boundary rolls it back (no savepoint).
    with pytest.raises(Conflict), unit_of_work() as s:
        delivery = DeliveryRepository(s).get(uuid.UUID(did), lock=True)
        quote = s.get(DeliveryQuote, delivery.chosen_quote_id)
        start_booking(s, delivery, quote)
    # The index itself, without the service's check.
    with pytest.raises(IntegrityError), unit_of_work() as s:
        delivery = DeliveryRepository(s).get(uuid.UUID(did))
        s.add(DeliveryAttempt(delivery_id=delivery.id, office_id=delivery.office_id,
                              provider="sandbox", reference=f"spk-{uuid.uuid4().hex}"))
        s.flush()


def test_expired_quote_is_asked_again(client, demo, providers_env, installed, outbox):
    switches(providers_env, quote_validity_s=0)
    created = ask_delivery(client, demo, finished_request())
    outbox()
    headers = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
    assert view["quotes"][0]["expired"] is True
    switches(providers_env, quote_validity_s=300)
    response = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=headers,
                           json={"quote_id": view["quotes"][0]["id"]})
    assert response.status_code == 409 and response.json()["error"]["code"] == "quote_expired"
    assert load(created["id"]).state == "quoting"
    outbox()
    fresh = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
    assert fresh["state"] == "awaiting_choice"
    assert fresh["quotes"][0]["id"] != view["quotes"][0]["id"]
    assert not fresh["quotes"][0]["expired"]


def test_refusal_fails_over_and_budget_ends_in_pickup(client, demo, providers_env, installed,
                                                      outbox):
    did = _choose(client, demo, outbox, book=False)
    # The provider is down hard: its circuit is open, so the booking fails over; with no
    # other provider left the resident is offered office pickup.
    with unit_of_work() as s:
        for _ in range(breaker.FAILURE_THRESHOLD):
            breaker.record_failure(s, "sandbox", "503")
    outbox()
    delivery = load(did)
    assert delivery.state == "pickup_offered"
    assert delivery.excluded_providers == ["sandbox"]
    [attempt] = attempts(did)
    assert attempt.status == "failed" and attempt.calls == 0
    from core.models import DocumentRequest

    with unit_of_work() as s:
        request = s.get(DocumentRequest, delivery.request_id)
        assert request.handover_method == "pickup" and request.pickup_code
    # The resident may ask again for a delivery later.
    with unit_of_work() as s:
        breaker.record_success(s, "sandbox")
    again = client.post("/api/v1/deliveries", headers=demo.headers(SITI), json={
        "request_id": str(delivery.request_id), "address": "Jl. Kenanga No. 5",
        "lat": -6.3952, "lng": 106.8461})
    assert again.status_code == 201, again.text
    assert again.json()["id"] != did


def test_too_far_is_refused_before_anything(client, demo, providers_env, installed):
    rid = finished_request()
    response = client.post("/api/v1/deliveries", headers=demo.headers(SITI), json={
        "request_id": str(rid), "address": "Jl. Jauh Sekali, Bandung", "lat": -6.9,
        "lng": 107.6})
    assert response.status_code == 422


def test_concurrent_choices_book_once(client, demo, providers_env, installed, outbox):
    from concurrent.futures import ThreadPoolExecutor

    from core.models import User
    from delivery.quotes import service as quotes

    created = ask_delivery(client, demo, finished_request(originals=False))
    outbox()
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=demo.headers(SITI)).json()
    quote_id = uuid.UUID(view["quotes"][0]["id"])
    resident_id = demo.user(SITI).id

    def choose(_: int) -> str:
        try:
            with unit_of_work() as s:
                resident = s.get(User, resident_id)
                quotes.choose(s, resident, uuid.UUID(created["id"]), quote_id)
            return "ok"
        except Conflict:
            return "conflict"
        except Exception as exc:  # SQLite refuses a second writer outright
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(choose, range(8)))
    assert results.count("ok") == 1, results
    assert len(attempts(created["id"])) == 1
    outbox()
    assert len(providers_env.simulator.orders) == 1
