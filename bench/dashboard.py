"""B4 operator dashboard at volume: deliveries and tracking events generated in PostgreSQL
with ``INSERT ... SELECT generate_series`` (FK triggers off), loaded the way a restore loads
a dump: the tables' secondary indexes and unique constraints are dropped, the rows inserted,
and the same indexes (their definitions read from the catalog) built again. Then
``VACUUM (ANALYZE)`` on both tables: on a long-running deployment autovacuum has long since
visited these rows (statistics, visibility map), and a checkpoint has written them out, so
the timed queries see what they would see there, not a table fresh from a bulk load.

Timed, warm, through the product's own code:

* the exception list as the operator gets it over HTTP (``GET /api/v1/operator/deliveries``,
  flagged first; 50 rows with their attempts);
* the dashboard's counts over HTTP (``GET /api/v1/operator/summary``: open deliveries by
  state, flagged ones, endings of the last 30 days);
* one delivery's detail with its timeline over HTTP (``GET /api/v1/operator/deliveries/{id}``,
  its ~10 tracking events among all of them).

Half the deliveries belong to the operator's office, half to the other demo office, one every
30 s (1M: a year). Those of the last two days are in every state (4 in 14 open); older ones
have ended (completed, cancelled, returned, offered for pickup), as they have on a real
deployment, where the sweeper flags a delivery stuck for hours. 0.2 % are flagged with an
alert, all in the operator's office (far more than an office has waiting).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from bench.loadgen import percentile
from bench.stack import BenchStack

# One delivery every 30 s (a year of history for 1M). Those of the last two days are in every
# state; older ones have ended, in these proportions.
STATES = ("completed",) * 7 + ("cancelled", "in_transit", "searching_courier",
                               "returned_to_office", "pickup_offered", "awaiting_choice",
                               "delivered")
ENDED = ("completed",) * 7 + ("cancelled", "returned_to_office", "pickup_offered")
RECENT = 2 * 24 * 3600 // 30  # deliveries of the last two days
BATCH = 1_000_000  # events per INSERT; the time budget is checked between batches


def _ids() -> dict[str, str]:
    from core.db import unit_of_work
    from core.models import DocumentRequest, Office, User

    with unit_of_work() as s:
        offices = {o.slug: str(o.id) for o in s.scalars(select(Office))}
        request_id = s.scalar(select(DocumentRequest.id).limit(1))
        resident = s.scalar(select(User.id).where(User.phone == "+6281234560001"))
    return {"o1": offices["mekarjaya"], "o2": offices["abadijaya"], "req": str(request_id),
            "res": str(resident)}


def _secondary_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(drop, create) statements for every index and unique constraint of ``table`` but its
    primary key (other tables' foreign keys point at it), as the catalog defines them."""
    constraints = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"), {"t": table}).all()
    indexes = conn.execute(text(
        "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE x.indrelid = CAST(:t AS regclass) AND NOT x.indisprimary AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint k WHERE k.conrelid = x.indrelid "
        "  AND k.conindid = x.indexrelid)"), {"t": table}).all()
    return ([(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
              f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
             for name, definition in constraints]
            + [(f'DROP INDEX "{name}"', definition) for name, definition in indexes])


@contextmanager
def _indexes_built_after(table: str, timings: dict[str, float]) -> Iterator[None]:
    """Drop ``table``'s secondary indexes for the load, build them again after it."""
    from core.db import get_engine

    with get_engine().begin() as conn:
        statements = _secondary_indexes(conn, table)
        for drop, _ in statements:
            conn.execute(text(drop))
    try:
        yield
    finally:
        began = time.monotonic()
        with get_engine().begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            for _, create in statements:
                conn.execute(text(create))
        timings[f"{table}_indexes_s"] = round(time.monotonic() - began, 1)


def generate(deliveries: int, events: int, *, budget_s: float) -> dict:
    """Insert the rows; events in batches while ``budget_s`` (counted from the end of the
    deliveries' load) lasts. Building the indexes and the vacuum come after the budget."""
    from core.db import get_engine

    ids = _ids()
    states, ended = ("ARRAY[" + ",".join(f"'{s}'" for s in names) + "]"
                     for names in (STATES, ENDED))
    timings: dict[str, float] = {}
    began = time.monotonic()
    with _indexes_built_after("deliveries", timings), get_engine().begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"""
            INSERT INTO deliveries (id, office_id, request_id, resident_id, state,
              state_changed_at, recipient_name, recipient_phone, address, lat, lng, originals,
              originals_collected, choice_policy, subsidy, excluded_providers, auto_choose,
              budget_deadline, quote_errors, pin_attempts, created_at, updated_at, alert,
              alert_at)
            SELECT gen_random_uuid(),
              CASE WHEN g % 2 = 0 THEN CAST(:o1 AS uuid) ELSE CAST(:o2 AS uuid) END,
              CAST(:req AS uuid), CAST(:res AS uuid),
              CASE WHEN g <= {RECENT} THEN ({states})[1 + g / 2 % {len(STATES)}]
                ELSE ({ended})[1 + g / 2 % {len(ENDED)}] END,
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
    with _indexes_built_after("tracking_events", timings):
        while inserted < events and time.monotonic() - events_began < budget_s:
            size = min(BATCH, events - inserted)
            with get_engine().begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("""
                    INSERT INTO tracking_events (provider, provider_event_id,
                      provider_order_id, source, status, raw_status, occurred_at, received_at,
                      data, body, headers, outcome, applied, delivery_id, office_id,
                      apply_tries)
                    SELECT 'sandbox', 'bench-' || g, 'so_bench_' || (g % :d), 'webhook',
                      'in_transit', 'ON_DELIVERY', now(), now() - make_interval(secs => g / 10.0),
                      '{}', '{"order":{"status":"ON_DELIVERY"}}', '{}', 'applied', true, dn.id,
                      dn.office_id, 0
                    FROM generate_series(:lo, :hi) g JOIN bench_dn dn ON dn.n = 1 + g % :d"""),
                    {"lo": inserted + 1, "hi": inserted + size, "d": deliveries})
            inserted += size
        events_s = time.monotonic() - events_began
    vacuum_began = time.monotonic()
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP TABLE bench_dn"))
        conn.execute(text("VACUUM (ANALYZE) deliveries"))
        conn.execute(text("VACUUM (ANALYZE) tracking_events"))
        # The load wrote some GB of WAL: flush it now, so the timed queries do not share
        # the disk with the checkpoint it would trigger (needs a superuser or pg_checkpoint).
        with contextlib.suppress(DBAPIError):
            conn.execute(text("CHECKPOINT"))
    vacuum_s = time.monotonic() - vacuum_began
    return {"deliveries": deliveries, "events": inserted, "events_target": events,
            "deliveries_insert_s": round(deliveries_s - timings["deliveries_indexes_s"], 1),
            "events_insert_s": round(events_s, 1),
            "events_per_s_insert": round(inserted / events_s) if events_s else 0,
            **timings, "vacuum_analyze_s": round(vacuum_s, 1),
            "total_s": round(time.monotonic() - began, 1)}


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
    from delivery.models import Delivery, TrackingEvent

    office = _ids()["o1"]
    client = httpx.Client(base_url=stack.api_url, headers=headers, timeout=30)
    with unit_of_work() as s:
        some = s.scalar(select(Delivery.id).where(Delivery.office_id == office).limit(1))
        some_events = s.scalar(select(func.count()).select_from(TrackingEvent).where(
            TrackingEvent.delivery_id == some))

    def get(path: str, **params: object) -> dict | list:
        r = client.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def exception_list() -> None:
        get("/api/v1/operator/deliveries", limit=50)

    def summary() -> None:
        get("/api/v1/operator/summary")

    def timeline() -> None:
        get(f"/api/v1/operator/deliveries/{some}")

    try:
        return {"exception_list_http": _timed(exception_list, runs),
                "summary_http": _timed(summary, runs),
                "timeline_http": {**_timed(timeline, runs), "events": some_events},
                "summary": get("/api/v1/operator/summary")}
    finally:
        client.close()
