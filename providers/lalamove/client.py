"""Lalamove v3 transport: signs every request over the exact bytes it sends."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from providers.http import ProviderHttp
from providers.lalamove import mapping
from providers.lalamove.settings import LalamoveSettings
from providers.throttle import THROTTLE, Limit, Throttle

# Requests per minute [OFFICIAL], (sandbox, production).
LIMITS_PER_MINUTE: dict[str, tuple[int, int]] = {
    "quotation": (30, 100),
    "quotation_details": (50, 300),
    "order": (30, 100),
    "order_details": (50, 300),
    "driver_details": (50, 300),
    "cancel": (30, 100),
}
# "Keep <= 2 order creations per second."
ORDERS_PER_SECOND = Limit(2, 1.0)


class LalamoveClient:
    def __init__(self, settings: LalamoveSettings, *,
                 transport: httpx.BaseTransport | None = None,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 throttle: Throttle = THROTTLE) -> None:
        self.settings = settings
        self.clock_ms = clock_ms
        self.throttle = throttle
        self.http = ProviderHttp(
            mapping.PROVIDER, settings.url, connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout, classify=mapping.classify, transport=transport,
            headers={"Accept": "application/json"},
        )

    def _limit(self, endpoint: str) -> Limit:
        sandbox, production = LIMITS_PER_MINUTE[endpoint]
        override = {"quotation": self.settings.quotations_per_minute,
                    "order": self.settings.orders_per_minute}.get(endpoint)
        calls = override or (sandbox if self.settings.is_sandbox else production)
        return Limit(calls, 60.0)

    def signed_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp = self.clock_ms()
        sig = mapping.signature(self.settings.secret(), timestamp, method, path, body)
        headers = {
            "Authorization": mapping.authorization(self.settings.key(), timestamp, sig),
            "Market": self.settings.market,
        }
        if body:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        if self.settings.send_request_id:
            headers["Request-ID"] = str(uuid.uuid4())
        return headers

    def call(self, method: str, path: str, endpoint: str, payload: dict[str, Any] | None = None,
             *extra_limits: Limit) -> Any:
        if self.settings.client_rate_limits:
            self.throttle.acquire(mapping.PROVIDER, endpoint, self._limit(endpoint),
                                  *extra_limits)
        body = mapping.envelope(payload) if payload is not None else b""
        return self.http.json(method, path, content=body or None,
                              headers=self.signed_headers(method, path, body))

    # --- endpoints -----------------------------------------------------------------------

    def create_quotation(self, payload: dict[str, Any]) -> dict[str, Any]:
        return mapping.unwrap(self.call("POST", "/v3/quotations", "quotation", payload))

    def get_quotation(self, quotation_id: str) -> dict[str, Any]:
        return mapping.unwrap(self.call("GET", f"/v3/quotations/{quotation_id}",
                                        "quotation_details"))

    def create_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        return mapping.unwrap(self.call("POST", "/v3/orders", "order", payload,
                                        ORDERS_PER_SECOND))

    def get_order(self, order_id: str) -> dict[str, Any]:
        return mapping.unwrap(self.call("GET", f"/v3/orders/{order_id}", "order_details"))

    def get_driver(self, order_id: str, driver_id: str) -> dict[str, Any]:
        return mapping.unwrap(self.call("GET", f"/v3/orders/{order_id}/drivers/{driver_id}",
                                        "driver_details"))

    def cancel_order(self, order_id: str) -> None:
        self.call("DELETE", f"/v3/orders/{order_id}", "cancel")

    def close(self) -> None:
        self.http.close()
