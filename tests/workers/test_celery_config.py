"""The Celery configuration follows the rules of docs/architecture.md; the retry policy is
bounded."""

from __future__ import annotations

import argparse
from datetime import timedelta

import httpx
import pytest
import respx

from core.settings import load_settings
from workers.beat import beat_schedule
from workers.celery_app import MAX_RETRY_DELAY, QUEUES, TASK_MODULES, celery_config

REDIS = {"broker_url": "redis://redis:6379/0"}


def test_late_acks_requeue_on_lost_workers_and_prefetch_one() -> None:
    conf = celery_config(load_settings(**REDIS))
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["result_backend"] is None and conf["task_ignore_result"] is True
    assert conf["accept_content"] == ["json"]


def test_visibility_timeout_is_above_every_delay_and_time_limit() -> None:
    settings = load_settings(**REDIS)
    conf = celery_config(settings)
    visibility = conf["broker_transport_options"]["visibility_timeout"]
    assert visibility > MAX_RETRY_DELAY
    assert visibility > conf["task_time_limit"] + MAX_RETRY_DELAY
    # The Settings floor keeps it so: nobody can configure it below the retry cap.
    assert load_settings(**REDIS, visibility_timeout=60).visibility_timeout >= 60
    assert MAX_RETRY_DELAY < 3600


def test_time_limits_are_set_soft_below_hard() -> None:
    conf = celery_config(load_settings(**REDIS))
    assert 0 < conf["task_soft_time_limit"] < conf["task_time_limit"]


def test_key_prefix_only_for_redis() -> None:
    conf = celery_config(load_settings(**REDIS, broker_key_prefix="staging:"))
    assert conf["broker_transport_options"]["global_keyprefix"] == "staging:"
    embedded = celery_config(load_settings(broker_url="", broker_key_prefix="staging:"))
    # kombu's SQLAlchemy transport passes its options to create_engine(): none at all.
    assert embedded["broker_transport_options"] == {}
    assert embedded["broker_url"].startswith("sqla+sqlite:///")


def test_named_queues_and_routes() -> None:
    conf = celery_config(load_settings(**REDIS))
    routed = {route["queue"] for route in conf["task_routes"].values()}
    assert routed <= set(QUEUES)
    assert conf["task_default_queue"] in QUEUES
    from sipoke.commands.serve import ALL_QUEUES

    assert set(ALL_QUEUES.split(",")) == set(QUEUES)  # a default worker consumes them all


def test_every_beat_entry_expires_and_names_a_registered_task() -> None:
    import importlib

    from workers.celery_app import app

    for module in TASK_MODULES:
        importlib.import_module(module)
    schedule = beat_schedule(load_settings())
    assert schedule
    for name, entry in schedule.items():
        expires = entry.get("options", {}).get("expires")
        assert expires and expires > 0, f"beat entry {name} must expire"
        every = entry["schedule"]
        seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
        # A missed run is dropped before the next one is due, so copies never pile up.
        assert expires <= max(seconds * 2, 5), name
        assert entry["task"] in app.tasks, f"beat entry {name}: unknown task {entry['task']}"


def test_worker_command_line() -> None:
    from sipoke.commands.serve import _worker_argv

    args = argparse.Namespace(queues="default", pool=None, concurrency=2, beat=False)
    assert "solo" in _worker_argv(args)  # embedded broker: one process
    assert "--without-mingle" in _worker_argv(args)


# --- the retry policy ---------------------------------------------------------------------

GATEWAY = "https://gateway.test/send"


@pytest.fixture
def http_channel(settings, monkeypatch: pytest.MonkeyPatch):
    from core.settings import reset_settings_cache

    monkeypatch.setenv("SIPOKE_NOTIFY_CHANNEL", "http")
    monkeypatch.setenv("SIPOKE_NOTIFY_GATEWAY_URL", GATEWAY)
    reset_settings_cache()


def _pending_notification() -> str:
    from core.db import unit_of_work
    from core.notifications import notify

    with unit_of_work() as s:
        return str(notify(s, recipient="+6281234560001", kind="welcome", office="X",
                          name="Siti").id)


def _row(notification_id: str):
    import uuid

    from core.db import unit_of_work
    from core.models import Notification

    with unit_of_work() as s:
        return s.get(Notification, uuid.UUID(notification_id))


