"""B2 dispatch: deliveries from the resident's choice to booked at the sandbox, whose every
call takes ``latency_ms``. Choices are sent at a paced rate through the API
(``POST /api/v1/deliveries/{id}/choose``); a delivery counts as booked when its attempt has
``booked_at`` (written by the worker after the provider answered). The overhead of one
delivery is ``booked_at - choice sent - provider latency``. Afterwards every reference is
looked up at the sandbox: exactly one order each (nothing booked twice)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from bench.loadgen import percentile, raw_paced
from bench.stack import SANDBOX_KEY, BenchStack


def switches(stack: BenchStack, **changes: object) -> None:
    response = httpx.patch(f"{stack.sandbox_url}/v1/admin/switches", json=changes,
                           headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=10)
    response.raise_for_status()


def booked_times(ids: list[uuid.UUID]) -> dict[uuid.UUID, float]:
    from core.db import unit_of_work
    from delivery.models import DeliveryAttempt

    out: dict[uuid.UUID, float] = {}
    with unit_of_work() as s:
        for start in range(0, len(ids), 500):
            rows = s.execute(select(DeliveryAttempt.delivery_id, DeliveryAttempt.booked_at)
                             .where(DeliveryAttempt.delivery_id.in_(ids[start:start + 500]),
                                    DeliveryAttempt.booked_at.is_not(None)))
            out.update({d: b.timestamp() for d, b in rows})
    return out


def orders_per_reference(stack: BenchStack, ids: list[uuid.UUID]) -> dict[str, int]:
    from core.db import unit_of_work
    from delivery.models import DeliveryAttempt

    with unit_of_work() as s:
        refs = list(s.scalars(select(DeliveryAttempt.reference)
                              .where(DeliveryAttempt.delivery_id.in_(ids))))
    headers = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    # One client (one TLS context, kept-alive connections) for every lookup.
    with httpx.Client(base_url=stack.sandbox_url, headers=headers, timeout=10) as client:

        def count(ref: str) -> int:
            r = client.get("/v1/orders", params={"client_reference": ref})
            return len(r.json()["orders"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip(refs, pool.map(count, refs), strict=True))


def run(stack: BenchStack, ids: list[uuid.UUID], headers: dict[str, str], *, rate: float,
        latency_ms: int, timeout_s: float = 120) -> dict:
    switches(stack, latency_ms=latency_ms)
    from core.db import unit_of_work
    from delivery.models import DeliveryQuote

    with unit_of_work() as s:
        quote_of = dict(s.execute(select(DeliveryQuote.delivery_id, DeliveryQuote.id)
                                  .where(DeliveryQuote.delivery_id.in_(ids))).all())
    requests = [(json.dumps({"quote_id": str(quote_of[d])}).encode(),
                 {**headers, "Content-Type": "application/json"}) for d in ids]
    load = raw_paced(lambda i: f"{stack.api_url}/api/v1/deliveries/{ids[i]}/choose", requests,
                     rate=rate, connections=100, grace_s=30)
    # Each choice counts from its scheduled send: a late send is the system's delay too.
    sent = {i: load.began_at + i / rate for i in range(len(ids))}
    deadline = time.monotonic() + timeout_s
    booked: dict[uuid.UUID, float] = {}
    while time.monotonic() < deadline:
        booked = booked_times(ids)
        if len(booked) == len(ids):
            break
        time.sleep(0.5)
    switches(stack, latency_ms=0)
    overheads = [(booked[d] - sent[i]) * 1000 - latency_ms
                 for i, d in enumerate(ids) if d in booked]
    first_sent = min(sent.values())
    last_booked = max(booked.values()) if booked else first_sent
    orders = orders_per_reference(stack, ids)
    return {
        "deliveries": len(ids), "booked": len(booked), "choice_rate_per_s": rate,
        "choose_http_errors": load.errors, "provider_latency_ms": latency_ms,
        "overhead_p50_ms": round(percentile(overheads, 50), 1),
        "overhead_p99_ms": round(percentile(overheads, 99), 1),
        "bookings_per_s": round(len(booked) / max(1e-6, last_booked - first_sent), 1),
        "choose_ack_p50_ms": round(percentile(load.latencies_ms, 50), 1),
        "choose_ack_p99_ms": round(percentile(load.latencies_ms, 99), 1),
        "references_with_two_orders": sum(1 for n in orders.values() if n > 1),
        "references_without_order": sum(1 for n in orders.values() if n == 0),
    }
