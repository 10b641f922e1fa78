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
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from core import task_names
from core.db import unit_of_work, utcnow
from delivery.flow import on_provider_status
from delivery.handover.service import ensure_courier_may_report_delivered
from delivery.models import Delivery, DeliveryAttempt, EventOutcome, Leg, TrackingEvent
from delivery.repository import DeliveryRepository, insert_ignore
from fleet.hooks import JobUpdate
from providers.inhouse import mapping as inhouse_mapping
from providers.status import DeliveryStatus, should_apply
from providers.types import TrackingUpdate

log = logging.getLogger("sipoke.delivery")

APPLY_BATCH_TASK = task_names.TRACKING_APPLY_BATCH
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


def fleet_listener(session: Session, job_update: JobUpdate) -> None:
    """The office's couriers' status changes arrive here in the courier's own transaction
    (``fleet.hooks``), in the in-house provider's words: stored and applied at once, so the
    job and the delivery commit together."""
    update = inhouse_mapping.to_update(job_update)
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
    return DeliveryRepository(session).events_to_retry(
        received_before=now - older_than, received_after=now - timedelta(days=2),
        max_tries=MAX_APPLY_TRIES, limit=limit)


RAW_RETENTION = timedelta(days=30)


def purge_raw_bodies(session: Session, *, older_than: timedelta = RAW_RETENTION) -> int:
    """Raw provider bodies carry names, phones and addresses (UU PDP): keep them for
    disputes only as long as needed; the normalized event and its outcome stay."""
    return DeliveryRepository(session).forget_raw_bodies(received_before=utcnow() - older_than)


def apply_events(event_ids: list[int]) -> dict[str, int]:
    """The ``tracking.apply_batch`` task body: the whole batch set-wise in one unit of work
    (``apply_batch``); if that fails, each event in a unit of work of its own, so one bad
    event cannot hold the others back. An event that still fails stays pending and the
    sweeper re-drives it (``events_to_retry``)."""
    ids = sorted({int(i) for i in event_ids})
    try:
        with unit_of_work() as session:
            return apply_batch(session, ids)
    except Exception:
        log.warning("tracking batch not applied at once; applying its events one by one",
                    exc_info=True, extra={"events": len(ids)})
    outcomes: dict[str, int] = {}
    for event_id in ids:
        try:
            with unit_of_work() as session:
                outcome = apply_event(session, event_id)
        except Exception:
            log.exception("tracking event not applied", extra={"event_id": event_id})
            _count_failed_try(event_id)
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _count_failed_try(event_id: int) -> None:
    """An event that fails to apply stays pending for the sweeper, but only for
    ``MAX_APPLY_TRIES`` tries: one that can never apply is not re-driven (and logged) for
    days."""
    try:
        with unit_of_work() as session:
            DeliveryRepository(session).count_apply_try(event_id)
    except Exception:  # the database is down: the event stays as it was
        log.warning("failed try not counted", exc_info=True, extra={"event_id": event_id})


def apply_batch(session: Session, event_ids: list[int]) -> dict[str, int]:
    """Apply many events with a handful of statements instead of a handful per event: load
    the waiting events, match them to attempts (same rules as ``attempt_for_order``), lock the
    deliveries, then the attempts, then the events (the order every other path locks in),
    and apply each delivery's events in arrival order in memory. Same outcomes as
    ``apply_event`` one by one. The events are read and written as rows (Core), not ORM
    objects: only their outcome changes, and an ORM object per event cost more than the
    rest of the apply; deliveries and attempts, which the flow changes, are ORM objects."""
    repo = DeliveryRepository(session)
    outcomes: dict[str, int] = {}

    def count(outcome: str, n: int = 1) -> None:
        if n:
            outcomes[outcome] = outcomes.get(outcome, 0) + n

    waiting = repo.waiting_events(event_ids)
    count("skipped", len(event_ids) - len(waiting))
    if not waiting:
        return outcomes
    by_order, by_reference = repo.attempt_ids_for_orders(
        {(e.provider, e.provider_order_id) for e in waiting if e.provider_order_id},
        {(e.provider, e.reference) for e in waiting if e.reference})

    def match(event: Row) -> tuple[uuid.UUID, uuid.UUID] | None:
        found = None
        if event.provider_order_id:
            found = by_order.get((event.provider, event.provider_order_id))
        if found is None and event.reference:
            found = by_reference.get((event.provider, event.reference))
        return found

    matched = {e.id: a for e in waiting if (a := match(e)) is not None}
    deliveries = repo.lock_deliveries({d for _, d in matched.values()})
    attempts = repo.lock_attempts({a for a, _ in matched.values()})
    locked = repo.waiting_events([e.id for e in waiting], lock=True)
    count("skipped", len(waiting) - len(locked))  # applied by another worker meanwhile
    results: list[dict[str, Any]] = []
    unmatched: list[int] = []
    for event in locked:
        found = matched.get(event.id)
        attempt = attempts.get(found[0]) if found is not None else None
        delivery = deliveries.get(attempt.delivery_id) if attempt is not None else None
        if attempt is None or delivery is None:
            unmatched.append(event.id)
            count("unmatched")
            continue
        outcome = apply_update(session, delivery, attempt,
                               TrackingUpdate.model_validate(event.data))
        results.append({"e_id": event.id, "e_outcome": str(outcome),
                        "e_applied": outcome == EventOutcome.applied,
                        "e_attempt": attempt.id, "e_delivery": delivery.id,
                        "e_office": delivery.office_id})
        count(str(outcome))
    repo.record_event_outcomes(results, unmatched)
    return outcomes
