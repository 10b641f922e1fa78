"""The invariants a chaos run must keep, checked on plain rows (read from the database, the
outbox and the sandbox's own records by :mod:`chaos.records`), so they can be tested on
crafted rows. Each check returns a :class:`Result`: a count that must be 0 (or, for
"settled", the deliveries that are neither terminal nor flagged), and detail lines."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from delivery.states import ALLOWED_TRANSITIONS, TERMINAL

TERMINAL_STATES = frozenset(str(s) for s in TERMINAL)
ALLOWED = {str(k): frozenset(str(t) for t in v) for k, v in ALLOWED_TRANSITIONS.items()}
# Provider statuses after which a sandbox order carried nothing (no courier, cancelled).
ORDER_VOID = frozenset({"NO_DRIVER", "CANCELLED"})
# Delivery states in which the resident has been sent the handover PIN (flow.issue_pin).
PIN_STATES = frozenset({"courier_assigned", "picked_up", "in_transit"})
# Final delivery states that hand the request back to office pickup (flow._back_to_pickup).
BACK_TO_PICKUP = frozenset({"pickup_offered", "returned_to_office", "cancelled"})


@dataclass
class Result:
    name: str
    count: int
    ok: bool
    checked: int  # how many things were looked at
    detail: list[str] = field(default_factory=list)


@dataclass
class Records:
    deliveries: list[dict]  # id, state, alert, recipient (the resident's own phone)
    transitions: list[tuple[str, int, str | None, str]]  # delivery id, audit id, from, to
    attempts: list[dict]  # delivery_id, reference, leg, status
    sandbox_orders: list[dict]  # order_id, client_reference, status
    webhooks: list[dict]  # event_id, delivered (the sandbox got a 2xx)
    stored_event_ids: set[str]
    unapplied_events: Mapping[str, int]  # outcome (pending, unmatched) -> count
    outbox_unpublished: int
    outbox_total: int
    notifications: list[dict]  # recipient, kind, status
    chosen: set[str] = field(default_factory=set)  # deliveries whose resident chose delivery


def settled(deliveries: Iterable[dict]) -> Result:
    """Every delivery is terminal, or waits with an operator flag (``alert``) where a person
    must act (e.g. ``delivered_without_pin``: the courier reported delivered, the office
    confirms). Counted: deliveries in neither case."""
    rows = list(deliveries)
    by = Counter()
    bad = 0
    for d in rows:
        if d["state"] in TERMINAL_STATES:
            by[f"terminal {d['state']}" + (f" (flag {d['alert']})" if d["alert"] else "")] += 1
        elif d["alert"]:
            by[f"waiting {d['state']}, flag {d['alert']}"] += 1
        else:
            by[f"NOT SETTLED {d['state']}, no flag"] += 1
            bad += 1
    return Result("deliveries neither terminal nor flagged", bad, bad == 0, len(rows),
                  [f"{n:6d}  {k}" for k, n in sorted(by.items())])


def acknowledged_lost(webhooks: Iterable[dict], stored: set[str]) -> Result:
    """Every event the sandbox saw acknowledged (2xx) is stored in tracking_events."""
    acked = {w["event_id"] for w in webhooks if w["delivered"]}
    lost = sorted(acked - stored)
    return Result("acknowledged webhooks lost", len(lost), not lost, len(acked),
                  [f"lost {e}" for e in lost[:10]])


def booked_twice(orders: Iterable[dict], attempts: Iterable[dict]) -> Result:
    """Counted: references with more than one order at the sandbox; orders whose reference
    none of our attempts has (booked behind our back); deliveries with more than one order
    that carried something (not NO_DRIVER / CANCELLED) on the same leg."""
    orders = list(orders)
    attempt_of = {a["reference"]: a for a in attempts}
    per_ref = Counter(o["client_reference"] for o in orders)
    twice = sorted(r for r, n in per_ref.items() if n > 1)
    unknown = sorted({o["client_reference"] for o in orders} - set(attempt_of))
    live: dict[tuple[str, str], list[str]] = defaultdict(list)
    for o in orders:
        a = attempt_of.get(o["client_reference"])
        if a is not None and o["status"] not in ORDER_VOID:
            live[(str(a["delivery_id"]), a["leg"])].append(o["order_id"])
    doubled = sorted(k for k, v in live.items() if len(v) > 1)
    detail = [f"reference {r}: {per_ref[r]} orders" for r in twice[:5]]
    detail += [f"order for unknown reference {r}" for r in unknown[:5]]
    detail += [f"delivery {d} ({leg}): orders {', '.join(live[(d, leg)])}"
               for d, leg in doubled[:5]]
    count = len(twice) + len(unknown) + len(doubled)
    return Result("references booked twice at the sandbox", count, count == 0, len(orders),
                  detail)


def backward_transitions(transitions: Iterable[tuple[str, int, str | None, str]],
                         current: Mapping[str, str] | None = None) -> Result:
    """In the audit log, per delivery in audit order: a transition the state machine does not
    allow (leaving a terminal state, going back along the courier path) or one that does not
    start where the previous one ended; and a delivery whose state is not where its audit
    trail ends. The designed way back (failover: booking/searching -> quoting) is allowed."""
    trail: dict[str, list[tuple[int, str | None, str]]] = defaultdict(list)
    for delivery_id, audit_id, before, after in transitions:
        trail[str(delivery_id)].append((audit_id, before, after))
    bad: list[str] = []
    total = 0
    for delivery_id, rows in trail.items():
        rows.sort()
        previous = None
        for audit_id, before, after in rows:
            total += 1
            if before is not None and after not in ALLOWED.get(before, frozenset()):
                bad.append(f"{delivery_id} #{audit_id}: {before} -> {after} not allowed")
            elif previous is not None and before != previous:
                bad.append(f"{delivery_id} #{audit_id}: {before} -> {after} after {previous}")
            previous = after
        if current is not None and delivery_id in current and current[delivery_id] != previous:
            bad.append(f"{delivery_id}: state {current[delivery_id]}, audit ends at {previous}")
    return Result("backward state transitions in the audit log", len(bad), not bad, total,
                  bad[:10])


def outbox_unpublished(unpublished: int, total: int) -> Result:
    return Result("outbox rows unpublished", unpublished, unpublished == 0, total)


def events_unapplied(outcomes: Mapping[str, int], stored: int) -> Result:
    """Stored provider events still pending (or matched to no attempt) after settling."""
    count = sum(outcomes.values())
    return Result("stored events left unapplied", count, count == 0, stored,
                  [f"{n:6d}  {k}" for k, n in sorted(outcomes.items()) if n])


def notified_once(deliveries: Iterable[dict], transitions: Iterable[tuple],
                  notifications: Iterable[dict], chosen: set[str]) -> Result:
    """Each chaos resident has one request and one delivery, and a phone of their own, so a
    notification's (recipient, kind) names one step of one delivery. Counted: a (recipient,
    kind) with more than one row (notified twice), a row not ``sent`` (never notified), and
    a step reached without its row: ``request_delivery_chosen`` for every delivery the
    resident chose, ``delivery_pin`` for every delivery that reached a courier state
    (courier_assigned, picked_up, in_transit), ``request_returned_to_office`` for every
    delivery that ended in pickup_offered, returned_to_office or cancelled."""
    deliveries = list(deliveries)
    notes = list(notifications)
    rows = Counter((n["recipient"], n["kind"]) for n in notes)
    reached: dict[str, set[str]] = defaultdict(set)
    for delivery_id, _, _, after in transitions:
        reached[str(delivery_id)].add(after)
    bad: list[str] = []
    for (recipient, kind), n in sorted(rows.items()):
        if n > 1:
            bad.append(f"{recipient} {kind}: {n} rows")
    for n in notes:
        if n["status"] != "sent":
            bad.append(f"{n['recipient']} {n['kind']}: {n['status']}")
    for d in deliveries:
        expected = set()
        if str(d["id"]) in chosen:
            expected.add("request_delivery_chosen")
        if reached[str(d["id"])] & PIN_STATES:
            expected.add("delivery_pin")
        if d["state"] in BACK_TO_PICKUP:
            expected.add("request_returned_to_office")
        for kind in sorted(expected):
            if (d["recipient"], kind) not in rows:
                bad.append(f"{d['recipient']} {kind}: missing ({d['state']})")
    return Result("residents not notified exactly once per step", len(bad), not bad,
                  len(notes), bad[:10])


def check(records: Records) -> list[Result]:
    current = {str(d["id"]): d["state"] for d in records.deliveries}
    return [
        settled(records.deliveries),
        acknowledged_lost(records.webhooks, records.stored_event_ids),
        booked_twice(records.sandbox_orders, records.attempts),
        backward_transitions(records.transitions, current),
        outbox_unpublished(records.outbox_unpublished, records.outbox_total),
        events_unapplied(records.unapplied_events, len(records.stored_event_ids)),
        notified_once(records.deliveries, records.transitions, records.notifications,
                      records.chosen),
    ]


def table(results: list[Result]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'invariant':<{width}}  {'count':>6}  {'checked':>8}  result",
             f"{'-' * width}  {'-' * 6}  {'-' * 8}  ------"]
    for r in results:
        lines.append(f"{r.name:<{width}}  {r.count:>6}  {r.checked:>8}  "
                     f"{'ok' if r.ok else 'FAIL'}")
    return "\n".join(lines)
