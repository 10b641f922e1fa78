"""The statuses of a courier job, and what a courier may report next.

The values are the same words the provider contract uses (``providers.status``), so the
in-house adapter maps them one to one; the fleet keeps its own list because it is a company
of its own, not a provider.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    booked = "booked"
    searching_courier = "searching_courier"
    courier_assigned = "courier_assigned"
    at_pickup = "at_pickup"
    picked_up = "picked_up"
    in_transit = "in_transit"
    at_dropoff = "at_dropoff"
    returning = "returning"
    delivered = "delivered"
    returned = "returned"
    cancelled = "cancelled"
    no_courier = "no_courier"

    @property
    def rank(self) -> int:
        return RANK[self]

    @property
    def is_ended(self) -> bool:
        return self in ENDED


S = JobStatus
ENDED: frozenset[JobStatus] = frozenset({S.delivered, S.returned, S.cancelled, S.no_courier})
RANK: dict[JobStatus, int] = {
    S.booked: 0, S.searching_courier: 10, S.courier_assigned: 20, S.at_pickup: 30,
    S.picked_up: 40, S.in_transit: 50, S.at_dropoff: 60, S.returning: 70,
    **dict.fromkeys(ENDED, 100),
}
# Until the courier holds the envelope the office may still call the job off.
CANCELLABLE: frozenset[JobStatus] = frozenset({S.booked, S.searching_courier,
                                               S.courier_assigned, S.at_pickup})
# A courier is busy with a job in these (no new offers reach them).
ACTIVE: frozenset[JobStatus] = frozenset({S.courier_assigned, S.at_pickup, S.picked_up,
                                          S.in_transit, S.at_dropoff, S.returning})
# What a courier may report next, from each status of their job.
COURIER_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.courier_assigned: frozenset({S.at_pickup, S.picked_up}),
    S.at_pickup: frozenset({S.picked_up}),
    S.picked_up: frozenset({S.in_transit, S.at_dropoff, S.returning}),
    S.in_transit: frozenset({S.at_dropoff, S.returning}),
    S.at_dropoff: frozenset({S.delivered, S.returning}),
    S.returning: frozenset({S.returned}),
}


def is_ended(status: str) -> bool:
    return status in ENDED
