"""Operator views and actions, always scoped to the operator's own office (another office's
delivery answers 404)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.formatting import office_zone
from core.models import User
from core.outbox import enqueue
from core.settings import get_settings
from delivery import breaker, flow, gateway, policy
from delivery.models import AttemptStatus, Delivery
from delivery.models import DeliveryState as D
from delivery.repository import DeliveryRepository
from delivery.states import BEFORE_PICKUP
from providers import registry


def _office(actor: User) -> uuid.UUID:
    if actor.office_id is None:
        raise NotFound("Kantor tidak ditemukan.")
    return actor.office_id


def get(session: Session, actor: User, delivery_id: uuid.UUID, *, lock: bool = False
        ) -> Delivery:
    delivery = DeliveryRepository(session).get(delivery_id, lock=lock)
    if delivery is None or delivery.office_id != _office(actor):
        raise NotFound("Pengantaran tidak ditemukan.")
    return delivery


def listing(session: Session, actor: User, *, states: list[D] | None, limit: int,
            offset: int) -> list[Delivery]:
    """Exceptions first: flagged deliveries (stuck, late, no courier, failed, returned, PIN
    locked...), then the oldest state change first."""
    return DeliveryRepository(session).list_office(_office(actor), states=states, limit=limit,
                                                   offset=offset)


def flagged(session: Session, actor: User, *, limit: int) -> list[Delivery]:
    """Only the flagged deliveries (stuck, late, no courier, failed, returned, PIN
    locked...), latest alert first: the dashboard's exception list."""
    return DeliveryRepository(session).list_flagged(_office(actor), limit=limit)


FINISHED_WINDOW = timedelta(days=30)


def summary(session: Session, actor: User) -> dict:
    """The dashboard's counts for the actor's office: deliveries in each open state, the
    flagged ones, and how the deliveries finished in the last 30 days ended. Each count reads
    an index only (open states, flagged, the recent window), never the office's history."""
    office = _office(actor)
    repo = DeliveryRepository(session)
    return {"by_state": repo.count_open_by_state(office),
            "flagged": repo.count_flagged(office),
            "finished_last_30_days": repo.count_finished_since(office,
                                                               utcnow() - FINISHED_WINDOW)}


def booked_in_month(session: Session, actor: User, year: int, month: int) -> list[Delivery]:
    """The actor's office's deliveries booked in that calendar month, in the office's own
    zone (the months the office sees on screen)."""
    zone = office_zone(actor.office.timezone if actor.office else None)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return DeliveryRepository(session).booked_between(_office(actor), start, end)


def timeline(session: Session, delivery: Delivery) -> list[dict]:
    """State changes, alerts, provider events and handovers, in time order."""
    repo = DeliveryRepository(session)
    items = [{"at": e.created_at, "kind": "audit", "action": e.action,
              "from": e.from_state, "to": e.to_state, "note": e.note, "actor": e.actor_role,
              "data": e.data}
             for e in audit.history(session, entity_type="delivery", entity_id=delivery.id)]
    items += [{"at": e.received_at, "kind": "provider_event", "provider": e.provider,
               "status": e.status, "raw_status": e.raw_status, "source": e.source,
               "outcome": str(e.outcome), "occurred_at": e.occurred_at}
              for e in repo.events_for(delivery.id)]
    items += [{"at": r.created_at, "kind": "handover", "step": str(r.kind),
               "courier_name": r.courier_name} for r in repo.handovers_for(delivery.id)]
    return sorted(items, key=lambda i: i["at"])


