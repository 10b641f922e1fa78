"""Send a message to a person: a row plus an outbox entry now, the channel call in a task."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Notification, NotificationStatus, User
from core.notifications.channels import ChannelError, NotificationChannel
from core.notifications.texts import render
from core.outbox import enqueue

SEND_TASK = "notifications.send"


def notify(
    session: Session,
    *,
    recipient: str,
    kind: str,
    office_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    sensitive: bool = False,
    **values: object,
) -> Notification:
    notification = Notification(
        office_id=office_id,
        user_id=user_id,
        recipient=recipient,
        kind=kind,
        text=render(kind, **values),
        sensitive=sensitive,
    )
    session.add(notification)
    session.flush()
    enqueue(session, SEND_TASK, notification_id=notification.id)
    return notification


def notify_user(session: Session, user: User, kind: str, **values: object) -> Notification | None:
    if not user.phone:
        return None
    return notify(session, recipient=user.phone, kind=kind, office_id=user.office_id,
                  user_id=user.id, **values)


def deliver(session: Session, notification_id: uuid.UUID, channel: NotificationChannel) -> str:
    """Send one notification. Idempotent: a sent or failed one is left alone.

    Raises :class:`ChannelError` with ``transient=True`` for the caller's retry policy; a
    permanent error marks the notification failed.
    """
    notification = session.get(Notification, notification_id, with_for_update=True)
    if notification is None or notification.status != NotificationStatus.pending:
        return "skipped"
    notification.attempts += 1
    notification.channel = channel.name
    try:
        channel.send(notification.recipient, notification.text)
    except ChannelError as exc:
        notification.last_error = str(exc)[:500]
        if exc.transient:
            # Keep the attempt count and the error (the unit of work commits them) while the
            # task's retry policy takes over.
            exc.persist_changes = True
            raise
        notification.status = NotificationStatus.failed
        return "failed"
    notification.status = NotificationStatus.sent
    notification.sent_at = utcnow()
    if notification.sensitive:
        notification.text = "(disembunyikan setelah terkirim)"
    return "sent"


def give_up(session: Session, notification_id: uuid.UUID, error: str) -> None:
    notification = session.get(Notification, notification_id)
    if notification is not None and notification.status == NotificationStatus.pending:
        notification.status = NotificationStatus.failed
        notification.last_error = error[:500]
