"""Biteship (Indonesian courier aggregator) adapter (docs/providers.md §4).

* Auth: ``authorization: <API key>`` (``biteship_test.`` keys: testing mode, never picked up).
* Quote ``POST /v1/rates/couriers`` with coordinates (instant couriers need them) for the
  couriers in COURIERS, keeping the cheapest entry whose service code is in
  ``courier_services``; the quote id carries ``courier/service``. Book ``POST /v1/orders``
  (``delivery_type: now``) with our reference as ``reference_id``; status
  ``GET /v1/orders/{id}``; cancel ``POST /v1/orders/{id}/cancel`` (possible up to
  ``picking_up``).
* No idempotency key and no documented search by ``reference_id``: ``find_by_reference``
  raises CapabilityNotSupported; the delivery side reconciles through ``get_status`` by the
  order id it stored.
* Webhooks: the custom header (WEBHOOK_HEADER / WEBHOOK_SECRET set in the dashboard), compared
  in constant time; a static secret, not an HMAC [UNCERTAIN official wording]; no event id,
  so the id is a content hash; ``courier_not_found`` (Biteship cancels) maps to no_courier.
* Uncertain, configurable: phone format (``phone_format``), accepted service codes, quote
  validity, the installation-test body. Orders need Biteship balance (a 4xx otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import Capabilities, HttpProviderAdapter, header, revealed
from providers.biteship import mapping, webhooks
from providers.biteship.client import BiteshipClient
from providers.biteship.settings import BiteshipSettings
from providers.errors import (
    OrderNotFound,
    PermanentProviderError,
    QuoteExpired,
)
from providers.status import BEFORE_PICKUP
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


class BiteshipAdapter(HttpProviderAdapter):
    name = "biteship"
    display_name = "Biteship"
    settings_model = BiteshipSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle}),
        webhooks=True,
        lookup_by_reference=False,
        quote_validity_s=300,
        cancellable_statuses=BEFORE_PICKUP,
    )
    webhook_secret_settings = ("webhook_secret",)
    client_type = BiteshipClient

    settings: BiteshipSettings
    client: BiteshipClient

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        data = self.client.rates(mapping.rates_body(
            request, couriers=self.settings.courier_list(),
            declared_value=self.settings.declared_value))
        return mapping.parse_rates(data, couriers=self.settings.courier_list(),
                                   services=self.settings.service_list(),
                                   now=datetime.now(UTC),
                                   validity_s=self.settings.quote_validity_s)

    def book(self, request: BookingRequest) -> Booking:
        self.ensure_bookable(request)
        if request.quote.is_expired():
            raise QuoteExpired("rate too old; quote again", provider=self.name)
        data = self.client.create_order(mapping.order_body(
            request, phone_format=self.settings.phone_format,
            declared_value=self.settings.declared_value))
        if not isinstance(data, dict) or not data.get("id"):
            raise PermanentProviderError("order response without an id", provider=self.name)
        return mapping.parse_order(data, reference=request.reference)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        data = self.client.get_order(provider_order_id)
        if not isinstance(data, dict) or not data.get("id"):
            raise OrderNotFound(f"no order {provider_order_id}", provider=self.name)
        return mapping.parse_order_update(data, now=datetime.now(UTC))

    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        self.client.cancel_order(provider_order_id, reason or "Dibatalkan oleh kantor")

    def is_probe(self, body: bytes) -> bool:
        return webhooks.is_probe(body)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        webhooks.verify(body, secret=revealed(self.settings.webhook_secret),
                        received=header(headers, self.settings.webhook_header))

    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        return webhooks.updates(event)
