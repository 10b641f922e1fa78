"""SQL shared by the delivery sub-packages: loading deliveries and attempts by id (with the
row lock that serializes concurrent workers), and the dialect-neutral insert-or-ignore."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload, selectinload

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


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_ignore(session: Session, model: type, values: dict[str, Any],
                  index_elements: list[str]) -> Any | None:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite: the new row's primary key,
    None when the row existed."""
    table = model.__table__  # type: ignore[attr-defined]
    stmt = (_insert(session)(table).values(**values)
            .on_conflict_do_nothing(index_elements=index_elements)
            .returning(*table.primary_key.columns))
    # Core-level execution with RETURNING: a skipped row returns nothing on every driver
    # (the ORM-level rowcount is not reliable for ON CONFLICT on psycopg).
    row = session.connection().execute(stmt).first()
    return None if row is None else row[0]


def insert_events_ignore(session: Session, rows: list[dict[str, Any]]
                         ) -> dict[tuple[str, str], int]:
    """Many tracking events in one statement, each stored once: the ids of the rows that were
    new, by (provider, provider_event_id). Every row must have the same keys."""
    if not rows:
        return {}
    table = TrackingEvent.__table__
    # One cached statement, executed with many parameter sets: SQLAlchemy sends them as
    # multi-row INSERTs ("insertmanyvalues") and gathers what RETURNING gave back.
    stmt = (_insert(session)(table)
            .on_conflict_do_nothing(index_elements=["provider", "provider_event_id"])
            .returning(table.c.provider, table.c.provider_event_id, table.c.id))
    return {(p, e): i for p, e, i in session.connection().execute(stmt, rows)}


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery | None:
        stmt = select(Delivery).where(Delivery.id == delivery_id)
        if lock:
            # A locked load is a step of a state change, which mostly needs the row only:
            # its quotes and attempts load when first used, not on every lock.
            stmt = stmt.with_for_update().options(lazyload(Delivery.quotes),
                                                  lazyload(Delivery.attempts))
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

    def take_pin_attempt(self, delivery_id: uuid.UUID, max_attempts: int) -> int | None:
        """Count a PIN try before the PIN is compared, in one conditional update (atomic on
        both databases, the row stays locked until commit); None when the PIN is locked,
        already verified, or out of tries."""
        stmt = (
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.pin_attempts < max_attempts,
                   Delivery.pin_locked_at.is_(None), Delivery.pin_verified_at.is_(None))
            .values(pin_attempts=Delivery.pin_attempts + 1)
            .returning(Delivery.pin_attempts)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(stmt).scalar()

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
        """Exceptions first: the flagged deliveries, latest alert first; then the others,
        oldest state change first. Two queries, each read in order from its partial index
        (``ix_deliveries_office_flagged``, ``ix_deliveries_office_unflagged``), so a page
        never sorts the office's whole history. Attempts come with the rows (one query)."""
        where = [Delivery.office_id == office_id]
        if states:
            where.append(Delivery.state.in_([str(s) for s in states]))
        flagged = [*where, Delivery.alert.is_not(None)]
        rows = self._page(self._flagged(*where), limit=limit, offset=offset)
        if len(rows) == limit:
            return rows
        # The page runs past the flagged ones: the others start where those end.
        skip = 0
        if not rows and offset:
            skip = offset - (self.session.scalar(
                select(func.count()).select_from(Delivery).where(*flagged)) or 0)
        others = (select(Delivery).where(*where, Delivery.alert.is_(None))
                  .order_by(Delivery.state_changed_at, Delivery.id))
        return rows + self._page(others, limit=limit - len(rows), offset=skip)

    def list_flagged(self, office_id: uuid.UUID, *, limit: int) -> list[Delivery]:
        """The office's flagged deliveries only, in ``list_office``'s order (latest alert
        first), read from ``ix_deliveries_office_flagged``."""
        return self._page(self._flagged(Delivery.office_id == office_id), limit=limit,
                          offset=0)

    @staticmethod
    def _flagged(*where: Any) -> Select[tuple[Delivery]]:
        return (select(Delivery).where(*where, Delivery.alert.is_not(None))
                .order_by(Delivery.alert_at.desc(), Delivery.state_changed_at, Delivery.id))

    def _page(self, stmt: Select[tuple[Delivery]], *, limit: int, offset: int
              ) -> list[Delivery]:
        # Lists show attempts, not quotes: quotes load only if something reads them.
        stmt = stmt.options(selectinload(Delivery.attempts), lazyload(Delivery.quotes))
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count_open_by_state(self, office_id: uuid.UUID) -> dict[str, int]:
        """The office's deliveries in each non-terminal state."""
        from delivery.states import TERMINAL

        return self._count_each([s for s in DeliveryState if s not in TERMINAL],
                                Delivery.office_id == office_id)

    def count_finished_since(self, office_id: uuid.UUID, since: datetime) -> dict[str, int]:
        """The office's deliveries that reached each terminal state at or after ``since``."""
        from delivery.states import TERMINAL

        return self._count_each([s for s in DeliveryState if s in TERMINAL],
                                Delivery.office_id == office_id,
                                Delivery.state_changed_at >= since)

    def _count_each(self, states: list[DeliveryState], *where: Any) -> dict[str, int]:
        """One count per state, all in one statement: each reads its own range of
        ``ix_deliveries_office_state_changed`` (cheaper than grouping the rows of all of
        them)."""
        counts = [select(func.count()).select_from(Delivery)
                  .where(*where, Delivery.state == str(state)).scalar_subquery()
                  for state in states]
        row = self.session.execute(select(*counts)).one()
        return {str(state): count for state, count in zip(states, row, strict=True)}

    def count_flagged(self, office_id: uuid.UUID) -> int:
        return self.session.scalar(
            select(func.count()).select_from(Delivery)
            .where(Delivery.office_id == office_id, Delivery.alert.is_not(None))) or 0

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

    def events_by_delivery(self, delivery_ids: Collection[uuid.UUID], *,
                           statuses: Iterable[str] | None = None
                           ) -> dict[uuid.UUID, list[TrackingEvent]]:
        """The tracking events of many deliveries in one query (only those in ``statuses``
        when given), grouped by delivery, each group in arrival order."""
        if not delivery_ids:
            return {}
        stmt = (select(TrackingEvent)
                .where(TrackingEvent.delivery_id.in_(list(delivery_ids)))
                .order_by(TrackingEvent.id))
        if statuses is not None:
            stmt = stmt.where(TrackingEvent.status.in_(list(statuses)))
        grouped: dict[uuid.UUID, list[TrackingEvent]] = {}
        for event in self.session.scalars(stmt):
            grouped.setdefault(event.delivery_id, []).append(event)  # type: ignore[arg-type]
        return grouped

    def handovers_for(self, delivery_id: uuid.UUID) -> list[HandoverRecord]:
        return list(self.session.scalars(
            select(HandoverRecord).where(HandoverRecord.delivery_id == delivery_id)
            .order_by(HandoverRecord.created_at)))

    def add_handover(self, record: HandoverRecord) -> HandoverRecord:
        self.session.add(record)
        self.session.flush()
        return record
