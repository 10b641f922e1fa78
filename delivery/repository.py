"""SQL shared by the delivery sub-packages: loading deliveries and attempts by id (with the
row lock that serializes concurrent workers), and the dialect-neutral insert-or-ignore."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    Select,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from core.models import Office
from delivery.models import (
    ACTIVE_ATTEMPT,
    AttemptStatus,
    CircuitState,
    Delivery,
    DeliveryAttempt,
    DeliveryQuote,
    DeliveryState,
    HandoverRecord,
    Leg,
    ProviderCircuit,
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


# The columns of a stored event (``tracking.service.event_row``) and their PostgreSQL types.
_EVENT_COLUMNS: dict[str, str] = {
    "provider": "varchar", "provider_event_id": "varchar", "provider_order_id": "varchar",
    "reference": "varchar", "source": "varchar", "status": "varchar", "raw_status": "varchar",
    "occurred_at": "timestamptz", "received_at": "timestamptz", "data": "json",
    "body": "text", "headers": "json", "outcome": "varchar", "applied": "boolean",
    "apply_tries": "integer"}
# One statement text whatever the batch size, its rows in ONE parameter: a JSON array of
# row objects (orjson, in C), unpacked by PostgreSQL's ``json_to_recordset``. One array per
# column (``unnest``) cost more than the rest of the write: psycopg escapes every element of
# a text array in Python, one regex substitution per quote of each raw body and JSON column.
_PG_INSERT_EVENTS = (  # the columns of _EVENT_COLUMNS, in its order (a test checks)
    "INSERT INTO tracking_events (provider, provider_event_id, provider_order_id, "
    "reference, source, status, raw_status, occurred_at, received_at, data, body, "
    "headers, outcome, applied, apply_tries) SELECT provider, provider_event_id, "
    "provider_order_id, reference, source, status, raw_status, occurred_at, received_at, "
    "data, body, headers, outcome, applied, apply_tries "
    "FROM json_to_recordset(%(rows)s::json) AS r(provider varchar, "
    "provider_event_id varchar, provider_order_id varchar, reference varchar, "
    "source varchar, status varchar, raw_status varchar, occurred_at timestamptz, "
    "received_at timestamptz, data json, body text, headers json, outcome varchar, "
    "applied boolean, apply_tries integer) ON CONFLICT (provider, provider_event_id) "
    "DO NOTHING RETURNING provider, provider_event_id, id")


def insert_events_ignore(session: Session, rows: list[dict[str, Any]]
                         ) -> dict[tuple[str, str], int]:
    """Many tracking events in one statement, each stored once: the ids of the rows that were
    new, by (provider, provider_event_id). Every row has the keys of ``_EVENT_COLUMNS``."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        payload = orjson.dumps([{column: row[column] for column in _EVENT_COLUMNS}
                                for row in rows], option=orjson.OPT_NON_STR_KEYS)
        result = session.connection().exec_driver_sql(_PG_INSERT_EVENTS,
                                                      {"rows": payload.decode()})
        return {(p, e): i for p, e, i in result}
    table = TrackingEvent.__table__
    # SQLite: one cached statement, executed with many parameter sets, which SQLAlchemy sends
    # as multi-row INSERTs ("insertmanyvalues") and gathers what RETURNING gave back.
    stmt = (_insert(session)(table)
            .on_conflict_do_nothing(index_elements=["provider", "provider_event_id"])
            .returning(table.c.provider, table.c.provider_event_id, table.c.id))
    return {(p, e): i for p, e, i in session.connection().execute(stmt, rows)}


_OUTCOMES_FROM_ARRAYS = text(
    "UPDATE tracking_events AS t SET outcome = v.outcome, applied = v.applied,"
    " attempt_id = v.attempt_id, delivery_id = v.delivery_id, office_id = v.office_id"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:outcomes AS text[]),"
    " CAST(:applied AS boolean[]), CAST(:attempts AS uuid[]), CAST(:deliveries AS uuid[]),"
    " CAST(:offices AS uuid[])) AS v(id, outcome, applied, attempt_id, delivery_id, office_id)"
    " WHERE t.id = v.id")


