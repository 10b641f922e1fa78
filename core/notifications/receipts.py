"""WhatsApp delivery receipts applied to notifications, matched by WhatsApp's message id.

Receipts may come late, twice or out of order (a user with several devices can even see
"delivered" after "failed"), so applying one is idempotent: sent < delivered < read only
ever move forward, a "failed" after a delivery is ignored, and a "failed" for a message
still waiting on WhatsApp sends it by SMS instead, at most once and only within
``SIPOKE_WHATSAPP_FALLBACK_WINDOW_SECONDS`` of the send (an older code has expired anyway).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Notification, NotificationStatus
from core.notifications.service import SEND_TASK, WIPED_TEXT, wipe
from core.notifications.whatsapp import RECEIPT_RANK, Receipt, WhatsAppChannel
from core.outbox import enqueue
from core.settings import NotificationChannelName, Settings

log = logging.getLogger("sipoke.notify")


def sms_fallback_configured(settings: Settings) -> bool:
    return (settings.notify_channel is NotificationChannelName.whatsapp
            and bool(settings.notify_gateway_url))


def apply_receipts(session: Session, receipts: list[Receipt], settings: Settings) -> Counter:
    """Apply every receipt; how many had each outcome (applied, fallback, stale, unknown)."""
    outcomes: Counter = Counter()
    # Rows are locked in one order, so two webhooks arriving together cannot deadlock.
    for receipt in sorted(receipts, key=lambda r: r.message_id):
        outcomes[apply_receipt(session, receipt, settings)] += 1
    return outcomes


def apply_receipt(session: Session, receipt: Receipt, settings: Settings) -> str:
    notification = session.scalar(
        select(Notification).where(Notification.provider_message_id == receipt.message_id)
        .with_for_update())
    if notification is None:
        return "unknown"  # another app's message on the same number, or not recorded yet
    if receipt.status in RECEIPT_RANK:
        return _progress(notification, receipt)
    if receipt.status == "failed":
        return _failed(session, notification, receipt, settings)
    return "ignored"


def _progress(notification: Notification, receipt: Receipt) -> str:
    current = RECEIPT_RANK.get(notification.receipt or "", 0)
    if notification.receipt != "failed" and RECEIPT_RANK[receipt.status] <= current:
        return "stale"
    notification.receipt, notification.receipt_at = receipt.status, receipt.at
    if (receipt.status in ("delivered", "read") and notification.sensitive
            and notification.fallback_at is None):
        wipe(notification)  # on the resident's phone: no SMS will need the code now
    return "applied"


def _failed(session: Session, notification: Notification, receipt: Receipt,
            settings: Settings) -> str:
    if notification.receipt in ("delivered", "read"):
        return "stale"
    notification.receipt, notification.receipt_at = "failed", receipt.at
    notification.last_error = f"whatsapp receipt: failed {receipt.error_text()}".strip()[:500]
    if (notification.status != NotificationStatus.sent or notification.fallback_at is not None
            or notification.channel != WhatsAppChannel.name):
        return "applied"  # already fell back, or not (or no longer) waiting on WhatsApp
    window = timedelta(seconds=settings.whatsapp_fallback_window_seconds)
    in_time = notification.sent_at is not None and notification.sent_at > utcnow() - window
    if sms_fallback_configured(settings) and in_time and notification.text != WIPED_TEXT:
        notification.fallback_at = utcnow()
        notification.status = NotificationStatus.pending
        enqueue(session, SEND_TASK, notification_id=notification.id)
        log.warning("whatsapp could not deliver; falling back to sms",
                    extra={"notification_id": str(notification.id),
                           "error": notification.last_error})
        return "fallback"
    notification.status = NotificationStatus.failed
    if notification.sensitive:
        wipe(notification)
    return "applied"
