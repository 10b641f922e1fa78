"""Delivery tables: one delivery per home handover, its provider attempts, quotes, tracking
events, handover records, per-office policy and the per-provider circuit breaker.

Registered in ``sipoke/models.py`` after the core models.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UUIDPk, utcnow
from core.models.types import BigIntPk


class DeliveryState(StrEnum):
    quoting = "quoting"
    awaiting_choice = "awaiting_choice"
    booking = "booking"
    searching_courier = "searching_courier"
    courier_assigned = "courier_assigned"
    picked_up = "picked_up"
    in_transit = "in_transit"
    delivered = "delivered"
    returning_originals = "returning_originals"
    originals_received = "originals_received"
    completed = "completed"
    # Failure paths
    returning = "returning"  # drop-off failed, the envelope travels back
    returned_to_office = "returned_to_office"
    pickup_offered = "pickup_offered"  # no provider within the time budget
    cancelled = "cancelled"


class AttemptStatus(StrEnum):
    pending = "pending"  # reference stored, provider not (yet) answered
    unknown = "unknown"  # a call may have reached the provider: the order may exist
    active = "active"  # the provider has the order
    done = "done"  # the provider finished (delivered or returned)
    failed = "failed"  # refused, no courier, or given up
    cancelled = "cancelled"


ACTIVE_ATTEMPT = (AttemptStatus.pending, AttemptStatus.unknown, AttemptStatus.active)
_ACTIVE_SQL = "status IN ('pending', 'unknown', 'active')"
_FLAGGED_SQL = "alert IS NOT NULL"
_UNFLAGGED_SQL = "alert IS NULL"


class Leg(StrEnum):
    outbound = "outbound"  # office -> resident
    originals = "originals"  # resident -> office, carrying the originals back


class Delivery(UUIDPk, Timestamped, Base):
    """A home handover of one finished document. ``state`` changes only through
    ``delivery.states.set_state``, which audits it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The operator's counts: open deliveries by state, finished ones in a recent window
        # (index-only scans), and the list filtered by state.
        Index("ix_deliveries_office_state_changed", "office_id", "state", "state_changed_at"),
        # The operator's list: flagged deliveries first (few), then the others in order of
        # their last state change; two partial indexes, so neither needs a sort of the
        # office's deliveries. The first one also counts the flagged.
        Index("ix_deliveries_office_flagged", "office_id", "alert_at",
              postgresql_where=text(_FLAGGED_SQL), sqlite_where=text(_FLAGGED_SQL)),
        Index("ix_deliveries_office_unflagged", "office_id", "state_changed_at", "id",
              postgresql_where=text(_UNFLAGGED_SQL), sqlite_where=text(_UNFLAGGED_SQL)),
    )

    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_requests.id"),
                                                  index=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[DeliveryState] = mapped_column(String(30), default=DeliveryState.quoting)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Drop-off: only what a courier needs (docs/architecture.md rule 8).
    recipient_name: Mapped[str] = mapped_column(String(120))
    recipient_phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text)
    lat: Mapped[float]
    lng: Mapped[float]
    note: Mapped[str | None] = mapped_column(Text)
    distance_m: Mapped[int | None]
    # Originals the courier collects at the door ([{code, name}]); empty: none.
    originals: Mapped[list[Any]] = mapped_column(default=list)
    originals_collected: Mapped[list[Any]] = mapped_column(default=list)
    # Choice and money (integer rupiah)
    choice_policy: Mapped[str] = mapped_column(String(20), default="resident")
    # No foreign key: quotes already point at their delivery, and a cycle would make the two
    # tables impossible to empty or drop in one order.
    chosen_quote_id: Mapped[uuid.UUID | None]
    price: Mapped[int | None]
    subsidy: Mapped[int] = mapped_column(default=0)
    # Failover: providers that failed this delivery; the deadline of the time budget.
    excluded_providers: Mapped[list[Any]] = mapped_column(default=list)
    auto_choose: Mapped[bool] = mapped_column(default=False)
    budget_deadline: Mapped[datetime]
    quote_errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Safe handover
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    pin_attempts: Mapped[int] = mapped_column(default=0)
    pin_locked_at: Mapped[datetime | None]
    pin_verified_at: Mapped[datetime | None]
    # An operator's recorded decision to close the handover without the PIN (with a reason).
    pin_waived_at: Mapped[datetime | None]
    envelope_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Operator alerts: the latest exception (stuck, late_pickup, late_delivery, no_courier,
    # failed, returned, pin_locked, delivered_without_pin, originals_arrived, booking_unknown).
    alert: Mapped[str | None] = mapped_column(String(30))
    alert_at: Mapped[datetime | None]

    quotes: Mapped[list[DeliveryQuote]] = relationship(
        back_populates="delivery", foreign_keys="DeliveryQuote.delivery_id",
        order_by="DeliveryQuote.created_at", lazy="selectin")
    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.created_at", lazy="selectin")


class DeliveryQuote(UUIDPk, Base):
    __tablename__ = "delivery_quotes"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"))
    round: Mapped[int] = mapped_column(default=1)
    provider: Mapped[str] = mapped_column(String(40))
    provider_quote_id: Mapped[str] = mapped_column(String(120))
    price: Mapped[int]
    subsidy: Mapped[int] = mapped_column(default=0)
    resident_pays: Mapped[int]
    vehicle: Mapped[str] = mapped_column(String(20), default="motorcycle")
    distance_m: Mapped[int | None]
    pickup_eta_s: Mapped[int | None]
    dropoff_eta_s: Mapped[int | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    delivery: Mapped[Delivery] = relationship(back_populates="quotes",
                                              foreign_keys=[delivery_id])

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class DeliveryAttempt(UUIDPk, Timestamped, Base):
    """One provider booking. ``reference`` is written and committed BEFORE the provider is
    called; it is the provider's idempotency key / client reference. At most one attempt of a
    delivery is active at a time (partial unique index: the last guard against a double
    booking)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("uq_delivery_attempts_one_active", "delivery_id", unique=True,
              postgresql_where=text(_ACTIVE_SQL), sqlite_where=text(_ACTIVE_SQL)),
        UniqueConstraint("provider", "provider_order_id"),
        Index("ix_delivery_attempts_status_polled", "status", "last_update_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    leg: Mapped[Leg] = mapped_column(String(12), default=Leg.outbound)
    provider: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("delivery_quotes.id"))
    status: Mapped[AttemptStatus] = mapped_column(String(12), default=AttemptStatus.pending)
    provider_order_id: Mapped[str | None] = mapped_column(String(120))
    provider_status: Mapped[str | None] = mapped_column(String(30))
    raw_status: Mapped[str | None] = mapped_column(String(60))
    price: Mapped[int | None]
    tracking_url: Mapped[str | None] = mapped_column(Text)
    courier: Mapped[dict[str, Any]] = mapped_column(default=dict)
    calls: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    booked_at: Mapped[datetime | None]
    last_update_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    delivery: Mapped[Delivery] = relationship(back_populates="attempts")


class EventOutcome(StrEnum):
    pending = "pending"
    applied = "applied"
    stale = "stale"  # stored, not applied (older rank, repeat, after a terminal status)
    unmatched = "unmatched"  # no attempt (yet) for this order
    ignored = "ignored"  # an event type we do not track


class TrackingEvent(Base):
    """A raw provider event, stored once (unique per provider event id), applied later."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id"),
        Index("ix_tracking_events_outcome_received", "outcome", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_event_id: Mapped[str] = mapped_column(String(120))
    provider_order_id: Mapped[str | None] = mapped_column(String(120), index=True)
    reference: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10), default="webhook")
    status: Mapped[str | None] = mapped_column(String(30))
    raw_status: Mapped[str | None] = mapped_column(String(60))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the normalized update
    body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[EventOutcome] = mapped_column(String(10), default=EventOutcome.pending)
    applied: Mapped[bool] = mapped_column(default=False)
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("delivery_attempts.id"))
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deliveries.id"),
                                                          index=True)
    office_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("offices.id"))
    apply_tries: Mapped[int] = mapped_column(default=0)


class HandoverKind(StrEnum):
    office_to_courier = "office_to_courier"
    courier_to_resident = "courier_to_resident"
    originals_collected = "originals_collected"
    photo = "photo"
    back_to_office = "back_to_office"


class HandoverRecord(UUIDPk, Base):
    """Each hand-to-hand step of the envelope (and of the originals)."""

    __tablename__ = "handover_records"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"))
    kind: Mapped[HandoverKind] = mapped_column(String(24))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    courier_name: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    photo_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryPolicy(Base):
    """Per-office delivery settings; a missing row or a null field means the deployment
    default (``delivery.policy.DEFAULTS`` overridden by ``SIPOKE_DELIVERY__*``)."""

    __tablename__ = "delivery_policies"

    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CircuitState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class ProviderCircuit(Base):
    """Per-provider circuit breaker, in the database so every process shares it."""

    __tablename__ = "provider_circuits"

    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[CircuitState] = mapped_column(String(10), default=CircuitState.closed)
    failures: Mapped[int] = mapped_column(default=0)
    total_failures: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime | None]
    # Nobody calls before this (open circuit, or a provider's Retry-After).
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
