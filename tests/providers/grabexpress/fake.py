"""A stateful respx fake of the GrabExpress Delivery API and its OAuth2 token endpoint.

Shapes from docs/providers.md §3. Bearer tokens are checked (``revoke_tokens`` makes the next call
answer 401, as an expired or rotated token does); ``merchantOrderID`` is not deduplicated
(nothing says Grab does). Reusable::

    fake = FakeGrabExpress()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        providers_config = {"grabexpress": fake.config(enabled=True)}
        fake.advance(delivery_id, DeliveryStatus.picked_up)
        body, headers = fake.webhook(delivery_id)   # POST it to /webhooks/grabexpress
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from providers.status import DeliveryStatus

S = DeliveryStatus
CLIENT_ID, CLIENT_SECRET = "grab-client", "grab-secret"
TOKEN_URL = "https://partner-api.grab.com/grabid/v1/oauth2/token"
HOOK_AUTH, HOOK_AUTH_ID = "grab-hook-auth", "grab-hook-id"
HAPPY_PATH = ["ALLOCATING", "PENDING_PICKUP", "PICKING_UP", "PENDING_DROP_OFF", "IN_DELIVERY",
              "COMPLETED"]
RAW_BY_STATUS = {S.searching_courier: "ALLOCATING", S.courier_assigned: "PENDING_PICKUP",
                 S.at_pickup: "PICKING_UP", S.picked_up: "PENDING_DROP_OFF",
                 S.in_transit: "IN_DELIVERY", S.at_dropoff: "IN_DELIVERY",
                 S.delivered: "COMPLETED"}
CANCELLABLE = {"ALLOCATING", "PENDING_PICKUP", "PICKING_UP"}


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": status, "message": message, "reason": message})


class FakeGrabExpress:
    def __init__(self, *, base_url: str = "https://partner-api.grab.com/grab-express-sandbox",
                 token_url: str = TOKEN_URL) -> None:
        self.base_url, self.token_url = base_url.rstrip("/"), token_url
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self.received: list[httpx.Request] = []
        self.failures: dict[str, list[httpx.Response]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"base_url": self.base_url, "token_url": self.token_url, "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "webhook_authorization": HOOK_AUTH,
                "webhook_authorization_id": HOOK_AUTH_ID, **extra}

    def fail(self, endpoint: str, response: httpx.Response, times: int = 1) -> None:
        """Answer the next calls of ``endpoint`` (token, quotes, create, get, cancel)."""
        self.failures.setdefault(endpoint, []).extend([response] * times)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def install(self, router: respx.Router) -> respx.Router:
        base = re.escape(self.base_url)
        router.post(self.token_url).mock(side_effect=self._token)
        router.post(f"{self.base_url}/v1/deliveries/quotes").mock(side_effect=self._quotes)
        router.post(f"{self.base_url}/v1/deliveries").mock(side_effect=self._create)
        router.get(url__regex=rf"^{base}/v1/deliveries/(?P<delivery_id>[^/]+)$").mock(
            side_effect=self._get)
        router.delete(url__regex=rf"^{base}/v1/deliveries/(?P<delivery_id>[^/]+)$").mock(
            side_effect=self._cancel)
        router.delete(url__regex=rf"^{base}/v1/merchant/deliveries/(?P<reference>[^/]+)$").mock(
            side_effect=self._cancel_by_reference)
        return router

    def _denied(self, request: httpx.Request, endpoint: str) -> httpx.Response | None:
        self.received.append(request)
        if self.failures.get(endpoint):
            return self.failures[endpoint].pop(0)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _error(401, "unauthorized")
        return None

    # --- endpoints ---------------------------------------------------------------------------

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.failures.get("token"):
            return self.failures["token"].pop(0)
        form = json.loads(request.content)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json={"error": "invalid_client",
                                             "error_description": "bad credentials"})
        if form.get("grant_type") != "client_credentials" or \
                form.get("scope") != "grab_express.partner_deliveries":
            return httpx.Response(400, json={"error": "invalid_request"})
        with self._lock:
            self.tokens_issued += 1
            token = f"eyJ.fake.{self.tokens_issued}"
            self.tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                         "expires_in": 604799})

    def _quotes(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "quotes")) is not None:
            return denied
        body = json.loads(request.content)
        now = datetime.now(UTC)
        quote = {"service": {"id": 0, "type": body["serviceType"],
                             "name": "GrabExpress Instant"},
                 "currency": {"code": "IDR", "symbol": "Rp", "exponent": 0},
                 "amount": 16000 if body["vehicleType"] == "BIKE" else 42000,
                 "estimatedTimeline": {
                     "pickup": (now + timedelta(minutes=10)).isoformat(),
                     "dropoff": (now + timedelta(minutes=35)).isoformat()},
                 "distance": 540}
        return httpx.Response(200, json={"quotes": [quote], "packages": body["packages"],
                                         "origin": body["origin"],
                                         "destination": body["destination"]})

    def _create(self, request: httpx.Request) -> httpx.Response:
        if (denied := self._denied(request, "create")) is not None:
            return denied
        body = json.loads(request.content)
        if not body.get("merchantOrderID"):
            return _error(400, "merchantOrderID is required")
        if any(p["phone"].startswith("+") for p in (body["sender"], body["recipient"])):
            return _error(400, "invalid phone")
        with self._lock:
            delivery_id = f"IN-2-{next(self._ids):010d}"
            self.deliveries[delivery_id] = {
                "deliveryID": delivery_id, "merchantOrderID": body["merchantOrderID"],
                "paymentMethod": body["paymentMethod"],
                "quote": {"amount": 16000, "currency": {"code": "IDR", "exponent": 0}},
                "sender": body["sender"], "recipient": body["recipient"],
                "status": "ALLOCATING",
                "trackingURL": f"https://express.grab.com/track/{delivery_id}",
                "courier": None, "timeline": {"create": datetime.now(UTC).isoformat()},
                "pickupPin": "1234", "advanceInfo": {"failedReason": ""}}
        return httpx.Response(200, json=self.deliveries[delivery_id])

    def _get(self, request: httpx.Request, delivery_id: str) -> httpx.Response:
        if (denied := self._denied(request, "get")) is not None:
            return denied
        if delivery_id not in self.deliveries:
            return _error(404, "delivery not found")
        return httpx.Response(200, json=self.deliveries[delivery_id])

    def _cancel(self, request: httpx.Request, delivery_id: str) -> httpx.Response:
        if (denied := self._denied(request, "cancel")) is not None:
            return denied
        delivery = self.deliveries.get(delivery_id)
        if delivery is None:
            return _error(404, "delivery not found")
        if delivery["status"] not in CANCELLABLE:
            return _error(400, f"cannot cancel a delivery in {delivery['status']}")
        delivery["status"] = "CANCELED"
        return httpx.Response(204)

    def _cancel_by_reference(self, request: httpx.Request, reference: str) -> httpx.Response:
        if (denied := self._denied(request, "cancel")) is not None:
            return denied
        for delivery in self.deliveries.values():
            if delivery["merchantOrderID"] == reference and delivery["status"] in CANCELLABLE:
                delivery["status"] = "CANCELED"
        return httpx.Response(204)

    # --- driving an order ----------------------------------------------------------------------

    def set_status(self, delivery_id: str, raw: str) -> None:
        delivery = self.deliveries[delivery_id]
        delivery["status"] = raw
        if raw in HAPPY_PATH[1:] and delivery["courier"] is None:
            delivery["courier"] = {"name": "Andi Wijaya", "phone": "6281300000090",
                                   "coordinates": {"latitude": -6.3931, "longitude": 106.8433},
                                   "vehicle": {"plateNumber": "B 9876 ABC", "model": "Beat"}}
        if raw == "COMPLETED":
            delivery["dropoffProofURL"] = f"https://proof.grab.com/{delivery_id}.jpg"

    def advance(self, delivery_id: str, status: DeliveryStatus) -> None:
        target = HAPPY_PATH.index(RAW_BY_STATUS[status])
        current = HAPPY_PATH.index(self.deliveries[delivery_id]["status"])
        for raw in HAPPY_PATH[current + 1: target + 1]:
            self.set_status(delivery_id, raw)

    def webhook(self, delivery_id: str, *, timestamp: int | None = None,
                authorization: str = HOOK_AUTH, authorization_id: str = HOOK_AUTH_ID
                ) -> tuple[bytes, dict[str, str]]:
        """A tracking webhook with the documented fields for the current status."""
        delivery = self.deliveries[delivery_id]
        courier = delivery["courier"] or {}
        body = {"deliveryID": delivery_id, "merchantOrderID": delivery["merchantOrderID"],
                "timestamp": int(time.time()) if timestamp is None else timestamp,
                "status": delivery["status"], "trackURL": delivery["trackingURL"],
                "pickupPin": delivery["pickupPin"], "failedReason": "",
                "sender": {"name": delivery["sender"]["firstName"], "address": "",
                           "relationship": ""},
                "recipient": {"name": delivery["recipient"]["firstName"], "address": "",
                              "relationship": ""},
                "driver": {"name": courier.get("name", ""), "phone": courier.get("phone", ""),
                           "licensePlate": "B 9876 ABC" if courier else "", "photoURL": "",
                           "currentLat": -6.3931 if courier else 0,
                           "currentLng": 106.8433 if courier else 0}}
        return json.dumps(body).encode(), {"Authorization": authorization,
                                           "Authorization-Id": authorization_id,
                                           "Content-Type": "application/json"}
