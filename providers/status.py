"""The one normalized delivery-status vocabulary, shared by every adapter and the delivery side.

Each adapter maps its provider's raw statuses onto :class:`DeliveryStatus` (keeping the raw
value in ``TrackingUpdate.raw_status``). The delivery side applies updates with
:func:`should_apply`, which makes applying **idempotent and order-insensitive**:

* statuses only move forward by :attr:`DeliveryStatus.rank` (a late ``picked_up`` after
  ``in_transit`` is stale: store it, do not apply it);
* terminal statuses are sticky: nothing moves a delivery out of ``delivered``, ``failed``,
  ``returned``, ``cancelled`` or ``no_courier``;
* every non-terminal status has its own rank and every terminal status ranks above all of
  them, so for any set of updates holding at most one terminal status the final status is
  the same whatever order they arrive in (:func:`resolve`).

Consequence worth knowing: a provider that moves an order *backwards* (Lalamove sends
``ON_GOING`` back to ``ASSIGNING_DRIVER`` when a driver drops out) is not reflected in the
status; the courier details of later updates change instead.

Meaning of the less obvious values:

* ``booked``: the provider accepted the order and has not started looking for a courier.
* ``failed``: the provider gave up on the order and will not return the item by itself
  (Grab ``FAILED``); people must settle where the envelope is.
* ``returning`` / ``returned``: the drop-off failed (recipient absent...) and the courier
  brings the envelope back to the office; ``TrackingUpdate.failure_reason`` says why.
* ``no_courier``: no courier took the order; the delivery side fails over.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DeliveryStatus(StrEnum):
    booked = "booked"
    searching_courier = "searching_courier"
    courier_assigned = "courier_assigned"
    at_pickup = "at_pickup"
    picked_up = "picked_up"
    in_transit = "in_transit"
    at_dropoff = "at_dropoff"
    returning = "returning"
    delivered = "delivered"
    failed = "failed"
    returned = "returned"
    cancelled = "cancelled"
    no_courier = "no_courier"

    @property
    def rank(self) -> int:
        return RANK[self]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def courier_has_item(self) -> bool:
        """The envelope has left the office and is not yet delivered or back."""
        return self in {DeliveryStatus.picked_up, DeliveryStatus.in_transit,
                        DeliveryStatus.at_dropoff, DeliveryStatus.returning}


TERMINAL: frozenset[DeliveryStatus] = frozenset({
    DeliveryStatus.delivered, DeliveryStatus.failed, DeliveryStatus.returned,
    DeliveryStatus.cancelled, DeliveryStatus.no_courier,
})

TERMINAL_RANK = 100

# Ranks of the non-terminal path; gaps leave room for statuses added later.
RANK: dict[DeliveryStatus, int] = {
    DeliveryStatus.booked: 0,
    DeliveryStatus.searching_courier: 10,
    DeliveryStatus.courier_assigned: 20,
    DeliveryStatus.at_pickup: 30,
    DeliveryStatus.picked_up: 40,
    DeliveryStatus.in_transit: 50,
    DeliveryStatus.at_dropoff: 60,
    DeliveryStatus.returning: 70,
    **dict.fromkeys(TERMINAL, TERMINAL_RANK),
}

# Before the courier holds the envelope: the statuses in which most providers allow a cancel.
BEFORE_PICKUP: frozenset[DeliveryStatus] = frozenset({
    DeliveryStatus.booked, DeliveryStatus.searching_courier, DeliveryStatus.courier_assigned,
    DeliveryStatus.at_pickup,
})


def should_apply(current: DeliveryStatus | None, new: DeliveryStatus) -> bool:
    """Whether an update carrying ``new`` may change a delivery that is at ``current``.

    False for a repeat (same status), a stale update (lower or equal rank) and anything
    after a terminal status. An update that is not applied is still stored as history.
    """
    if current is None:
        return True
    if current.is_terminal:
        return False
    return new.rank > current.rank


def resolve(statuses: Iterable[DeliveryStatus],
            start: DeliveryStatus | None = None) -> DeliveryStatus | None:
    """The status reached by applying ``statuses`` in the given order, from ``start``."""
    current = start
    for status in statuses:
        if should_apply(current, status):
            current = status
    return current
