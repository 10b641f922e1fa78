"""Send a message to a person: a row plus an outbox entry now, the channel call in a task.

The send task owns short units of work and holds no transaction, so no row lock, while a
channel answers (docs/architecture.md rule 1):

1. **claim**: one conditional UPDATE moves the row from pending to sending, counts the
   attempt and stamps ``claimed_at``; of two tasks for one message only one can claim it;
2. **call** the channel, outside any transaction;
3. **record**: sent (with WhatsApp's message id), back to pending for the task's retry
   policy, failed, or, after a WhatsApp failure, on to the SMS gateway (steps 2 and 3 once
   more; a message falls back at most once).

A worker that dies between 1 and 3 leaves the row "sending". Nothing is lost: once the claim
is older than twice the task's time limit (so no live call can still hold it) the sweep
claims it again. The message may then go twice, never zero times.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from core import task_names
from core.db import unit_of_work, utcnow
from core.models import Notification, NotificationStatus, Office, User
from core.notifications.channels import ChannelError, Channels
from core.notifications.texts import render
from core.notifications.whatsapp import WhatsAppChannel, template_for, template_values
from core.outbox import enqueue
from core.settings import Settings, get_settings

SEND_TASK = task_names.NOTIFICATIONS_SEND
WIPED_TEXT = "(disembunyikan setelah terkirim)"
# A pending message older than this has lost its task (a broker restart): the sweep re-sends.
LOST_AFTER = timedelta(minutes=2)
SWEEP_MAX_ATTEMPTS = 10

log = logging.getLogger("sipoke.notify")


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
        template_values=template_values(kind, values),
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


def claim_timeout(settings: Settings) -> timedelta:
    """After this long a claim's task is certainly dead: it was killed at its time limit."""
    return timedelta(seconds=2 * settings.task_time_limit)


@dataclass(frozen=True)
class Claim:
    """What one attempt sends, read in the claiming transaction."""

    notification_id: uuid.UUID
    attempt: int
    channel: Any
    recipient: str
    kind: str
    text: str
    values: list[str] | None
    sender: str | None  # the office's WhatsApp phone number id


def deliver(notification_id: uuid.UUID, channels: Channels | Any,
            settings: Settings | None = None) -> str:
    """Send one notification: "sent", "failed" or "skipped" (sent, failed or claimed by
    another task already). Raises :class:`ChannelError` with ``transient=True`` for the
    caller's retry policy, once the row is back to pending with the attempt counted."""
    settings = settings or get_settings()
    if not isinstance(channels, Channels):
        channels = Channels(channels)
    claim = _claim(notification_id, channels, settings)
    while claim is not None:
        try:
            message_id = _call(claim, settings)
        except ChannelError as exc:
            with unit_of_work() as session:
                outcome, claim = _record_failure(session, claim, exc, channels)
            if outcome == "retry":
                raise
            if outcome != "fallback":
                return outcome
            continue
        with unit_of_work() as session:
            return _record_sent(session, claim, message_id, channels)
    return "skipped"


