"""Tracking events applied set-wise (``tracking.service.apply_batch``): the same outcomes as one
by one, a number of queries that does not grow with the batch, a bad event that cannot hold
the others back, and a lost ``tracking.apply_batch`` send that the sweeper makes good."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import event, select, update

from core.db import get_engine, unit_of_work, utcnow
from delivery.models import DeliveryAttempt, TrackingEvent
from delivery.sweeper import sweep
from delivery.tracking import ingest, service
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


def _attempt_of(delivery_id: str) -> DeliveryAttempt:
    with unit_of_work() as s:
        attempt = s.scalar(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == uuid.UUID(delivery_id)))
        assert attempt is not None
        s.expunge(attempt)
        return attempt


def test_stale_events_touch_their_attempt_as_one_by_one(client, demo, providers_env, outbox,
                                                        installed, caplog):
    """A stale event is known from its stored status without parsing it or loading its
    delivery; its attempt still records the update (time, tracking link), as
    ``apply_update`` does."""
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    before = _attempt_of(delivery_id)
    rows = _rows({**order, "tracking_url": "https://track.example/1"}, ["ALLOCATING"], "evt_t")
    rows += _rows({**order, "tracking_url": None}, ["ALLOCATING"], "evt_u")
    ids = _store(rows)

    assert apply_events(ids) == {"stale": 2}

    after = _attempt_of(delivery_id)
    assert after.tracking_url == "https://track.example/1"
    assert after.provider_order_id == before.provider_order_id
    assert after.last_update_at is not None and after.updated_at >= before.updated_at
    assert (before.last_update_at is None or after.last_update_at > before.last_update_at)
    assert load(delivery_id).state == "searching_courier"
    assert "not applied at once" not in caplog.text  # the set-wise path, no fallback
    with unit_of_work() as s:
        tied = s.scalars(select(TrackingEvent).where(TrackingEvent.id.in_(ids))).all()
        assert {(str(e.delivery_id), e.attempt_id, e.office_id is not None, e.applied)
                for e in tied} == {(delivery_id, after.id, True, False)}


def _hold_first_apply(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The first grouped apply waits until released, so that tasks handed in meanwhile
    are applied together by the next one."""
    started, release = threading.Event(), threading.Event()
    real = service._apply_set
    calls = []

    def held(session, ids):
        calls.append(ids)
        if len(calls) == 1:
            started.set()
            assert release.wait(10)
        return real(session, ids)

    monkeypatch.setattr(service, "_apply_set", held)
    return started, release


def test_tasks_handed_in_during_an_apply_are_applied_together(
        client, demo, providers_env, outbox, installed, monkeypatch, caplog):
    first, order_a = _booked(client, demo, providers_env, outbox)
    second, order_b = _booked(client, demo, providers_env, outbox)
    lone = _store(_rows(order_a, ["ALLOCATING"], "evt_g0"))
    batches = [_store(_rows(order_a, ["ASSIGNED", "ALLOCATING"], "evt_g1")),
               _store(_rows(order_b, ["PICKED_UP"], "evt_g2")),
               _store(_rows(order_b, ["ALLOCATING"], "evt_g3"))]
    started, release = _hold_first_apply(monkeypatch)
    applies = service._group.applies
    with ThreadPoolExecutor(4) as pool:
        held = pool.submit(apply_events, lone)
        assert started.wait(10)
        waiting = [pool.submit(apply_events, ids) for ids in batches]
        deadline = time.monotonic() + 10
        while len(service._group._handed) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        results = [f.result(10) for f in waiting]

    assert held.result() == {"stale": 1}
    assert results == [{"applied": 1, "stale": 1}, {"applied": 1}, {"stale": 1}]
    assert service._group.applies == applies + 2  # the three later tasks in one
    assert load(first).state == "courier_assigned"
    assert load(second).state == "picked_up"
    assert "not applied at once" not in caplog.text


def test_a_bad_event_in_a_group_fails_only_its_own_task(
        client, demo, providers_env, outbox, installed, monkeypatch):
    first, order_a = _booked(client, demo, providers_env, outbox)
    second, order_b = _booked(client, demo, providers_env, outbox)
    lone = _store(_rows(order_a, ["ALLOCATING"], "evt_h0"))
    good = _store(_rows(order_a, ["ASSIGNED"], "evt_h1"))
    bad = _store(_rows(order_b, ["ASSIGNED", "PICKED_UP"], "evt_h2"))
    with unit_of_work() as s:
        s.execute(update(TrackingEvent).where(TrackingEvent.id == bad[0])
                  .values(data={"status": "no-such-status"}))
    started, release = _hold_first_apply(monkeypatch)
    with ThreadPoolExecutor(3) as pool:
        pool.submit(apply_events, lone)
        assert started.wait(10)
        waiting = [pool.submit(apply_events, ids) for ids in (good, bad)]
        deadline = time.monotonic() + 10
        while len(service._group._handed) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        assert [f.result(10) for f in waiting] == [{"applied": 1},
                                                   {"failed": 1, "applied": 1}]

    assert load(first).state == "courier_assigned"
    assert load(second).state == "picked_up"
    assert _outcomes("evt_h2")["evt_h2_0"] == ("pending", 1)
