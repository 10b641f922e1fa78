"""B1 webhook ingest: signed sandbox webhooks (each a new event id about one of the orders B2
booked) against ``POST /webhooks/sandbox``.

* saturation: as fast as the generator can send for ``seconds``; the figure is the number of
  NEW rows in ``tracking_events`` (verified, stored, acknowledged) per second, read from the
  database, not the generator's count;
* the same run against the same server's ``POST /bench/noop`` (same bodies), for the ratio
  (first, while the machine is quiet);
* paced: 1,000/s for ``paced_seconds``, p50/p99 acknowledgement latency from the scheduled
  send time;
* saturation again with the worker paused (SIGSTOP), for what ingest alone sustains; after
  each run the worker applies the backlog and the seconds it took are recorded (nothing
  stored is left pending).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.loadgen import (
    LoadResult,
    have_wrk,
    percentile,
    py_saturate,
    raw_paced,
    wrk_saturate,
)
from bench.stack import SANDBOX_KEY, SANDBOX_SECRET, BenchStack


def order_snapshots(stack: BenchStack, limit: int = 200) -> list[dict]:
    from core.db import unit_of_work
    from delivery.models import DeliveryAttempt

    with unit_of_work() as s:
        order_ids = list(s.scalars(select(DeliveryAttempt.provider_order_id).where(
            DeliveryAttempt.provider_order_id.is_not(None)).limit(limit)))
    headers = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    with httpx.Client(base_url=stack.sandbox_url, headers=headers, timeout=10) as client:
        return [client.get(f"/v1/orders/{o}").json() for o in order_ids]


def signed_request(order: dict) -> tuple[bytes, dict[str, str]]:
    from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    event = {"event_id": f"evt_{uuid.uuid4().hex}", "type": "order.status",
             "occurred_at": datetime.now(UTC).isoformat(),
             "order": {**order, "status": "ALLOCATING"}}
    body = json.dumps(event, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    return body, {"Content-Type": "application/json", TIMESTAMP_HEADER: ts,
                  SIGNATURE_HEADER: sign(SANDBOX_SECRET, ts, body)}


def stored_events() -> int:
    from core.db import unit_of_work
    from delivery.models import TrackingEvent

    with unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(TrackingEvent)) or 0)


def _saturate(url: str, orders: list[dict], tmp: Path, seconds: int) -> LoadResult:
    if have_wrk():
        # wrk cycles through the file: a repeat is a duplicate, not a stored event, so the
        # file must outlast the run at the rates measured (6,000/s for ``seconds``).
        requests = [signed_request(orders[i % len(orders)])
                    for i in range(max(20_000, 6_000 * seconds))]
        return wrk_saturate(url, requests, tmp, seconds=seconds)
    return py_saturate(url, lambda i: signed_request(orders[i % len(orders)]),
                       seconds=seconds, concurrency=32)


def _p50_p99(result: LoadResult) -> list[float]:
    if result.tool == "wrk":  # wrk reports 50/75/90/99 % itself
        values = result.latencies_ms
        return [round(values[0], 1), round(values[-1], 1)] if values else []
    return [round(percentile(result.latencies_ms, 50), 1),
            round(percentile(result.latencies_ms, 99), 1)]


def pending_events() -> int:
    from core.db import unit_of_work
    from delivery.models import TrackingEvent

    with unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(TrackingEvent).where(
            TrackingEvent.outcome == "pending")) or 0)


def wait_applied(timeout_s: float = 60) -> tuple[float, int]:
    """Seconds until the worker has applied every stored event (or the timeout), and how
    many were still pending then."""
    began = time.monotonic()
    while (left := pending_events()) and time.monotonic() - began < timeout_s:
        time.sleep(0.5)
    return round(time.monotonic() - began, 1), left


def _stored_rate(url: str, orders: list[dict], tmp: Path, seconds: int
                 ) -> tuple[LoadResult, int, float]:
    before = stored_events()
    began = time.monotonic()
    result = _saturate(url, orders, tmp, seconds)
    elapsed = min(time.monotonic() - began, float(seconds))
    stored = stored_events() - before
    return result, stored, (stored / elapsed if elapsed else 0.0)


def run(stack: BenchStack, *, seconds: int, paced_rate: float, paced_seconds: float,
        paused_seconds: int = 5) -> dict:
    orders = order_snapshots(stack)
    webhook_url = f"{stack.api_url}/webhooks/sandbox"
    noop = _saturate(f"{stack.api_url}/bench/noop", orders, stack.tmp, seconds)
    webhooks, stored, stored_rate = _stored_rate(webhook_url, orders, stack.tmp, seconds)
    drained_s, _ = wait_applied()
    count = int(paced_rate * paced_seconds)
    # Signed before the clock starts, so the generator spends its time sending.
    paced = raw_paced(webhook_url, [signed_request(orders[i % len(orders)])
                                    for i in range(count)], rate=paced_rate)
    wait_applied()
    # The same saturation with the worker paused (SIGSTOP): what ingest alone sustains when it
    # does not share the two cores with the worker applying the events.
    worker = stack.processes["worker"]
    os.killpg(worker.pid, signal.SIGSTOP)
    try:
        _, alone, alone_rate = _stored_rate(webhook_url, orders, stack.tmp, paused_seconds)
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
    alone_drained_s, alone_left = wait_applied()
    return {
        "generator": webhooks.tool,
        "saturation_seconds": seconds,
        "saturation_sent": webhooks.sent,
        "saturation_errors": webhooks.errors,
        "stored_events": stored,
        "stored_per_s": round(stored_rate, 1),
        "acked_per_s": round(webhooks.rate, 1),
        "saturation_latency_ms_p50_p99": _p50_p99(webhooks),
        "applied_all_within_s": drained_s,
        "noop_per_s": round(noop.rate, 1),
        "ratio": round(stored_rate / noop.rate, 3) if noop.rate else None,
        "stored_per_s_worker_paused": round(alone_rate, 1),
        "stored_worker_paused": alone,
        "applied_after_pause_within_s": alone_drained_s,
        "pending_after_pause_wait": alone_left,
        "paused_seconds": paused_seconds,
        "paced_rate_per_s": paced_rate,
        "paced_achieved_per_s": round(paced.sent / paced.seconds, 1) if paced.seconds else 0,
        "paced_errors": paced.errors,
        "paced_p50_ms": round(percentile(paced.latencies_ms, 50), 1),
        "paced_p99_ms": round(percentile(paced.latencies_ms, 99), 1),
        "paced_generator": paced.tool,
    }
