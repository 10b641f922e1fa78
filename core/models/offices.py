from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UUIDPk


class Office(UUIDPk, Timestamped, Base):
    """A kelurahan or desa office: the tenant every other record belongs to."""

    __tablename__ = "offices"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="kelurahan")
    region_code: Mapped[str] = mapped_column(String(20), unique=True)
    district: Mapped[str] = mapped_column(String(80), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    province: Mapped[str] = mapped_column(String(80), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float]
    lng: Mapped[float]
    # {"mon": ["08:00", "15:00"], ...}; a missing day is closed.
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"001": ["001", "002", ...], ...}: RW number -> its RT numbers.
    rt_rw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phone: Mapped[str | None] = mapped_column(String(20))
    whatsapp: Mapped[str | None] = mapped_column(String(20))
    # The office's own sender on the WhatsApp Cloud API (Meta's phone number id); without it
    # messages go from the deployment's SIPOKE_WHATSAPP_PHONE_NUMBER_ID.
    whatsapp_phone_number_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Jakarta")
    is_active: Mapped[bool] = mapped_column(default=True)

    def has_rt_rw(self, rt: str, rw: str) -> bool:
        return rt in (self.rt_rw or {}).get(rw, [])
