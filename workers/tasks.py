"""Tasks: thin wrappers that call services by id."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.models import Notification, NotificationStatus
from core.notifications.channels import ChannelError, NotificationChannel, channel_from_settings
from core.notifications.service import SEND_TASK, deliver, give_up
from core.outbox import OutboxRepository, enqueue
from core.settings import Settings, get_settings
from workers.base import db_task
from workers.celery_app import app
from workers.enqueue import publish

_channel: tuple[Settings, NotificationChannel] | None = None


def notification_channel() -> NotificationChannel:
    """One channel per process (and settings): the HTTP gateway's connection pool is reused
    from message to message instead of a new client, and connection, for each."""
    global _channel
    settings = get_settings()
    if _channel is None or _channel[0] is not settings:
        _channel = (settings, channel_from_settings(settings))
    return _channel[1]


def _give_up_notification(session: Session, kwargs: dict[str, Any], exc: BaseException) -> None:
    give_up(session, uuid.UUID(str(kwargs["notification_id"])), repr(exc))


@db_task(SEND_TASK, retry_on=(ChannelError,), max_retries=get_settings().notify_max_retries,
         on_give_up=_give_up_notification)
def send_notification(session: Session, notification_id: str) -> str:
    return deliver(session, uuid.UUID(notification_id), notification_channel())


@db_task("notifications.sweep")
def sweep_notifications(session: Session) -> int:
    """Re-enqueue notifications whose task was lost (a broker restart, say)."""
    cutoff = utcnow() - timedelta(minutes=2)
    stale = session.scalars(
        select(Notification.id).where(
            Notification.status == NotificationStatus.pending,
            Notification.created_at < cutoff,
            Notification.attempts < 10,
        ).limit(500)
    ).all()
    for notification_id in stale:
        enqueue(session, SEND_TASK, notification_id=notification_id)
    return len(stale)


@app.task(name="outbox.relay", acks_late=False)
def relay_outbox() -> int:
    """Publish what the after-commit fast path missed (a crash, a broker outage)."""
    return publish(min_age=timedelta(seconds=3))


@db_task("limits.purge")
def purge_attempt_counters(session: Session) -> int:
    return limits.purge_expired(session)


@db_task("outbox.purge")
def purge_outbox(session: Session) -> int:
    return OutboxRepository(session).purge_published(utcnow() - timedelta(days=7))
