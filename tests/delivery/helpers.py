"""Walk a delivery to a given point in-process (outbox drained like a worker would)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from core.db import unit_of_work
from delivery.flow import pin_digest
from delivery.models import Delivery
from providers.sandbox.server import SandboxServer
from tests.delivery.conftest import (
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    order_snapshot,
    post_webhook,
    status_event,
)

OPERATOR = "operator.mekarjaya"
KNOWN_PIN = "424242"


def booked(client: TestClient, demo: Any, outbox: Callable[[], list[str]], *,
           phone: str = SITI, originals: bool = True, **where: Any) -> tuple[str, uuid.UUID]:
    """A delivery booked at the sandbox (searching a courier). Returns (delivery, request).
    ``where`` overrides the delivery request's address, note or coordinates."""
    rid = finished_request(phone, originals=originals)
    created = ask_delivery(client, demo, rid, phone=phone, **where)
    outbox()
    headers = demo.headers(phone)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
    assert view["state"] == "awaiting_choice", view
    sandbox_quote = next(q for q in view["quotes"] if q["provider"] == "sandbox")
    chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=headers,
                         json={"quote_id": sandbox_quote["id"]})
    assert chosen.status_code == 200, chosen.text
    outbox()
    return created["id"], rid


def advance(client: TestClient, server: SandboxServer, outbox: Callable[[], list[str]],
            delivery_id: str, *statuses: str) -> None:
    """Signed sandbox webhooks for the delivery's outbound order, applied."""
    attempt = next(a for a in attempts(delivery_id) if a.leg == "outbound")
    assert attempt.provider_order_id
    order = order_snapshot(server, attempt.provider_order_id)
    for status in statuses:
        assert post_webhook(client, status_event(order, status)).status_code == 200
    outbox()


def set_known_pin(delivery_id: str) -> str:
    """The PIN went to the resident's phone; tests set one they know."""
    with unit_of_work() as s:
        delivery = s.get(Delivery, uuid.UUID(delivery_id))
        assert delivery is not None
        delivery.pin_hash = pin_digest(delivery.id, KNOWN_PIN)
    return KNOWN_PIN


def envelope(client: TestClient, demo: Any, delivery_id: str) -> str:
    response = client.post(f"/api/v1/operator/deliveries/{delivery_id}/envelope",
                           headers=demo.headers(OPERATOR))
    assert response.status_code == 201, response.text
    return response.json()["url"].rsplit("/", 1)[-1]


COURIER = "kurir.mekarjaya"


def inhouse_at_the_door(client: TestClient, demo: Any, outbox: Callable[[], list[str]], *,
                        originals: bool) -> tuple[str, uuid.UUID, dict]:
    """(delivery id, request id, job): Siti chose the office's own courier, who accepted the
    offer and reported picked up, in transit and at the drop-off (no PIN yet)."""
    rid = finished_request(originals=originals)
    created = ask_delivery(client, demo, rid)
    outbox()
    siti = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    own = next(q for q in view["quotes"] if q["provider"] == "inhouse")
    assert own["resident_pays"] == 0  # the office's own couriers: free by default
    client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                json={"quote_id": own["id"]})
    outbox()
    courier = demo.headers(COURIER)
    offer = client.get("/api/v1/courier/offers", headers=courier).json()[0]
    job = client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=courier).json()
    for status in ("picked_up", "in_transit", "at_dropoff"):
        reported = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                               json={"status": status})
        assert reported.status_code == 200, reported.text
    return created["id"], rid, job


def choose_the_quote(client: TestClient, demo: Any, outbox: Callable[[], list[str]],
                     **where: Any) -> tuple[str, dict]:
    """(delivery id, quote): Siti asks for a delivery and chooses its one quote; the booking
    task is left in the outbox."""
    created = ask_delivery(client, demo, finished_request(SITI), **where)
    outbox()  # the quote fan-out
    headers = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=headers).json()
    assert view["state"] == "awaiting_choice", view
    [quote] = view["quotes"]
    chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=headers,
                         json={"quote_id": quote["id"]})
    assert chosen.status_code == 200, chosen.text
    return created["id"], quote