def _claim(notification_id: uuid.UUID, channels: Channels, settings: Settings) -> Claim | None:
    now = utcnow()
    with unit_of_work() as session:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id,
                   or_(Notification.status == NotificationStatus.pending,
                       and_(Notification.status == NotificationStatus.sending,
                            Notification.claimed_at < now - claim_timeout(settings))))
            .values(status=NotificationStatus.sending, attempts=Notification.attempts + 1,
                    claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        notification = session.get(Notification, notification_id, populate_existing=True)
        assert notification is not None
        channel = channels.primary
        if notification.fallback_at is not None:  # WhatsApp failed: SMS only from now on
            channel = channels.fallback or (
                None if isinstance(channels.primary, WhatsAppChannel) else channels.primary)
            if channel is None:  # the gateway was unset since
                notification.status = NotificationStatus.failed
                notification.claimed_at = None
                notification.last_error = "no SMS gateway configured for the fallback"
                return None
        notification.channel = channel.name
        sender = None
        if isinstance(channel, WhatsAppChannel) and notification.office_id is not None:
            office = session.get(Office, notification.office_id)
            sender = office.whatsapp_phone_number_id if office is not None else None
        return Claim(notification_id, notification.attempts, channel, notification.recipient,
                     notification.kind, notification.text, notification.template_values,
                     sender)


def _call(claim: Claim, settings: Settings) -> str | None:
    """The channel call; WhatsApp's message id, if the channel gives one."""
    if isinstance(claim.channel, WhatsAppChannel):
        template = template_for(claim.kind, claim.text, claim.values, settings)
        return claim.channel.send_template(claim.recipient, template, sender=claim.sender)
    claim.channel.send(claim.recipient, claim.text)
    return None


def _record_failure(session: Session, claim: Claim, exc: ChannelError,
                    channels: Channels) -> tuple[str, Claim]:
    notification = session.get(Notification, claim.notification_id, with_for_update=True)
    if (notification is None or notification.status != NotificationStatus.sending
            or notification.attempts != claim.attempt):
        return "skipped", claim  # a later claim took over; its outcome counts
    notification.last_error = str(exc)[:500]
    if (isinstance(claim.channel, WhatsAppChannel) and channels.fallback is not None
            and notification.fallback_at is None):
        notification.fallback_at = notification.claimed_at = utcnow()
        notification.channel = channels.fallback.name
        log.warning("whatsapp send failed; falling back to sms",
                    extra={"notification_id": str(claim.notification_id),
                           "error": notification.last_error})
        return "fallback", replace(claim, channel=channels.fallback)
    notification.claimed_at = None
    if exc.transient:
        notification.status = NotificationStatus.pending
        return "retry", claim
    notification.status = NotificationStatus.failed
    return "failed", claim


def _record_sent(session: Session, claim: Claim, message_id: str | None,
                 channels: Channels) -> str:
    notification = session.get(Notification, claim.notification_id, with_for_update=True)
    if notification is None:
        return "skipped"
    # The message went out, whichever claim this row is on now.
    notification.status = NotificationStatus.sent
    notification.sent_at = utcnow()
    notification.claimed_at = None
    notification.channel = claim.channel.name
    if message_id is not None:
        notification.provider_message_id = message_id[:128]
    # A code sent over WhatsApp stays until WhatsApp reports it delivered (or the fallback
    # window ends): a "failed" receipt must still be able to send it by SMS.
    awaits_receipt = (isinstance(claim.channel, WhatsAppChannel)
                      and channels.fallback is not None and notification.fallback_at is None)
    if notification.sensitive and not awaits_receipt:
        wipe(notification)
    return "sent"


def wipe(notification: Notification) -> None:
    notification.text = WIPED_TEXT
    notification.template_values = None


def give_up(session: Session, notification_id: uuid.UUID, error: str) -> None:
    notification = session.get(Notification, notification_id)
    if notification is not None and notification.status == NotificationStatus.pending:
        notification.status = NotificationStatus.failed
        notification.last_error = error[:500]


def sweep(session: Session, settings: Settings | None = None) -> int:
    """Re-enqueue what lost its task: pending messages past ``LOST_AFTER`` and claims past
    :func:`claim_timeout` (a claim with too many attempts is given up); wipe the codes whose
    fallback window has ended. The number re-enqueued."""
    settings = settings or get_settings()
    now = utcnow()
    lost = session.execute(
        select(Notification.id, Notification.attempts).where(or_(
            and_(Notification.status == NotificationStatus.pending,
                 Notification.created_at < now - LOST_AFTER),
            and_(Notification.status == NotificationStatus.sending,
                 Notification.claimed_at < now - claim_timeout(settings))))
        .limit(500)
    ).all()
    again = [row.id for row in lost if row.attempts < SWEEP_MAX_ATTEMPTS]
    exhausted = [row.id for row in lost if row.attempts >= SWEEP_MAX_ATTEMPTS]
    if exhausted:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(exhausted),
                   Notification.status.in_([NotificationStatus.pending,
                                            NotificationStatus.sending]))
            .values(status=NotificationStatus.failed, claimed_at=None,
                    last_error="gave up: too many attempts")
            .execution_options(synchronize_session=False))
    for notification_id in again:
        enqueue(session, SEND_TASK, notification_id=notification_id)
    window = timedelta(seconds=settings.whatsapp_fallback_window_seconds)
    session.execute(
        update(Notification)
        .where(Notification.sensitive.is_(True),
               Notification.status.in_([NotificationStatus.sent, NotificationStatus.failed]),
               Notification.text != WIPED_TEXT,
               Notification.created_at < now - window)
        .values(text=WIPED_TEXT, template_values=None)
        .execution_options(synchronize_session=False))
    return len(again)
