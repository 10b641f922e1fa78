"""The fleet's tables (registered in ``sipoke/models.py``); their names keep the ``inhouse_``
prefix the office's own couriers have always had."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UUIDPk, utcnow
from core.models.types import BigIntPk


class CourierProfile(UUIDPk, Timestamped, Base):
    """Duty state and last known position of one courier account."""

    __tablename__ = "inhouse_courier_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    on_duty: Mapped[bool] = mapped_column(default=False)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    position_at: Mapped[datetime | None]
    vehicle: Mapped[str] = mapped_column(String(20), default="motorcycle")
    plate: Mapped[str | None] = mapped_column(String(20))


class InhouseJob(UUIDPk, Timestamped, Base):
    """One delivery attempt given to our own couriers; ``reference`` is the delivery side's
    attempt reference (unique: booking twice returns this row)."""

    __tablename__ = "inhouse_jobs"
    __table_args__ = (Index("ix_inhouse_jobs_status_deadline", "status", "search_deadline"),)

    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    courier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    quote_id: Mapped[str] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(default=0)
    distance_m: Mapped[int] = mapped_column(default=0)
    pickup: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dropoff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    search_deadline: Mapped[datetime]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    proof_urls: Mapped[list[Any]] = mapped_column(default=list)
    last_lat: Mapped[float | None]
    last_lng: Mapped[float | None]


class OfferStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


class InhouseOffer(UUIDPk, Base):
    """A job offered to one courier until ``expires_at``; a courier is asked once per job."""

    __tablename__ = "inhouse_offers"
    __table_args__ = (
        UniqueConstraint("job_id", "courier_id"),
        Index("ix_inhouse_offers_status_expires", "status", "expires_at"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inhouse_jobs.id"), index=True)
    courier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.pending)
    distance_m: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]


class InhouseJobEvent(Base):
    """Status history of a job; ``event_id`` is the TrackingUpdate's provider event id."""

    __tablename__ = "inhouse_job_events"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inhouse_jobs.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
