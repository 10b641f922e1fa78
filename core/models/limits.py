from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AttemptCounter(Base):
    """How many attempts one key (a username, a client address, a phone, a pickup code) used
    in its current window. ``core.limits`` changes it only through one conditional upsert, so
    parallel requests can never take more slots than the limit."""

    __tablename__ = "attempt_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    used: Mapped[int]
    window_ends_at: Mapped[datetime] = mapped_column(index=True)
