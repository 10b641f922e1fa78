"""No courier -> the next eligible provider (in-house included) within the time budget, then
office pickup; the watchdog, the polling backstop, the sweeper's re-drives, SLA alerts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from core.db import unit_of_work, utcnow
from core.models import OutboxMessage
from delivery.models import Delivery, DeliveryAttempt, TrackingEvent
from delivery.sweeper import sweep
from delivery.tracking.polling import claim_due, poll_attempt
from tests.delivery.conftest import AGUS, ask_delivery, attempts, finished_request, load
from tests.delivery.helpers import advance, booked


def _inhouse_offer_accept(client, demo) -> None:
    courier = demo.headers("kurir.mekarjaya")
    offers = client.get("/api/v1/courier/offers", headers=courier).json()
    assert offers, "the in-house courier got no offer"
    accepted = client.post(f"/api/v1/courier/offers/{offers[0]['id']}/accept", headers=courier)
    assert accepted.status_code == 200, accepted.text


def test_no_courier_fails_over_to_inhouse(client, demo, providers_env, inhouse_on, installed,
                                          outbox):
    did, _ = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "NO_DRIVER")
    first, second = attempts(did)
    assert (first.provider, first.status) == ("sandbox", "failed")
    assert (second.provider, second.status) == ("inhouse", "active")
    delivery = load(did)
    assert delivery.excluded_providers == ["sandbox"] and delivery.state == "searching_courier"
    # The in-house courier's acceptance reaches the delivery in the same transaction.
    _inhouse_offer_accept(client, demo)
    assert load(did).state == "courier_assigned"
    assert load(did).pin_hash is not None
    with unit_of_work() as s:
        sources = set(s.scalars(select(TrackingEvent.source).where(
            TrackingEvent.delivery_id == uuid.UUID(did))))
    assert {"webhook", "inhouse"} <= sources


def test_watchdog_cancels_a_silent_search_and_budget_ends_in_pickup(
        client, demo, providers_env, installed, outbox):
    did, _ = booked(client, demo, outbox, originals=False)
    [attempt] = attempts(did)
    with unit_of_work() as s:
        s.execute(update(DeliveryAttempt).where(DeliveryAttempt.id == attempt.id)
                  .values(booked_at=utcnow() - timedelta(minutes=30)))
        s.execute(update(Delivery).where(Delivery.id == uuid.UUID(did))
                  .values(budget_deadline=utcnow() - timedelta(minutes=1)))
    with unit_of_work() as s:
        counts = sweep(s)
    assert counts["watchdog"] == 1
    outbox()
    [attempt] = attempts(did)
    assert attempt.status == "failed"
    assert providers_env.simulator.get(attempt.provider_order_id)["status"] == "CANCELLED"
    delivery = load(did)
    assert delivery.state == "pickup_offered" and delivery.alert == "no_courier"


def test_polling_backstop_applies_what_webhooks_missed(client, demo, providers_env, installed,
                                                       outbox):
    did, _ = booked(client, demo, outbox)
    [attempt] = attempts(did)
    providers_env.simulator.update_switches({"time_scale": 100_000})  # far along its path
    with unit_of_work() as s:
        s.execute(update(DeliveryAttempt).where(DeliveryAttempt.id == attempt.id)
                  .values(last_update_at=utcnow() - timedelta(hours=1)))
    with unit_of_work() as s:
        assert claim_due(s) == [attempt.id]
    with unit_of_work() as s:
        assert claim_due(s) == []  # claimed: the next run does not poll it again
    assert poll_attempt(attempt.id) == "applied"
    assert load(did).state == "delivered"
    assert poll_attempt(attempt.id) in ("unchanged", "skipped")


def test_sweeper_redrives_lost_tasks_and_raises_sla_alerts(client, demo, providers_env,
                                                           installed, outbox):
    did, _ = booked(client, demo, outbox)
    advance(client, providers_env, outbox, did, "ASSIGNED")
    # A second delivery whose quote task was lost (published, never run).
    lost = ask_delivery(client, demo, finished_request(AGUS), phone=AGUS)["id"]
    with unit_of_work() as s:
        s.execute(update(OutboxMessage).values(published_at=utcnow()))
        s.execute(update(Delivery).values(state_changed_at=utcnow() - timedelta(hours=2)))
    with unit_of_work() as s:
        counts = sweep(s)
    assert counts["alerts"] == 1 and counts["requoted"] == 1
    assert load(did).alert == "late_pickup"
    with unit_of_work() as s:
        pending = list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.published_at.is_(None))))
    assert [(m.task_name, m.kwargs) for m in pending] == [
        ("delivery.quote", {"delivery_id": lost})]
    outbox()
    assert load(lost).state == "awaiting_choice"
    with unit_of_work() as s:
        again = sweep(s)
    assert again["alerts"] == 0  # alerted once, not on every sweep
