"""GrabExpress Delivery API adapter (docs/providers.md §3).

* Auth: OAuth2 client credentials at TOKEN_URL (scope ``grab_express.partner_deliveries``),
  token cached per process, exactly one refresh and resend on a 401.
* Quote ``POST /v1/deliveries/quotes``; book ``POST /v1/deliveries`` with our reference as
  ``merchantOrderID``; status ``GET /v1/deliveries/{deliveryID}``; cancel
  ``DELETE /v1/deliveries/{deliveryID}`` (only while ALLOCATING, PENDING_PICKUP, PICKING_UP).
* No idempotency key and no lookup by ``merchantOrderID``: ``find_by_reference`` raises
  CapabilityNotSupported. Grab's one de-duplication tool is
  ``DELETE /v1/merchant/deliveries/{merchantOrderID}``, exposed as
  :meth:`GrabExpressAdapter.cancel_by_reference` (not in the contract) so an unknown booking
  outcome can be cleaned up before failing over. Webhooks carry ``merchantOrderID``, so an
  order created by a timed-out call still reaches the delivery side with our reference.
* Webhooks: ``Authorization`` and ``Authorization-Id`` header values agreed at onboarding,
  compared in constant time (comparison rule undocumented [UNCERTAIN]); no event id, so one is
  derived from deliveryID + status + timestamp; no signed timestamp, so replays are
  deduplicated rather than refused by age.
* Uncertain, configurable: token request encoding (``token_request_format``), quote validity,
  distance limit, package weight unit (grams), error envelope. Not used: COD, PIN, schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import Capabilities, HttpProviderAdapter, header, revealed
from providers.errors import OutOfServiceArea, QuoteExpired
from providers.grabexpress import mapping, webhooks
from providers.grabexpress.client import GrabExpressClient
from providers.grabexpress.settings import GrabExpressSettings
from providers.status import BEFORE_PICKUP
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


class GrabExpressAdapter(HttpProviderAdapter):
    name = "grabexpress"
    display_name = "GrabExpress"
    settings_model = GrabExpressSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle, VehicleType.car}),
        max_distance_m=40_000,
        photo_proof=True,  # pickup / drop-off proof URLs
        webhooks=True,
        lookup_by_reference=False,
        quote_validity_s=300,
        # ALLOCATING, PENDING_PICKUP, PICKING_UP [GRAB-VN].
        cancellable_statuses=BEFORE_PICKUP,
    )
    webhook_secret_settings = ("webhook_authorization", "webhook_authorization_id")
    client_type = GrabExpressClient

    settings: GrabExpressSettings
    client: GrabExpressClient

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        distance = request.pickup.coordinates.distance_m(request.dropoff.coordinates)
        if distance > self.settings.max_distance_m:
            raise OutOfServiceArea(f"{distance} m is beyond {self.settings.max_distance_m} m",
                                   provider=self.name)
        data = self.client.quotes(mapping.quote_body(
            request, service_type=self.settings.service_type,
            declared_value=self.settings.declared_value))
        quote = mapping.parse_quotes(data, service_type=self.settings.service_type,
                                     now=datetime.now(UTC),
                                     validity_s=self.settings.quote_validity_s)
        return quote.model_copy(update={"vehicle": request.vehicle})

    def book(self, request: BookingRequest) -> Booking:
        self.ensure_bookable(request)
        if request.quote.is_expired():
            raise QuoteExpired("quote too old; quote again", provider=self.name)
        data = self.client.create(mapping.delivery_body(
            request, service_type=self.settings.service_type, vehicle=request.quote.vehicle,
            declared_value=self.settings.declared_value))
        return mapping.parse_booking(data, reference=request.reference)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        return mapping.parse_delivery(self.client.get(provider_order_id), now=datetime.now(UTC))

    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        self.client.cancel(provider_order_id)

    def cancel_by_reference(self, reference: str) -> None:
        """Cancel every delivery created with our reference (Grab's merchantOrderID)."""
        self.client.cancel_by_merchant_order(reference)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        webhooks.verify(
            body, authorization=revealed(self.settings.webhook_authorization),
            authorization_id=revealed(self.settings.webhook_authorization_id),
            received_authorization=header(headers, "Authorization"),
            received_authorization_id=header(headers, "Authorization-Id"))

    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        return webhooks.updates(event)
