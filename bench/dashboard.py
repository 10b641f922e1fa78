"""B4 operator dashboard at volume: deliveries and tracking events generated in PostgreSQL
with ``INSERT ... SELECT generate_series`` (FK triggers off for the load, every index kept),
then the operator's queries timed:

* the exception list as the operator gets it over HTTP (``GET /api/v1/operator/deliveries``,
  flagged first; 50 rows with their attempts and quotes);
* the counts: per-office deliveries by state, per-office open alerts, and the existing
  ``DeliveryRepository.count_by_state()`` (all offices), in this process;
* one delivery's timeline events (``DeliveryRepository.events_for``).

Half the deliveries belong to the operator's office, half to the other demo office; 0.2 % are
flagged with an alert; states are mostly terminal, as in a long-running deployment.
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select, text

from bench.loadgen import percentile
from bench.stack import BenchStack

STATES = ("completed",) * 7 + ("cancelled", "in_transit", "searching_courier",
                               "returned_to_office", "pickup_offered", "awaiting_choice",
                               "delivered")
BATCH = 250_000


def _ids() -> dict[str, str]:
    from core.db import unit_of_work
    from core.models import DocumentRequest, Office, User

    with unit_of_work() as s:
        offices = {o.slug: str(o.id) for o in s.scalars(select(Office))}
        request_id = s.scalar(select(DocumentRequest.id).limit(1))
        resident = s.scalar(select(User.id).where(User.phone == "+6281234560001"))
    return {"o1": offices["mekarjaya"], "o2": offices["abadijaya"], "req": str(request_id),
            "res": str(resident)}


def generate(deliveries: int, events: int, *, budget_s: float) -> dict:
    """Insert the rows; events in batches while ``budget_s`` (counted from the end of the
    deliveries' insert) lasts."""
    from core.db import get_engine

    ids = _ids()
    states = "ARRAY[" + ",".join(f"'{s}'" for s in STATES) + "]"
    began = time.monotonic()
    with get_engine().begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"""
            INSERT INTO deliveries (id, office_id, request_id, resident_id, state,
              state_changed_at, recipient_name, recipient_phone, address, lat, lng, originals,
              originals_collected, choice_policy, subsidy, excluded_providers, auto_choose,
              budget_deadline, quote_errors, pin_attempts, created_at, updated_at, alert,
              alert_at)
            SELECT gen_random_uuid(),
              CASE WHEN g % 2 = 0 THEN CAST(:o1 AS uuid) ELSE CAST(:o2 AS uuid) END,
              CAST(:req AS uuid), CAST(:res AS uuid), ({states})[1 + g % {len(STATES)}],
              now() - make_interval(secs => g * 30), 'Warga ' || g, '+6281234560001',
              'Jl. Bench No. ' || g, -6.39, 106.84, '[]', '[]', 'resident', 0, '[]', false,
              now(), '{{}}', 0, now() - make_interval(secs => g * 30), now(),
              CASE WHEN g % 500 = 0 THEN 'late_delivery' END,
              CASE WHEN g % 500 = 0 THEN now() - make_interval(secs => g) END
            FROM generate_series(1, :n) g"""), {**ids, "n": deliveries})
    deliveries_s = time.monotonic() - began
    with get_engine().begin() as conn:
        conn.execute(text("CREATE TABLE bench_dn AS SELECT id, office_id, "
                          "row_number() OVER () AS n FROM deliveries"))
        conn.execute(text("CREATE INDEX ON bench_dn (n)"))
    inserted = 0
    events_began = time.monotonic()
    while inserted < events and time.monotonic() - events_began < budget_s:
        size = min(BATCH, events - inserted)
        with get_engine().begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("""
                INSERT INTO tracking_events (provider, provider_event_id, provider_order_id,
                  source, status, raw_status, occurred_at, received_at, data, body, headers,
                  outcome, applied, delivery_id, office_id, apply_tries)
                SELECT 'sandbox', 'bench-' || g, 'so_bench_' || (g % :d), 'webhook',
                  'in_transit', 'ON_DELIVERY', now(), now() - make_interval(secs => g / 10.0),
                  '{}', '{"order":{"status":"ON_DELIVERY"}}', '{}', 'applied', true, dn.id,
                  dn.office_id, 0
                FROM generate_series(:lo, :hi) g JOIN bench_dn dn ON dn.n = 1 + g % :d"""),
                {"lo": inserted + 1, "hi": inserted + size, "d": deliveries})
        inserted += size
    events_s = time.monotonic() - events_began
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP TABLE bench_dn"))
        conn.execute(text("ANALYZE deliveries"))
        conn.execute(text("ANALYZE tracking_events"))
    return {"deliveries": deliveries, "events": inserted, "events_target": events,
            "deliveries_insert_s": round(deliveries_s, 1), "events_insert_s": round(events_s, 1),
            "events_per_s_insert": round(inserted / events_s) if events_s else 0}


def _timed(fn, runs: int) -> dict:
    fn()  # warm the cache once; the figure is the steady state
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            "runs": runs}


def measure(stack: BenchStack, headers: dict[str, str], *, runs: int) -> dict:
    from core.db import unit_of_work
    from delivery.models import Delivery
    from delivery.repository import DeliveryRepository

    office = _ids()["o1"]
    client = httpx.Client(base_url=stack.api_url, headers=headers, timeout=30)

    def exception_list() -> None:
        r = client.get("/api/v1/operator/deliveries", params={"limit": 50})
        assert r.status_code == 200, r.text

    def office_counts() -> None:
        with unit_of_work() as s:
            s.execute(select(Delivery.state, func.count()).where(
                Delivery.office_id == office).group_by(Delivery.state)).all()

    def alert_count() -> None:
        with unit_of_work() as s:
            s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.office_id == office, Delivery.alert.is_not(None)))

    def all_counts() -> None:
        with unit_of_work() as s:
            DeliveryRepository(s).count_by_state()

    with unit_of_work() as s:
        some = s.scalar(select(Delivery.id).where(Delivery.office_id == office).limit(1))

    def timeline_events() -> None:
        with unit_of_work() as s:
            DeliveryRepository(s).events_for(some)

    try:
        return {"exception_list_http": _timed(exception_list, runs),
                "office_state_counts": _timed(office_counts, runs),
                "office_alert_count": _timed(alert_count, runs),
                "count_by_state_all_offices": _timed(all_counts, max(5, runs // 5)),
                "timeline_events": _timed(timeline_events, runs)}
    finally:
        client.close()