def retry_with_another(session: Session, actor: User, delivery_id: uuid.UUID, *,
                       provider: str | None) -> Delivery:
    """Drop the current provider and book another; an operator's retry also renews an
    exhausted time budget."""
    delivery = get(session, actor, delivery_id, lock=True)
    if delivery.state not in BEFORE_PICKUP:
        raise Conflict("Pengantaran ini tidak dapat dipesan ulang.", state=str(delivery.state))
    settings = get_settings()
    names = gateway.enabled_names(settings)
    if provider is not None and provider not in names:
        raise ValidationFailed("provider", "Penyedia tidak aktif.")
    rules = policy.for_office(session, settings, delivery.office_id)
    now = utcnow()
    if delivery.budget_deadline <= now:
        delivery.budget_deadline = now + timedelta(minutes=rules.time_budget_min)
    attempt = DeliveryRepository(session).active_attempt(delivery.id)
    if provider is not None:
        delivery.excluded_providers = [n for n in names if n != provider]
    audit.record(session, action="delivery.retry_requested", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor,
                 data={"provider": provider})
    if attempt is not None:
        flow.finish_attempt(attempt, AttemptStatus.cancelled, "Dipesan ulang oleh petugas")
        enqueue(session, flow.TASK_CANCEL_ATTEMPT, attempt_id=attempt.id,
                reason="Dipesan ulang oleh petugas")
        if provider is None and attempt.provider not in (delivery.excluded_providers or []):
            delivery.excluded_providers = [*(delivery.excluded_providers or []),
                                           attempt.provider]
    flow.fail_over(session, delivery, None, "Dipesan ulang oleh petugas", exclude=False)
    return delivery


def cancel(session: Session, actor: User, delivery_id: uuid.UUID, reason: str) -> Delivery:
    delivery = get(session, actor, delivery_id, lock=True)
    return flow.cancel(session, delivery, actor=actor, reason=reason)


def reset_pin(session: Session, actor: User, delivery_id: uuid.UUID) -> Delivery:
    """After a lock: the operator has spoken to the resident; a new PIN is sent."""
    delivery = get(session, actor, delivery_id, lock=True)
    if delivery.pin_verified_at is not None:
        raise Conflict("PIN sudah diverifikasi.")
    delivery.pin_hash = None
    delivery.pin_attempts = 0
    delivery.pin_locked_at = None
    if delivery.alert == "pin_locked":
        delivery.alert = None
    audit.record(session, action="delivery.pin_reset", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor)
    attempt = DeliveryRepository(session).latest_attempt(delivery.id)
    flow.issue_pin(session, delivery, (attempt.courier or {}).get("name") if attempt else None)
    return delivery


def clear_alert(session: Session, actor: User, delivery_id: uuid.UUID) -> Delivery:
    delivery = get(session, actor, delivery_id, lock=True)
    if delivery.alert:
        audit.record(session, action="delivery.alert_cleared", entity_type="delivery",
                     entity_id=delivery.id, office_id=delivery.office_id, actor=actor,
                     data={"alert": delivery.alert})
        delivery.alert = None
        delivery.alert_at = None
    return delivery


def provider_health(session: Session) -> list[dict]:
    circuits = {c.provider: c for c in breaker.snapshot(session)}
    out = []
    for info in registry.describe(get_settings().providers):
        circuit = circuits.get(info.name)
        out.append({
            "name": info.name, "display_name": info.display_name, "enabled": info.enabled,
            "priority": info.priority, "error": info.error,
            "circuit": str(circuit.state) if circuit else "closed",
            "failures": circuit.failures if circuit else 0,
            "total_failures": circuit.total_failures if circuit else 0,
            "retry_at": circuit.retry_at if circuit else None,
            "last_error": circuit.last_error if circuit else None,
        })
    return out


def for_request(session: Session, actor: User, request_id: uuid.UUID) -> Delivery | None:
    """The latest delivery of a request of the operator's office (None for another office's)."""
    delivery = DeliveryRepository(session).latest_for_request(request_id)
    if delivery is None or delivery.office_id != _office(actor):
        return None
    return delivery


def assignment_events(session: Session, deliveries: list[Delivery], statuses: Iterable[str]
                      ) -> dict[uuid.UUID, list]:
    """The tracking events in ``statuses`` of the given deliveries (already scoped to the
    office by whoever listed them), grouped by delivery, for the partner report."""
    return DeliveryRepository(session).events_by_delivery(
        [d.id for d in deliveries if d.attempts], statuses=statuses)
