"""Process-level faults: real ``sipoke worker`` / ``sipoke api`` subprocesses on the
PostgreSQL test database and a Redis of their own (started, killed and restarted here),
against a live recording sandbox. Each asserts nothing lost and nothing booked twice.

F1 kill -9 a worker while its booking call is in flight (the provider already made the
   order): a new worker finishes it by looking the order up; one order.
F2 a booking call outliving the Redis visibility timeout with two workers: the message is
   handed to the second worker while the first still runs; one order.
F3 Redis restarted, empty, with 1,000 booking messages queued: the sweeper re-drives every
   pending attempt from the database; all booked, one order each.
F4 the API killed between commit and publish: the API runs with the after-commit publish
   switched off (exactly what a kill in that window leaves: committed outbox rows nobody
   published) and is killed -9 after answering; the beat relay publishes them.
F8 the same webhook five times at once to two API processes: stored once, applied once.

Slow (subprocess start-up, recovery timers): run by ``make faults``, not by ``make test``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from core import task_names
from core.db import unit_of_work, utcnow
from core.models import DocumentRequest, OutboxMessage, RequestState, Service, User
from core.requests.service import new_code
from delivery.models import Delivery, DeliveryAttempt, DeliveryQuote, DeliveryState, TrackingEvent
from providers.types import Coordinates
from tests.delivery.conftest import SITI, attempts, load, signed, status_event, switches
from tests.delivery.helpers import booked
from tests.faults.procs import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.parametrize("backend", ["postgresql"]),
              pytest.mark.timeout(600)]


def _broker(own_redis) -> dict[str, str]:
    return {"SIPOKE_BROKER_URL": own_redis.url,
            "SIPOKE_BROKER_KEY_PREFIX": f"faults-{uuid.uuid4().hex[:6]}:"}


def _queued_applies(own_redis, event_id: int) -> int:
    """``tracking.apply_batch`` messages waiting in the broker that carry ``event_id``."""
    import json

    import redis

    client = redis.Redis.from_url(own_redis.url)
    count = 0
    for key in client.scan_iter():
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            headers = json.loads(raw).get("headers", {})
            if headers.get("task") == task_names.TRACKING_APPLY_BATCH \
                    and str(event_id) in str(headers.get("kwargsrepr")):
                count += 1
    return count


def _choose(client, demo, delivery_id: str) -> None:
    view = client.get(f"/api/v1/deliveries/{delivery_id}", headers=demo.headers(SITI)).json()
    response = client.post(f"/api/v1/deliveries/{delivery_id}/choose",
                           headers=demo.headers(SITI),
                           json={"quote_id": view["quotes"][0]["id"]})
    assert response.status_code == 200, response.text


def _awaiting_choice(client, demo, outbox) -> str:
    from tests.delivery.conftest import ask_delivery, finished_request

    created = ask_delivery(client, demo, finished_request())
    outbox()
    return created["id"]


def test_f1_worker_killed_mid_booking(client, demo, outbox, installed, recorded_sandbox,
                                      own_redis, processes, monkeypatch):
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT", "30")
    sandbox = recorded_sandbox.server
    delivery_id = _awaiting_choice(client, demo, outbox)
    switches(sandbox, hang_after_accept_rate=1.0, hang_seconds=20)
    _choose(client, demo, delivery_id)
    [attempt] = attempts(delivery_id)
    broker = _broker(own_redis)
    processes.start("worker-1", "worker", "--beat", "--concurrency", "1", **broker)
    # The order exists at the provider; the worker is waiting for the answer: kill it.
    wait_for(lambda: sandbox.simulator.find(attempt.reference), timeout=60,
             what="the booking call to reach the provider")
    processes.kill("worker-1")
    # The call may have made an order: only a lookup by our reference may resolve it.
    assert attempts(delivery_id)[0].status == "unknown"
    switches(sandbox, hang_after_accept_rate=0.0)
    processes.start("worker-2", "worker", "--beat", "--concurrency", "1", **broker)
    wait_for(lambda: attempts(delivery_id)[0].status == "active", timeout=90,
             what="the booking to be finished by the new worker")
    [attempt] = attempts(delivery_id)
    [order] = sandbox.simulator.find(attempt.reference)
    assert attempt.provider_order_id == order["order_id"]
    assert len(sandbox.simulator.orders) == 1
    assert recorded_sandbox.seen.count("POST", "/v1/orders") == 1  # found, not re-created
    assert load(delivery_id).state == "searching_courier"


def test_f4_api_killed_between_commit_and_publish(demo, installed, recorded_sandbox,
                                                  own_redis, processes, client, outbox):
    sandbox = recorded_sandbox.server
    delivery_id = _awaiting_choice(client, demo, outbox)
    view = client.get(f"/api/v1/deliveries/{delivery_id}", headers=demo.headers(SITI)).json()
    broker = _broker(own_redis)
    api = processes.api("api", SIPOKE_OUTBOX_PUBLISH_AFTER_COMMIT="false", **broker)
    response = httpx.post(f"{api}/api/v1/deliveries/{delivery_id}/choose",
                          headers=demo.headers(SITI), timeout=30,
                          json={"quote_id": view["quotes"][0]["id"]})
    assert response.status_code == 200, response.text
    processes.kill("api")
    with unit_of_work() as s:
        unpublished = list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.published_at.is_(None), OutboxMessage.task_name == "delivery.book")))
    assert len(unpublished) == 1  # committed with the choice, never published
    redis = own_redis.client()
    assert not [k for k in redis.scan_iter() if b"dispatch" in k and redis.type(k) == b"list"
                and redis.llen(k)]
    processes.start("worker", "worker", "--beat", "--concurrency", "1", **broker)
    wait_for(lambda: attempts(delivery_id)[0].status == "active", timeout=90,
             what="the relay to publish and the worker to book")
    [attempt] = attempts(delivery_id)
    assert len(sandbox.simulator.find(attempt.reference)) == 1
    assert len(sandbox.simulator.orders) == 1


def _bulk_awaiting_choice(sandbox, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``count`` deliveries waiting for a choice, written directly (the quote step is tested
    elsewhere); each quote is a real sandbox quote."""
    now = utcnow()
    out = []
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.phone == SITI))
        service = s.scalar(select(Service).where(Service.office_id == user.office_id,
                                                 Service.code == "domisili"))
        office = user.office
        for _ in range(count):
            quote = sandbox.simulator.create_quote(
                Coordinates(lat=office.lat, lng=office.lng),
                Coordinates(lat=-6.3952, lng=106.8461), "motorcycle")
            request = DocumentRequest(office_id=office.id, resident_id=user.id,
                                      service_id=service.id, reference=new_code(8),
                                      state=RequestState.finished, fields={},
                                      finished_at=now, verification_code=new_code(12))
            s.add(request)
            s.flush()
            delivery = Delivery(office_id=office.id, request_id=request.id,
                                resident_id=user.id, state=DeliveryState.awaiting_choice,
                                state_changed_at=now, recipient_name="Siti",
                                recipient_phone=SITI, address="Jl. Kenanga No. 5",
                                lat=-6.3952, lng=106.8461, distance_m=quote["distance_m"],
                                budget_deadline=now + timedelta(hours=2))
            s.add(delivery)
            s.flush()
            row = DeliveryQuote(delivery_id=delivery.id, office_id=office.id,
                                provider="sandbox", provider_quote_id=quote["quote_id"],
                                price=quote["price"]["amount"],
                                resident_pays=quote["price"]["amount"],
                                distance_m=quote["distance_m"],
                                expires_at=datetime.fromisoformat(quote["expires_at"]))
            s.add(row)
            s.flush()
            out.append((delivery.id, row.id))
    return out


