"""The sandbox adapter: speaks to the sandbox server over httpx, like any real provider."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import Field, SecretStr

from providers.base import Capabilities, HttpProviderAdapter, ProviderSettings, header
from providers.errors import OutOfServiceArea, PermanentProviderError
from providers.http import ProviderHttp
from providers.sandbox import mapping
from providers.status import BEFORE_PICKUP
from providers.types import Booking, BookingRequest, Quote, QuoteRequest, TrackingUpdate

DEFAULT_BASE_URL = "http://127.0.0.1:8100"
MAX_DISTANCE_M = 40_000


class SandboxSettings(ProviderSettings):
    # The sandbox is on by default so ``make run`` works offline; production deployments set
    # SIPOKE_PROVIDERS__SANDBOX__ENABLED=false.
    enabled: bool = True
    priority: int = 900
    base_url: str | None = DEFAULT_BASE_URL
    api_key: SecretStr = SecretStr("sandbox-api-key")
    webhook_secret: SecretStr = SecretStr("sandbox-webhook-secret")
    webhook_tolerance_s: float = Field(default=300, gt=0)


class SandboxAdapter(HttpProviderAdapter):
    name = "sandbox"
    display_name = "Sandbox Kurir (simulasi)"
    settings_model = SandboxSettings
    capabilities = Capabilities(
        max_distance_m=MAX_DISTANCE_M,
        max_weight_g=20_000,
        max_dimensions_cm=(40, 40, 40),
        photo_proof=True,
        webhooks=True,
        lookup_by_reference=True,
        quote_validity_s=300,
        cancellable_statuses=BEFORE_PICKUP,
    )
    webhook_secret_settings = ("webhook_secret",)

    settings: SandboxSettings
    client: ProviderHttp

    def open_client(self, transport: httpx.BaseTransport | None) -> ProviderHttp:
        return ProviderHttp(
            self.name, self.settings.base_url or DEFAULT_BASE_URL,
            connect_timeout=self.settings.connect_timeout, read_timeout=self.settings.read_timeout,
            headers={"Authorization": f"Bearer {self.settings.api_key.get_secret_value()}"},
            classify=mapping.classify, transport=transport,
        )

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        distance = request.pickup.coordinates.distance_m(request.dropoff.coordinates)
        if distance > MAX_DISTANCE_M:
            # Cheaper to refuse here than to spend a request on a certain rejection.
            raise OutOfServiceArea(f"{distance} m is beyond {MAX_DISTANCE_M} m",
                                   provider=self.name)
        return mapping.parse_quote(self.client.json("POST", "/v1/quotes",
                                                    json=mapping.quote_body(request)))

    def book(self, request: BookingRequest) -> Booking:
        # The server is idempotent on client_reference (it answers an existing order before
        # looking at the quote), so a retry after an unknown outcome returns the same order.
        self.ensure_bookable(request)
        data = self.client.json("POST", "/v1/orders", json=mapping.order_body(request))
        return mapping.parse_booking(data)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        return mapping.parse_order_update(
            self.client.json("GET", f"/v1/orders/{provider_order_id}"))

    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        self.client.json("POST", f"/v1/orders/{provider_order_id}/cancel", json={"reason": reason})

    def settle_refused_cancel(self, provider_order_id: str,
                              refusal: PermanentProviderError) -> None:
        # The server settles a cancel itself: it answers a cancelled order as it is and
        # refuses past pickup with CANCEL_FORBIDDEN (CancelNotAllowed), so no second look.
        raise refusal

    def find_by_reference(self, reference: str) -> Booking | None:
        data = self.client.json("GET", "/v1/orders", params={"client_reference": reference})
        orders = (data or {}).get("orders") or []
        return mapping.parse_booking(orders[0]) if orders else None

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        mapping.check_signature(
            self.settings.webhook_secret.get_secret_value(), body,
            header(headers, mapping.TIMESTAMP_HEADER), header(headers, mapping.SIGNATURE_HEADER),
            now=time.time(), tolerance_s=self.settings.webhook_tolerance_s,
        )

    def is_probe(self, body: bytes) -> bool:
        # The server never checks the URL: every body it sends is a signed event.
        return False

    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        return mapping.webhook_updates(event)
