"""The pure parts of ``make chaos``: the plan follows from the seed alone, and each invariant
check counts what it must on crafted rows. (The run itself is ``make chaos``; it takes
minutes and is not part of ``make test``.)"""

from __future__ import annotations

from chaos import invariants as inv
from chaos.schedule import FAULTS, make_plan


def test_the_same_seed_gives_the_same_plan() -> None:
    a = make_plan(42, deliveries=300, drive_s=120)
    assert a == make_plan(42, deliveries=300, drive_s=120)
    assert a != make_plan(43, deliveries=300, drive_s=120)


def test_the_plan_covers_every_delivery_and_every_fault_kind() -> None:
    plan = make_plan(7, deliveries=500, drive_s=240, fault_start_s=15, mean_fault_gap_s=20)
    assert sorted(i for _, i in plan.requests) == list(range(500))
    assert all(0 <= t <= 240 * 0.8 for t, _ in plan.requests)
    times = [t for t, _ in plan.requests]
    assert times == sorted(times)
    assert {f.kind for f in plan.faults} == set(FAULTS)
    assert len(plan.faults) == round((240 - 15) / 20)
    assert [f.at for f in plan.faults] == sorted(f.at for f in plan.faults)
    assert all(15 <= f.at <= 240 and f.target in FAULTS[f.kind] and f.down_s > 0
               for f in plan.faults)
    requested = {i: t for t, i in plan.requests}
    assert all(t > requested[i] for t, i in plan.cancels)


def test_settled_counts_deliveries_neither_terminal_nor_flagged() -> None:
    rows = [{"state": "completed", "alert": None}, {"state": "pickup_offered",
                                                    "alert": "no_courier"},
            {"state": "delivered", "alert": "delivered_without_pin"},
            {"state": "booking", "alert": "booking_unknown"},
            {"state": "in_transit", "alert": None}, {"state": "quoting", "alert": None}]
    result = inv.settled(rows)
    assert (result.count, result.ok, result.checked) == (2, False, 6)
    assert inv.settled(rows[:4]).ok


def test_acknowledged_webhooks_must_be_stored() -> None:
    hooks = [{"event_id": "e1", "delivered": True}, {"event_id": "e1", "delivered": True},
             {"event_id": "e2", "delivered": True}, {"event_id": "e3", "delivered": False}]
    assert inv.acknowledged_lost(hooks, {"e1", "e2"}).ok
    result = inv.acknowledged_lost(hooks, {"e1"})
    assert (result.count, result.checked) == (1, 2)  # e3 was never acknowledged


def test_booked_twice() -> None:
    attempts = [{"delivery_id": "d1", "reference": "r1", "leg": "outbound"},
                {"delivery_id": "d1", "reference": "r2", "leg": "outbound"},
                {"delivery_id": "d2", "reference": "r3", "leg": "outbound"}]
    ok = [{"order_id": "o1", "client_reference": "r1", "status": "NO_DRIVER"},
          {"order_id": "o2", "client_reference": "r2", "status": "COMPLETED"},
          {"order_id": "o3", "client_reference": "r3", "status": "COMPLETED"}]
    assert inv.booked_twice(ok, attempts).ok
    same_ref = [*ok, {"order_id": "o4", "client_reference": "r3", "status": "CANCELLED"}]
    assert inv.booked_twice(same_ref, attempts).count == 1
    stranger = [*ok, {"order_id": "o5", "client_reference": "zz", "status": "CREATED"}]
    assert inv.booked_twice(stranger, attempts).count == 1
    both_carried = [{**ok[0], "status": "COMPLETED"}, *ok[1:]]
    assert inv.booked_twice(both_carried, attempts).count == 1


def test_backward_transitions() -> None:
    good = [("d1", 1, "quoting", "booking"), ("d1", 2, "booking", "quoting"),  # failover
            ("d1", 3, "quoting", "booking"), ("d1", 5, "booking", "in_transit"),
            ("d1", 7, "in_transit", "delivered")]
    assert inv.backward_transitions(good, {"d1": "delivered"}).ok
    back = [*good, ("d1", 9, "delivered", "in_transit")]
    assert inv.backward_transitions(back).count == 1
    gap = [("d1", 1, "quoting", "booking"), ("d1", 2, "picked_up", "in_transit")]
    assert inv.backward_transitions(gap).count == 1
    out_of_order = [good[1], good[0]]  # audit ids sort them back
    assert inv.backward_transitions(out_of_order).ok
    assert inv.backward_transitions(good, {"d1": "completed"}).count == 1
    assert inv.backward_transitions([("d2", 1, "cancelled", "booking")]).count == 1


def test_outbox_and_events() -> None:
    assert inv.outbox_unpublished(0, 10).ok and not inv.outbox_unpublished(2, 10).ok
    assert inv.events_unapplied({"pending": 0, "unmatched": 0}, 5).ok
    assert inv.events_unapplied({"pending": 1, "unmatched": 2}, 5).count == 3


def test_notified_once_per_step() -> None:
    deliveries = [{"id": "d1", "state": "returned_to_office", "recipient": "+1"},
                  {"id": "d2", "state": "delivered", "recipient": "+2"}]
    transitions = [("d1", 1, "booking", "courier_assigned"),
                   ("d1", 2, "courier_assigned", "returning"),
                   ("d1", 3, "returning", "returned_to_office"),
                   ("d2", 4, "booking", "delivered")]  # jumped: no PIN step reached
    notes = [{"recipient": "+1", "kind": "request_delivery_chosen", "status": "sent"},
             {"recipient": "+1", "kind": "delivery_pin", "status": "sent"},
             {"recipient": "+1", "kind": "delivery_returning", "status": "sent"},
             {"recipient": "+1", "kind": "request_returned_to_office", "status": "sent"},
             {"recipient": "+2", "kind": "request_delivery_chosen", "status": "sent"}]
    chosen = {"d1", "d2"}
    assert inv.notified_once(deliveries, transitions, notes, chosen).ok
    twice = [*notes, {"recipient": "+1", "kind": "delivery_pin", "status": "sent"}]
    assert inv.notified_once(deliveries, transitions, twice, chosen).count == 1
    unsent = [*notes[:4], {**notes[4], "status": "pending"}]
    assert inv.notified_once(deliveries, transitions, unsent, chosen).count == 1
    missing = [n for n in notes if n["kind"] != "delivery_pin"]
    assert inv.notified_once(deliveries, transitions, missing, chosen).count == 1


def test_check_and_table() -> None:
    records = inv.Records(
        deliveries=[{"id": "d1", "state": "completed", "alert": None, "recipient": "+1"}],
        transitions=[("d1", 1, "delivered", "completed")], attempts=[], sandbox_orders=[],
        webhooks=[], stored_event_ids=set(), unapplied_events={"pending": 0},
        outbox_unpublished=0, outbox_total=3,
        notifications=[{"recipient": "+1", "kind": "request_delivery_chosen",
                        "status": "sent"}], chosen={"d1"})
    results = inv.check(records)
    assert len(results) == 7 and all(r.ok for r in results)
    text = inv.table(results)
    assert "outbox rows unpublished" in text and "FAIL" not in text
