"""A stateful respx fake of the GoSend partner API v10 (docs/providers.md §2, community shapes).

Checks the ``Client-ID``/``Pass-Key`` headers; answers the status GET with display strings
and webhooks with keys, as GoSend does; does NOT deduplicate ``storeOrderId`` (nothing says
GoSend does). Reusable::

    fake = FakeGoSend()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        providers_config = {"gosend": fake.config(enabled=True)}
        fake.advance(order_no, DeliveryStatus.delivered)
        body, headers = fake.webhook(order_no)     # POST it to /webhooks/gosend
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
import uuid
from typing import Any

import httpx
import respx

from providers.status import DeliveryStatus

S = DeliveryStatus
CLIENT_ID, PASS_KEY, WEBHOOK_TOKEN = "sipoke-client", "gosend-pass-key", "gosend-hook-token"
API = "/gokilat/v10"
DISPLAY = {"confirmed": "Finding Driver", "allocated": "Driver Allocated",
           "out_for_pickup": "Enroute Pickup", "picked": "Item Picked",
           "out_for_delivery": "Enroute Drop", "on_hold": "On Hold", "delivered": "Completed",
           "cancelled": "Cancelled", "rejected": "Rejected", "no_driver": "Driver not found"}
HAPPY_PATH = ["confirmed", "allocated", "out_for_pickup", "picked", "out_for_delivery",
              "delivered"]
KEY_BY_STATUS = {S.searching_courier: "confirmed", S.courier_assigned: "allocated",
                 S.at_pickup: "out_for_pickup", S.picked_up: "picked",
                 S.in_transit: "out_for_delivery", S.at_dropoff: "out_for_delivery",
                 S.delivered: "delivered"}
CANCELLABLE = {"confirmed", "allocated", "out_for_pickup"}
MAX_KM = 40.0


def _km(origin: str, destination: str) -> float:
    (lat1, lng1), (lat2, lng2) = ([math.radians(float(x)) for x in v.split(",")]
                                  for v in (origin, destination))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


class FakeGoSend:
    def __init__(self, *, base_url: str = "https://integration-kilat-api.gojekapi.com") -> None:
        self.base_url = base_url.rstrip("/")
        self.orders: dict[str, dict[str, Any]] = {}
        self.received: list[httpx.Request] = []
        self.failures: dict[str, list[httpx.Response]] = {}
        self._numbers = itertools.count(170563)
        self._lock = threading.Lock()

    def fail(self, endpoint: str, response: httpx.Response, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``endpoint`` (price, book, status, lookup,
        cancel) with ``response``: outages, rate limits, odd answers."""
        self.failures.setdefault(endpoint, []).extend([response] * times)

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"base_url": self.base_url, "client_id": CLIENT_ID, "pass_key": PASS_KEY,
                "webhook_token": WEBHOOK_TOKEN, **extra}

    def install(self, router: respx.Router) -> respx.Router:
        base = re.escape(self.base_url + API)
        router.get(f"{self.base_url}{API}/calculate/price").mock(side_effect=self._price)
        router.post(f"{self.base_url}{API}/booking").mock(side_effect=self._book)
        router.put(f"{self.base_url}{API}/booking/cancel").mock(side_effect=self._cancel)
        router.get(url__regex=rf"^{base}/booking/orderno/(?P<order_no>[^/]+)$").mock(
            side_effect=self._by_order_no)
        router.get(url__regex=rf"^{base}/booking/storeOrderId/(?P<ref>[^/]+)$").mock(
            side_effect=self._by_reference)
        return router

    def _denied(self, request: httpx.Request, endpoint: str) -> httpx.Response | None:
        self.received.append(request)
        if self.failures.get(endpoint):
            return self.failures[endpoint].pop(0)
        if request.headers.get("Client-ID") != CLIENT_ID or \
                request.headers.get("Pass-Key") != PASS_KEY:
            return httpx.Response(401, headers={"Error-Message": "Unauthorized"}, json={})
        return None

    def _price(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "price")) is not None:
            return denied
        km = _km(request.url.params["origin"], request.url.params["destination"])
        price = 10000 + math.ceil(km) * 2500

        def method(name: str, serviceable: bool) -> dict[str, Any]:
            return {"shipment_method": name, "shipment_method_description": f"{name} 1-2 jam",
                    "serviceable": serviceable, "active": True, "distance": round(km, 2),
                    "price": {"total_price": price, "go_pay_total_price": price,
                              "go_pay_discount": 0, "voucher_discount": 0}}

        return httpx.Response(200, json={"Instant": method("Instant", km <= MAX_KM),
                                         "SameDay": method("SameDay", km <= MAX_KM)})

    def _book(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "book")) is not None:
            return denied
        body = json.loads(request.content)
        route = body["routes"][0]
        if body.get("shipment_method") not in ("Instant", "SameDay") or not route.get(
                "destinationContactPhone"):
            return httpx.Response(400, json={"errorMessage": "Invalid request", "errors": [
                {"message": "shipment_method / destinationContactPhone"}]})
        with self._lock:
            order_no = f"GK-11-{next(self._numbers)}"
            self.orders[order_no] = {"id": len(self.orders) + 1, "orderNo": order_no,
                                     "key": "confirmed", "storeOrderId": route["storeOrderId"],
                                     "totalPrice": 12500, "route": route, "events": []}
        return httpx.Response(201, json={
            "id": self.orders[order_no]["id"], "orderNo": order_no, "bookingType": "instant",
            "storeOrderId": route["storeOrderId"], "errorMessage": None, "prebook": False,
            "prebookMessage": None, "errors": []})

    def _view(self, order: dict[str, Any]) -> dict[str, Any]:
        driver = order["key"] not in ("confirmed", "no_driver", "cancelled") or \
            order.get("driver")
        return {
            "id": order["id"], "orderNo": order["orderNo"], "status": DISPLAY[order["key"]],
            "driverId": 7001 if driver else None,
            "driverName": "Joko Susilo" if driver else "",
            "driverPhone": "081300000070" if driver else "",
            "driverPhoto": "", "vehicleNumber": "B 4567 XYZ" if driver else "",
            "totalDiscount": 0, "totalPrice": order["totalPrice"], "receiverName": "",
            "orderCreatedTime": "2026-11-28 08:00:00", "bookingType": "instant",
            "cancelDescription": order.get("cancelDescription", ""),
            "storeOrderId": order["storeOrderId"],
            "liveTrackingUrl": f"https://gjk.io/{order['orderNo']}",
            "proofs": {"pod": [f"https://proof/{order['orderNo']}.jpg"]}
            if order["key"] == "delivered" else {},
            "bookingStatus": order["key"],
        }

    def _by_order_no(self, request: httpx.Request, order_no: str) -> httpx.Response:
        if (denied := self._denied(request, "status")) is not None:
            return denied
        order = self.orders.get(order_no)
        if order is None:
            return httpx.Response(404, headers={"Error-Message": "Booking not found"}, json={})
        return httpx.Response(200, json=self._view(order))

    def _by_reference(self, request: httpx.Request, ref: str) -> httpx.Response:
        if (denied := self._denied(request, "lookup")) is not None:
            return denied
        found = [o for o in self.orders.values() if o["storeOrderId"] == ref]
        if not found:
            return httpx.Response(404, headers={"Error-Message": "Booking not found"}, json={})
        return httpx.Response(200, json=self._view(found[0]))

    def _cancel(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "cancel")) is not None:
            return denied
        order = self.orders.get(json.loads(request.content).get("orderNo", ""))
        if order is None:
            return httpx.Response(404, json={"statusCode": 404, "message": "Booking not found"})
        if order["key"] not in CANCELLABLE:
            return httpx.Response(422, json={"statusCode": 422,
                                             "message": "Booking can not be cancelled"})
        self.set_status(order["orderNo"], "cancelled")
        return httpx.Response(200, json={"statusCode": 200, "message": "Booking cancelled"})

    # --- driving an order -------------------------------------------------------------------

    def set_status(self, order_no: str, key: str) -> None:
        self.orders[order_no]["key"] = key

    def advance(self, order_no: str, status: DeliveryStatus) -> None:
        order = self.orders[order_no]
        target = HAPPY_PATH.index(KEY_BY_STATUS[status])
        if HAPPY_PATH.index(order["key"]) < target:
            order["key"] = HAPPY_PATH[target]

    def webhook(self, order_no: str, *, token: str = WEBHOOK_TOKEN,
                event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A webhook shaped like GoSend's documented sample, for the current status."""
        order = self.orders[order_no]
        view = self._view(order)
        body = {"@type": "booking_event", "entity_id": order_no,
                "type": order["key"].upper(), "event_date": int(time.time() * 1000),
                "event_id": event_id or str(uuid.uuid4()), "partner_id": "601",
                "destination_type": "market_place", "booking_id": order_no,
                "status": order["key"], "booking_status": order["key"],
                "booking_type": "instant", "driver_name": view["driverName"],
                "driver_phone": view["driverPhone"], "total_distance_in_kms": 1.18,
                "price": 12500.0, "receiver_name": "", "cancelled_by": "",
                "live_tracking_url": view["liveTrackingUrl"]}
        return (json.dumps(body).encode(),
                {"Authorization": token, "Content-Type": "application/json"})