@pytest.mark.timeout(1000)
def test_f3_redis_restarted_with_1000_bookings_queued(demo, installed, recorded_sandbox,
                                                      own_redis, processes):
    from delivery.quotes.service import choose

    sandbox = recorded_sandbox.server
    count = int(os.environ.get("SIPOKE_F3_BOOKINGS", "1000"))
    chosen = _bulk_awaiting_choice(sandbox, count)
    with unit_of_work() as s:
        resident = s.scalar(select(User).where(User.phone == SITI))
        for delivery_id, quote_id in chosen:
            choose(s, resident, delivery_id, quote_id)
    broker = _broker(own_redis)
    # A worker that relays the outbox but does not consume the dispatch queue: the 1,000
    # booking messages wait in Redis.
    processes.start("relay", "worker", "--beat", "--queues", "default", "--concurrency", "1",
                    **broker)
    redis = own_redis.client()

    def queued() -> int:
        return sum(redis.llen(k) for k in redis.scan_iter()
                   if redis.type(k) == b"list" and b"dispatch" in k)

    def relayed() -> bool:
        with unit_of_work() as s:
            left = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.task_name == "delivery.book", OutboxMessage.published_at.is_(None)))
        return left == 0 and queued() >= count

    wait_for(relayed, timeout=180, interval=1, what="1,000 booking messages queued in Redis")
    processes.kill("relay")
    own_redis.kill()  # no persistence: every queued message is gone
    own_redis.start()
    assert queued() == 0
    # The sweeper re-drives pending attempts after a minute (not every 3 s: a re-drive of a
    # booking still waiting in the queue would only add copies to the backlog).
    processes.start("worker", "worker", "--beat", "--concurrency", "4",
                    SIPOKE_DELIVERY__STUCK_AFTER_S="60", **broker)
    ids = [d for d, _ in chosen]

    def all_booked() -> bool:
        with unit_of_work() as s:
            active = s.scalar(select(func.count()).select_from(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_(ids), DeliveryAttempt.status == "active"))
        return active == count

    wait_for(all_booked, timeout=840, interval=2, what="every booking re-driven after the loss")
    with unit_of_work() as s:
        rows = list(s.execute(select(DeliveryAttempt.delivery_id, DeliveryAttempt.reference,
                                     DeliveryAttempt.status)
                              .where(DeliveryAttempt.delivery_id.in_(ids))))
    # A booking re-driven after its quote expired fails over to a fresh quote (a new
    # attempt): still one active attempt and one order per delivery, none for the others.
    active = [r for r in rows if r.status == "active"]
    assert sorted(r.delivery_id for r in active) == sorted(ids)
    assert all(len(sandbox.simulator.find(r.reference)) == 1 for r in active)
    assert all(sandbox.simulator.find(r.reference) == [] for r in rows if r.status != "active")
    assert len(sandbox.simulator.orders) == count


