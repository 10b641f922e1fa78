"""Lalamove API v3 adapter (docs/providers.md §1).

* Auth: every request is signed, ``Authorization: hmac <key>:<ms timestamp>:<hex HMAC-SHA256>``
  over ``"<ts>\\r\\n<METHOD>\\r\\n<path>\\r\\n\\r\\n<body>"`` with the exact ``{"data": ...}``
  bytes sent (GET/DELETE: empty body), plus the ``Market`` header.
* Quote ``POST /v3/quotations`` (valid 5 min); book ``GET /v3/quotations/{id}`` for the stop
  ids, then ``POST /v3/orders`` with our reference in ``metadata``; status
  ``GET /v3/orders/{id}`` (+ driver details when matched); cancel ``DELETE /v3/orders/{id}``
  (allowed while ASSIGNING_DRIVER or within 5 minutes of ON_GOING).
* No idempotency key and no lookup by reference in v3: ``find_by_reference`` raises
  CapabilityNotSupported. An unknown booking outcome is resolved by the delivery side with
  the webhooks (``ORDER_CREATED`` / status events carry ``metadata.reference`` when Lalamove
  echoes it [UNCERTAIN]) and ``get_status`` on the provider id it stored.
* Webhooks: apiKey + in-body signature (scheme [UNCERTAIN], see ``webhook_signed_data`` and
  ``webhook_path``), signed timestamp within ``webhook_tolerance_s`` (also uncertain: whether
  retries are re-signed), replays deduplicated by ``eventId``.
* Not used: cash on delivery (not in v3), delivery PIN codes (no API to request one
  [UNCERTAIN]), item details (TH/VN/HK only).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import Capabilities, HttpProviderAdapter
from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    PermanentProviderError,
    QuoteExpired,
)
from providers.lalamove import mapping, webhooks
from providers.lalamove.client import LalamoveClient
from providers.lalamove.settings import LalamoveSettings
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)

DRIVER_VISIBLE = {"ON_GOING", "PICKED_UP"}


class LalamoveAdapter(HttpProviderAdapter):
    name = "lalamove"
    display_name = "Lalamove"
    settings_model = LalamoveSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle}),
        photo_proof=True,  # isPODEnabled
        scheduled=True,  # scheduleAt, up to 30 days ahead
        webhooks=True,
        lookup_by_reference=False,
        quote_validity_s=300,
        # ON_GOING only within 5 minutes of the match; a later cancel gets CancelNotAllowed.
        cancellable_statuses=frozenset({DeliveryStatus.booked, DeliveryStatus.searching_courier,
                                        DeliveryStatus.courier_assigned}),
    )
    webhook_secret_settings = ("api_key", "api_secret")
    client_type = LalamoveClient

    settings: LalamoveSettings
    client: LalamoveClient

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        payload = mapping.quote_payload(request, service_type=self.settings.service_type,
                                        language=self.settings.language)
        data = self.client.create_quotation(payload)
        return mapping.parse_quote(data, now=datetime.now(UTC),
                                   validity_s=self.settings.quote_validity_s)

    def book(self, request: BookingRequest) -> Booking:
        # No cash on delivery in v3, and no API to request a delivery PIN code.
        self.ensure_bookable(request)
        if request.quote.is_expired():
            raise QuoteExpired("quotation older than 5 minutes", provider=self.name)
        # The order must name the quotation's stop ids; the details call also fails fast
        # (ERR_INVALID_QUOTATION_ID -> QuoteExpired) before anything is created.
        quotation = self.client.get_quotation(request.quote.provider_quote_id)
        order = self.client.create_order(
            mapping.order_payload(request, mapping.stop_ids(quotation)))
        return mapping.parse_booking(order, reference=request.reference)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        order = self.client.get_order(provider_order_id)
        driver = None
        driver_id = str(order.get("driverId") or "")
        if driver_id and str(order.get("status")) in DRIVER_VISIBLE:
            try:
                driver = self.client.get_driver(provider_order_id, driver_id)
            except (OrderNotFound, PermanentProviderError) as exc:
                # Driver details are only served in a time window (403 outside it); the
                # status is still right without them. Credentials errors are not hidden.
                if isinstance(exc, AuthenticationFailed):
                    raise
        return mapping.parse_order_update(order, now=datetime.now(UTC), driver=driver)

    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        self.client.cancel_order(provider_order_id)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        webhooks.verify(body, api_key=self.settings.key(), api_secret=self.settings.secret(),
                        path=self.settings.webhook_path, now=time.time(),
                        tolerance_s=self.settings.webhook_tolerance_s,
                        mode=self.settings.webhook_signed_data)

    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        return webhooks.updates(event)
