"""A send holds no transaction (so no row lock, and on SQLite no write lock) while the channel
answers: it claims the row in one short transaction and records the outcome in another. Two
tasks never both send; a worker killed during the call leaves the row claimed, and the
sweep sends it again once the claim is older than the task could have lived."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta

import httpx
import pytest
import respx
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from core.db import unit_of_work, utcnow
from core.models import Notification
from core.notifications.channels import channel_from_settings
from core.notifications.service import claim_timeout, deliver, sweep
from core.settings import get_settings
from tests.core.notifications.helpers import (
    GATEWAY,
    WHATSAPP_ENV,
    accepted,
    gateway_route,
    mark_published,
    messages_route,
    new_notification,
    queued_sends,
    row,
    wamid,
)


class WorkerKilled(BaseException):
    """The process dies during the channel call: nothing after it runs."""


def _killed(request: httpx.Request) -> httpx.Response:
    raise WorkerKilled


def _assert_unlocked(engine: Engine, notification_id: uuid.UUID) -> None:
    """Another connection can take the row's lock (PostgreSQL) or the database's write lock
    (SQLite) at once: the sender holds neither."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT id FROM notifications WHERE id = :id FOR UPDATE NOWAIT"),
                     {"id": notification_id})
        conn.rollback()


def _http(settings, tune):
    tune(notify_channel="http", notify_gateway_url=GATEWAY)
    return channel_from_settings(get_settings())


@respx.mock
def test_the_gateway_is_called_outside_any_transaction(settings, tune, engine) -> None:
    channels = _http(settings, tune)
    notification_id = new_notification("otp")
    seen: list[tuple[str, int]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        _assert_unlocked(engine, notification_id)
        claimed = row(notification_id)  # the claim is committed before the call
        seen.append((claimed.status, claimed.attempts))
        return httpx.Response(200)

    gateway_route().mock(side_effect=gateway)
    assert deliver(notification_id, channels) == "sent"
    assert seen == [("sending", 1)]
    assert row(notification_id).status == "sent"


@respx.mock
def test_whatsapp_and_its_sms_fallback_are_both_called_outside_transactions(
        settings, tune, demo, engine) -> None:
    tune(**WHATSAPP_ENV)
    notification_id = new_notification("otp")

    def unlocked(response: httpx.Response):
        def answer(request: httpx.Request) -> httpx.Response:
            _assert_unlocked(engine, notification_id)
            return response
        return answer

    messages_route().mock(side_effect=unlocked(httpx.Response(500)))
    sms = gateway_route().mock(side_effect=unlocked(httpx.Response(200)))
    assert deliver(notification_id, channel_from_settings(get_settings())) == "sent"
    assert sms.called


def test_only_one_of_two_tasks_claims_a_message(settings, tune) -> None:
    channels = _http(settings, tune)
    notification_id = new_notification("request_submitted")
    inner: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        inner.append(deliver(notification_id, channels))  # a duplicate task meanwhile
        return httpx.Response(200)

    with respx.mock:
        route = gateway_route().mock(side_effect=gateway)
        assert deliver(notification_id, channels) == "sent"
    assert inner == ["skipped"] and route.call_count == 1
    assert row(notification_id).attempts == 1


def test_a_worker_killed_during_the_call_is_resent_by_the_sweep(settings, tune) -> None:
    channels = _http(settings, tune)
    notification_id = new_notification("request_submitted")
    mark_published()

    with respx.mock:
        gateway_route().mock(side_effect=_killed)
        with pytest.raises(WorkerKilled):
            deliver(notification_id, channels)
    claimed = row(notification_id)
    assert (claimed.status, claimed.attempts) == ("sending", 1)
    assert claimed.claimed_at is not None

    with respx.mock:
        route = gateway_route().mock(return_value=httpx.Response(200))
        # The broker redelivers the task at once (late ack): the claim is fresh, the call
        # may still be under way somewhere, so nothing is sent.
        assert deliver(notification_id, channels) == "skipped"
        with unit_of_work() as s:
            assert sweep(s) == 0
        assert queued_sends(notification_id) == 0

        # Older than the task's hard time limit, twice over: its worker is gone.
        with unit_of_work() as s:
            s.execute(update(Notification).where(Notification.id == notification_id).values(
                claimed_at=utcnow() - claim_timeout(get_settings()) - timedelta(seconds=1)))
            assert sweep(s) == 1
        assert queued_sends(notification_id) == 1
        assert deliver(notification_id, channels) == "sent"
        assert route.call_count == 1
    sent = row(notification_id)
    assert (sent.status, sent.attempts, sent.claimed_at) == ("sent", 2, None)


def test_the_sweep_gives_up_a_claim_after_too_many_attempts(settings, tune) -> None:
    _http(settings, tune)
    notification_id = new_notification("request_submitted")
    with unit_of_work() as s:
        s.execute(update(Notification).where(Notification.id == notification_id).values(
            status="sending", attempts=10, claimed_at=utcnow() - timedelta(hours=1)))
        assert sweep(s) == 0
    failed = row(notification_id)
    assert failed.status == "failed" and "too many attempts" in failed.last_error


def test_the_sweep_wipes_codes_whose_fallback_window_ended(settings, tune, demo) -> None:
    tune(**WHATSAPP_ENV)
    with respx.mock:
        messages_route().mock(return_value=accepted(wamid(1)))
        notification_id = new_notification("otp", code="482913")
        deliver(notification_id, channel_from_settings(get_settings()))
    with unit_of_work() as s:
        sweep(s)
    assert "482913" in row(notification_id).text  # still inside the window
    with unit_of_work() as s:
        s.execute(update(Notification).where(Notification.id == notification_id).values(
            created_at=utcnow() - timedelta(hours=1)))
        sweep(s)
    assert "482913" not in row(notification_id).text
    assert row(notification_id).template_values is None


def test_a_transient_error_keeps_the_attempt_and_releases_the_claim(settings, tune) -> None:
    channels = _http(settings, tune)
    notification_id = new_notification("request_submitted")
    with respx.mock:
        gateway_route().mock(return_value=httpx.Response(503))
        with pytest.raises(Exception, match="503"):
            deliver(notification_id, channels)
    waiting = row(notification_id)
    assert (waiting.status, waiting.attempts, waiting.claimed_at) == ("pending", 1, None)
