"""Read what the invariants are checked on: the database (deliveries, attempts, the audit
log, tracking events, the outbox, notifications) and the sandbox's own records (every order
it created, every webhook it sent and whether it was answered 2xx)."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import func, select

from chaos.invariants import TERMINAL_STATES, Records
from chaos.stack import SANDBOX_KEY, ChaosStack


def _sandbox(stack: ChaosStack, path: str) -> dict:
    r = httpx.get(f"{stack.sandbox_url}/v1/admin/{path}", timeout=60,
                  headers={"Authorization": f"Bearer {SANDBOX_KEY}"})
    r.raise_for_status()
    return r.json()


def progress(stack: ChaosStack) -> dict[str, int]:
    """What is still moving; the settling wait ends when all of it is 0."""
    from core.db import unit_of_work
    from core.models import Notification, OutboxMessage
    from delivery.models import Delivery, TrackingEvent

    with unit_of_work() as s:
        moving = s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state.not_in(sorted(TERMINAL_STATES)), Delivery.alert.is_(None))) or 0
        outbox = s.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.published_at.is_(None))) or 0
        events = s.scalar(select(func.count()).select_from(TrackingEvent)
                          .where(TrackingEvent.outcome.in_(["pending", "unmatched"]))) or 0
        unsent = s.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.status.in_(["pending", "sending"]))) or 0
    hooks = _sandbox(stack, "webhooks")["deliveries"]
    orders = _sandbox(stack, "orders")["orders"]
    return {
        "deliveries moving": moving, "outbox unpublished": outbox, "events unapplied": events,
        "notifications unsent": unsent,
        "webhooks in flight": sum(1 for h in hooks if not h["delivered"] and not h["gave_up"]),
        "sandbox orders running": sum(1 for o in orders if o["status"] not in
                                      {"COMPLETED", "RETURNED", "CANCELLED", "NO_DRIVER"}),
    }


def read(stack: ChaosStack) -> tuple[Records, dict]:
    from core.db import unit_of_work
    from core.models import AuditEvent, Notification, OutboxMessage
    from delivery.models import Delivery, DeliveryAttempt, TrackingEvent

    with unit_of_work() as s:
        deliveries = [
            {"id": str(i), "state": str(st), "alert": a, "recipient": p}
            for i, st, a, p in s.execute(select(Delivery.id, Delivery.state, Delivery.alert,
                                                Delivery.recipient_phone))]
        transitions = [
            (e, i, f, t) for e, i, f, t in s.execute(
                select(AuditEvent.entity_id, AuditEvent.id, AuditEvent.from_state,
                       AuditEvent.to_state)
                .where(AuditEvent.entity_type == "delivery",
                       AuditEvent.action == "delivery.state_changed"))]
        attempts = [
            {"delivery_id": str(d), "reference": r, "leg": str(leg), "status": str(st)}
            for d, r, leg, st in s.execute(select(DeliveryAttempt.delivery_id,
                                                  DeliveryAttempt.reference,
                                                  DeliveryAttempt.leg, DeliveryAttempt.status))]
        stored = set(s.scalars(select(TrackingEvent.provider_event_id)
                               .where(TrackingEvent.provider == "sandbox")))
        outcomes = Counter(dict(s.execute(
            select(TrackingEvent.outcome, func.count()).group_by(TrackingEvent.outcome)).all()))
        unpublished = s.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.published_at.is_(None))) or 0
        outbox_total = s.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        notifications = [
            {"recipient": r, "kind": k, "status": str(st), "attempts": n}
            for r, k, st, n in s.execute(select(Notification.recipient, Notification.kind,
                                                Notification.status, Notification.attempts)
                                         .where(Notification.recipient.like("+62857%")))]
    orders = _sandbox(stack, "orders")["orders"]
    hooks = _sandbox(stack, "webhooks")["deliveries"]
    records = Records(
        deliveries=deliveries, transitions=transitions, attempts=attempts,
        sandbox_orders=orders, webhooks=hooks, stored_event_ids=stored,
        unapplied_events={k: outcomes.get(k, 0) for k in ("pending", "unmatched")},
        outbox_unpublished=unpublished, outbox_total=outbox_total,
        notifications=notifications, chosen={d["id"] for d in deliveries})
    facts = {
        "deliveries": len(deliveries),
        "attempts": len(attempts),
        "sandbox orders": len(orders),
        "webhooks sent (acknowledged)": f"{len(hooks)} ({sum(h['delivered'] for h in hooks)})",
        "webhooks given up by the sandbox": sum(1 for h in hooks if h["gave_up"]),
        "tracking events stored": len(stored),
        "tracking event outcomes": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "notifications": len(notifications),
        "notifications claimed for sending more than once":
            sum(1 for n in notifications if n["attempts"] > 1),
    }
    return records, facts


def explain(stack: ChaosStack, delivery_ids: list[str]) -> list[str]:
    """For a delivery that did not settle: its audit trail, its attempts and their orders at
    the sandbox, and its tracking events, to say where it stopped."""
    import uuid

    from core.db import unit_of_work
    from core.models import AuditEvent
    from delivery.models import DeliveryAttempt, TrackingEvent

    orders = {o["client_reference"]: o for o in _sandbox(stack, "orders")["orders"]}
    lines: list[str] = []
    with unit_of_work() as s:
        for delivery_id in delivery_ids:
            lines.append(f"delivery {delivery_id}:")
            for at, action, before, after, note, extra in s.execute(
                    select(AuditEvent.created_at, AuditEvent.action, AuditEvent.from_state,
                           AuditEvent.to_state, AuditEvent.note, AuditEvent.data)
                    .where(AuditEvent.entity_id == delivery_id).order_by(AuditEvent.id)):
                lines.append(f"  {at:%H:%M:%S} {action} {before or ''} -> {after or ''} "
                             f"{note or ''} {extra or ''}".rstrip())
            for a in s.scalars(select(DeliveryAttempt).where(
                    DeliveryAttempt.delivery_id == uuid.UUID(delivery_id))
                    .order_by(DeliveryAttempt.created_at)):
                order = orders.get(a.reference) or {}
                lines.append(
                    f"  attempt {a.reference} {a.status} provider_status={a.provider_status} "
                    f"order={a.provider_order_id} calls={a.calls} error={a.last_error!r} "
                    f"last_update={a.last_update_at} next_poll={a.next_poll_at}; sandbox: "
                    f"{order.get('order_id')} {order.get('status')}")
            for e in s.scalars(select(TrackingEvent).where(
                    TrackingEvent.delivery_id == uuid.UUID(delivery_id))
                    .order_by(TrackingEvent.id)):
                lines.append(f"  event {e.source} {e.status} {e.outcome} at {e.received_at}")
    return lines


def reasons(limit: int = 6) -> list[str]:
    """Why deliveries went back to office pickup: the notes of those transitions."""
    from core.db import unit_of_work
    from core.models import AuditEvent

    with unit_of_work() as s:
        rows = s.execute(select(AuditEvent.note, func.count())
                         .where(AuditEvent.entity_type == "delivery",
                                AuditEvent.to_state == "pickup_offered")
                         .group_by(AuditEvent.note).order_by(func.count().desc())
                         .limit(limit)).all()
    return [f"{n:6d}  {note}" for note, n in rows]
