"""Pure request building, response parsing and webhook signing for the sandbox protocol.

No I/O here: :mod:`providers.sandbox.adapter` does the HTTP, these functions turn contract
types into sandbox JSON and back, so they are tested with plain dicts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from providers.errors import (
    AuthenticationFailed,
    CancelNotAllowed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    ProviderError,
    QuoteExpired,
    WebhookRejected,
)
from providers.parsing import parse_time
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    Coordinates,
    CourierInfo,
    Money,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    VehicleType,
    derive_event_id,
)

PROVIDER = "sandbox"
SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
SIGNATURE_VERSION = "v1"

# Raw sandbox status -> normalized status. Unknown values fall back to ``booked`` (rank 0),
# which is never applied over anything, so a new provider status cannot corrupt a delivery.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "CREATED": DeliveryStatus.booked,
    "ALLOCATING": DeliveryStatus.searching_courier,
    "ASSIGNED": DeliveryStatus.courier_assigned,
    "AT_PICKUP": DeliveryStatus.at_pickup,
    "PICKED_UP": DeliveryStatus.picked_up,
    "ON_DELIVERY": DeliveryStatus.in_transit,
    "AT_DROPOFF": DeliveryStatus.at_dropoff,
    "COMPLETED": DeliveryStatus.delivered,
    "RETURNING": DeliveryStatus.returning,
    "RETURNED": DeliveryStatus.returned,
    "CANCELLED": DeliveryStatus.cancelled,
    "NO_DRIVER": DeliveryStatus.no_courier,
}


def normalize_status(raw: str) -> DeliveryStatus:
    return STATUS_MAP.get(str(raw).upper(), DeliveryStatus.booked)


# --- requests ---------------------------------------------------------------------------

def _place(place: Place) -> dict[str, Any]:
    return {"lat": place.coordinates.lat, "lng": place.coordinates.lng, "address": place.address}


def _stop(stop: Stop) -> dict[str, Any]:
    return {**_place(stop), "name": stop.name, "phone": stop.phone, "note": stop.note}


def quote_body(request: QuoteRequest) -> dict[str, Any]:
    return {"pickup": _place(request.pickup), "dropoff": _place(request.dropoff),
            "vehicle": request.vehicle.value}


def order_body(request: BookingRequest) -> dict[str, Any]:
    return {
        "quote_id": request.quote.provider_quote_id,
        "client_reference": request.reference,
        "pickup": _stop(request.pickup),
        "dropoff": _stop(request.dropoff),
        "item": {"description": request.item.description, "weight_g": request.item.weight_g},
    }


# --- responses --------------------------------------------------------------------------

def _money(data: Mapping[str, Any] | None) -> Money | None:
    if not data:
        return None
    return Money(amount=int(data["amount"]), currency=str(data.get("currency", "IDR")))


def parse_quote(data: Mapping[str, Any]) -> Quote:
    price = _money(data["price"])
    assert price is not None
    return Quote(
        provider=PROVIDER,
        provider_quote_id=str(data["quote_id"]),
        price=price,
        expires_at=parse_time(data["expires_at"]),
        vehicle=VehicleType(data.get("vehicle", "motorcycle")),
        distance_m=data.get("distance_m"),
        pickup_eta_s=data.get("pickup_eta_s"),
        dropoff_eta_s=data.get("dropoff_eta_s"),
    )


def _courier(data: Mapping[str, Any] | None) -> CourierInfo | None:
    if not data:
        return None
    return CourierInfo(name=data.get("name"), phone=data.get("phone"), plate=data.get("plate"),
                       photo_url=data.get("photo_url"))


def parse_booking(order: Mapping[str, Any]) -> Booking:
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(order["order_id"]),
        reference=str(order["client_reference"]),
        status=normalize_status(order["status"]),
        raw_status=str(order["status"]),
        price=_money(order.get("price")),
        tracking_url=order.get("tracking_url"),
        courier=_courier(order.get("courier")),
    )


def parse_order_update(order: Mapping[str, Any], *, event_id: str | None = None,
                       occurred_at: datetime | None = None) -> TrackingUpdate:
    """An order snapshot (status endpoint or webhook) as a tracking update.

    Polls carry no event id: it is derived from order, status and the provider's
    ``updated_at``, so polling an unchanged order yields the same id every time.
    """
    raw = str(order["status"])
    updated_at = parse_time(order["updated_at"])
    position = order.get("position")
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(order["order_id"]),
        provider_event_id=event_id or derive_event_id(PROVIDER, order["order_id"], raw,
                                                      order["updated_at"]),
        occurred_at=occurred_at or updated_at,
        status=normalize_status(raw),
        raw_status=raw,
        reference=order.get("client_reference"),
        courier=_courier(order.get("courier")),
        position=Coordinates(lat=position["lat"], lng=position["lng"]) if position else None,
        tracking_url=order.get("tracking_url"),
        proof_urls=tuple(order.get("proof_urls") or ()),
        failure_reason=order.get("failure_reason"),
    )


# Event types that carry an order snapshot; any other type is kept but never applied.
TRACKED_EVENT_TYPES = frozenset({"order.status", "order.location"})


def webhook_updates(event: Any) -> list[TrackingUpdate]:
    """The update a decoded webhook event carries; raises WebhookRejected without a type."""
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise WebhookRejected("malformed webhook: no event type", provider=PROVIDER)
    if event["type"] not in TRACKED_EVENT_TYPES:
        return []
    return [parse_order_update(event["order"], event_id=str(event["event_id"]),
                               occurred_at=parse_time(event["occurred_at"]))]


ERROR_CODES: dict[str, type[ProviderError]] = {
    "OUT_OF_SERVICE_AREA": OutOfServiceArea,
    "QUOTE_EXPIRED": QuoteExpired,
    "QUOTE_NOT_FOUND": QuoteExpired,
    "ORDER_NOT_FOUND": OrderNotFound,
    "CANCEL_FORBIDDEN": CancelNotAllowed,
    "UNAUTHORIZED": AuthenticationFailed,
    "VALIDATION": PermanentProviderError,
}


def classify(response: httpx.Response) -> ProviderError | None:
    """Sandbox error payloads -> specific contract errors (the http layer does the rest)."""
    if response.status_code < 400 or response.status_code in (429,) \
            or response.status_code >= 500:
        return None
    try:
        error = response.json()["error"]
        code = str(error["code"])
    except (ValueError, KeyError, TypeError):
        return None
    kind = ERROR_CODES.get(code)
    if kind is None:
        return None
    return kind(str(error.get("message", code)), provider=PROVIDER, code=code)


# --- webhook signing ----------------------------------------------------------------------

def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``; used by the simulator too."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def check_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                    *, now: float, tolerance_s: float) -> None:
    """Raise WebhookRejected unless the signature matches and the timestamp is fresh."""
    if not timestamp or not signature:
        raise WebhookRejected("missing signature headers", provider=PROVIDER)
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise WebhookRejected("bad timestamp", provider=PROVIDER) from exc
    if abs(now - sent_at) > tolerance_s:
        raise WebhookRejected("timestamp outside tolerance (replay?)", provider=PROVIDER)
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected("signature mismatch", provider=PROVIDER)
