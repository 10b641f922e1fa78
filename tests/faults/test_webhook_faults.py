"""F9 out-of-order events and F10 bad webhooks, in process against the real app and database
(both backends), with a live sandbox for the booking.

F9: every order of arrival of the same set of provider events ends in the same state (the
one ``providers.status.resolve`` gives for the events sorted by rank), each event is stored
exactly once, and an event that beats its booking's answer is applied later by the sweep.
F10: each refusal answers 4xx, stores nothing, enqueues nothing and changes nothing.
"""

from __future__ import annotations

import json
import random
import time

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.models import OutboxMessage
from delivery.models import TrackingEvent
from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.delivery.conftest import (
    WEBHOOK_SECRET,
    attempts,
    load,
    order_snapshot,
    post_webhook,
    signed,
    status_event,
)
from tests.delivery.helpers import booked

COURIER_PATH = ["ALLOCATING", "ASSIGNED", "AT_PICKUP", "PICKED_UP", "ON_DELIVERY",
                "AT_DROPOFF", "COMPLETED"]


def _count(model) -> int:
    with unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _order(server, delivery_id: str) -> dict:
    [attempt] = attempts(delivery_id)
    return order_snapshot(server, attempt.provider_order_id)


@pytest.mark.parametrize("seed", [1, 2])
def test_f9_any_arrival_order_reaches_the_same_state(client, demo, providers_env, installed,
                                                      outbox, seed):
    delivery_id, _ = booked(client, demo, outbox)
    order = _order(providers_env, delivery_id)
    events = [status_event(order, s, event_id=f"evt_{seed}_{s}") for s in COURIER_PATH]
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    # Each arrives twice, the second copy in another order; half applied in between.
    for event in shuffled[:4]:
        assert post_webhook(client, event).status_code == 200
    outbox()
    for event in shuffled[4:] + list(reversed(shuffled)):
        assert post_webhook(client, event).status_code == 200
    outbox()
    [attempt] = attempts(delivery_id)
    assert attempt.provider_status == "delivered"  # the highest rank, sticky
    assert load(delivery_id).state == "delivered"
    with unit_of_work() as s:
        rows = list(s.scalars(select(TrackingEvent).where(
            TrackingEvent.provider_event_id.like(f"evt_{seed}_%"))))
    assert len(rows) == len(COURIER_PATH)  # stored once each despite the repeats
    assert all(r.outcome in ("applied", "stale") for r in rows)
    assert next(r for r in rows if r.raw_status == "COMPLETED").applied


def test_f9_an_event_before_the_booking_answer_is_applied_later(client, demo, providers_env,
                                                                installed, outbox):
    """The webhook names an order we have not recorded yet (the booking's answer is still on
    its way): it is stored as unmatched, then applied once the attempt knows the order."""
    delivery_id, _ = booked(client, demo, outbox)
    order = _order(providers_env, delivery_id)
    from delivery.models import DeliveryAttempt

    with unit_of_work() as s:  # as if the booking's answer had not been recorded yet
        attempt = s.scalar(select(DeliveryAttempt))
        assert attempt is not None
        saved_order_id, attempt.provider_order_id = attempt.provider_order_id, None
        real_reference, attempt.reference = attempt.reference, "spk-not-yet-known"
    event = status_event(order, "ASSIGNED", event_id="evt_early")
    assert post_webhook(client, event).status_code == 200
    outbox()
    with unit_of_work() as s:
        early = s.scalar(select(TrackingEvent).where(
            TrackingEvent.provider_event_id == "evt_early"))
        assert early is not None and early.outcome == "unmatched"
    with unit_of_work() as s:  # the booking answer arrives
        attempt = s.scalar(select(DeliveryAttempt))
        attempt.provider_order_id, attempt.reference = saved_order_id, real_reference
    from delivery.tracking.service import apply_event

    with unit_of_work() as s:  # what the sweep's re-drive runs
        assert apply_event(s, early.id) == "applied"
    assert load(delivery_id).state == "courier_assigned"


def _refused(client, body: bytes, headers: dict[str, str]) -> int:
    return client.post("/webhooks/sandbox", content=body, headers=headers).status_code


def test_f10_bad_webhooks_store_and_change_nothing(client, demo, providers_env, installed,
                                                   outbox):
    delivery_id, _ = booked(client, demo, outbox)
    order = _order(providers_env, delivery_id)
    state_before = load(delivery_id).state
    events_before, outbox_before = _count(TrackingEvent), _count(OutboxMessage)
    event = status_event(order, "ASSIGNED")

    body, headers = signed(event, secret="someone-elses-secret")
    assert _refused(client, body, headers) == 401, "bad HMAC"
    body, headers = signed(event, timestamp=int(time.time()) - 3600)
    assert _refused(client, body, headers) == 401, "stale timestamp (a replay)"
    body, headers = signed(event, timestamp=int(time.time()) + 3600)
    assert _refused(client, body, headers) == 401, "timestamp from the future"
    body, headers = signed(event)
    reserialized = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other bytes
    assert _refused(client, reserialized, headers) == 401, "re-serialized body"
    ts = str(int(time.time()))
    huge = json.dumps({**event, "pad": "x" * (2 * 1024 * 1024)}).encode()
    assert _refused(client, huge, {TIMESTAMP_HEADER: ts,
                                   SIGNATURE_HEADER: sign(WEBHOOK_SECRET, ts, huge)}) == 413
    broken = b'{"event_id": "evt_broken", "order": '
    assert _refused(client, broken, {TIMESTAMP_HEADER: ts,
                                     SIGNATURE_HEADER: sign(WEBHOOK_SECRET, ts, broken)}) == 400
    body, headers = signed(event)
    del headers[SIGNATURE_HEADER]
    assert _refused(client, body, headers) == 401, "no signature"

    assert _count(TrackingEvent) == events_before
    assert _count(OutboxMessage) == outbox_before
    outbox()
    assert load(delivery_id).state == state_before

    # An unknown event type, properly signed: kept once for the record, never applied.
    unknown = {**status_event(order, "ASSIGNED", event_id="evt_unknown"),
               "type": "driver.selfie"}
    assert post_webhook(client, unknown).status_code == 200
    assert post_webhook(client, unknown).status_code == 200
    outbox()
    with unit_of_work() as s:
        new = list(s.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))[events_before:]
    assert len(new) == 1, [(r.provider_event_id, r.outcome) for r in new]
    assert new[0].outcome == "ignored" and not new[0].applied
    assert load(delivery_id).state == state_before
