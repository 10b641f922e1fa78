"""Booking faults in process, against a live sandbox that records every request it gets.

F6  the provider creates the order and then the answer times out: the attempt becomes
    ``unknown``; the retry looks the order up by our reference and books nothing new.
F7  the provider answers 503/429 for a while, then recovers: the circuit opens after the
    threshold and no call reaches the provider while it is open (no retry storm), a 429's
    Retry-After holds every caller off, and after recovery deliveries are booked again; no
    delivery is left in a transient state and none has two orders.
F12 one hundred concurrent choices of the same delivery: one wins, the others get 409, one
    attempt, one order.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import unit_of_work, utcnow
from delivery.booking.service import book_attempt
from delivery.models import DeliveryAttempt, ProviderCircuit
from providers.errors import TransientProviderError
from tests.delivery.conftest import (
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    load,
    switches,
)

ORDERS = "/v1/orders"



def _awaiting_choice(client, demo, outbox) -> tuple[str, str]:
    created = ask_delivery(client, demo, finished_request())
    outbox()
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=demo.headers(SITI)).json()
    assert view["state"] == "awaiting_choice", view
    return created["id"], view["quotes"][0]["id"]


def _choose(client, demo, delivery_id: str, quote_id: str):
    return client.post(f"/api/v1/deliveries/{delivery_id}/choose", headers=demo.headers(SITI),
                       json={"quote_id": quote_id})


def _orders_for(server, reference: str) -> list[dict]:
    return server.simulator.find(reference)


def _tasks_taken_by_hand() -> None:
    """The booking tasks the choices enqueued are run by hand here (``book_attempt``), as
    the worker's retries would run them; take them off the outbox so a drain skips them."""
    from core.models import OutboxMessage

    with unit_of_work() as s:
        for message in s.scalars(select(OutboxMessage).where(
                OutboxMessage.published_at.is_(None), OutboxMessage.task_name == "delivery.book")):
            message.published_at = utcnow()


def _circuit() -> ProviderCircuit | None:
    with unit_of_work() as s:
        return s.get(ProviderCircuit, "sandbox")


def test_f6_accepted_then_timed_out_is_looked_up_not_rebooked(client, demo, recorded_sandbox,
                                                              installed, outbox):
    sandbox = recorded_sandbox.server
    delivery_id, quote_id = _awaiting_choice(client, demo, outbox)
    switches(sandbox, hang_after_accept_rate=1.0, hang_seconds=3)  # read timeout is 1 s
    assert _choose(client, demo, delivery_id, quote_id).status_code == 200
    [attempt] = attempts(delivery_id)
    with pytest.raises(TransientProviderError) as raised:
        book_attempt(attempt.id)
    assert raised.value.outcome_unknown
    [attempt] = attempts(delivery_id)
    assert attempt.status == "unknown" and attempt.provider_order_id is None
    assert len(_orders_for(sandbox, attempt.reference)) == 1  # the order exists meanwhile

    switches(sandbox, hang_after_accept_rate=0.0)
    posts_before = recorded_sandbox.seen.count("POST", ORDERS)
    assert book_attempt(attempt.id) == "booked"
    assert recorded_sandbox.seen.count("POST", ORDERS) == posts_before  # looked up only
    [attempt] = attempts(delivery_id)
    [order] = _orders_for(sandbox, attempt.reference)
    assert attempt.status == "active" and attempt.provider_order_id == order["order_id"]
    assert load(delivery_id).state == "searching_courier"
    # The task running again (a redelivered message) changes nothing.
    assert book_attempt(attempt.id) == "skipped"
    assert len(_orders_for(sandbox, attempt.reference)) == 1


