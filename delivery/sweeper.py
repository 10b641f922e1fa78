"""Periodic sweeps (beat): re-drive what a lost task left behind, and watch the clocks.

* quoting too long -> ask again; every quote of a waiting choice expired -> ask again;
* attempts pending/unknown too long -> the booking task again (it looks up before booking);
* events not applied -> ``tracking.apply`` again (a webhook may beat its booking's answer);
* watchdog: an attempt still searching after ``no_courier_timeout_min`` (or past the time
  budget) -> cancel and fail over;
* SLA timers: late pickup, late delivery -> operator alerts;
* originals waiting for their return leg -> book it.

A lost task therefore delays a delivery by one sweep interval; it never loses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import task_names
from core.db import utcnow
from core.outbox import enqueue, send_after_commit
from core.settings import get_settings
from delivery import policy
from delivery.flow import TASK_BOOK, TASK_QUOTE, ensure_return_leg
from delivery.models import AttemptStatus
from delivery.models import DeliveryState as D
from delivery.quotes.service import expired_choices
from delivery.repository import DeliveryRepository
from delivery.states import raise_alert
from delivery.tracking.service import APPLY_BATCH_TASK, events_to_retry
from providers.status import DeliveryStatus as PS

GIVE_UP_TASK = task_names.DELIVERY_GIVE_UP_SEARCH
EVENT_RETRY_AFTER = timedelta(seconds=3)


def _rules(session: Session, cache: dict, office_id: uuid.UUID) -> policy.Policy:
    if office_id not in cache:
        cache[office_id] = policy.for_office(session, get_settings(), office_id)
    return cache[office_id]


def sweep(session: Session) -> dict[str, int]:
    now = utcnow()
    defaults = policy.Policy.model_validate(get_settings().delivery or {})
    stuck = timedelta(seconds=defaults.stuck_after_s)
    repo = DeliveryRepository(session)
    counts = {"requoted": 0, "rebooked": 0, "events": 0, "watchdog": 0, "alerts": 0,
              "return_legs": 0}

    for delivery in repo.in_states([D.quoting], changed_before=now - stuck):
        enqueue(session, TASK_QUOTE, delivery_id=delivery.id)
        counts["requoted"] += 1
    counts["requoted"] += expired_choices(session, now)

    for attempt in repo.attempts_in([AttemptStatus.pending, AttemptStatus.unknown],
                                    updated_before=now - stuck):
        attempt.updated_at = now  # next re-drive one interval later, not every sweep
        enqueue(session, TASK_BOOK, attempt_id=attempt.id)
        counts["rebooked"] += 1

    event_ids = events_to_retry(session, older_than=EVENT_RETRY_AFTER)
    if event_ids:  # the events are their own record: this sweep sends them again if lost
        send_after_commit(session, APPLY_BATCH_TASK, event_ids=event_ids)
        counts["events"] = len(event_ids)

    counts["watchdog"] = _watchdog(session, now)
    counts["alerts"] = _sla(session, now)

    for delivery in repo.in_states([D.returning_originals], changed_before=now):
        if ensure_return_leg(session, delivery) is not None:
            counts["return_legs"] += 1
    return counts


def _watchdog(session: Session, now: datetime) -> int:
    cache: dict = {}
    count = 0
    for attempt, delivery in DeliveryRepository(session).searching_outbound():
        if attempt.provider_status and PS(attempt.provider_status) not in (
                PS.booked, PS.searching_courier):
            continue
        rules = _rules(session, cache, delivery.office_id)
        since = attempt.booked_at or attempt.created_at
        if since < now - timedelta(minutes=rules.no_courier_timeout_min) \
                or now >= delivery.budget_deadline:
            enqueue(session, GIVE_UP_TASK, attempt_id=attempt.id)
            count += 1
    return count


def _sla(session: Session, now: datetime) -> int:
    cache: dict = {}
    count = 0
    repo = DeliveryRepository(session)
    for delivery in repo.in_states([D.courier_assigned, D.picked_up, D.in_transit],
                                   changed_before=now):
        rules = _rules(session, cache, delivery.office_id)
        age = now - delivery.state_changed_at
        if delivery.state == D.courier_assigned and age > timedelta(
                minutes=rules.late_pickup_min) and delivery.alert != "late_pickup":
            raise_alert(session, delivery, "late_pickup", note="Kurir terlambat mengambil")
            count += 1
        elif delivery.state in (D.picked_up, D.in_transit) and age > timedelta(
                minutes=rules.late_delivery_min) and delivery.alert != "late_delivery":
            raise_alert(session, delivery, "late_delivery", note="Pengantaran terlambat")
            count += 1
    stuck_before = now - timedelta(seconds=policy.Policy.model_validate(
        get_settings().delivery or {}).stuck_after_s) * 5
    for delivery in repo.in_states([D.booking], changed_before=stuck_before):
        if repo.active_attempt(delivery.id) is None and delivery.alert != "stuck":
            raise_alert(session, delivery, "stuck", note="Pemesanan tidak berlanjut")
            count += 1
    return count
