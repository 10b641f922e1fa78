"""A stateful respx fake of the Biteship API (rates, orders, cancel) and its webhooks.

Shapes from docs/providers.md §4: ``authorization: <key>``, ``pricing[]`` per courier service,
orders with ``courier{...}`` and ``reference_id``, errors ``{success: false, error, code}``,
flat webhooks with a custom header. Instant couriers drop out beyond 40 km. Reusable::

    fake = FakeBiteship()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        providers_config = {"biteship": fake.config(enabled=True)}
        fake.advance(order_id, DeliveryStatus.delivered)
        body, headers = fake.webhook(order_id)     # POST it to /webhooks/biteship
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from providers.status import DeliveryStatus

S = DeliveryStatus
API_KEY = "biteship_test.sipoke"
HOOK_HEADER, HOOK_SECRET = "X-Sipoke-Webhook-Token", "biteship-hook-secret"
HAPPY_PATH = ["confirmed", "allocated", "picking_up", "picked", "dropping_off", "delivered"]
RAW_BY_STATUS = {S.searching_courier: "confirmed", S.courier_assigned: "allocated",
                 S.at_pickup: "picking_up", S.picked_up: "picked", S.in_transit: "dropping_off",
                 S.at_dropoff: "dropping_off", S.delivered: "delivered"}
CANCELLABLE = {"confirmed", "scheduled", "allocated", "picking_up"}
INSTANT_MAX_KM = 40.0


def _error(status: int, message: str, code: int) -> httpx.Response:
    return httpx.Response(status, json={"success": False, "error": message, "code": code})


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def _pricing(code: str, name: str, service: str, price: int, kind: str) -> dict[str, Any]:
    return {"available_for_cash_on_delivery": False, "available_for_proof_of_delivery": False,
            "available_for_instant_waybill_id": True, "available_for_insurance": True,
            "company": code, "courier_name": name, "courier_code": code,
            "courier_service_name": service.replace("_", " ").title(),
            "courier_service_code": service, "description": f"{name} {service}",
            "duration": "1 - 3 hours", "shipment_duration_range": "1 - 3",
            "shipment_duration_unit": "hours", "service_type": kind,
            "shipping_type": "parcel", "price": price, "type": service}


class FakeBiteship:
    def __init__(self, *, base_url: str = "https://api.biteship.com") -> None:
        self.base_url = base_url.rstrip("/")
        self.orders: dict[str, dict[str, Any]] = {}
        self.received: list[httpx.Request] = []
        self.failures: dict[str, list[httpx.Response]] = {}
        self._ids = itertools.count(0x5DD599EBDEFCD4158EB8470B)
        self._lock = threading.Lock()

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": API_KEY, "webhook_header": HOOK_HEADER,
                "webhook_secret": HOOK_SECRET, "couriers": "gojek,grab", **extra}

    def fail(self, endpoint: str, response: httpx.Response, times: int = 1) -> None:
        """Answer the next calls of ``endpoint`` (rates, create, get, cancel)."""
        self.failures.setdefault(endpoint, []).extend([response] * times)

    def install(self, router: respx.Router) -> respx.Router:
        base = re.escape(self.base_url)
        router.post(f"{self.base_url}/v1/rates/couriers").mock(side_effect=self._rates)
        router.post(f"{self.base_url}/v1/orders").mock(side_effect=self._create)
        router.post(url__regex=rf"^{base}/v1/orders/(?P<order_id>[^/]+)/cancel$").mock(
            side_effect=self._cancel)
        router.get(url__regex=rf"^{base}/v1/orders/(?P<order_id>[^/]+)$").mock(
            side_effect=self._get)
        return router

    def _denied(self, request: httpx.Request, endpoint: str) -> httpx.Response | None:
        self.received.append(request)
        if self.failures.get(endpoint):
            return self.failures[endpoint].pop(0)
        if request.headers.get("authorization") != API_KEY:
            return _error(401, "Authentication failed", 40101001)
        return None

    def _rates(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "rates")) is not None:
            return denied
        body = json.loads(request.content)
        km = _km((body["origin_latitude"], body["origin_longitude"]),
                 (body["destination_latitude"], body["destination_longitude"]))
        asked = body["couriers"].split(",")
        pricing = [_pricing("jne", "JNE", "reg", 9000, "standard")] if "jne" in asked else []
        if km <= INSTANT_MAX_KM:
            base = 12000 + math.ceil(km) * 2500
            pricing += [p for p in (_pricing("gojek", "Gojek", "instant", base, "same_day"),
                                    _pricing("gojek", "Gojek", "same_day", base - 3000,
                                             "same_day"),
                                    _pricing("grab", "Grab", "instant", base + 500, "same_day"))
                        if p["courier_code"] in asked]
        return httpx.Response(200, json={"success": True, "object": "courier_pricing",
                                         "message": "Success to retrieve courier pricing",
                                         "code": 20001003, "pricing": pricing})

    def _create(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "create")) is not None:
            return denied
        body = json.loads(request.content)
        if body.get("courier_type") != "instant" or "destination_coordinate" not in body:
            return _error(400, "Instant courier requires coordinates", 40002023)
        if not re.fullmatch(r"0\d{8,13}", body["destination_contact_phone"]):
            return _error(400, "Invalid destination_contact_phone", 40002014)
        with self._lock:
            order_id = format(next(self._ids), "x")
            self.orders[order_id] = {
                "success": True, "message": "Order successfully created", "object": "order",
                "id": order_id, "reference_id": body.get("reference_id"),
                "courier": {"tracking_id": f"trk-{order_id[-6:]}", "waybill_id": None,
                            "company": body["courier_company"], "type": body["courier_type"],
                            "driver_name": None, "driver_phone": None,
                            "driver_photo_url": None, "driver_plate_number": None,
                            "link": None},
                "price": 13500, "status": "confirmed", "items": body["items"],
            }
        return httpx.Response(200, json=self.orders[order_id])

    def _get(self, request: httpx.Request, order_id: str) -> httpx.Response:
        if (denied := self._denied(request, "get")) is not None:
            return denied
        if order_id not in self.orders:
            return _error(404, "Order not found", 40402001)
        return httpx.Response(200, json=self.orders[order_id])

    def _cancel(self, request: httpx.Request, order_id: str) -> httpx.Response:
        if (denied := self._denied(request, "cancel")) is not None:
            return denied
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "Order not found", 40402001)
        if order["status"] not in CANCELLABLE:
            return _error(400, "Order can not be cancelled", 40002035)
        order["status"] = "cancelled"
        return httpx.Response(200, json={**order, "message": "Order successfully cancelled"})

    # --- driving an order -------------------------------------------------------------------

    def set_status(self, order_id: str, raw: str) -> None:
        order = self.orders[order_id]
        order["status"] = raw
        if raw in HAPPY_PATH[1:] and not order["courier"]["driver_name"]:
            order["courier"].update(driver_name="Rudi Hartono", driver_phone="081300000050",
                                    driver_plate_number="B 5555 XYZ", waybill_id="GK-11-5555",
                                    link=f"https://track.biteship.com/{order_id}")

    def advance(self, order_id: str, status: DeliveryStatus) -> None:
        target = HAPPY_PATH.index(RAW_BY_STATUS[status])
        current = HAPPY_PATH.index(self.orders[order_id]["status"])
        for raw in HAPPY_PATH[current + 1: target + 1]:
            self.set_status(order_id, raw)

    def webhook(self, order_id: str, *, secret: str = HOOK_SECRET
                ) -> tuple[bytes, dict[str, str]]:
        """An ``order.status`` webhook, flat as Biteship sends it."""
        order = self.orders[order_id]
        courier = order["courier"]
        body = {"event": "order.status", "courier_tracking_id": courier["tracking_id"],
                "courier_waybill_id": courier["waybill_id"],
                "courier_company": courier["company"], "courier_type": courier["type"],
                "courier_driver_name": courier["driver_name"],
                "courier_driver_phone": courier["driver_phone"],
                "courier_driver_photo_url": courier["driver_photo_url"],
                "courier_driver_plate_number": courier["driver_plate_number"],
                "courier_link": courier["link"], "order_id": order_id,
                "order_price": order["price"], "status": order["status"],
                "updated_at": datetime.now(UTC).isoformat()}
        return json.dumps(body).encode(), {HOOK_HEADER: secret,
                                           "Content-Type": "application/json"}