def test_f7_outage_opens_the_circuit_without_a_retry_storm(client, demo, recorded_sandbox,
                                                            installed, outbox):
    sandbox, seen = recorded_sandbox.server, recorded_sandbox.seen
    chosen = [_awaiting_choice(client, demo, outbox) for _ in range(3)]
    switches(sandbox, error_rate=1.0)
    for delivery_id, quote_id in chosen:
        assert _choose(client, demo, delivery_id, quote_id).status_code == 200
    _tasks_taken_by_hand()
    first = attempts(chosen[0][0])[0]
    requests_before = len(seen.requests)
    # The first booking's task runs as often as its bounded retries allow.
    from workers.delivery_tasks import book as book_task

    runs = book_task.max_retries + 1
    for _ in range(runs):
        with pytest.raises(TransientProviderError):
            book_attempt(first.id)
    # A 503 may come after the order was made: from then on the attempt is only looked up,
    # never created again (one POST), and its calls are bounded by the task's retries.
    assert attempts(chosen[0][0])[0].status == "unknown"
    assert seen.count("POST", ORDERS) == 1
    assert len(seen.requests) - requests_before == runs
    circuit = _circuit()
    assert circuit is not None and circuit.state == "open" and circuit.retry_at > utcnow()
    assert circuit.total_failures == runs
    # New bookings while the circuit is open: no call at all, straight to failover.
    for delivery_id, _ in chosen[1:]:
        [attempt] = attempts(delivery_id)
        assert book_attempt(attempt.id) == "failed_over"
    assert len(seen.requests) - requests_before == runs
    outbox()  # failover re-quotes; with the only provider failed, office pickup is offered
    for delivery_id, _ in chosen[1:]:
        assert load(delivery_id).state == "pickup_offered"
        [attempt] = attempts(delivery_id)
        assert attempt.status == "failed" and _orders_for(sandbox, attempt.reference) == []

    # Recovery: the provider answers again and the open window passes (a time switch).
    switches(sandbox, error_rate=0.0)
    with unit_of_work() as s:
        s.get(ProviderCircuit, "sandbox").retry_at = utcnow() - timedelta(seconds=1)
    # The unknown attempt (the sweeper re-drives it) is looked up, not found, booked once.
    assert book_attempt(first.id) == "booked"
    assert len(_orders_for(sandbox, first.reference)) == 1
    assert load(chosen[0][0]).state == "searching_courier"
    assert _circuit().state == "closed"
    # And a new delivery books normally.
    delivery_id, quote_id = _awaiting_choice(client, demo, outbox)
    assert _choose(client, demo, delivery_id, quote_id).status_code == 200
    outbox()
    [attempt] = attempts(delivery_id)
    assert attempt.status == "active" and load(delivery_id).state == "searching_courier"
    assert len(_orders_for(sandbox, attempt.reference)) == 1


def test_f7_retry_after_holds_every_caller_off(client, demo, recorded_sandbox, installed,
                                               outbox):
    sandbox, seen = recorded_sandbox.server, recorded_sandbox.seen
    chosen = [_awaiting_choice(client, demo, outbox) for _ in range(2)]
    switches(sandbox, rate_limit_rate=1.0, retry_after_s=30)
    for delivery_id, quote_id in chosen:
        assert _choose(client, demo, delivery_id, quote_id).status_code == 200
    _tasks_taken_by_hand()
    first = attempts(chosen[0][0])[0]
    with pytest.raises(TransientProviderError) as raised:
        book_attempt(first.id)
    assert raised.value.retry_after == 30  # the task's countdown (capped below the VT)
    circuit = _circuit()
    assert circuit is not None and circuit.state == "closed"  # one 429 is not an outage
    assert circuit.retry_at >= utcnow() + timedelta(seconds=28)
    calls = seen.count("POST", ORDERS)
    [second] = attempts(chosen[1][0])
    assert book_attempt(second.id) == "failed_over"  # held off: no call made
    assert seen.count("POST", ORDERS) == calls == 1
    # After the wait the first booking goes through once.
    switches(sandbox, rate_limit_rate=0.0)
    with unit_of_work() as s:
        s.get(ProviderCircuit, "sandbox").retry_at = utcnow() - timedelta(seconds=1)
    assert book_attempt(first.id) == "booked"
    assert len(_orders_for(sandbox, attempts(chosen[0][0])[0].reference)) == 1


@pytest.mark.slow  # up to 30 s per backend: the pool timeout of the requests that fail
def test_f12_hundred_concurrent_choices_book_once(client, demo, recorded_sandbox, installed,
                                                  outbox):
    sandbox = recorded_sandbox.server
    delivery_id, quote_id = _awaiting_choice(client, demo, outbox)
    headers = demo.headers(SITI)

    def choose(_: int) -> int:
        return client.post(f"/api/v1/deliveries/{delivery_id}/choose", headers=headers,
                           json={"quote_id": quote_id}).status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        codes = list(pool.map(choose, range(100)))
    # Safety: exactly one choice wins, one attempt, one order at the provider.
    assert codes.count(200) == 1, sorted(codes)
    outbox()
    with unit_of_work() as s:
        rows = list(s.scalars(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == uuid.UUID(delivery_id))))
    assert len(rows) == 1
    assert len(_orders_for(sandbox, rows[0].reference)) == 1
    assert len(sandbox.simulator.orders) == 1
    assert load(delivery_id).state == "searching_courier"
    # Every loser gets 409: the API admits at most as many requests as it has connections
    # (core.app.install_concurrency_limit), so a burst queues instead of starving the pool.
    assert sorted(c for c in codes if c not in (200, 409)) == []
