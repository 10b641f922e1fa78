"""``make chaos`` / ``python -m chaos``.

1. The seed (``CHAOS_SEED``, else a random one) is printed first; the plan (when each resident
   asks, who cancels, the faults) follows from it and the sizes alone.
2. Own PostgreSQL and Redis on spare ports, migrations, demo data, one resident per delivery;
   the sandbox provider (random latency, no courier, 5xx, duplicated and shuffled webhooks),
   ``sipoke api --workers 2``, the thread and prefork workers and beat.
3. Drive: the residents act on the plan while the faults run.
4. Settle: the faults are over; wait until nothing moves any more (at most
   ``CHAOS_SETTLE_S``), then check the invariants and print them as a table.

Exit status 0 when every invariant holds, 1 otherwise (2: the run itself broke).
Sizes: ``CHAOS_DELIVERIES`` (1000), ``CHAOS_DRIVE_S`` (240), ``CHAOS_FAULT_GAP_S`` (mean
seconds between faults, 20); the settling wait lasts until nothing moves, at most
``CHAOS_SETTLE_S`` (300) and never past ``CHAOS_BUDGET_S`` (570) from the start, so the whole
run, teardown included, stays within 10 minutes.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
import traceback

import httpx

from chaos import data, invariants, records
from chaos.drive import Faults, Residents
from chaos.schedule import make_plan
from chaos.stack import SANDBOX_KEY, ChaosStack

# What settles within the 10 minutes on a shared 2-core machine (README, "Chaos run").
DELIVERIES = 1000
DRIVE_S = 240
SWITCHES = {
    "latency_ms": 20, "latency_jitter_ms": 600,  # 20-620 ms per call
    "no_courier_rate": 0.08,
    "error_rate": 0.05,  # 503
    "hang_after_accept_rate": 0.02, "hang_seconds": 8,  # order made, answer too late
    "failed_dropoff_rate": 0.05,
    "duplicate_webhooks": True, "out_of_order_webhooks": True,
}


def _stop(*_: object) -> None:
    raise SystemExit(143)  # let ``finally`` stop the processes and remove the cluster


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def main() -> int:
    began = time.monotonic()
    signal.signal(signal.SIGTERM, _stop)
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))
    print(f"chaos: seed {seed}  (replay: CHAOS_SEED={seed} make chaos)", flush=True)
    count = int(_env_number("CHAOS_DELIVERIES", DELIVERIES))
    drive_s = _env_number("CHAOS_DRIVE_S", DRIVE_S)
    settle_s = _env_number("CHAOS_SETTLE_S", 300)
    plan = make_plan(seed, deliveries=count, drive_s=drive_s,
                     mean_fault_gap_s=_env_number("CHAOS_FAULT_GAP_S", 20))
    print(f"chaos: {count} deliveries over {drive_s:.0f} s, {len(plan.cancels)} cancellations, "
          f"{len(plan.faults)} faults:", flush=True)
    for fault in plan.faults:
        print(f"  {fault.describe()}", flush=True)

    stack = ChaosStack(sandbox_seed=seed)
    try:
        return _run(stack, plan, drive_s, settle_s, began)
    except Exception:
        print("chaos: the run broke:\n" + traceback.format_exc(), file=sys.stderr, flush=True)
        for name in ("api", "threads", "prefork", "beat", "sandbox"):
            path = stack.logs / f"{name}.log"
            if path.exists():
                print(f"--- {name}.log (tail)\n{path.read_text(errors='replace')[-2000:]}",
                      file=sys.stderr)
        return 2
    finally:
        stack.close()
        print(f"chaos: stopped everything, removed the cluster ({time.monotonic() - began:.0f} s "
              "in all)", flush=True)


def _run(stack: ChaosStack, plan, drive_s: float, settle_s: float, began: float) -> int:
    step = time.monotonic()
    stack.start_services()
    data.bind(stack)
    data.migrate_and_seed(stack)
    print(f"chaos: database migrated and seeded ({time.monotonic() - step:.0f} s)", flush=True)
    people = data.residents(plan.deliveries, plan.seed)
    print(f"chaos: {len(people)} residents with finished requests "
          f"({time.monotonic() - step:.0f} s)", flush=True)
    stack.start("sandbox")
    httpx.patch(f"{stack.sandbox_url}/v1/admin/switches", json=SWITCHES, timeout=10,
                headers={"Authorization": f"Bearer {SANDBOX_KEY}"}).raise_for_status()
    for name in ("api", "threads", "prefork", "beat"):
        stack.start(name)
    time.sleep(3)  # the workers connect to the broker
    print(f"chaos: stack up in {time.monotonic() - step:.0f} s (PostgreSQL :{stack.postgres.port}"
          f", Redis :{stack.redis.port}, API :{stack.api_port}, sandbox :{stack.sandbox_port})"
          f"; sandbox switches {SWITCHES}", flush=True)

    started = time.monotonic()
    stop_supervisor = threading.Event()
    supervisor = threading.Thread(target=stack.supervise, args=(stop_supervisor, started),
                                  name="supervisor", daemon=True)
    supervisor.start()
    faults = Faults(stack, plan, started)
    faults.start()
    residents = Residents(stack, people, plan)
    drive = threading.Thread(target=residents.run, args=(started,), name="residents",
                             daemon=True)
    drive.start()
    faults.join()
    drive.join(timeout=max(0.0, started + drive_s + 150 - time.monotonic()))
    print(f"chaos: drive over after {time.monotonic() - started:.0f} s; resident calls: "
          + ", ".join(f"{k} {v}" for k, v in sorted(residents.tally.counts.items())),
          flush=True)

    # Settle: the supervisor keeps restarting what exits by itself; wait for quiet.
    settle_began = time.monotonic()
    budget_left = _env_number("CHAOS_BUDGET_S", 570) - (settle_began - began) - 20
    settle_s = max(30.0, min(settle_s, budget_left))
    quiet = 0
    left: dict[str, int] = {}
    while time.monotonic() - settle_began < settle_s:
        time.sleep(5)
        try:
            left = records.progress(stack)
        except Exception as exc:  # a database still recovering: look again
            left = {"error": 1}
            print(f"chaos: settling: {exc!r}", flush=True)
            continue
        quiet = quiet + 1 if not any(left.values()) else 0
        if quiet >= 2:
            break
    print(f"chaos: settled for {time.monotonic() - settle_began:.0f} s; still moving: "
          + (", ".join(f"{k} {v}" for k, v in left.items() if v) or "nothing"), flush=True)

    found, facts = records.read(stack)
    results = invariants.check(found)
    if faults.errors:
        results.append(invariants.Result("faults that could not be injected", len(faults.errors),
                                         False, len(plan.faults), faults.errors))
    print("\nchaos: facts", flush=True)
    for key, value in facts.items():
        print(f"  {key}: {value}")
    stop_supervisor.set()
    supervisor.join(timeout=30)
    print(f"  process restarts (after kills, and by the supervisor): {stack.restarts or 'none'}")
    print("  processes that exited by themselves (restarted by the supervisor, as compose's "
          f"restart policy would): {len(stack.exited) or 'none'}")
    for line in stack.exited:
        print(f"    {line}")
    print(f"  tracebacks in process logs (faults cause some): {stack.log_errors()}")
    print("  why deliveries went back to office pickup (audit notes):")
    for line in records.reasons():
        print(f"    {line}")
    stuck = [d["id"] for d in found.deliveries
             if d["state"] not in invariants.TERMINAL_STATES and not d["alert"]]
    if stuck:
        print(f"  where the first unsettled deliveries stopped ({len(stuck)} in all):")
        for line in records.explain(stack, stuck[:3]):
            print(f"    {line}")
    for r in results:
        if r.detail:
            print(f"\n  {r.name}:")
            for line in r.detail:
                print(f"    {line}")
    print(f"\nchaos: seed {plan.seed}, {plan.deliveries} deliveries, {len(plan.faults)} faults, "
          f"{time.monotonic() - began:.0f} s\n", flush=True)
    print(invariants.table(results), flush=True)
    print(NOTES, flush=True)
    failed = [r.name for r in results if not r.ok]
    print(f"\nchaos: {'FAILED: ' + '; '.join(failed) if failed else 'every invariant holds'}",
          flush=True)
    return 1 if failed else 0


NOTES = """
  settled: terminal (completed, returned_to_office, pickup_offered, cancelled), or waiting
    with an operator flag (e.g. delivered_without_pin: the provider reported delivered, the
    office confirms); counted: neither.
  acknowledged webhooks lost: events the sandbox got a 2xx for, not in tracking_events.
  booked twice: references with 2+ sandbox orders, sandbox orders with a reference we never
    stored, deliveries with 2+ orders that carried something (not NO_DRIVER/CANCELLED).
  backward transitions: audit rows the state machine does not allow, rows not starting where
    the previous one ended, deliveries whose state is not where their audit trail ends.
  notified once: per resident (one request, one delivery, own phone) and kind, exactly one
    notification row, sent; and a row for each step reached (request_delivery_chosen,
    delivery_pin once a courier state was reached, request_returned_to_office when the
    delivery ended in pickup_offered / returned_to_office / cancelled)."""
