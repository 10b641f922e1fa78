from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UUIDPk, utcnow


class NotificationStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a send task, whose channel call may be under way
    sent = "sent"
    failed = "failed"


class Notification(UUIDPk, Base):
    """A message to a person (WhatsApp/SMS). Sensitive texts (codes) are wiped once sent
    (over WhatsApp with an SMS fallback: once delivered, or when the fallback window ends)."""

    __tablename__ = "notifications"

    office_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("offices.id"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(default=False)
    status: Mapped[NotificationStatus] = mapped_column(
        String(10), default=NotificationStatus.pending
    )
    # The values a WhatsApp template is filled with, where the text alone is not enough (the
    # code, the PIN); wiped with the text.
    template_values: Mapped[list[Any] | None] = mapped_column(JSON)
    # The channel of the current or last attempt (whatsapp, http, console) and the id its
    # provider gave the message (WhatsApp's wamid), which delivery receipts are matched by.
    channel: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the current attempt was claimed (status sending); a claim older than the task's
    # time limit was lost with its worker and the sweep sends the message again.
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # WhatsApp's last delivery receipt (sent, delivered, read, failed) and its time.
    receipt: Mapped[str | None] = mapped_column(String(10))
    receipt_at: Mapped[datetime | None]
    # When WhatsApp failed and the message went to the SMS gateway instead (at most once).
    fallback_at: Mapped[datetime | None]
