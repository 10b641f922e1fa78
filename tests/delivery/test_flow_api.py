"""The resident's path in-process: quotes from a live sandbox, the choice, the booking through
the outbox, tracking by signed webhooks, the PIN handover and the originals."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import unit_of_work
from core.models import DocumentRequest, Notification
from delivery.models import TrackingEvent
from tests.delivery.conftest import (
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    load,
    order_snapshot,
    post_webhook,
    status_event,
)


def test_quote_choose_book_track(client, demo, providers_env, installed, outbox):
    rid = finished_request()
    created = ask_delivery(client, demo, rid)
    assert created["state"] == "quoting"
    ran = outbox()
    assert "delivery.quote" in ran
    siti = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    assert view["state"] == "awaiting_choice", view
    assert [q["provider"] for q in view["quotes"]] == ["sandbox"]
    quote = view["quotes"][0]
    assert quote["resident_pays"] == quote["price"] > 0

    chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                         json={"quote_id": quote["id"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["state"] == "booking"
    outbox()
    [attempt] = attempts(created["id"])
    assert attempt.status == "active" and attempt.provider_order_id
    assert load(created["id"]).state == "searching_courier"

    order = order_snapshot(providers_env, attempt.provider_order_id)
    for status in ("ASSIGNED", "PICKED_UP", "ON_DELIVERY"):
        response = post_webhook(client, status_event(order, status))
        assert response.status_code == 200, response.text
        outbox()
    delivery = load(created["id"])
    assert delivery.state == "in_transit"
    assert delivery.pin_hash is not None
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(TrackingEvent)) >= 3
        kinds = set(s.scalars(select(Notification.kind)))
        request = s.get(DocumentRequest, rid)
        assert request is not None and request.state == "handover_pending"
    assert "delivery_pin" in kinds
