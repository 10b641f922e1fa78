"""THE end-to-end test: real processes, real broker, real database, the sandbox over HTTP.

* ``sipoke sandbox-provider`` on a free port (fast simulated clock) sends signed webhooks to
* ``sipoke api`` on a free port, whose ``/webhooks/sandbox`` stores them; and
* ``sipoke worker --beat`` on Redis (``SIPOKE_TEST_REDIS_URL``, a key prefix of its own) does
  quotes, bookings, applying, polling and sweeps against the PostgreSQL test database.
* Notifications go to a local HTTP "gateway" in this process, which is how the test reads
  the resident's PIN.

One stack serves every scenario in turn (the sandbox's switches change at run time), so the
whole file stays well under two minutes. Subprocesses are always killed.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.models import DocumentRequest
from delivery.models import DeliveryAttempt, TrackingEvent
from tests.conftest import REDIS_URL, TEST_SECRET, missing_service
from tests.delivery.conftest import AGUS, DEWI, SITI, attempts, finished_request, load

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.timeout(240)]

SANDBOX_KEY = "e2e-sandbox-key"
SANDBOX_SECRET = "e2e-sandbox-webhook-secret"
PIN_RE = re.compile(r"dokumen (\w+)\. PIN serah terima: (\d{6})")
RETRY_RE = re.compile(r"Task delivery\.book\[([0-9a-f-]+)\] retry: .*timed out")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Gateway:
    """A notification gateway (WhatsApp/SMS stand-in) that records every message."""

    messages: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pin_for(self, phone: str, reference: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for message in reversed(self.messages):
                    found = PIN_RE.search(message["message"])
                    if message["to"] == phone and found and found.group(1) == reference:
                        return found.group(2)
            time.sleep(0.1)
        raise AssertionError(f"no PIN sent to {phone} for {reference}: {self.messages}")


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    gw = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with gw.lock:
                gw.messages.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield gw, f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()


@dataclass
class Stack:
    api: httpx.Client
    sandbox: httpx.Client
    logs: Path

    def switches(self, **changes: Any) -> None:
        response = self.sandbox.patch("/v1/admin/switches", json=changes)
        assert response.status_code == 200, response.text

    def orders_for(self, reference: str) -> list[dict]:
        return self.sandbox.get("/v1/orders", params={"client_reference": reference}
                                ).json()["orders"]


def _wait_http(url: str, procs: list[subprocess.Popen], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"a process exited early ({proc.args})"
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def stack(engine, demo, gateway, tmp_path: Path) -> Iterator[Stack]:
    if not REDIS_URL:
        missing_service("redis")
    _gw, gateway_url = gateway
    api_port, sandbox_port = free_port(), free_port()
    api_url, sandbox_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({
        "SIPOKE_ENV": "test", "SIPOKE_SECRET_KEY": TEST_SECRET, "SIPOKE_LOG_JSON": "false",
        "SIPOKE_LOG_LEVEL": "INFO", "SIPOKE_VAR_DIR": str(tmp_path / "var"),
        "SIPOKE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SIPOKE_BROKER_URL": REDIS_URL,
        "SIPOKE_BROKER_KEY_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}:",
        "SIPOKE_BASE_URL": api_url, "SIPOKE_PORT": str(api_port),
        "SIPOKE_NOTIFY_CHANNEL": "http", "SIPOKE_NOTIFY_GATEWAY_URL": gateway_url,
        "SIPOKE_OUTBOX_RELAY_INTERVAL": "0.5", "SIPOKE_DELIVERY_SWEEP_INTERVAL": "1",
        "SIPOKE_DELIVERY__POLL_AFTER_S": "5", "SIPOKE_DELIVERY__STUCK_AFTER_S": "5",
        # The sandbox: its server and our adapter read the same variables.
        "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": sandbox_url,
        "SIPOKE_PROVIDERS__SANDBOX__API_KEY": SANDBOX_KEY,
        "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": SANDBOX_SECRET,
        "SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT": "1.5",
        "SIPOKE_PROVIDERS__SANDBOX__SEARCH_S": "2", "SIPOKE_PROVIDERS__SANDBOX__HANDOVER_S": "3",
        "SIPOKE_PROVIDERS__SANDBOX__SPEED_MPS": "400",
        "SIPOKE_PROVIDERS__SANDBOX__TIME_SCALE": "3",
        "SIPOKE_PROVIDERS__SANDBOX__LOCATION_PING_S": "0",
        "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_RETRY_BASE_S": "0.3",
    })
    exe = [sys.executable, "-m", "sipoke.cli"]
    logs = tmp_path / "logs"
    logs.mkdir()
    specs = {"sandbox": [*exe, "sandbox-provider", "--port", str(sandbox_port), "--seed", "5"],
             "api": [*exe, "api"],
             "worker": [*exe, "worker", "--beat", "--concurrency", "3"]}
    procs: list[subprocess.Popen] = []
    try:
        for name, argv in specs.items():
            out = (logs / f"{name}.log").open("wb")
            procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        _wait_http(f"{api_url}/healthz", procs)
        _wait_http(f"{sandbox_url}/v1/admin/switches", procs)
        with httpx.Client(base_url=api_url, timeout=10) as api, \
                httpx.Client(base_url=sandbox_url, timeout=10,
                             headers={"Authorization": f"Bearer {SANDBOX_KEY}"}) as sandbox:
            yield Stack(api=api, sandbox=sandbox, logs=logs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def wait_until(check: Callable[[], Any], what: str, stack: Stack, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    tail = (stack.logs / "worker.log").read_text()[-3000:]
    raise AssertionError(f"timed out waiting for {what} (last: {last})\nworker log:\n{tail}")


def state_of(delivery_id: str) -> str:
    return str(load(delivery_id).state)


def request_state(request_id: uuid.UUID) -> str:
    with unit_of_work() as s:
        request = s.get(DocumentRequest, request_id)
        assert request is not None
        return str(request.state)


def start_delivery(stack: Stack, demo: Any, phone: str, request_id: uuid.UUID,
                   provider: str = "sandbox") -> str:
    headers = demo.headers(phone)
    created = stack.api.post("/api/v1/deliveries", headers=headers, json={
        "request_id": str(request_id), "address": "Jl. Kenanga No. 5, Depok",
        "lat": -6.3952, "lng": 106.8461})
    assert created.status_code == 201, created.text
    delivery_id = created.json()["id"]

    def quotes() -> list[dict] | None:
        view = stack.api.get(f"/api/v1/deliveries/{delivery_id}", headers=headers).json()
        return view["quotes"] if view["state"] == "awaiting_choice" else None

    offered = wait_until(quotes, "quotes", stack)
    chosen = next(q for q in offered if q["provider"] == provider)
    response = stack.api.post(f"/api/v1/deliveries/{delivery_id}/choose", headers=headers,
                              json={"quote_id": chosen["id"]})
    assert response.status_code == 200, response.text
    return delivery_id


def envelope_token(stack: Stack, demo: Any, delivery_id: str) -> str:
    response = stack.api.post(f"/api/v1/operator/deliveries/{delivery_id}/envelope",
                              headers=demo.headers("operator.mekarjaya"))
    assert response.status_code == 201, response.text
    assert response.json()["qr_svg"].startswith("<svg")
    return response.json()["url"].rsplit("/", 1)[-1]


def reference_of(request_id: uuid.UUID) -> str:
    with unit_of_work() as s:
        request = s.get(DocumentRequest, request_id)
        assert request is not None
        return request.reference


@pytest.mark.parametrize("backend", ["postgresql"])  # the production database only
def test_delivery_end_to_end(stack: Stack, demo, gateway) -> None:
    gw, _url = gateway
    operator = demo.headers("operator.mekarjaya")

    # 1. The happy path with originals: quote, choice, booking, courier lifecycle by signed
    #    webhooks, envelope QR, pickup, PIN at the door, originals back, completed.
    rid = finished_request(SITI)
    did = start_delivery(stack, demo, SITI, rid)
    token = envelope_token(stack, demo, did)
    wait_until(lambda: state_of(did) in ("courier_assigned", "picked_up", "in_transit",
                                          "delivered"), "a courier", stack)
    page = stack.api.get(f"/antar/{token}")
    assert page.status_code == 200 and "PIN" in page.text
    handover = f"/api/v1/handover/{token}"
    assert stack.api.post(f"{handover}/pickup", json={"courier_name": "Joko Susilo"}
                          ).status_code == 200
    pin = gw.pin_for(SITI, reference_of(rid))
    wrong = stack.api.post(f"{handover}/pin", json={"pin": "000000" if pin != "000000"
                                                    else "111111"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"]["attempts_left"] == 4
    right = stack.api.post(f"{handover}/pin", json={"pin": pin})
    assert right.status_code == 200, right.text
    codes = [o["code"] for o in right.json()["originals"]]
    assert codes, "domisili asks for originals"
    collected = stack.api.post(f"{handover}/originals", json={"checked": codes})
    assert collected.status_code == 200, collected.text
    # The sandbox does no round trips: a second leg brings the originals to the office.
    wait_until(lambda: any(a.leg == "originals" and a.status == "done"
                           for a in attempts(did)), "the originals leg", stack, timeout=40)
    done = stack.api.post(f"/api/v1/operator/deliveries/{did}/originals-received",
                          headers=operator, json={"originals_checked": codes})
    assert done.status_code == 200, done.text
    assert state_of(did) == "completed"
    assert request_state(rid) == "completed"
    outbound = [a for a in attempts(did) if a.leg == "outbound"]
    assert len(outbound) == 1 and len(stack.orders_for(outbound[0].reference)) == 1

    # 2. No courier at the sandbox: failover to the in-house courier.
    stack.switches(no_courier_rate=1.0)
    rid2 = finished_request(AGUS, originals=False)
    did2 = start_delivery(stack, demo, AGUS, rid2)
    wait_until(lambda: any(a.provider == "inhouse" for a in attempts(did2)),
               "failover to in-house", stack)
    stack.switches(no_courier_rate=0.0)
    courier = demo.headers("kurir.mekarjaya")
    offers = wait_until(lambda: stack.api.get("/api/v1/courier/offers", headers=courier
                                              ).json(), "an in-house offer", stack)
    accepted = stack.api.post(f"/api/v1/courier/offers/{offers[0]['id']}/accept",
                              headers=courier)
    assert accepted.status_code == 200, accepted.text
    wait_until(lambda: state_of(did2) == "courier_assigned", "in-house courier", stack)
    first, second = attempts(did2)
    assert (first.provider, first.status) == ("sandbox", "failed")
    assert (second.provider, second.status) == ("inhouse", "active")

    # 3. Duplicate and out-of-order webhooks reach the same final state.
    stack.switches(duplicate_webhooks=True, out_of_order_webhooks=True)
    rid3 = finished_request(SITI, service_code="domisili", originals=False)
    did3 = start_delivery(stack, demo, SITI, rid3)
    wait_until(lambda: state_of(did3) == "delivered", "delivered (shuffled webhooks)", stack)
    stack.switches(duplicate_webhooks=False, out_of_order_webhooks=False)
    [attempt3] = attempts(did3)
    assert attempt3.provider_status == "delivered" and attempt3.status == "done"
    sent = [d for d in stack.sandbox.get("/v1/admin/webhooks").json()["deliveries"]
            if d["order_id"] == attempt3.provider_order_id]
    with unit_of_work() as s:
        stored = s.scalar(select(func.count()).select_from(TrackingEvent).where(
            TrackingEvent.provider_order_id == attempt3.provider_order_id,
            TrackingEvent.source == "webhook"))
    assert len(sent) > stored > 0  # every duplicate answered 200, stored once
    pin3 = gw.pin_for(SITI, reference_of(rid3))
    token3 = envelope_token(stack, demo, did3)
    assert stack.api.post(f"/api/v1/handover/{token3}/pin", json={"pin": pin3}
                          ).status_code == 200
    assert state_of(did3) == "completed" and request_state(rid3) == "completed"

    # 4. A failed drop-off comes back to the office; the resident gets a pickup code.
    stack.switches(failed_dropoff_rate=1.0)
    rid4 = finished_request(AGUS, originals=False)
    did4 = start_delivery(stack, demo, AGUS, rid4)
    wait_until(lambda: state_of(did4) == "returned_to_office", "returned to office", stack)
    stack.switches(failed_dropoff_rate=0.0)
    with unit_of_work() as s:
        request4 = s.get(DocumentRequest, rid4)
        assert request4 is not None
        assert request4.handover_method == "pickup" and request4.pickup_code

    # 5. The provider accepts but the answer times out: exactly one booking.
    stack.switches(hang_after_accept_rate=1.0, hang_seconds=3.0)
    rid5 = finished_request(DEWI, originals=False)
    did5 = start_delivery(stack, demo, DEWI, rid5)
    wait_until(lambda: any("timed out" in (a.last_error or "") for a in attempts(did5)),
               "the booking call to time out", stack, timeout=40)
    stack.switches(hang_after_accept_rate=0.0)
    # The order's own webhook (matched by our reference) or the retry's lookup resolves the
    # unknown outcome - never a second create.
    wait_until(lambda: state_of(did5) in ("searching_courier", "courier_assigned",
                                           "picked_up", "in_transit", "delivered"),
               "the timed-out booking resolved", stack, timeout=40)
    # The webhook may resolve the state before the worker has logged the task's retry.
    wait_until(lambda: RETRY_RE.search((stack.logs / "worker.log").read_text()),
               "the timed-out booking to be retried", stack)
    retried = RETRY_RE.findall((stack.logs / "worker.log").read_text())
    wait_until(lambda: f"Task delivery.book[{retried[-1]}] succeeded" in (
        stack.logs / "worker.log").read_text(), "the booking retry to finish", stack)
    [attempt5] = attempts(did5)
    assert attempt5.status in ("active", "done")
    assert len(stack.orders_for(attempt5.reference)) == 1
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == uuid.UUID(did5))) == 1
