"""Pure Biteship request building and response parsing (docs/providers.md §4).

Biteship is an aggregator: a quote is one ``pricing`` entry of ``POST /v1/rates/couriers``
(courier code + service code), and the order names that courier. Statuses are snake_case in
the Order API and camelCase on the Tracking page; both are read through :func:`status_key`.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    ProviderError,
)
from providers.parsing import local_phone, rupiah, status_key
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    CourierInfo,
    Item,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    derive_event_id,
)

PROVIDER = "biteship"

_S = DeliveryStatus
STATUS_MAP: dict[str, DeliveryStatus] = {
    "confirmed": _S.searching_courier,  # order confirmed, locating the nearest driver
    "scheduled": _S.booked,
    "allocated": _S.courier_assigned,
    "picking_up": _S.courier_assigned,
    "picked": _S.picked_up,
    "dropping_off": _S.in_transit,
    "in_transit": _S.in_transit,  # seen for non-instant couriers [COMMUNITY]
    "on_hold": _S.in_transit,
    "delivered": _S.delivered,
    "cancelled": _S.cancelled,
    "canceled": _S.cancelled,
    "return_in_transit": _S.returning,
    "returned": _S.returned,
    "rejected": _S.failed,
    "disposed": _S.failed,
    "courier_not_found": _S.no_courier,  # Biteship cancels the order itself
}


def normalize_status(raw: Any) -> DeliveryStatus:
    return STATUS_MAP.get(status_key(raw), DeliveryStatus.booked)


# --- requests ----------------------------------------------------------------------------------

def _item(item: Item, declared_value: int) -> dict[str, Any]:
    return {"name": item.description, "description": item.description,
            "category": "others", "value": declared_value, "quantity": item.quantity,
            "length": item.length_cm, "width": item.width_cm, "height": item.height_cm,
            "weight": item.weight_g}  # grams


def rates_body(request: QuoteRequest, *, couriers: list[str],
               declared_value: int) -> dict[str, Any]:
    return {
        "origin_latitude": request.pickup.coordinates.lat,
        "origin_longitude": request.pickup.coordinates.lng,
        "destination_latitude": request.dropoff.coordinates.lat,
        "destination_longitude": request.dropoff.coordinates.lng,
        "couriers": ",".join(couriers),
        "items": [_item(request.item, declared_value)],
    }


def quote_id(courier: str, service: str) -> str:
    """``gojek/instant/<nonce>``: the order needs the courier and service back."""
    return f"{courier}/{service}/{uuid.uuid4().hex[:12]}"


def courier_of(provider_quote_id: str) -> tuple[str, str]:
    parts = provider_quote_id.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise PermanentProviderError(f"not a Biteship quote id: {provider_quote_id!r}",
                                     provider=PROVIDER)
    return parts[0], parts[1]


def _coordinate(place: Place) -> dict[str, float]:
    return {"latitude": place.coordinates.lat, "longitude": place.coordinates.lng}


def order_body(request: BookingRequest, *, phone_format: str,
               declared_value: int) -> dict[str, Any]:
    courier, service = courier_of(request.quote.provider_quote_id)

    def phone(stop: Stop) -> str:
        return local_phone(stop.phone) if phone_format == "local" else stop.phone

    return {
        "shipper_contact_name": request.pickup.name,
        "shipper_contact_phone": phone(request.pickup),
        "origin_contact_name": request.pickup.name,
        "origin_contact_phone": phone(request.pickup),
        "origin_address": request.pickup.address or "-",
        "origin_note": request.pickup.note,
        "origin_coordinate": _coordinate(request.pickup),
        "destination_contact_name": request.dropoff.name,
        "destination_contact_phone": phone(request.dropoff),
        "destination_address": request.dropoff.address or "-",
        "destination_note": request.dropoff.note,
        "destination_coordinate": _coordinate(request.dropoff),
        "courier_company": courier,
        "courier_type": service,
        "delivery_type": "now",
        # No idempotency key: our reference, echoed back as reference_id.
        "reference_id": request.reference,
        "items": [_item(request.item, declared_value)],
    }


# --- responses ---------------------------------------------------------------------------------

_UNITS = {"minutes": 60, "minute": 60, "hours": 3600, "hour": 3600, "days": 86400, "day": 86400}


def _duration_s(entry: dict[str, Any]) -> int | None:
    """Upper bound of ``shipment_duration_range`` ("1 - 3") in ``shipment_duration_unit``."""
    numbers = re.findall(r"\d+", str(entry.get("shipment_duration_range") or ""))
    unit = _UNITS.get(str(entry.get("shipment_duration_unit") or "").lower())
    return int(numbers[-1]) * unit if numbers and unit else None


def parse_rates(data: Any, *, couriers: list[str], services: list[str], now: datetime,
                validity_s: int) -> Quote:
    """The cheapest accepted pricing entry; none -> OutOfServiceArea (instant couriers drop
    out of the list when a trip is beyond their range)."""
    pricing = (data or {}).get("pricing") if isinstance(data, dict) else None
    accepted = [p for p in pricing or []
                if str(p.get("courier_code") or p.get("company") or "").lower() in couriers
                and str(p.get("courier_service_code") or "").lower() in services
                and p.get("price") is not None]
    if not accepted:
        raise OutOfServiceArea("no accepted Biteship courier serves this trip",
                               provider=PROVIDER)
    best = min(accepted, key=lambda p: float(p["price"]))
    price = rupiah(best["price"])
    assert price is not None
    return Quote(
        provider=PROVIDER,
        provider_quote_id=quote_id(str(best.get("courier_code") or best["company"]).lower(),
                                   str(best["courier_service_code"]).lower()),
        price=price,
        expires_at=now + timedelta(seconds=validity_s),
        dropoff_eta_s=_duration_s(best),
    )


def _courier(courier: dict[str, Any] | None) -> CourierInfo | None:
    courier = courier or {}
    name = courier.get("driver_name") or courier.get("name")
    if not name:
        return None
    return CourierInfo(name=name, phone=courier.get("driver_phone") or courier.get("phone"),
                       plate=courier.get("driver_plate_number") or None,
                       photo_url=courier.get("driver_photo_url") or None)


def parse_order(data: dict[str, Any], *, reference: str | None = None) -> Booking:
    raw = str(data.get("status") or "confirmed")
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(data["id"]),
        reference=str(data.get("reference_id") or reference or ""),
        status=normalize_status(raw),
        raw_status=raw,
        price=rupiah(data.get("price")),
        tracking_url=(data.get("courier") or {}).get("link") or None,
        courier=_courier(data.get("courier")),
    )


def parse_order_update(data: dict[str, Any], *, now: datetime) -> TrackingUpdate:
    """``GET /v1/orders/{id}`` as an update; stable id while status and driver stay."""
    booking = parse_order(data)
    courier = data.get("courier") or {}
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=booking.provider_order_id,
        provider_event_id=derive_event_id(PROVIDER, "poll", booking.provider_order_id,
                                          status_key(booking.raw_status),
                                          booking.courier.name if booking.courier else ""),
        occurred_at=now,
        status=booking.status,
        raw_status=booking.raw_status,
        reference=booking.reference or None,
        courier=booking.courier,
        tracking_url=booking.tracking_url,
        failure_reason=courier.get("history_note") or data.get("note_status") or None,
    )


# --- errors ------------------------------------------------------------------------------------

def classify(response: httpx.Response) -> ProviderError | None:
    """``{"success": false, "error": "...", "code": 40002001}``: codes are HTTP status + 5
    digits (401xxxxx / 403xxxxx: API key problems)."""
    status = response.status_code
    if status < 400 or status == 429 or status >= 500:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body["code"]) if body.get("code") is not None else None
    message = str(body.get("error") or body.get("message") or f"HTTP {status}")
    if status in (401, 403) or (code or "").startswith(("401", "403")):
        return AuthenticationFailed(message, provider=PROVIDER, code=code)
    if status == 404 or (code or "").startswith("404"):
        return OrderNotFound(message, provider=PROVIDER, code=code)
    return PermanentProviderError(message, provider=PROVIDER, code=code)
