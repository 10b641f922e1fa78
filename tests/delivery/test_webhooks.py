"""POST /webhooks/{provider}: verify on raw bytes, refuse without storing, store once, apply
monotonically, and never let one provider's event touch another's attempt."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from core.db import unit_of_work
from delivery.models import TrackingEvent
from tests.delivery.conftest import (
    ask_delivery,
    attempts,
    finished_request,
    load,
    order_snapshot,
    post_webhook,
    signed,
    status_event,
)


def _events() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(TrackingEvent)) or 0


def _booked(client, demo, providers_env, outbox) -> tuple[str, dict]:
    created = ask_delivery(client, demo, finished_request())
    outbox()
    view = client.get(f"/api/v1/deliveries/{created['id']}",
                      headers=demo.headers("+6281234560001")).json()
    client.post(f"/api/v1/deliveries/{created['id']}/choose",
                headers=demo.headers("+6281234560001"),
                json={"quote_id": view["quotes"][0]["id"]})
    outbox()
    [attempt] = attempts(created["id"])
    return created["id"], order_snapshot(providers_env, attempt.provider_order_id)


def test_refusals_store_nothing(client, demo, providers_env, installed):
    event = status_event({"order_id": "1", "status": "ASSIGNED",
                          "updated_at": "2026-01-01T00:00:00+00:00"}, "ASSIGNED")
    before = _events()
    body, headers = signed(event, secret="not-the-secret")
    assert client.post("/webhooks/sandbox", content=body, headers=headers).status_code == 401
    body, headers = signed(event, timestamp=int(time.time()) - 3600)  # a replay
    assert client.post("/webhooks/sandbox", content=body, headers=headers).status_code == 401
    body, headers = signed(event)
    del headers["X-Sandbox-Signature"]
    assert client.post("/webhooks/sandbox", content=body, headers=headers).status_code == 401
    # A valid signature over bytes that are not JSON.
    from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
    from tests.delivery.conftest import WEBHOOK_SECRET

    ts = str(int(time.time()))
    raw = b"{not json"
    response = client.post("/webhooks/sandbox", content=raw, headers={
        TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(WEBHOOK_SECRET, ts, raw)})
    assert response.status_code == 400
    big = b"{" + b" " * (256 * 1024) + b"}"
    response = client.post("/webhooks/sandbox", content=big, headers={
        TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(WEBHOOK_SECRET, ts, big)})
    assert response.status_code == 413
    assert client.post("/webhooks/nope", content=b"{}").status_code == 404
    assert _events() == before == 0


def test_duplicates_and_out_of_order_reach_the_same_state(client, demo, providers_env,
                                                          installed, outbox):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    assigned = status_event(order, "ASSIGNED", event_id="evt_assigned")
    transit = status_event(order, "ON_DELIVERY", event_id="evt_transit")
    # In transit arrives first, then assigned late, then both again.
    for event in (transit, assigned, transit, assigned):
        response = post_webhook(client, event)
        assert response.status_code == 200, response.text
    outbox()
    assert load(delivery_id).state == "in_transit"
    with unit_of_work() as s:
        rows = list(s.scalars(select(TrackingEvent).where(
            TrackingEvent.provider_event_id.in_(["evt_assigned", "evt_transit"]))))
    assert len(rows) == 2  # stored once each
    outcomes = {r.provider_event_id: (r.outcome, r.applied) for r in rows}
    assert outcomes["evt_transit"] == ("applied", True)
    assert outcomes["evt_assigned"] == ("stale", False)
    # A terminal status is sticky: a late "picked up" after "completed" is stale.
    post_webhook(client, status_event(order, "COMPLETED"))
    post_webhook(client, status_event(order, "PICKED_UP"))
    outbox()
    [attempt] = attempts(delivery_id)
    assert attempt.provider_status == "delivered" and attempt.status == "done"
    assert load(delivery_id).state == "delivered"


def test_an_event_only_touches_the_senders_attempt(client, demo, providers_env, installed,
                                                   outbox):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    # Same order id, claimed by a different provider's path: not matched.
    from delivery.models import DeliveryAttempt

    with unit_of_work() as s:
        attempt = s.scalar(select(DeliveryAttempt))
        assert attempt is not None
        attempt.provider = "inhouse"  # pretend the order belongs to another provider
    post_webhook(client, status_event(order, "ASSIGNED"))
    outbox()
    assert load(delivery_id).state == "searching_courier"
    with unit_of_work() as s:
        event = s.scalars(select(TrackingEvent).where(TrackingEvent.status == "courier_assigned")
                          ).one()
        assert event.outcome == "unmatched" and event.delivery_id is None


def test_untracked_event_types_are_kept_once(client, demo, providers_env, installed):
    event = {"event_id": "evt_x", "type": "wallet.low", "occurred_at": "2026-01-01T00:00:00Z",
             "order": {"order_id": "9", "status": "CREATED",
                       "updated_at": "2026-01-01T00:00:00Z"}}
    first = post_webhook(client, event)
    assert first.status_code == 200
    second = post_webhook(client, event)
    assert second.json()["duplicates"] == 1, (first.text, second.text)
    assert _events() == 1


def test_raw_bodies_are_purged_after_retention(client, demo, providers_env, installed):
    from datetime import timedelta

    from sqlalchemy import update

    from core.db import utcnow
    from delivery.tracking.service import purge_raw_bodies

    post_webhook(client, status_event({"order_id": "5", "status": "CREATED",
                                       "updated_at": "2026-01-01T00:00:00Z"}, "CREATED"))
    with unit_of_work() as s:
        assert purge_raw_bodies(s) == 0  # fresh bodies stay
        s.execute(update(TrackingEvent).values(received_at=utcnow() - timedelta(days=31)))
    with unit_of_work() as s:
        assert purge_raw_bodies(s) == 1
    with unit_of_work() as s:
        event = s.scalars(select(TrackingEvent)).one()
        assert event.body == "" and event.status == "booked"
