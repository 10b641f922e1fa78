"""Storing provider events once and applying them monotonically.

* :func:`store_update` inserts the raw event with ``ON CONFLICT DO NOTHING`` on
  (provider, provider_event_id): a repeat is recognised by the database, across replicas.
* :func:`apply_event` (the ``tracking.apply`` task) matches the event to an attempt by the
  SAME provider and its order id or our reference - never by anything the payload could use
  to reach another office's delivery - then applies it with ``providers.status.should_apply``:
  a lower rank, a repeat, or anything after a terminal status is kept as ``stale``.
* Locks: the delivery row first, then the attempt row, everywhere, so two appliers of the
  same delivery serialize instead of deadlocking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import unit_of_work, utcnow
from delivery.flow import on_provider_status
from delivery.handover.service import ensure_courier_may_report_delivered
from delivery.models import Delivery, DeliveryAttempt, EventOutcome, Leg, TrackingEvent
from delivery.repository import DeliveryRepository, insert_ignore
from providers.status import DeliveryStatus, should_apply
from providers.types import TrackingUpdate

log = logging.getLogger("sipoke.delivery")

APPLY_TASK = "tracking.apply"
APPLY_BATCH_TASK = "tracking.apply_batch"
# Headers worth keeping with the raw body (never credentials).
KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")
MAX_APPLY_TRIES = 30


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    keep = {}
    for key, value in headers.items():
        low = key.lower()
        if low in KEPT_HEADERS or (low.endswith(("-event-id", "-timestamp", "-event"))):
            keep[low] = value[:200]
    return keep


def event_row(provider: str, provider_event_id: str, update: TrackingUpdate | None, *,
              source: str, body: str = "", headers: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """The ``tracking_events`` row of one provider event; without an update, a verified
    event we do not track (kept for the record, never applied)."""
    row: dict[str, Any] = {
        "provider": provider, "provider_event_id": provider_event_id[:120],
        "provider_order_id": None, "reference": None, "source": source, "status": None,
        "raw_status": None, "occurred_at": None, "received_at": utcnow(), "data": {},
        "body": body, "headers": headers or {}, "outcome": str(EventOutcome.ignored),
        "applied": False, "apply_tries": 0,
    }
    if update is not None:
        row.update({
            "provider_order_id": update.provider_order_id, "reference": update.reference,
            "status": str(update.status), "raw_status": update.raw_status[:60],
            "occurred_at": update.occurred_at, "data": update.model_dump(mode="json"),
            "outcome": str(EventOutcome.pending)})
    return row


def store_update(session: Session, update: TrackingUpdate, *, source: str, body: str = "",
                 headers: dict[str, Any] | None = None) -> TrackingEvent | None:
    """Store the event once; None when this provider event was stored before."""
    row = event_row(update.provider, update.provider_event_id, update, source=source,
                    body=body, headers=headers)
    event_id = insert_ignore(session, TrackingEvent, row, ["provider", "provider_event_id"])
    if event_id is None:
        return None
    return session.get(TrackingEvent, event_id)


def apply_update(session: Session, delivery: Delivery, attempt: DeliveryAttempt,
                 update: TrackingUpdate) -> EventOutcome:
    """Apply one update to a LOCKED delivery and attempt. Idempotent and order-insensitive."""
    now = utcnow()
    attempt.last_update_at = now
    if attempt.provider_order_id is None:
        attempt.provider_order_id = update.provider_order_id
    current = DeliveryStatus(attempt.provider_status) if attempt.provider_status else None
    if update.tracking_url:
        attempt.tracking_url = update.tracking_url
    if not should_apply(current, update.status):
        return EventOutcome.stale
    if update.courier is not None:
        attempt.courier = update.courier.model_dump(mode="json", exclude_none=True)
    attempt.provider_status = str(update.status)
    attempt.raw_status = update.raw_status[:60]
    on_provider_status(session, delivery, attempt, update.status,
                       reason=update.failure_reason)
    return EventOutcome.applied


def apply_event(session: Session, event_id: int) -> str:
    event = session.get(TrackingEvent, event_id)
    if event is None or event.outcome not in (EventOutcome.pending, EventOutcome.unmatched):
        return "skipped"
    repo = DeliveryRepository(session)
    found = repo.attempt_for_order(event.provider, event.provider_order_id, event.reference)
    if found is None:
        event.outcome = EventOutcome.unmatched
        event.apply_tries += 1
        return "unmatched"
    delivery = repo.get(found.delivery_id, lock=True)
    attempt = repo.attempt(found.id, lock=True)
    event = session.get(TrackingEvent, event_id, with_for_update=True,
                        populate_existing=True)
    assert delivery is not None and attempt is not None and event is not None
    if event.outcome not in (EventOutcome.pending, EventOutcome.unmatched):
        return "skipped"
    event.attempt_id, event.delivery_id, event.office_id = (attempt.id, delivery.id,
                                                           delivery.office_id)
    outcome = apply_update(session, delivery, attempt, TrackingUpdate.model_validate(event.data))
    event.outcome = outcome
    event.applied = outcome == EventOutcome.applied
    return str(outcome)


def inhouse_sink(session: Session, provider: str, update: TrackingUpdate) -> None:
    """In-house status changes arrive here in the courier's own transaction: store and apply
    at once, so the job and the delivery commit together."""
    if update.status is DeliveryStatus.delivered:
        _refuse_delivered_without_handover(session, update)
    event = store_update(session, update, source="inhouse")
    if event is not None:
        apply_event(session, event.id)


def _refuse_delivered_without_handover(session: Session, update: TrackingUpdate) -> None:
    """Raises ``PinRequired``, rolling the courier's report back with the job unchanged."""
    repo = DeliveryRepository(session)
    found = repo.attempt_for_order(update.provider, update.provider_order_id, update.reference)
    if found is None or found.leg != Leg.outbound:
        return
    delivery = repo.get(found.delivery_id, lock=True)
    if delivery is not None:
        ensure_courier_may_report_delivered(delivery)


def events_to_retry(session: Session, *, older_than: timedelta, limit: int = 500) -> list[int]:
    """Events not applied yet: a lost task, or a webhook that beat its booking's answer."""
    now = utcnow()
    return list(session.scalars(
        select(TrackingEvent.id).where(
            TrackingEvent.outcome.in_([str(EventOutcome.pending),
                                       str(EventOutcome.unmatched)]),
            TrackingEvent.received_at < now - older_than,
            TrackingEvent.received_at > now - timedelta(days=2),
            TrackingEvent.apply_tries < MAX_APPLY_TRIES)
        .order_by(TrackingEvent.id).limit(limit)))


RAW_RETENTION = timedelta(days=30)


def purge_raw_bodies(session: Session, *, older_than: timedelta = RAW_RETENTION) -> int:
    """Raw provider bodies carry names, phones and addresses (UU PDP): keep them for
    disputes only as long as needed; the normalized event and its outcome stay."""
    result = session.execute(
        update(TrackingEvent)
        .where(TrackingEvent.received_at < utcnow() - older_than, TrackingEvent.body != "")
        .values(body="", headers={}))
    return result.rowcount or 0


def apply_events(event_ids: list[int]) -> dict[str, int]:
    """The ``tracking.apply_batch`` task body: each event in a unit of work of its own, so a
    delivery's lock is held for one event only. An event that fails stays pending and the
    sweeper re-drives it (``events_to_retry``)."""
    outcomes: dict[str, int] = {}
    for event_id in event_ids:
        try:
            with unit_of_work() as session:
                outcome = apply_event(session, int(event_id))
        except Exception:
            log.exception("tracking event not applied", extra={"event_id": event_id})
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
