"""Tracking events applied set-wise (``tracking.service.apply_batch``): the same outcomes as one
by one, a number of queries that does not grow with the batch, a bad event that cannot hold
the others back, and a lost ``tracking.apply_batch`` send that the sweeper makes good."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from core.db import get_engine, unit_of_work, utcnow
from delivery.models import TrackingEvent
from delivery.sweeper import sweep
from delivery.tracking import ingest
from delivery.tracking.service import APPLY_BATCH_TASK, apply_events, event_row
from providers.sandbox.mapping import webhook_updates
from tests.delivery.conftest import load, status_event
from tests.delivery.test_webhooks import _booked
from tests.fixtures import SENT_AFTER_COMMIT


def _rows(order: dict, statuses: list[str], prefix: str) -> list[dict]:
    """``tracking_events`` rows as the webhook door makes them, one per status."""
    rows = []
    for i, status in enumerate(statuses):
        doc = status_event(order, status, event_id=f"{prefix}_{i}")
        [update_] = webhook_updates(doc)
        rows.append(event_row("sandbox", update_.provider_event_id, update_, source="webhook",
                              body="{}", headers={}))
    return rows


def _store(rows: list[dict]) -> list[int]:
    return [stored.event_id for stored in ingest.write_events(rows)]


def _outcomes(prefix: str) -> dict[str, tuple[str, int]]:
    with unit_of_work() as s:
        return {e.provider_event_id: (e.outcome, e.apply_tries) for e in s.scalars(
            select(TrackingEvent).where(TrackingEvent.provider_event_id.like(f"{prefix}_%")))}


def test_a_batch_has_the_outcomes_of_one_by_one(client, demo, providers_env, outbox,
                                                installed):
    first, order_a = _booked(client, demo, providers_env, outbox)
    second, order_b = _booked(client, demo, providers_env, outbox)
    # Interleaved, one out of order, one repeat, one about an order we never booked.
    rows = (_rows(order_a, ["ASSIGNED", "PICKED_UP"], "evt_a")
            + _rows(order_b, ["ASSIGNED"], "evt_b")
            + _rows(order_a, ["ASSIGNED"], "evt_a_late")
            + _rows({**order_b, "order_id": "so_unknown", "client_reference": "spk-none"},
                    ["ASSIGNED"], "evt_x"))
    ids = _store(rows)

    assert apply_events([*ids, ids[0]]) == {"applied": 3, "stale": 1, "unmatched": 1}

    assert load(first).state == "picked_up"
    assert load(second).state == "courier_assigned"
    outcomes = {**_outcomes("evt_a"), **_outcomes("evt_b"), **_outcomes("evt_x")}
    assert outcomes == {"evt_a_0": ("applied", 0), "evt_a_1": ("applied", 0),
                        "evt_b_0": ("applied", 0), "evt_a_late_0": ("stale", 0),
                        "evt_x_0": ("unmatched", 1)}
    # Applied events are tied to their delivery; a second run finds nothing left to do.
    with unit_of_work() as s:
        tied = s.scalar(select(TrackingEvent).where(
            TrackingEvent.provider_event_id == "evt_b_0"))
        assert str(tied.delivery_id) == second and tied.applied
    assert apply_events(ids[:4]) == {"skipped": 4}


def _selects_to_apply(ids: list[int]) -> int:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        apply_events(ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_queries_do_not_grow_with_the_batch(client, demo, providers_env, outbox,
                                                installed):
    _, order = _booked(client, demo, providers_env, outbox)
    # The provider repeats a status the delivery already has: every event is stale, as
    # most of a busy hour's webhooks are (positions, repeats).
    few = _store(_rows(order, ["ALLOCATING"] * 3, "evt_few"))
    many = _store(_rows(order, ["ALLOCATING"] * 60, "evt_many"))

    assert _selects_to_apply(many) <= _selects_to_apply(few)
    assert set(_outcomes("evt_many").values()) == {("stale", 0)}


def test_a_bad_event_does_not_hold_the_batch_back(client, demo, providers_env, outbox,
                                                  installed):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    ids = _store(_rows(order, ["ASSIGNED", "PICKED_UP"], "evt_bad"))
    with unit_of_work() as s:  # a stored event the code can no longer read
        s.execute(update(TrackingEvent).where(TrackingEvent.id == ids[0])
                  .values(data={"status": "no-such-status"}))

    assert apply_events(ids) == {"failed": 1, "applied": 1}

    assert load(delivery_id).state == "picked_up"
    # Left for the sweeper, with the failed try counted (it gives up after MAX_APPLY_TRIES).
    assert _outcomes("evt_bad")["evt_bad_0"] == ("pending", 1)


def test_a_lost_apply_send_is_made_good_by_the_sweeper(client, demo, providers_env, outbox,
                                                       installed):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    [event_id] = _store(_rows(order, ["ASSIGNED"], "evt_lost"))
    SENT_AFTER_COMMIT.clear()  # the broker never got the task
    with unit_of_work() as s:
        s.execute(update(TrackingEvent).where(TrackingEvent.id == event_id)
                  .values(received_at=utcnow() - timedelta(seconds=10)))

    with unit_of_work() as s:
        assert sweep(s)["events"] == 1
    assert (APPLY_BATCH_TASK, {"event_ids": [event_id]}) in SENT_AFTER_COMMIT
    outbox()

    assert load(delivery_id).state == "courier_assigned"
    assert _outcomes("evt_lost")["evt_lost_0"] == ("applied", 0)


def test_returned_before_we_heard_of_the_pickup_still_brings_the_envelope_home(
        client, demo, providers_env, outbox, installed):
    """The courier's earlier updates were lost or are late: the provider's first word after
    the booking is that the envelope went back. The delivery must not stay 'searching'."""
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    assert load(delivery_id).state == "searching_courier"
    ids = _store(_rows(order, ["RETURNED"], "evt_back"))

    assert apply_events(ids) == {"applied": 1}

    delivery = load(delivery_id)
    assert delivery.state == "returned_to_office" and delivery.alert == "returned"


def test_returning_before_we_heard_of_the_pickup_is_followed(client, demo, providers_env,
                                                             outbox, installed):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    ids = _store(_rows(order, ["RETURNING"], "evt_turn"))

    assert apply_events(ids) == {"applied": 1}

    assert load(delivery_id).state == "returning"
