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
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    _touch_attempt(attempt, update.provider_order_id, update.tracking_url, utcnow())
    current = DeliveryStatus(attempt.provider_status) if attempt.provider_status else None
    if not should_apply(current, update.status):
        return EventOutcome.stale
    if update.courier is not None:
        attempt.courier = update.courier.model_dump(mode="json", exclude_none=True)
    attempt.provider_status = str(update.status)
    attempt.raw_status = update.raw_status[:60]
    on_provider_status(session, delivery, attempt, update.status,
                       reason=update.failure_reason)
    return EventOutcome.applied


def _touch_attempt(attempt: DeliveryAttempt, provider_order_id: str | None,
                   tracking_url: str | None, now: datetime) -> None:
    """What every update does to its attempt, applied or stale."""
    attempt.last_update_at = now
    if attempt.provider_order_id is None:
        attempt.provider_order_id = provider_order_id
    if tracking_url:
        attempt.tracking_url = tracking_url


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
    (``apply_batch``), together with the batches other tasks of this process hand in at the
    same time (``_ApplyGroup``); if that fails, this task's batch alone (when it was applied
    with others, whose event may have been the bad one), then each event in a unit of work
    of its own, so one bad event cannot hold the others back. An event that still fails
    stays pending and the sweeper re-drives it (``events_to_retry``)."""
    ids = sorted({int(i) for i in event_ids})
    outcomes: dict[str, int] = {}
    outcome_of, alone = _group.apply(ids)
    if outcome_of is None and not alone:
        # The group failed, perhaps for another task's event: this task's own batch alone.
        try:
            with unit_of_work() as session:
                outcome_of = _apply_set(session, ids)
        except Exception:
            log.warning("tracking batch not applied at once; applying its events one by one",
                        exc_info=True, extra={"events": len(ids)})
    if outcome_of is not None:
        for event_id in ids:
            outcome = outcome_of[event_id]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes
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


# Events one grouped apply takes at most (a task's own batch is never split).
MAX_GROUP_EVENTS = 2000


@dataclass(eq=False)
class _Handed:
    ids: list[int]
    done: bool = False
    alone: bool = False
    outcome_of: dict[int, str] = field(default_factory=dict)
    error: BaseException | None = None


class _ApplyGroup:
    """Group apply inside one worker process (group commit, as the webhook writer does): the
    webhook writer sends one small task per commit, and a task's fixed cost (its transaction,
    its statements, every delivery and attempt it locks) is most of an event's apply. A task
    hands its ids in; if no other task of this process is applying, it applies everything
    handed in meanwhile (its own ids first, up to ``MAX_GROUP_EVENTS``) in ONE unit of work,
    and every task whose ids were in it returns with their outcomes. A lone task applies at
    once: nothing waits for company. One apply at a time per process also means the threads
    of one worker never wait on each other's row locks. If the grouped apply fails, every
    task in it learns so and applies its own events again without the others
    (``apply_events``). A task returns (and its message is acknowledged, late) only once its
    events are applied; a prefork child (one task at a time) simply applies its own."""

    def __init__(self, max_events: int = MAX_GROUP_EVENTS) -> None:
        self.max_events = max_events
        self._pid = -1
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._handed: list[_Handed] = []
        self._busy = False
        self._pid = os.getpid()
        self.applies = 0  # grouped units of work, for tests and metrics

    def apply(self, ids: list[int]) -> tuple[dict[int, str] | None, bool]:
        """The outcome of each of ``ids`` (None: the grouped apply failed) and whether the
        apply held this task's events alone (so a failure was theirs)."""
        if self._pid != os.getpid():  # a forked child starts with a state of its own
            self._reset()
        mine = _Handed(ids)
        with self._cond:
            self._handed.append(mine)
            while self._busy and not mine.done:
                self._cond.wait()
            if not mine.done:
                self._busy = True
                group = self._take(mine)
        if mine.done:
            return (None if mine.error is not None else mine.outcome_of), mine.alone
        outcome_of: dict[int, str] = {}
        error: BaseException | None = None
        try:
            with unit_of_work() as session:
                outcome_of = _apply_set(session, sorted({i for h in group for i in h.ids}))
            self.applies += 1
        except BaseException as exc:
            error = exc
            if not isinstance(exc, Exception):
                raise
            log.warning("grouped tracking apply failed", exc_info=True,
                        extra={"tasks": len(group)})
        finally:
            with self._cond:
                for handed in group:
                    handed.done = True
                    handed.alone = len(group) == 1
                    handed.error = error
                    if error is None:
                        handed.outcome_of = {i: outcome_of[i] for i in handed.ids}
                self._busy = False
                self._cond.notify_all()
        return (None if error is not None else mine.outcome_of), mine.alone

    def _take(self, mine: _Handed) -> list[_Handed]:
        """Called with the lock held: ``mine`` and what else was handed in, in arrival
        order, up to ``max_events``; the rest waits for the next apply."""
        group, rest, size = [mine], [], len(mine.ids)
        for handed in self._handed:
            if handed is mine:
                continue
            if size + len(handed.ids) <= self.max_events:
                group.append(handed)
                size += len(handed.ids)
            else:
                rest.append(handed)
        self._handed = rest
        return group