def test_f8_same_webhook_five_times_to_two_apis(client, demo, outbox, installed,
                                                recorded_sandbox, own_redis, processes):
    sandbox = recorded_sandbox.server
    delivery_id, _ = booked(client, demo, outbox)
    [attempt] = attempts(delivery_id)
    order = sandbox.simulator.get(attempt.provider_order_id)
    broker = _broker(own_redis)
    apis = [processes.api("api-a", **broker), processes.api("api-b", **broker)]
    event = status_event(order, "ASSIGNED", event_id="evt_five_times")
    body, headers = signed(event)
    gate = threading.Barrier(5)
    codes: list[int] = []

    def send(i: int) -> None:
        gate.wait(timeout=30)
        r = httpx.post(f"{apis[i % 2]}/webhooks/sandbox", content=body, headers=headers,
                       timeout=30)
        codes.append(r.status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [200] * 5, codes
    with unit_of_work() as s:
        rows = list(s.scalars(select(TrackingEvent).where(
            TrackingEvent.provider_event_id == "evt_five_times")))
    assert len(rows) == 1
    # One apply task for the one stored event, sent after the commit (no outbox row: the
    # pending event is its own record), waiting in the broker for a worker.
    wait_for(lambda: _queued_applies(own_redis, rows[0].id) > 0, timeout=10,
             what="the apply task to reach the broker")
    assert _queued_applies(own_redis, rows[0].id) == 1
    processes.start("worker", "worker", "--beat", "--concurrency", "1", **broker)
    wait_for(lambda: load(delivery_id).state == "courier_assigned", timeout=60,
             what="the event to be applied")
    with unit_of_work() as s:
        row = s.scalar(select(TrackingEvent).where(
            TrackingEvent.provider_event_id == "evt_five_times"))
        assert row.applied and row.outcome == "applied"


@pytest.mark.timeout(400)
def test_f2_task_outliving_the_visibility_timeout_with_two_workers(
        client, demo, outbox, installed, recorded_sandbox, own_redis, processes, monkeypatch):
    """The booking call takes longer than the Redis visibility timeout (its minimum, 60 s):
    Redis hands the same message to the second worker while the first still runs it. The
    second looks the order up by reference (the first one's call already made it) and both
    end with the same single order."""
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT", "150")
    sandbox, seen = recorded_sandbox.server, recorded_sandbox.seen
    delivery_id = _awaiting_choice(client, demo, outbox)
    switches(sandbox, hang_after_accept_rate=1.0, hang_seconds=85)
    _choose(client, demo, delivery_id)
    [attempt] = attempts(delivery_id)
    env = {**_broker(own_redis), "SIPOKE_VISIBILITY_TIMEOUT": "60",
           "SIPOKE_TASK_SOFT_TIME_LIMIT": "150", "SIPOKE_TASK_TIME_LIMIT": "180",
           # no sweeper re-drive within the test: only the broker may redeliver
           "SIPOKE_DELIVERY__STUCK_AFTER_S": "3600"}
    processes.start("worker-1", "worker", "--beat", "--concurrency", "1", **env)
    wait_for(lambda: sandbox.simulator.find(attempt.reference), timeout=60,
             what="the first worker's booking call")
    processes.start("worker-2", "worker", "--concurrency", "1", **env)
    # Redelivered after the visibility timeout: the second worker looks the order up.
    wait_for(lambda: seen.count("GET", "/v1/orders") >= 1, timeout=150,
             what="the redelivered task's lookup by reference")
    wait_for(lambda: attempts(delivery_id)[0].status == "active", timeout=60,
             what="the booking recorded")
    switches(sandbox, hang_after_accept_rate=0.0)
    time.sleep(1)
    [attempt] = attempts(delivery_id)
    [order] = sandbox.simulator.find(attempt.reference)
    assert attempt.provider_order_id == order["order_id"]
    assert seen.count("POST", "/v1/orders") == 1
    assert len(sandbox.simulator.orders) == 1
    assert load(delivery_id).state == "searching_courier"
