"""GoSend (Gojek) partner API adapter (docs/providers.md §2, all [COMMUNITY]).

* Auth: ``Client-ID`` and ``Pass-Key`` headers. Staging host by default; set BASE_URL to
  ``https://kilat-api.gojekapi.com`` for production.
* Quote ``GET /gokilat/v10/calculate/price`` (per shipment method: ``serviceable``/``active``);
  book ``POST /gokilat/v10/booking`` with our reference as ``storeOrderId``; status
  ``GET /gokilat/v10/booking/orderno/{orderNo}`` (display strings); lookup by our reference
  ``GET /gokilat/v10/booking/storeOrderId/{ref}``; cancel ``PUT /gokilat/v10/booking/cancel``.
* No idempotency key: ``book`` looks the reference up first (``lookup_before_book``) and
  returns the existing order. Whether GoSend itself rejects a duplicate ``storeOrderId`` is
  [UNCERTAIN]; so is the lookup's answer for an unknown reference (404 or an empty body are
  read as "none"; a 5xx stays a transient error, so nothing is re-created blindly).
* Webhooks: a static token in ``webhook_header`` (``Authorization`` by default [UNCERTAIN]),
  constant-time compare; dedup on ``event_id``; no signed timestamp, so replays are
  deduplicated, not refused by age.
* Uncertain, configurable: quote validity (``quote_validity_s``), shipment method names,
  distance unit (km). Not supported: COD, PIN proof, scheduling.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import Capabilities, HttpProviderAdapter, header, revealed
from providers.errors import (
    OrderNotFound,
    PermanentProviderError,
    QuoteExpired,
)
from providers.gosend import mapping, webhooks
from providers.gosend.client import GoSendClient
from providers.gosend.settings import GoSendSettings
from providers.status import BEFORE_PICKUP
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


class GoSendAdapter(HttpProviderAdapter):
    name = "gosend"
    display_name = "GoSend"
    settings_model = GoSendSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle}),
        # Paxel's GoSend-backed instant product: max 20 kg and 40 km (indirect [UNCERTAIN]).
        max_distance_m=40_000,
        max_weight_g=20_000,
        photo_proof=True,  # proofs.pod in the status response
        webhooks=True,
        lookup_by_reference=True,
        quote_validity_s=300,
        cancellable_statuses=BEFORE_PICKUP,
    )
    webhook_secret_settings = ("webhook_token",)
    client_type = GoSendClient

    settings: GoSendSettings
    client: GoSendClient

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        data = self.client.estimate(
            mapping.price_params(request, payment_type=self.settings.payment_type))
        return mapping.parse_price(data, method=self.settings.shipment_method,
                                   now=datetime.now(UTC),
                                   validity_s=self.settings.quote_validity_s)

    def book(self, request: BookingRequest) -> Booking:
        self.ensure_bookable(request)
        if self.settings.lookup_before_book:
            existing = self.find_by_reference(request.reference)
            if existing is not None:
                return existing
        if request.quote.is_expired():
            raise QuoteExpired("price estimate too old; quote again", provider=self.name)
        data = self.client.create_booking(mapping.booking_body(
            request, shipment_method=self.settings.shipment_method,
            payment_type=self.settings.payment_type))
        error = mapping.creation_error(data)
        if error is not None:
            raise PermanentProviderError(f"booking refused: {error}", provider=self.name)
        return mapping.parse_created(data, reference=request.reference)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        data = self.client.by_order_no(provider_order_id)
        if not isinstance(data, dict) or not data.get("orderNo"):
            raise OrderNotFound(f"no order {provider_order_id}", provider=self.name)
        return mapping.parse_status(data, now=datetime.now(UTC))

    def find_by_reference(self, reference: str) -> Booking | None:
        try:
            data = self.client.by_store_order_id(reference)
        except OrderNotFound:
            return None
        if isinstance(data, list):
            data = data[0] if data else None
        if not isinstance(data, dict) or not data.get("orderNo"):
            return None
        booking = mapping.parse_booking_status(data)
        return booking.model_copy(update={"reference": booking.reference or reference})

    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        self.client.cancel(provider_order_id)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        webhooks.verify(body, token=revealed(self.settings.webhook_token),
                        received=header(headers, self.settings.webhook_header))

    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        return webhooks.updates(event)