_group = _ApplyGroup()


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
    """``_apply_set`` counted by outcome."""
    outcomes: dict[str, int] = {}
    for outcome in _apply_set(session, event_ids).values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _apply_set(session: Session, event_ids: list[int]) -> dict[int, str]:
    """Apply many events with a handful of statements instead of a handful per event: load
    the waiting events, match them to attempts (same rules as ``attempt_for_order``), lock the
    deliveries, then the attempts, then the events (the order every other path locks in),
    and apply each delivery's events in arrival order in memory. Same outcomes as
    ``apply_event`` one by one; the outcome of each id (``skipped``: not waiting any more).

    The events are read and written as rows (Core), not ORM objects: only their outcome
    changes. Most events change nothing (a repeat, a position, a late status): such an event
    is known stale from its stored status and its attempt's, so it is neither parsed into a
    ``TrackingUpdate`` nor does it load its delivery: the deliveries are locked as rows and
    loaded as objects only where an event moves the attempt's status (``on_provider_status``).
    """
    repo = DeliveryRepository(session)
    outcome_of: dict[int, str] = {}
    waiting = repo.waiting_events(event_ids)
    by_id = {e.id: e for e in waiting}
    for event_id in event_ids:
        if event_id not in by_id:
            outcome_of[event_id] = "skipped"
    if not waiting:
        return outcome_of
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
    offices = repo.lock_delivery_rows({d for _, d in matched.values()})
    rows = repo.lock_attempt_rows({a for a, _ in matched.values()})
    locked = repo.lock_waiting_event_ids(list(by_id))
    for event_id in by_id.keys() - set(locked):
        outcome_of[event_id] = "skipped"  # applied by another worker meanwhile
    # Which events may move their attempt's status (the rest are stale, whatever else this
    # batch applies): ``provider_status`` changes only by an applied event, so following
    # the ranks in arrival order tells exactly. Only the deliveries such an event moves are
    # loaded as objects, with their attempts; the other attempts are touched by one UPDATE.
    attempt_of: dict[int, Row] = {}
    reached: dict[uuid.UUID, DeliveryStatus | None] = {}
    moves: set[int] = set()
    for event_id in locked:
        found = matched.get(event_id)
        row = rows.get(found[0]) if found is not None else None
        if row is None or row.delivery_id not in offices:
            continue
        attempt_of[event_id] = row
        status = DeliveryStatus(by_id[event_id].data["status"])
        if row.id not in reached:
            reached[row.id] = DeliveryStatus(row.provider_status) if row.provider_status \
                else None
        if should_apply(reached[row.id], status):
            reached[row.id] = status
            moves.add(event_id)
    moved = {attempt_of[i].delivery_id for i in moves}
    deliveries = repo.load_deliveries(moved)
    attempts = repo.load_attempts({r.id for r in attempt_of.values() if r.delivery_id in moved})
    touches: dict[uuid.UUID, dict[str, Any]] = {}
    now = utcnow()
    results: list[dict[str, Any]] = []
    unmatched: list[int] = []
    for event_id in locked:
        row = attempt_of.get(event_id)
        if row is None:
            unmatched.append(event_id)
            outcome_of[event_id] = "unmatched"
            continue
        data = by_id[event_id].data
        attempt = attempts.get(row.id)
        if event_id in moves:
            assert attempt is not None
            outcome = apply_update(session, deliveries[row.delivery_id], attempt,
                                   TrackingUpdate.model_validate(data))
        elif attempt is not None:  # apply_update's stale path, from the stored event
            _touch_attempt(attempt, data.get("provider_order_id"), data.get("tracking_url"),
                           now)
            outcome = EventOutcome.stale
        else:  # the same, for an attempt only stale events touch: as a row
            touch = touches.get(row.id)
            if touch is None:
                touch = touches[row.id] = {"a_id": row.id, "a_order": row.provider_order_id,
                                           "a_url": row.tracking_url, "a_now": now}
            if touch["a_order"] is None:
                touch["a_order"] = data.get("provider_order_id")
            if data.get("tracking_url"):
                touch["a_url"] = data["tracking_url"]
            outcome = EventOutcome.stale
        results.append({"e_id": event_id, "e_outcome": str(outcome),
                        "e_applied": outcome == EventOutcome.applied,
                        "e_attempt": row.id, "e_delivery": row.delivery_id,
                        "e_office": offices[row.delivery_id]})
        outcome_of[event_id] = str(outcome)
    repo.touch_attempts(list(touches.values()))
    repo.record_event_outcomes(results, unmatched)
    return outcome_of
