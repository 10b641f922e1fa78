"""End to end through a real broker: API commit -> outbox -> Redis -> `sipoke worker` -> the
notification gateway -> the notification row. Needs SIPOKE_TEST_REDIS_URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core import db as core_db
from core.db import unit_of_work
from core.models import Notification, OutboxMessage
from tests.core.test_auth import NEW_PHONE, REGISTRATION
from tests.fixtures import RESIDENT_B
from tests.workers.conftest import Gateway, RedisBroker, wait_until

CODE_RE = re.compile(r"Kode masuk SIP OKE Antar: (\d{6})")


@pytest.fixture
def redis_publisher(client, redis_broker: RedisBroker,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API process's after-commit publisher, sending to the test Redis."""
    from core.settings import load_settings
    from workers import celery_app
    from workers.enqueue import publish_after_commit

    producer = celery_app.create_celery(load_settings(
        broker_url=redis_broker.url, broker_key_prefix=redis_broker.prefix))
    monkeypatch.setattr(celery_app, "app", producer)
    core_db.set_after_commit_publisher(publish_after_commit)
    yield
    core_db.set_after_commit_publisher(None)
    producer.close()


def _notifications(phone: str) -> list[Notification]:
    with unit_of_work() as s:
        return list(s.scalars(select(Notification).where(Notification.recipient == phone)
                              .order_by(Notification.created_at)))


def _all_sent(phone: str, count: int) -> bool:
    rows = _notifications(phone)
    return len(rows) == count and all(n.status == "sent" for n in rows)


def _unpublished() -> int:
    with unit_of_work() as s:
        return len(s.scalars(select(OutboxMessage.id)
                             .where(OutboxMessage.published_at.is_(None))).all())


def test_register_and_sign_in_with_the_code_a_real_worker_sent(
        client, demo, redis_publisher, start_worker, gateway: Gateway) -> None:
    worker = start_worker()
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    # Published right after the commit by the API's publisher thread, not by the relay
    # (which only takes rows older than 3 s).
    wait_until(lambda: _unpublished() == 0, timeout=2.5, what="the after-commit publish")

    wait_until(lambda: _all_sent(NEW_PHONE, 2), worker=worker, what="welcome + code sent")
    texts = [m["message"] for m in gateway.received if m["to"] == NEW_PHONE]
    assert len(texts) == 2
    assert {m["authorization"] for m in gateway.received} == {"Bearer gateway-token"}
    code = next(CODE_RE.search(t).group(1) for t in texts if CODE_RE.search(t))

    # The code is wiped from the database once sent.
    assert all(code not in n.text for n in _notifications(NEW_PHONE))
    r = client.post("/api/v1/auth/otp/verify", json={"phone": NEW_PHONE, "code": code})
    assert r.status_code == 200, r.text


def test_the_relay_sends_what_a_lost_publish_left_behind(
        client, demo, start_worker, gateway: Gateway) -> None:
    # No after-commit publisher: as if the API died between its commit and the publish.
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    assert _unpublished() == 2
    worker = start_worker("--beat")  # beat runs the outbox relay
    wait_until(lambda: _all_sent(NEW_PHONE, 2), worker=worker, timeout=40,
               what="the relay to publish and the worker to send")
    assert _unpublished() == 0


def test_a_failing_gateway_is_retried_then_given_up(
        client, demo, redis_publisher, start_worker, gateway: Gateway) -> None:
    gateway.failing.add(RESIDENT_B)
    worker = start_worker()  # SIPOKE_NOTIFY_MAX_RETRIES=1: two tries in all
    assert client.post("/api/v1/auth/otp", json={"phone": RESIDENT_B}).status_code == 202

    def given_up() -> bool:
        rows = _notifications(RESIDENT_B)
        return bool(rows) and rows[0].status == "failed"

    wait_until(given_up, worker=worker, what="the notification to be given up")
    (row,) = _notifications(RESIDENT_B)
    assert row.attempts == 2
    assert "503" in (row.last_error or "")
    assert len([m for m in gateway.received if m["to"] == RESIDENT_B]) == 2
