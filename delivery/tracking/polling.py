"""The tracking backstop: poll active attempts that have been quiet for too long.

Scheduling lives in the database (``next_poll_at``), not in broker ETAs: a beat sweep claims
due attempts by moving ``next_poll_at`` forward and enqueues one ``tracking.poll`` each.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from core import task_names
from core.db import unit_of_work, utcnow
from core.outbox import enqueue
from core.settings import get_settings
from delivery import breaker, gateway, policy
from delivery.metrics import provider_call
from delivery.models import AttemptStatus
from delivery.repository import DeliveryRepository
from delivery.tracking.service import apply_event, store_update
from providers.errors import OrderNotFound, TransientProviderError

POLL_TASK = task_names.TRACKING_POLL


def claim_due(session: Session, *, limit: int = 200) -> list[uuid.UUID]:
    """Attempts whose last update is older than the threshold and whose poll is due."""
    settings = get_settings()
    quiet = timedelta(seconds=policy.Policy.model_validate(settings.delivery or {}).poll_after_s)
    now = utcnow()
    repo = DeliveryRepository(session)
    claimed = []
    for attempt_id in repo.quiet_attempts(quiet_since=now - quiet, now=now, limit=limit):
        if repo.claim_poll(attempt_id, now=now, next_poll_at=now + quiet):
            enqueue(session, POLL_TASK, attempt_id=attempt_id)
            claimed.append(attempt_id)
    return claimed


def poll_attempt(attempt_id: uuid.UUID) -> str:
    settings = get_settings()
    with unit_of_work() as session:
        attempt = DeliveryRepository(session).attempt(attempt_id)
        if attempt is None or attempt.status != AttemptStatus.active \
                or attempt.provider_order_id is None:
            return "skipped"
        if not breaker.allow(session, attempt.provider):
            return "circuit_open"
        provider, order_id = attempt.provider, attempt.provider_order_id
    try:
        with gateway.adapter(provider, settings) as adapter, \
                provider_call(provider, "get_status"):
            update_ = adapter.get_status(order_id)
    except TransientProviderError as exc:
        with unit_of_work() as session:
            breaker.record_failure(session, provider, str(exc), retry_after=exc.retry_after)
        raise
    except OrderNotFound:
        return "not_found"
    with unit_of_work() as session:
        breaker.record_success(session, provider)
        event = store_update(session, update_, source="poll")
        if event is None:
            # Same state as already known: we heard from the provider, nothing changed.
            attempt = DeliveryRepository(session).attempt(attempt_id, lock=True)
            if attempt is not None:
                attempt.last_update_at = utcnow()
            return "unchanged"
        return apply_event(session, event.id)
