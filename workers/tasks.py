"""Tasks: thin wrappers that call services by id."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from core import limits, task_names
from core.db import unit_of_work, utcnow
from core.notifications.channels import ChannelError, Channels, channel_from_settings
from core.notifications.service import SEND_TASK, deliver, give_up, sweep
from core.outbox import OutboxRepository
from core.settings import Settings, get_settings
from workers.base import db_task, retry_or_give_up
from workers.celery_app import app
from workers.enqueue import publish

_channel: tuple[Settings, Channels] | None = None


def notification_channel() -> Channels:
    """One set of channels per process (and settings): the gateways' connection pools are
    reused from message to message instead of a new client, and connection, for each."""
    global _channel
    settings = get_settings()
    if _channel is None or _channel[0] is not settings:
        _channel = (settings, channel_from_settings(settings))
    return _channel[1]


@app.task(name=SEND_TASK, bind=True, max_retries=get_settings().notify_max_retries)
def send_notification(self, notification_id: str) -> str | None:
    """Not a db_task: ``deliver`` owns its short units of work and holds no transaction
    while the channel answers (docs/architecture.md rule 1)."""
    try:
        return deliver(uuid.UUID(notification_id), notification_channel())
    except ChannelError as exc:
        def record_give_up(error: BaseException) -> None:
            with unit_of_work() as session:
                give_up(session, uuid.UUID(notification_id), repr(error))

        retry_or_give_up(self, SEND_TASK, exc, give_up=record_give_up)
        return None


@db_task(task_names.NOTIFICATIONS_SWEEP)
def sweep_notifications(session: Session) -> int:
    """Re-enqueue notifications whose task was lost (a broker restart, a worker killed during
    the channel call) and wipe the codes whose fallback window ended."""
    return sweep(session)


@app.task(name=task_names.OUTBOX_RELAY, acks_late=False)
def relay_outbox() -> int:
    """Publish what the after-commit fast path missed (a crash, a broker outage)."""
    return publish(min_age=timedelta(seconds=3))


@db_task(task_names.LIMITS_PURGE)
def purge_attempt_counters(session: Session) -> int:
    return limits.purge_expired(session)


@db_task(task_names.OUTBOX_PURGE)
def purge_outbox(session: Session) -> int:
    return OutboxRepository(session).purge_published(utcnow() - timedelta(days=7))