_TOUCH_FROM_ARRAYS = text(
    "UPDATE delivery_attempts AS a SET last_update_at = :now, updated_at = :now,"
    " provider_order_id = v.provider_order_id, tracking_url = v.tracking_url"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:orders AS text[]), CAST(:urls AS text[]))"
    " AS v(id, provider_order_id, tracking_url) WHERE a.id = v.id")


def _one_of(session: Session, column: Any, values: Collection[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one statement text
    whatever the number of values (SQLAlchemy and psycopg cache it, PostgreSQL can prepare
    it) instead of a new text, parsed again, for every length of the list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


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

    def lock_with_collections(self, delivery_id: uuid.UUID) -> Delivery | None:
        """The delivery locked, its quotes and attempts loaded in the same statement (joined;
        only the delivery's row is locked): the resident's choice reads both, the quotes to
        find the chosen one and the attempts for its answer, in one round trip instead of
        three."""
        stmt = (select(Delivery).where(Delivery.id == delivery_id)
                .options(joinedload(Delivery.quotes), joinedload(Delivery.attempts))
                .with_for_update(of=Delivery.__table__)
                .execution_options(populate_existing=True))
        # Every joined row is read (not first()): the collections are built from all of them.
        return self.session.scalars(stmt).unique().one_or_none()

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

    def lock_with_delivery(self, attempt_id: uuid.UUID
                           ) -> tuple[Delivery, DeliveryAttempt] | None:
        """An attempt and its delivery, both locked in the house order (the delivery, then
        the attempt), in two statements: the delivery is found through the attempt by a
        subquery instead of loading the attempt twice."""
        delivery = self.session.scalars(
            select(Delivery)
            .where(Delivery.id == select(DeliveryAttempt.delivery_id)
                   .where(DeliveryAttempt.id == attempt_id).scalar_subquery())
            .with_for_update()
            .options(lazyload(Delivery.quotes), lazyload(Delivery.attempts))
            .execution_options(populate_existing=True)).first()
        if delivery is None:
            return None
        attempt = self.attempt(attempt_id, lock=True)
        return None if attempt is None else (delivery, attempt)

    def lock_for_booking(self, attempt_id: uuid.UUID
                         ) -> tuple[Delivery, DeliveryAttempt, Office, DeliveryQuote | None,
                                    ProviderCircuit | None] | None:
        """What a booking step needs, in ONE statement: the delivery and the attempt, both
        locked in the house order (``FOR UPDATE OF`` locks the delivery's row, then the
        attempt's), with the office, the chosen quote and the provider's circuit row (read,
        not locked; None before the provider's first call). The booking task's two units of
        work each start with it instead of four to five round trips."""
        stmt = (select(Delivery, DeliveryAttempt, Office, DeliveryQuote, ProviderCircuit)
                .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
                .join(Office, Office.id == Delivery.office_id)
                .outerjoin(DeliveryQuote, DeliveryQuote.id == DeliveryAttempt.quote_id)
                .outerjoin(ProviderCircuit, ProviderCircuit.provider == DeliveryAttempt.provider)
                .where(DeliveryAttempt.id == attempt_id)
                .with_for_update(of=[Delivery.__table__, DeliveryAttempt.__table__])
                .options(lazyload(Delivery.quotes), lazyload(Delivery.attempts))
                .execution_options(populate_existing=True))
        row = self.session.execute(stmt).first()
        if row is None:
            return None
        delivery, attempt, office, quote, circuit = row
        return delivery, attempt, office, quote, circuit

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

    def searching_outbound(self) -> list[tuple[DeliveryAttempt, Delivery]]:
        """Active outbound attempts of deliveries still looking for a courier (the
        no-courier watchdog)."""
        return [(a, d) for a, d in self.session.execute(
            select(DeliveryAttempt, Delivery)
            .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
            .where(DeliveryAttempt.status == AttemptStatus.active,
                   DeliveryAttempt.leg == Leg.outbound,
                   Delivery.state.in_([str(DeliveryState.booking),
                                       str(DeliveryState.searching_courier)])))]

    def quiet_attempts(self, *, quiet_since: datetime, now: datetime, limit: int
                       ) -> list[uuid.UUID]:
        """Active provider orders not heard of since ``quiet_since`` whose poll is due,
        the longest quiet first."""
        return list(self.session.scalars(
            select(DeliveryAttempt.id).where(
                DeliveryAttempt.status == AttemptStatus.active,
                DeliveryAttempt.provider_order_id.is_not(None),
                or_(DeliveryAttempt.last_update_at.is_(None),
                    DeliveryAttempt.last_update_at < quiet_since),
                or_(DeliveryAttempt.next_poll_at.is_(None), DeliveryAttempt.next_poll_at <= now))
            .order_by(DeliveryAttempt.last_update_at).limit(limit)))

    def claim_poll(self, attempt_id: uuid.UUID, *, now: datetime, next_poll_at: datetime
                   ) -> bool:
        """Move the attempt's next poll forward if it is due (one conditional update): two
        beat runs never poll the same attempt twice."""
        return bool(self.session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.id == attempt_id,
                   or_(DeliveryAttempt.next_poll_at.is_(None),
                       DeliveryAttempt.next_poll_at <= now))
            .values(next_poll_at=next_poll_at)).rowcount)

    def count_by_state(self) -> list[tuple[str, int]]:
        return [(str(state), int(count)) for state, count in self.session.execute(
            select(Delivery.state, func.count()).group_by(Delivery.state))]

    def last_quote_round(self, delivery_id: uuid.UUID) -> int:
        """The number of the delivery's latest round of quotes, 0 before the first."""
        return int(self.session.scalar(select(func.max(DeliveryQuote.round))
                                       .where(DeliveryQuote.delivery_id == delivery_id)) or 0)

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

    def events_to_retry(self, *, received_before: datetime, received_after: datetime,
                        max_tries: int, limit: int) -> list[int]:
        return list(self.session.scalars(
            select(TrackingEvent.id).where(
                TrackingEvent.outcome.in_(["pending", "unmatched"]),
                TrackingEvent.received_at < received_before,
                TrackingEvent.received_at > received_after,
                TrackingEvent.apply_tries < max_tries)
            .order_by(TrackingEvent.id).limit(limit)))

    def forget_raw_bodies(self, *, received_before: datetime) -> int:
        result = self.session.execute(
            update(TrackingEvent)
            .where(TrackingEvent.received_at < received_before, TrackingEvent.body != "")
            .values(body="", headers={}))
        return result.rowcount or 0

    def count_apply_try(self, event_id: int) -> None:
        self.session.execute(update(TrackingEvent).where(TrackingEvent.id == event_id)
                             .values(apply_tries=TrackingEvent.apply_tries + 1)
                             .execution_options(synchronize_session=False))

    def waiting_events(self, event_ids: Collection[int]) -> list[Row]:
        """The events among ``event_ids`` still waiting to be applied, as rows of (id,
        provider, provider_order_id, reference, data), in arrival order (not locked: see
        ``lock_waiting_event_ids``)."""
        t = TrackingEvent.__table__
        stmt = (select(t.c.id, t.c.provider, t.c.provider_order_id, t.c.reference, t.c.data)
                .where(_one_of(self.session, t.c.id, event_ids),
                       t.c.outcome.in_(["pending", "unmatched"]))
                .order_by(t.c.id))
        return list(self.session.connection().execute(stmt))

    def lock_waiting_event_ids(self, event_ids: Collection[int]) -> list[int]:
        """The ids of ``event_ids`` still waiting, locked (after their deliveries' and
        attempts'), in id order; their data was read by ``waiting_events``."""
        t = TrackingEvent.__table__
        stmt = (select(t.c.id)
                .where(_one_of(self.session, t.c.id, event_ids),
                       t.c.outcome.in_(["pending", "unmatched"]))
                .order_by(t.c.id).with_for_update())
        return list(self.session.connection().execute(stmt).scalars())

    def attempt_ids_for_orders(self, by_order: Collection[tuple[str, str]],
                               by_reference: Collection[tuple[str, str]]
                               ) -> tuple[dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]],
                                          dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]]]:
        """``attempt_for_order`` for many events at once, as (attempt id, delivery id) pairs
        by (provider, its order id) and by (provider, our reference): two queries at most."""
        a = DeliveryAttempt.__table__
        orders: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]] = {}
        references: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]] = {}
        connection = self.session.connection()
        # By each column's values (one statement text on PostgreSQL), the pairs kept exactly.
        if by_order:
            for provider, order_id, attempt_id, delivery_id in connection.execute(
                    select(a.c.provider, a.c.provider_order_id, a.c.id, a.c.delivery_id)
                    .where(_one_of(self.session, a.c.provider_order_id,
                                   {o for _, o in by_order}),
                           _one_of(self.session, a.c.provider, {p for p, _ in by_order}))):
                if (provider, order_id) in by_order:
                    orders[(provider, order_id)] = (attempt_id, delivery_id)
        if by_reference:
            for provider, reference, attempt_id, delivery_id in connection.execute(
                    select(a.c.provider, a.c.reference, a.c.id, a.c.delivery_id)
                    .where(_one_of(self.session, a.c.reference, {r for _, r in by_reference}),
                           _one_of(self.session, a.c.provider, {p for p, _ in by_reference}))):
                if (provider, reference) in by_reference:
                    references[(provider, reference)] = (attempt_id, delivery_id)
        return orders, references

    def record_event_outcomes(self, outcomes: list[dict[str, Any]],
                              unmatched: Collection[int]) -> None:
        """The set-wise apply's results in two statements: each applied or stale event with
        its outcome and the attempt, delivery and office it belongs to (``outcomes``: dicts
        of ``e_id, e_outcome, e_applied, e_attempt, e_delivery, e_office``), and one more
        try counted for each event that matched no attempt."""
        t = TrackingEvent.__table__
        connection = self.session.connection()
        if outcomes and connection.dialect.name == "postgresql":
            # One statement over arrays instead of one per event (executemany).
            connection.execute(_OUTCOMES_FROM_ARRAYS, {
                "ids": [o["e_id"] for o in outcomes],
                "outcomes": [o["e_outcome"] for o in outcomes],
                "applied": [o["e_applied"] for o in outcomes],
                "attempts": [o["e_attempt"] for o in outcomes],
                "deliveries": [o["e_delivery"] for o in outcomes],
                "offices": [o["e_office"] for o in outcomes]})
        elif outcomes:
            connection.execute(
                update(t).where(t.c.id == bindparam("e_id")).values(
                    outcome=bindparam("e_outcome"), applied=bindparam("e_applied"),
                    attempt_id=bindparam("e_attempt"), delivery_id=bindparam("e_delivery"),
                    office_id=bindparam("e_office")),
                outcomes)
        if unmatched:
            connection.execute(update(t).where(t.c.id.in_(list(unmatched))).values(
                outcome="unmatched", apply_tries=t.c.apply_tries + 1))

    def lock_delivery_rows(self, delivery_ids: Collection[uuid.UUID]
                           ) -> dict[uuid.UUID, uuid.UUID]:
        """Many deliveries locked in one statement, in id order (so two batches never wait
        on each other in a cycle; deliveries before their attempts, as everywhere), each
        delivery's office by its id. The set-wise apply loads as objects only the deliveries
        an event may move (``load_deliveries``); a stale event needs the lock, not the row."""
        d = Delivery.__table__
        if not delivery_ids:
            return {}
        stmt = (select(d.c.id, d.c.office_id).where(_one_of(self.session, d.c.id, delivery_ids))
                .order_by(d.c.id).with_for_update())
        return dict(iter(self.session.connection().execute(stmt)))  # rows, not .keys()

    def load_deliveries(self, delivery_ids: Collection[uuid.UUID]
                        ) -> dict[uuid.UUID, Delivery]:
        """Deliveries as objects, for rows this transaction has locked already."""
        if not delivery_ids:
            return {}
        stmt = (select(Delivery).where(_one_of(self.session, Delivery.id, delivery_ids))
                .options(lazyload(Delivery.quotes), lazyload(Delivery.attempts))
                .execution_options(populate_existing=True))
        return {d.id: d for d in self.session.scalars(stmt)}

    def lock_attempt_rows(self, attempt_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Row]:
        """Attempts locked in id order (after their deliveries), as rows of (id, delivery_id,
        provider_status, provider_order_id, tracking_url)."""
        a = DeliveryAttempt.__table__
        if not attempt_ids:
            return {}
        stmt = (select(a.c.id, a.c.delivery_id, a.c.provider_status, a.c.provider_order_id,
                       a.c.tracking_url)
                .where(_one_of(self.session, a.c.id, attempt_ids)).order_by(a.c.id)
                .with_for_update())
        return {row.id: row for row in self.session.connection().execute(stmt)}

    def load_attempts(self, attempt_ids: Collection[uuid.UUID]
                      ) -> dict[uuid.UUID, DeliveryAttempt]:
        """Attempts as objects, for rows this transaction has locked already."""
        if not attempt_ids:
            return {}
        stmt = (select(DeliveryAttempt)
                .where(_one_of(self.session, DeliveryAttempt.id, attempt_ids))
                .execution_options(populate_existing=True))
        return {a.id: a for a in self.session.scalars(stmt)}

    def touch_attempts(self, touches: list[dict[str, Any]]) -> None:
        """What stale events do to their (locked) attempts, one statement for all: dicts of
        ``a_id, a_order, a_url, a_now`` (one ``a_now`` for all; ``updated_at`` set too, as
        the ORM's ``onupdate`` would)."""
        if not touches:
            return
        a = DeliveryAttempt.__table__
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":  # one statement over arrays
            connection.execute(_TOUCH_FROM_ARRAYS, {
                "ids": [t["a_id"] for t in touches],
                "orders": [t["a_order"] for t in touches],
                "urls": [t["a_url"] for t in touches], "now": touches[0]["a_now"]})
            return
        now = bindparam("a_now", type_=a.c.last_update_at.type)
        connection.execute(
            update(a).where(a.c.id == bindparam("a_id")).values(
                last_update_at=now, updated_at=now,
                provider_order_id=bindparam("a_order", type_=a.c.provider_order_id.type),
                tracking_url=bindparam("a_url", type_=a.c.tracking_url.type)),
            touches)

    def handovers_for(self, delivery_id: uuid.UUID) -> list[HandoverRecord]:
        return list(self.session.scalars(
            select(HandoverRecord).where(HandoverRecord.delivery_id == delivery_id)
            .order_by(HandoverRecord.created_at)))

    def add_handover(self, record: HandoverRecord) -> HandoverRecord:
        self.session.add(record)
        self.session.flush()
        return record


