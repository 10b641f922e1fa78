"""Delivery test fixtures: a live in-process sandbox provider (real HTTP, frozen clock), finished
requests, signed webhooks, and helpers to read the delivery back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from core.db import get_engine, unit_of_work, utcnow
from core.models import DocumentRequest, RequestState, Service, User
from core.requests.service import new_code
from core.settings import reset_settings_cache
from delivery.models import Delivery, DeliveryAttempt
from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from providers.sandbox.server import SandboxServer

API_KEY = "delivery-test-sandbox-key"
WEBHOOK_SECRET = "delivery-test-webhook-secret"
SITI = "+6281234560001"
AGUS = "+6281234560002"
DEWI = "+6281234560003"
FROZEN = 0.001


@pytest.fixture
def sandbox_server() -> Iterator[SandboxServer]:
    config = SandboxServerConfig.from_mapping({
        "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "seed": 11, "webhook_url": None,
        "location_ping_s": 0, "tick_s": 0.01, "time_scale": FROZEN})
    with SandboxServer(config).running() as server:
        yield server


@pytest.fixture
def providers_env(engine, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
                  ) -> SandboxServer:
    """The deployment's providers: the live sandbox; in-house off unless a test turns it on."""
    env = {
        "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": sandbox_server.url,
        "SIPOKE_PROVIDERS__SANDBOX__API_KEY": API_KEY,
        "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT": "2",
        "SIPOKE_PROVIDERS__INHOUSE__ENABLED": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    return sandbox_server


@pytest.fixture
def inhouse_on(providers_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPOKE_PROVIDERS__INHOUSE__ENABLED", "true")
    reset_settings_cache()


@pytest.fixture
def installed(engine) -> Iterator[None]:
    """Core's handover port and the fleet's hooks, as the composition root installs them."""
    import delivery
    from core.requests.handover import register_delivery_port
    from fleet import hooks

    delivery.install()
    yield
    register_delivery_port(None)
    hooks.set_status_listener(None)
    hooks.set_delivery_lookup(None)


def switches(server: SandboxServer, **changes: Any) -> None:
    response = httpx.patch(f"{server.url}/v1/admin/switches", json=changes,
                           headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert response.status_code == 200, response.text


def finished_request(phone: str = SITI, *, service_code: str = "domisili",
                     originals: bool = True) -> uuid.UUID:
    """A request in state finished (test data written directly; core's own tests walk the
    request flow)."""
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.phone == phone))
        assert user is not None and user.office_id is not None
        service = s.scalar(select(Service).where(Service.office_id == user.office_id,
                                                 Service.code == service_code))
        assert service is not None
        if not originals:
            service.requirements = [dict(r, original=False) for r in service.requirements]
        request = DocumentRequest(
            office_id=user.office_id, resident_id=user.id, service_id=service.id,
            reference=new_code(8), state=RequestState.finished, fields={},
            finished_at=utcnow(), verification_code=new_code(12))
        s.add(request)
        s.flush()
        return request.id


def ask_delivery(client: TestClient, demo: Any, request_id: uuid.UUID, phone: str = SITI,
                 **extra: Any) -> dict:
    body = {"request_id": str(request_id), "address": "Jl. Kenanga No. 5, RT 003/RW 005",
            "lat": -6.3952, "lng": 106.8461, **extra}
    response = client.post("/api/v1/deliveries", headers=demo.headers(phone), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def load(delivery_id: Any) -> Delivery:
    with unit_of_work() as s:
        delivery = s.get(Delivery, uuid.UUID(str(delivery_id)))
        assert delivery is not None
        _ = delivery.attempts, delivery.quotes
        return delivery


def attempts(delivery_id: Any) -> list[DeliveryAttempt]:
    with unit_of_work() as s:
        return list(s.scalars(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == uuid.UUID(str(delivery_id)))
            .order_by(DeliveryAttempt.created_at)))


def order_snapshot(server: SandboxServer, order_id: str) -> dict:
    response = httpx.get(f"{server.url}/v1/orders/{order_id}",
                         headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
           ) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":")).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return body, {"Content-Type": "application/json", TIMESTAMP_HEADER: ts,
                  SIGNATURE_HEADER: sign(secret, ts, body)}


def status_event(order: dict, status: str, *, event_id: str | None = None,
                 **changes: Any) -> dict:
    snapshot = {**order, "status": status, **changes}
    snapshot["updated_at"] = utcnow().isoformat()
    if status in ("ASSIGNED", "AT_PICKUP", "PICKED_UP", "ON_DELIVERY", "AT_DROPOFF",
                  "COMPLETED") and not snapshot.get("courier"):
        snapshot["courier"] = {"name": "Joko Susilo", "plate": "B 3121 KJT",
                               "phone": "+6281399990000", "photo_url": None}
    return {"event_id": event_id or f"evt_{uuid.uuid4().hex}", "type": "order.status",
            "occurred_at": utcnow().isoformat(), "order": snapshot}


def post_webhook(client: TestClient, event: dict, **kwargs: Any) -> Any:
    body, headers = signed(event, **kwargs)
    return client.post("/webhooks/sandbox", content=body, headers=headers)


def statements_of(call: Any) -> list[str]:
    """The first three words of every SQL statement ``call()`` sends, upper-cased and without
    trailing commas (``"UPDATE DELIVERIES SET"``): what a round-trip test counts."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(w.rstrip(",") for w in statement.split()[:3]).upper())

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen
