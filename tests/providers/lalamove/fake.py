"""A stateful respx fake of Lalamove v3, built from the documented shapes (docs/providers.md §1).

It checks what the real API checks: the HMAC signature over the exact bytes received, the
``Market`` header and the ``{"data": ...}`` envelope; quotations expire; cancel is refused
after pickup. Reusable outside these tests (the delivery end-to-end test)::

    fake = FakeLalamove()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        providers_config = {"lalamove": fake.config(enabled=True)}
        ...                                  # book through the delivery side
        fake.advance(order_id, DeliveryStatus.picked_up)
        body, headers = fake.webhook(order_id)   # POST it to /webhooks/lalamove
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from providers.lalamove.mapping import signature
from providers.status import DeliveryStatus

S = DeliveryStatus
PATH_BY_STATUS = {S.searching_courier: "ASSIGNING_DRIVER", S.courier_assigned: "ON_GOING",
                  S.at_pickup: "ON_GOING", S.picked_up: "PICKED_UP",
                  S.in_transit: "PICKED_UP", S.at_dropoff: "PICKED_UP",
                  S.delivered: "COMPLETED"}
HAPPY_PATH = ["ASSIGNING_DRIVER", "ON_GOING", "PICKED_UP", "COMPLETED"]
MAX_DISTANCE_M = 100_000
API_KEY, API_SECRET = "pk_test_sipoke", "sk_test_sipoke"


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.00Z")


def _error(status: int, code: str, message: str = "") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"id": code, "message": message or code}]})


def _km(a: dict[str, str], b: dict[str, str]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (float(a["lat"]), float(a["lng"]),
                                                float(b["lat"]), float(b["lng"])))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


class FakeLalamove:
    def __init__(self, *, base_url: str = "https://rest.sandbox.lalamove.com",
                 api_key: str = API_KEY, api_secret: str = API_SECRET,
                 webhook_path: str = "/webhooks/lalamove") -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key, self.api_secret, self.webhook_path = api_key, api_secret, webhook_path
        self.quotations: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.matched_at: dict[str, float] = {}
        self.received: list[httpx.Request] = []
        self.failures: dict[str, list[httpx.Response]] = {}
        self._ids = itertools.count(3316227378875113604)
        self._lock = threading.Lock()

    def fail(self, endpoint: str, response: httpx.Response, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``endpoint`` (quote, quotation, order, status,
        driver, cancel) with ``response``: outages, rate limits, odd answers."""
        self.failures.setdefault(endpoint, []).extend([response] * times)

    # --- wiring ----------------------------------------------------------------------------

    def config(self, **extra: Any) -> dict[str, Any]:
        """Adapter settings pointing at this fake (as ``settings.providers["lalamove"]``).

        Client-side rate limits are off: a test session quotes far more than Lalamove's
        sandbox allows per minute (tests/providers/lalamove test them on purpose)."""
        return {"base_url": self.base_url, "api_key": self.api_key,
                "api_secret": self.api_secret, "webhook_path": self.webhook_path,
                "client_rate_limits": False, **extra}

    def install(self, router: respx.Router) -> respx.Router:
        base = re.escape(self.base_url)
        oid = r"(?P<order_id>[^/]+)"
        router.post(f"{self.base_url}/v3/quotations").mock(side_effect=self._quote)
        router.get(url__regex=rf"^{base}/v3/quotations/(?P<quotation_id>[^/]+)$").mock(
            side_effect=self._quotation)
        router.post(f"{self.base_url}/v3/orders").mock(side_effect=self._place_order)
        router.get(url__regex=rf"^{base}/v3/orders/{oid}/drivers/(?P<driver_id>[^/]+)$").mock(
            side_effect=self._driver)
        router.get(url__regex=rf"^{base}/v3/orders/{oid}$").mock(side_effect=self._order)
        router.delete(url__regex=rf"^{base}/v3/orders/{oid}$").mock(side_effect=self._cancel)
        return router

    def _authorized(self, request: httpx.Request, endpoint: str) -> httpx.Response | None:
        self.received.append(request)
        if self.failures.get(endpoint):
            return self.failures[endpoint].pop(0)
        match = re.fullmatch(r"hmac ([^:]+):(\d{13}):([0-9a-f]{64})",
                             request.headers.get("Authorization", ""))
        if not match or match.group(1) != self.api_key:
            return _error(401, "ERR_UNAUTHORIZED", "bad Authorization header")
        expected = signature(self.api_secret, match.group(2), request.method,
                             request.url.path, request.content)
        if not hmac.compare_digest(expected, match.group(3)):
            return _error(401, "ERR_UNAUTHORIZED", "signature mismatch")
        if request.headers.get("Market") != "ID":
            return _error(422, "ERR_INVALID_MARKET")
        return None

    def _data(self, request: httpx.Request) -> dict[str, Any] | None:
        body = json.loads(request.content or b"{}")
        return body.get("data") if isinstance(body.get("data"), dict) else None

    # --- endpoints ---------------------------------------------------------------------------

    def _quote(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._authorized(request, "quote")) is not None:
            return denied
        data = self._data(request)
        if data is None or len(data.get("stops") or []) < 2:
            return _error(422, "ERR_INSUFFICIENT_STOPS")
        if data.get("serviceType") != "MOTORCYCLE":
            return _error(422, "ERR_INVALID_SERVICE_TYPE")
        stops = data["stops"]
        km = _km(stops[0]["coordinates"], stops[1]["coordinates"])
        if km * 1000 > MAX_DISTANCE_M:
            return _error(422, "ERR_OUT_OF_SERVICE_AREA", "Out of service area")
        with self._lock:
            qid = str(next(self._ids))
            now = datetime.now(UTC)
            quotation = {
                "quotationId": qid, "scheduleAt": _iso(now), "expiresAt":
                _iso(now + timedelta(minutes=5)), "serviceType": "MOTORCYCLE",
                "language": str(data.get("language", "")).upper(),
                "stops": [{"stopId": str(next(self._ids)), **stop} for stop in stops],
                "isRouteOptimized": False,
                "priceBreakdown": {"base": "9000", "extraMileage": str(math.ceil(km) * 2500),
                                   "total": str(9000 + math.ceil(km) * 2500) + ".5",
                                   "currency": "IDR"},
                "distance": {"value": str(round(km * 1000)), "unit": "m"},
            }
            self.quotations[qid] = quotation
        return httpx.Response(201, json={"data": quotation})

    def _quotation(self, request: httpx.Request, quotation_id: str) -> httpx.Response:
        if (denied := self._authorized(request, "quotation")) is not None:
            return denied
        quotation = self._valid_quotation(quotation_id)
        if quotation is None:
            return _error(422, "ERR_INVALID_QUOTATION_ID")
        return httpx.Response(200, json={"data": quotation})

    def _valid_quotation(self, quotation_id: str) -> dict[str, Any] | None:
        quotation = self.quotations.get(quotation_id)
        if quotation is None or datetime.fromisoformat(
                quotation["expiresAt"].replace(".00Z", "+00:00")) <= datetime.now(UTC):
            return None
        return quotation

    def _place_order(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._authorized(request, "order")) is not None:
            return denied
        data = self._data(request) or {}
        quotation = self._valid_quotation(str(data.get("quotationId")))
        if quotation is None:
            return _error(422, "ERR_INVALID_QUOTATION_ID")
        stop_ids = [s["stopId"] for s in quotation["stops"]]
        if data["sender"]["stopId"] != stop_ids[0] or \
                data["recipients"][0]["stopId"] != stop_ids[1]:
            return _error(422, "ERR_INVALID_FIELD", "stopId")
        for person in (data["sender"], *data["recipients"]):
            if not re.fullmatch(r"\+[1-9]\d{1,14}", person["phone"]):
                return _error(422, "ERR_INVALID_PHONE_NUMBER")
        with self._lock:
            order_id = str(next(self._ids))
            self.orders[order_id] = {
                "orderId": order_id, "quotationId": quotation["quotationId"],
                "priceBreakdown": quotation["priceBreakdown"], "driverId": "",
                "shareLink": f"https://share.sandbox.lalamove.com?ID{order_id}&lang=id_ID",
                "status": "ASSIGNING_DRIVER", "distance": quotation["distance"],
                "stops": quotation["stops"], "metadata": data.get("metadata"),
            }
        return httpx.Response(201, json={"data": self.orders[order_id]})

    def _order(self, request: httpx.Request, order_id: str) -> httpx.Response:
        if (denied := self._authorized(request, "status")) is not None:
            return denied
        if order_id not in self.orders:
            return _error(404, "ERR_ORDER_NOT_FOUND")
        return httpx.Response(200, json={"data": self.orders[order_id]})

    def _driver(self, request: httpx.Request, order_id: str, driver_id: str) -> httpx.Response:
        if (denied := self._authorized(request, "driver")) is not None:
            return denied
        order = self.orders.get(order_id)
        if order is None or order["driverId"] != driver_id:
            return _error(404, "ERR_ORDER_NOT_FOUND")
        if order["status"] not in ("ON_GOING", "PICKED_UP"):
            return _error(403, "ERR_FORBIDDEN", "outside the driver details window")
        return httpx.Response(200, json={"data": self.driver_for(driver_id)})

    def _cancel(self, request: httpx.Request, order_id: str) -> httpx.Response:
        if (denied := self._authorized(request, "cancel")) is not None:
            return denied
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "ERR_ORDER_NOT_FOUND")
        within_5_min = order["status"] == "ON_GOING" and \
            time.monotonic() - self.matched_at.get(order_id, 0) < 300
        if order["status"] != "ASSIGNING_DRIVER" and not within_5_min:
            return _error(409, "ERR_CANCELLATION_FORBIDDEN")
        order["status"] = "CANCELED"
        return httpx.Response(204)

    # --- driving an order --------------------------------------------------------------------

    @staticmethod
    def driver_for(driver_id: str) -> dict[str, Any]:
        return {"driverId": driver_id, "name": "Budi Santoso", "phone": "+6281300000080",
                "plateNumber": "B 1234 ***", "photo": "",
                "coordinates": {"lat": "-6.3931", "lng": "106.8433",
                                "updatedAt": _iso(datetime.now(UTC))}}

    def set_status(self, order_id: str, raw: str) -> None:
        order = self.orders[order_id]
        order["previousStatus"], order["status"] = order["status"], raw
        if raw == "ON_GOING" and not order["driverId"]:
            order["driverId"] = "80557"
            self.matched_at[order_id] = time.monotonic()
        if raw == "ASSIGNING_DRIVER":  # a driver rejection: back to matching
            order["driverId"] = ""

    def advance(self, order_id: str, status: DeliveryStatus) -> None:
        """Walk the happy path until the order's raw status is the one for ``status``."""
        target = HAPPY_PATH.index(PATH_BY_STATUS[status])
        current = HAPPY_PATH.index(self.orders[order_id]["status"])
        for raw in HAPPY_PATH[current + 1: target + 1]:
            self.set_status(order_id, raw)

    def expire_quotation(self, quotation_id: str) -> None:
        self.quotations[quotation_id]["expiresAt"] = _iso(datetime.now(UTC) - timedelta(1))

    # --- webhooks -------------------------------------------------------------------------------

    def sign_webhook(self, event: dict[str, Any], *, timestamp: int | None = None,
                     secret: str | None = None) -> bytes:
        """Serialize like Lalamove (compact) and sign with the community scheme."""
        ts = int(time.time()) if timestamp is None else timestamp
        data = json.dumps(event["data"], separators=(",", ":")).encode()
        sig = signature(secret or self.api_secret, ts, "POST", self.webhook_path, data)
        envelope = {"apiKey": self.api_key, "timestamp": ts, "signature": sig,
                    "eventId": event.get("eventId") or hashlib.md5(  # noqa: S324 - an id
                        data + str(ts).encode()).hexdigest().upper(),
                    "eventType": event["eventType"], "eventVersion": "v3"}
        return json.dumps({**envelope, "data": event["data"]}, separators=(",", ":")).encode()

    def webhook(self, order_id: str, *, timestamp: int | None = None
                ) -> tuple[bytes, dict[str, str]]:
        """An ORDER_STATUS_CHANGED webhook for the order's current status."""
        order = self.orders[order_id]
        data = {"order": {"orderId": order_id, "status": order["status"],
                          "previousStatus": order.get("previousStatus", ""),
                          "driverId": order["driverId"], "shareLink": order["shareLink"],
                          "market": "ID_JKT"},
                "updatedAt": _iso(datetime.now(UTC))}
        body = self.sign_webhook({"eventType": "ORDER_STATUS_CHANGED", "data": data},
                                 timestamp=timestamp)
        return body, {"Content-Type": "application/json"}
