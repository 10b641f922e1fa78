"""The sandbox's random latency switch and its own records (orders, acknowledged webhooks),
which ``make chaos`` reads after a run."""

from __future__ import annotations

import time

from providers.sandbox.adapter import SandboxAdapter
from tests.providers.conftest import sandbox_adapter_config
from tests.providers.contract import new_reference
from tests.providers.harnesses import SandboxHarness


def test_latency_jitter_adds_a_random_wait(sandbox, sandbox_admin, receiver) -> None:
    harness = SandboxHarness(sandbox, sandbox_admin, receiver)
    assert sandbox_admin.switches(latency_jitter_ms=200)["latency_jitter_ms"] == 200
    waits = [sandbox.simulator.jitter(200) for _ in range(200)]
    assert all(0 <= w <= 200 for w in waits) and len(set(waits)) > 100
    with SandboxAdapter.from_config(sandbox_adapter_config(sandbox)) as adapter:
        started = time.monotonic()
        for _ in range(5):
            adapter.quote(harness.quote_request())
        assert time.monotonic() - started > 0.05  # five calls cannot all draw ~0 ms
    assert sandbox.simulator.jitter(0) == 0


def test_order_and_webhook_records(sandbox, sandbox_admin, receiver) -> None:
    harness = SandboxHarness(sandbox, sandbox_admin, receiver)
    reference = new_reference()
    with SandboxAdapter.from_config(sandbox_adapter_config(sandbox)) as adapter:
        quote = adapter.quote(harness.quote_request())
        booking = adapter.book(harness.booking_request(quote, reference))
        adapter.book(harness.booking_request(quote, reference))  # idempotent: no second order
    orders = sandbox_admin.client.get("/v1/admin/orders").json()["orders"]
    assert [(o["order_id"], o["client_reference"]) for o in orders] == \
        [(booking.provider_order_id, reference)]
    receiver.fail_next = 1  # the first webhook is refused once, then acknowledged
    sandbox_admin.switches(time_scale=2000)
    receiver.wait_for(lambda bodies: any(b["order"]["status"] == "COMPLETED" for b in bodies))
    deadline = time.monotonic() + 10
    log = sandbox_admin.webhook_log()
    while time.monotonic() < deadline and not all(d["delivered"] for d in log):
        time.sleep(0.05)
        log = sandbox_admin.webhook_log()
    assert log and all(d["delivered"] and d["last_status"] == 204 for d in log)
    assert max(d["attempts"] for d in log) == 2
    assert sandbox_admin.client.get("/v1/admin/orders").json()["orders"][0]["status"] == \
        "COMPLETED"
