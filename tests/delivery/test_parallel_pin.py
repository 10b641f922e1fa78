"""The handover PIN under truly parallel guesses (SQLite and PostgreSQL): 40 wrong PINs at
once through the HTTP server, exactly five are compared, the PIN locks and the office is
alerted once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.models import AuditEvent, Notification
from delivery.handover import service as handover
from tests.delivery.conftest import load
from tests.delivery.helpers import advance, booked, envelope, set_known_pin
from tests.live import CallCounter, burst, serving

pytestmark = pytest.mark.slow


def test_parallel_wrong_pins_check_exactly_five_then_lock(app, client, demo, providers_env,
                                                          installed, outbox, monkeypatch):
    did, _rid = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP")
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    wrong = "000000" if pin != "000000" else "111111"
    checks = CallCounter(handover.pin_digest)
    monkeypatch.setattr(handover, "pin_digest", checks)
    with serving(app) as url:
        answers = burst(40, lambda c, _: c.post(f"{url}/api/v1/handover/{token}/pin",
                                                json={"pin": wrong}))
    assert checks.calls == handover.MAX_PIN_ATTEMPTS == 5
    assert answers == {422: 4, 423: 36}
    delivery = load(did)
    assert delivery.pin_attempts == 5 and delivery.pin_locked_at is not None
    assert delivery.pin_verified_at is None
    with unit_of_work() as s:
        assert s.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "delivery.pin_wrong")) == 5
        assert s.scalar(select(func.count(Notification.id)).where(
            Notification.kind == "delivery_pin_locked")) == 1
    # The right PIN is refused too, until the operator resets it.
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 423


def test_a_right_pin_among_parallel_tries_hands_over_once(app, client, demo, providers_env,
                                                          installed, outbox):
    did, _rid = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP")
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    with serving(app) as url:
        answers = burst(20, lambda c, _: c.post(f"{url}/api/v1/handover/{token}/pin",
                                                json={"pin": pin}))
    assert answers == {200: 20}
    delivery = load(did)
    assert delivery.state == "completed" and delivery.pin_attempts == 0
