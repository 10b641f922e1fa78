"""B1 webhook ingest: signed sandbox webhooks (each a new event id about one of the orders B2
booked) against ``POST /webhooks/sandbox``.

* saturation: as fast as the generator can send for ``seconds``; the figure is the number of
  NEW rows in ``tracking_events`` (verified, stored, acknowledged) per second, read from the
  database, not the generator's count;
* the same run against the same server's ``POST /bench/noop`` (same bodies), for the ratio;
* paced: 1,000/s for ``paced_seconds``, p50/p99 acknowledgement latency from the scheduled
  send time.
"""

from __future__ import annotations

import json
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
    py_paced,
    py_saturate,
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
        requests = [signed_request(orders[i % len(orders)]) for i in range(20_000)]
        return wrk_saturate(url, requests, tmp, seconds=seconds)
    return py_saturate(url, lambda i: signed_request(orders[i % len(orders)]),
                       seconds=seconds, concurrency=32)


def _p50_p99(result: LoadResult) -> list[float]:
    if result.tool == "wrk":  # wrk reports 50/75/90/99 % itself
        values = result.latencies_ms
        return [round(values[0], 1), round(values[-1], 1)] if values else []
    return [round(percentile(result.latencies_ms, 50), 1),
            round(percentile(result.latencies_ms, 99), 1)]


def run(stack: BenchStack, *, seconds: int, paced_rate: float, paced_seconds: float) -> dict:
    orders = order_snapshots(stack)
    webhook_url = f"{stack.api_url}/webhooks/sandbox"
    before = stored_events()
    began = time.monotonic()
    webhooks = _saturate(webhook_url, orders, stack.tmp, seconds)
    elapsed = time.monotonic() - began
    stored = stored_events() - before
    noop = _saturate(f"{stack.api_url}/bench/noop", orders, stack.tmp, seconds)
    time.sleep(2)  # let the server drain before the paced run
    count = int(paced_rate * paced_seconds)
    paced = py_paced(webhook_url, lambda i: signed_request(orders[i % len(orders)]),
                     rate=paced_rate, count=count, max_in_flight=256)
    stored_rate = stored / min(elapsed, float(seconds)) if seconds else 0.0
    return {
        "generator": webhooks.tool,
        "saturation_seconds": seconds,
        "saturation_sent": webhooks.sent,
        "saturation_errors": webhooks.errors,
        "stored_events": stored,
        "stored_per_s": round(stored_rate, 1),
        "acked_per_s": round(webhooks.rate, 1),
        "saturation_latency_ms_p50_p99": _p50_p99(webhooks),
        "noop_per_s": round(noop.rate, 1),
        "ratio": round(stored_rate / noop.rate, 3) if noop.rate else None,
        "paced_rate_per_s": paced_rate,
        "paced_achieved_per_s": round(paced.sent / paced.seconds, 1) if paced.seconds else 0,
        "paced_errors": paced.errors,
        "paced_p50_ms": round(percentile(paced.latencies_ms, 50), 1),
        "paced_p99_ms": round(percentile(paced.latencies_ms, 99), 1),
        "paced_generator": paced.tool,
    }