@respx.mock
def test_a_transient_failure_retries_and_keeps_the_attempt(http_channel) -> None:
    from celery.exceptions import Retry

    from workers.tasks import send_notification

    respx.post(GATEWAY).mock(return_value=httpx.Response(503))
    notification_id = _pending_notification()
    with pytest.raises(Retry):
        send_notification.apply(kwargs={"notification_id": notification_id}, retries=0,
                                throw=True)
    row = _row(notification_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "503" in row.last_error


@respx.mock
def test_the_last_retry_gives_up_and_marks_it_failed(http_channel) -> None:
    from workers.tasks import send_notification

    respx.post(GATEWAY).mock(return_value=httpx.Response(502))
    notification_id = _pending_notification()
    result = send_notification.apply(kwargs={"notification_id": notification_id},
                                     retries=send_notification.max_retries, throw=True)
    assert result.successful()
    row = _row(notification_id)
    assert row.status == "failed"
    assert "502" in row.last_error


@respx.mock
def test_a_permanent_refusal_is_not_retried(http_channel) -> None:
    from workers.tasks import send_notification

    route = respx.post(GATEWAY).mock(return_value=httpx.Response(400, text="bad number"))
    notification_id = _pending_notification()
    result = send_notification.apply(kwargs={"notification_id": notification_id}, retries=0,
                                     throw=True)
    assert result.get() == "failed"
    assert route.call_count == 1
    assert _row(notification_id).status == "failed"


def test_backoff_is_full_jitter_and_capped() -> None:
    from workers.base import backoff

    samples = [backoff(r) for r in range(12) for _ in range(20)]
    assert all(0 <= s <= MAX_RETRY_DELAY for s in samples)
    assert max(backoff(1) for _ in range(200)) <= 4


@respx.mock
def test_one_gateway_channel_serves_every_message_of_a_process(
        http_channel, monkeypatch: pytest.MonkeyPatch) -> None:
    import workers.tasks as tasks
    from core.notifications.channels import channel_from_settings

    built: list[object] = []

    def counting(settings):
        built.append(settings)
        return channel_from_settings(settings)

    monkeypatch.setattr(tasks, "_channel", None)
    monkeypatch.setattr(tasks, "channel_from_settings", counting)
    route = respx.post(GATEWAY).mock(return_value=httpx.Response(200))
    for _ in range(3):
        result = tasks.send_notification.apply(
            kwargs={"notification_id": _pending_notification()}, throw=True)
        assert result.get() == "sent"
    assert route.call_count == 3
    assert len(built) == 1  # one HTTP client (and its kept-alive connection), not one a message


@pytest.mark.parametrize("after_commit", [True, False])
def test_the_worker_publishes_after_commit_only_when_configured(
        settings, monkeypatch: pytest.MonkeyPatch, after_commit: bool) -> None:
    from core import db
    from core.settings import reset_settings_cache
    from sipoke.commands import serve
    from workers.celery_app import app
    from workers.enqueue import publish_after_commit

    monkeypatch.setenv("SIPOKE_OUTBOX_PUBLISH_AFTER_COMMIT", str(after_commit).lower())
    reset_settings_cache()
    monkeypatch.setattr(db, "_publisher", None)
    monkeypatch.setattr("core.logging.configure_logging", lambda *a, **k: None)
    started: list[list[str]] = []
    monkeypatch.setattr(app, "worker_main", started.append)
    serve.worker(argparse.Namespace(queues="default", pool=None, concurrency=None, beat=False))
    assert started, "the Celery worker was started"
    assert db._publisher is (publish_after_commit if after_commit else None)


def test_a_provider_task_retries_after_the_providers_delay_then_stops(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.exceptions import Retry

    from providers.errors import TransientProviderError
    from workers import delivery_tasks

    calls: list[str] = []

    def busy(attempt_id):
        calls.append(str(attempt_id))
        raise TransientProviderError("provider busy", retry_after=7)

    monkeypatch.setattr(delivery_tasks, "poll_attempt", busy)
    attempt_id = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(Retry) as retry:
        delivery_tasks.poll.apply(kwargs={"attempt_id": attempt_id}, retries=0, throw=True)
    assert retry.value.when == 7  # Retry-After honoured
    # At the bound the task stops quietly; the sweeper re-drives what is still due.
    result = delivery_tasks.poll.apply(kwargs={"attempt_id": attempt_id},
                                       retries=delivery_tasks.poll.max_retries, throw=True)
    assert result.successful() and result.get() is None
    assert calls == [attempt_id, attempt_id]
