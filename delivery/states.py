"""The delivery state machine: one table, one mutator (:func:`set_state`), audited.

    quoting ⇄ awaiting_choice ─▶ booking ─▶ searching_courier ─▶ courier_assigned
        │            │              │  ▲ failover (next provider)       │
        └────────────┴──────────────┴──┴─▶ pickup_offered (budget spent) │
                                                                         ▼
    picked_up ─▶ in_transit ─▶ delivered ─┬─▶ completed (no originals to check)
        │            │                    └─▶ returning_originals ─▶ originals_received
        └────────────┴─▶ returning ─▶ returned_to_office                  ─▶ completed
    cancelled: by the resident or an operator before pickup.

Provider updates may skip states (a webhook for ``picked_up`` can arrive while we still wait
for the booking answer), so the table allows forward jumps along the courier path.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import InvalidTransition
from core.models import User
from delivery.models import Delivery
from delivery.models import DeliveryState as D

_BEFORE_PICKUP_EXITS = frozenset({D.quoting, D.booking, D.pickup_offered, D.cancelled})
_COURIER_PATH = (D.searching_courier, D.courier_assigned, D.picked_up, D.in_transit,
                 D.delivered)


TURN_BACK_FROM = frozenset({D.booking, D.searching_courier, D.courier_assigned, D.picked_up,
                            D.in_transit})


def _forward(state: D) -> frozenset[D]:
    """Every later state of the courier path, plus a failed drop-off once it has left."""
    later = _COURIER_PATH[_COURIER_PATH.index(state) + 1:] if state in _COURIER_PATH \
        else _COURIER_PATH
    # A courier can turn back with the envelope. The provider may say so before we heard of
    # the pickup (its earlier updates late, out of order or lost), so from the booking on.
    extra = {D.returning} if state in TURN_BACK_FROM else set()
    return frozenset(later) | extra


ALLOWED_TRANSITIONS: dict[D, frozenset[D]] = {
    D.quoting: frozenset({D.awaiting_choice, D.booking, D.pickup_offered, D.cancelled}),
    D.awaiting_choice: frozenset({D.quoting, D.booking, D.pickup_offered, D.cancelled}),
    D.booking: _forward(D.booking) | _BEFORE_PICKUP_EXITS,
    D.searching_courier: _forward(D.searching_courier) | _BEFORE_PICKUP_EXITS,
    D.courier_assigned: _forward(D.courier_assigned) | _BEFORE_PICKUP_EXITS,
    D.picked_up: _forward(D.picked_up),
    D.in_transit: _forward(D.in_transit),
    D.delivered: frozenset({D.returning_originals, D.completed}),
    D.returning_originals: frozenset({D.originals_received}),
    D.originals_received: frozenset({D.completed}),
    D.returning: frozenset({D.returned_to_office}),
    D.returned_to_office: frozenset(),
    D.pickup_offered: frozenset(),
    D.completed: frozenset(),
    D.cancelled: frozenset(),
}

TERMINAL = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
# Before the courier holds the envelope: cancel and failover are still possible.
BEFORE_PICKUP = frozenset({D.quoting, D.awaiting_choice, D.booking, D.searching_courier,
                           D.courier_assigned})


def can_transition(current: D, target: D) -> bool:
    return target in ALLOWED_TRANSITIONS[D(current)]


def set_state(session: Session, delivery: Delivery, to: D, *, actor: User | None = None,
              note: str | None = None, data: dict | None = None, flush: bool = True
              ) -> Delivery:
    """The only way a delivery changes state. ``actor`` None means the system.
    ``flush=False``: the caller flushes right after (one flush for several changes)."""
    current = D(delivery.state)
    if not can_transition(current, to):
        raise InvalidTransition("pengantaran", current, to,
                                [str(s) for s in ALLOWED_TRANSITIONS[current]])
    delivery.state = to
    delivery.state_changed_at = utcnow()
    audit.record(session, action="delivery.state_changed", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor,
                 from_state=str(current), to_state=str(to), note=note, data=data)
    if flush:
        session.flush()
    return delivery


def raise_alert(session: Session, delivery: Delivery, kind: str, *, note: str | None = None
                ) -> None:
    """Flag the delivery for operators (their list shows flagged ones first), audited once
    per kind so a repeated sweep does not flood the log."""
    if delivery.alert == kind:
        return
    delivery.alert = kind
    delivery.alert_at = utcnow()
    audit.record(session, action="delivery.alert", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, note=note,
                 data={"alert": kind})
