"""SQL shared by the delivery sub-packages: loading deliveries and attempts by id (with the
row lock that serializes concurrent workers), and the dialect-neutral insert-or-ignore."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from delivery.models import (
    ACTIVE_ATTEMPT,
    Delivery,
    DeliveryAttempt,
    DeliveryQuote,
    DeliveryState,
    HandoverRecord,
    Leg,
    TrackingEvent,
)


def insert_ignore(session: Session, model: type, values: dict[str, Any],
                  index_elements: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; True when inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__  # type: ignore[attr-defined]
    stmt = (insert(table).values(**values).on_conflict_do_nothing(index_elements=index_elements)
            .returning(*table.primary_key.columns))
    # Core-level execution with RETURNING: a skipped row returns nothing on every driver
    # (the ORM-level rowcount is not reliable for ON CONFLICT on psycopg).
    return session.connection().execute(stmt).first() is not None


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery | None:
        stmt = select(Delivery).where(Delivery.id == delivery_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt.execution_options(populate_existing=True)).first()

    def add(self, delivery: Delivery) -> Delivery:
        self.session.add(delivery)
        self.session.flush()
        return delivery

    def open_for_request(self, request_id: uuid.UUID) -> Delivery | None:
        from delivery.states import TERMINAL

        stmt = (select(Delivery).where(Delivery.request_id == request_id,
                                       Delivery.state.not_in([str(s) for s in TERMINAL]))
                .order_by(Delivery.created_at.desc()))
        return self.session.scalars(stmt).first()

    def latest_for_request(self, request_id: uuid.UUID) -> Delivery | None:
        stmt = (select(Delivery).where(Delivery.request_id == request_id)
                .order_by(Delivery.created_at.desc()))
        return self.session.scalars(stmt).first()

    def by_token_hash(self, token_hash: str) -> Delivery | None:
        return self.session.scalars(
            select(Delivery).where(Delivery.envelope_token_hash == token_hash)).first()

    def in_states(self, states: Iterable[DeliveryState], *, changed_before: datetime,
                  limit: int = 200) -> list[Delivery]:
        stmt = (select(Delivery)
                .where(Delivery.state.in_([str(s) for s in states]),
                       Delivery.state_changed_at < changed_before)
                .order_by(Delivery.state_changed_at).limit(limit))
        return list(self.session.scalars(stmt))

    def list_office(self, office_id: uuid.UUID, *, states: list[DeliveryState] | None,
                    limit: int, offset: int) -> list[Delivery]:
        stmt = select(Delivery).where(Delivery.office_id == office_id)
        if states:
            stmt = stmt.where(Delivery.state.in_([str(s) for s in states]))
        # Exceptions first (flagged ones), then the oldest state change first.
        stmt = stmt.order_by(Delivery.alert.is_(None), Delivery.alert_at.desc(),
                             Delivery.state_changed_at).limit(limit).offset(offset)
        return list(self.session.scalars(stmt))

    def booked_between(self, office_id: uuid.UUID, start: datetime, end: datetime
                       ) -> list[Delivery]:
        """The office's deliveries with an outbound attempt booked in [start, end): the
        input of a period's cost report, however many deliveries came after it."""
        booked = select(DeliveryAttempt.delivery_id).where(
            DeliveryAttempt.leg == Leg.outbound, DeliveryAttempt.booked_at >= start,
            DeliveryAttempt.booked_at < end)
        stmt = (select(Delivery)
                .where(Delivery.office_id == office_id, Delivery.id.in_(booked))
                .order_by(Delivery.created_at))
        return list(self.session.scalars(stmt))

    def count_by_state(self) -> dict[str, int]:
        rows = self.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {str(state): count for state, count in rows}

    # --- attempts ----------------------------------------------------------------------

    def attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> DeliveryAttempt | None:
        stmt = select(DeliveryAttempt).where(DeliveryAttempt.id == attempt_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt.execution_options(populate_existing=True)).first()

    def active_attempt(self, delivery_id: uuid.UUID) -> DeliveryAttempt | None:
        return self.session.scalars(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == delivery_id,
            DeliveryAttempt.status.in_([str(s) for s in ACTIVE_ATTEMPT]))).first()

    def latest_attempt(self, delivery_id: uuid.UUID, leg: Leg = Leg.outbound
                       ) -> DeliveryAttempt | None:
        return self.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.leg == leg)
            .order_by(DeliveryAttempt.created_at.desc())).first()

    def attempt_for_order(self, provider: str, provider_order_id: str | None,
                          reference: str | None) -> DeliveryAttempt | None:
        """Events are matched by provider AND its order id (or our reference): an event can
        only ever touch an attempt of the provider that sent it."""
        if provider_order_id:
            found = self.session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.provider == provider,
                DeliveryAttempt.provider_order_id == provider_order_id)).first()
            if found is not None:
                return found
        if reference:
            return self.session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.provider == provider,
                DeliveryAttempt.reference == reference)).first()
        return None

    def attempts_in(self, statuses: Iterable[str], *, updated_before: datetime,
                    limit: int = 200) -> list[DeliveryAttempt]:
        stmt = (select(DeliveryAttempt)
                .where(DeliveryAttempt.status.in_(list(statuses)),
                       DeliveryAttempt.updated_at < updated_before)
                .order_by(DeliveryAttempt.updated_at).limit(limit))
        return list(self.session.scalars(stmt))

    def quote(self, quote_id: uuid.UUID) -> DeliveryQuote | None:
        return self.session.get(DeliveryQuote, quote_id)

    # --- events and handovers ------------------------------------------------------------

    def events_for(self, delivery_id: uuid.UUID) -> list[TrackingEvent]:
        return list(self.session.scalars(
            select(TrackingEvent).where(TrackingEvent.delivery_id == delivery_id)
            .order_by(TrackingEvent.id)))

    def handovers_for(self, delivery_id: uuid.UUID) -> list[HandoverRecord]:
        return list(self.session.scalars(
            select(HandoverRecord).where(HandoverRecord.delivery_id == delivery_id)
            .order_by(HandoverRecord.created_at)))

    def add_handover(self, record: HandoverRecord) -> HandoverRecord:
        self.session.add(record)
        self.session.flush()
        return record