class CircuitRepository:
    """The providers' circuit rows (``delivery.breaker``), shared by every process."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, provider: str, *, lock: bool = False) -> ProviderCircuit | None:
        stmt = select(ProviderCircuit).where(ProviderCircuit.provider == provider)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt.execution_options(populate_existing=True)).first()

    def create(self, provider: str, now: datetime) -> None:
        """The provider's first row, once across processes."""
        insert_ignore(self.session, ProviderCircuit,
                      {"provider": provider, "state": "closed", "failures": 0,
                       "total_failures": 0, "updated_at": now}, ["provider"])

    def claim_probe(self, row: ProviderCircuit, *, now: datetime, until: datetime) -> bool:
        """Half-open the circuit if nobody changed it since ``row`` was read: exactly one
        caller wins the probe."""
        claimed = self.session.execute(
            update(ProviderCircuit)
            .where(ProviderCircuit.provider == row.provider, ProviderCircuit.state == row.state,
                   ProviderCircuit.retry_at.is_(None) if row.retry_at is None
                   else ProviderCircuit.retry_at == row.retry_at)
            .values(state=CircuitState.half_open, retry_at=until, updated_at=now)).rowcount
        self.session.expire(row)
        return bool(claimed)

    def close(self, provider: str, now: datetime) -> None:
        """Close the circuit and forget its failures; a closed circuit without failures is
        not written at all (a write would take the row lock until commit)."""
        self.session.execute(
            update(ProviderCircuit)
            .where(ProviderCircuit.provider == provider,
                   or_(ProviderCircuit.state != CircuitState.closed,
                       ProviderCircuit.failures > 0))
            .values(state=CircuitState.closed, failures=0, opened_at=None, retry_at=None,
                    updated_at=now)
            .execution_options(synchronize_session=False))

    def all(self) -> list[ProviderCircuit]:
        return list(self.session.scalars(select(ProviderCircuit)
                                         .order_by(ProviderCircuit.provider)))
