from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UUIDPk, utcnow


class NotificationStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(UUIDPk, Base):
    """A message to a person (WhatsApp/SMS). Sensitive texts (codes) are wiped once sent."""

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
    channel: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
