"""Pure GrabExpress Delivery API request building and response parsing (docs/providers.md §3).

Ids (``deliveryID``, ``merchantOrderID``) stay strings; the webhook ``timestamp`` is Unix
seconds; amounts come with a currency ``exponent`` (IDR: 0); phones go without ``+``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    ProviderError,
)
from providers.parsing import digits_phone, parse_time, rupiah, status_key
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    Coordinates,
    CourierInfo,
    Item,
    Money,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    VehicleType,
    derive_event_id,
)

PROVIDER = "grabexpress"

_S = DeliveryStatus
# Grab's statuses [COMMUNITY, several codebases]; GRAB-VN counts 11, one unidentified.
# PENDING_PICKUP = driver allocated, riding to the sender; PICKING_UP = at the sender;
# PENDING_DROP_OFF = parcel on board; IN_DELIVERY = at / delivering to the recipient.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "allocating": _S.searching_courier,
    "pending_pickup": _S.courier_assigned,
    "picking_up": _S.at_pickup,
    "pending_drop_off": _S.picked_up,
    "in_delivery": _S.in_transit,
    "in_return": _S.returning,
    "returned": _S.returned,
    "completed": _S.delivered,
    "canceled": _S.cancelled,
    "cancelled": _S.cancelled,  # the typo in Grab's own state diagram
    "failed": _S.failed,
}

VEHICLES = {VehicleType.motorcycle: "BIKE", VehicleType.car: "CAR", VehicleType.van: "VAN",
            VehicleType.bicycle: "CYCLE", VehicleType.walk: "FOOT"}


def normalize_status(raw: Any) -> DeliveryStatus:
    return STATUS_MAP.get(status_key(raw), DeliveryStatus.booked)


# --- requests ----------------------------------------------------------------------------------

def _place(place: Place) -> dict[str, Any]:
    return {"address": place.address or "-",
            "coordinates": {"latitude": place.coordinates.lat,
                            "longitude": place.coordinates.lng}}


def _package(item: Item, declared_value: int) -> dict[str, Any]:
    # Weight unit is grams in the SDK's samples [UNCERTAIN]; sizes in cm.
    return {"name": item.description, "description": item.description,
            "quantity": item.quantity, "price": declared_value,
            "dimensions": {"height": item.height_cm, "width": item.width_cm,
                           "depth": item.length_cm, "weight": item.weight_g}}


def quote_body(request: QuoteRequest, *, service_type: str,
               declared_value: int) -> dict[str, Any]:
    return {"serviceType": service_type, "vehicleType": VEHICLES[request.vehicle],
            "packages": [_package(request.item, declared_value)],
            "origin": _place(request.pickup), "destination": _place(request.dropoff)}


def _person(stop: Stop) -> dict[str, Any]:
    return {"firstName": stop.name, "lastName": "", "phone": digits_phone(stop.phone),
            "smsEnabled": True, "instruction": stop.note[:1000]}


def delivery_body(request: BookingRequest, *, service_type: str, vehicle: VehicleType,
                  declared_value: int) -> dict[str, Any]:
    # cashOnDelivery is omitted entirely for non-COD orders, as Grab asks.
    return {
        "merchantOrderID": request.reference,  # no idempotency key: our reference
        "serviceType": service_type,
        "vehicleType": VEHICLES[vehicle],
        "paymentMethod": "CASHLESS",
        "payer": "SENDER",
        "packages": [_package(request.item, declared_value)],
        "origin": _place(request.pickup),
        "destination": _place(request.dropoff),
        "sender": _person(request.pickup),
        "recipient": _person(request.dropoff),
    }


# --- responses ---------------------------------------------------------------------------------

def amount(value: Any, currency: dict[str, Any] | None) -> Money | None:
    """Grab amounts with a currency exponent: for IDR (exponent 0) the amount is rupiah."""
    currency = currency or {}
    if value is None:
        return None
    exponent = int(currency.get("exponent") or 0)
    scaled = Decimal(str(value)) / (Decimal(10) ** exponent) if exponent else value
    return rupiah(scaled, currency.get("code") or "IDR")


def _eta(value: Any, now: datetime) -> int | None:
    if not value:
        return None
    try:
        return max(0, round((parse_time(value) - now).total_seconds()))
    except ValueError:
        return None


def parse_quotes(data: Any, *, service_type: str, now: datetime, validity_s: int) -> Quote:
    quotes = (data or {}).get("quotes") if isinstance(data, dict) else None
    if not quotes:
        raise OutOfServiceArea("Grab returned no quote for this trip", provider=PROVIDER)
    chosen = next((q for q in quotes if (q.get("service") or {}).get("type") == service_type),
                  quotes[0])
    price = amount(chosen.get("amount"), chosen.get("currency"))
    if price is None:
        raise PermanentProviderError("quote without an amount", provider=PROVIDER)
    timeline = chosen.get("estimatedTimeline") or {}
    distance = chosen.get("distance")
    return Quote(
        provider=PROVIDER,
        # Grab quotes have no id; booking does not refer to one.
        provider_quote_id=f"grab-{service_type.lower()}-{uuid.uuid4().hex[:16]}",
        price=price,
        expires_at=now + timedelta(seconds=validity_s),
        distance_m=round(float(distance)) if distance is not None else None,
        pickup_eta_s=_eta(timeline.get("pickup"), now),
        dropoff_eta_s=_eta(timeline.get("dropoff"), now),
    )


def _courier(data: dict[str, Any] | None) -> CourierInfo | None:
    if not data or not data.get("name"):
        return None
    vehicle = data.get("vehicle") or {}
    return CourierInfo(name=data["name"], phone=data.get("phone") or None,
                       plate=data.get("licensePlate") or vehicle.get("plateNumber") or None,
                       photo_url=data.get("photoURL") or data.get("pictureURL") or None)


def _position(data: dict[str, Any] | None) -> Coordinates | None:
    coordinates = (data or {}).get("coordinates") or {}
    lat, lng = coordinates.get("latitude"), coordinates.get("longitude")
    if lat is None or lng is None:
        return None
    return Coordinates(lat=float(lat), lng=float(lng))


def parse_booking(data: dict[str, Any], *, reference: str) -> Booking:
    raw = str(data.get("status") or "ALLOCATING")
    quote = data.get("quote") or {}
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(data["deliveryID"]),
        reference=str(data.get("merchantOrderID") or reference),
        status=normalize_status(raw),
        raw_status=raw,
        price=amount(quote.get("amount"), quote.get("currency")),
        tracking_url=data.get("trackingURL") or None,
        courier=_courier(data.get("courier")),
    )


def parse_delivery(data: dict[str, Any], *, now: datetime) -> TrackingUpdate:
    """``GET /v1/deliveries/{id}`` as an update; stable id while status and courier stay."""
    raw = str(data.get("status") or "")
    courier = _courier(data.get("courier"))
    proofs = tuple(str(data[k]) for k in ("pickupProofURL", "dropoffProofURL")
                   if data.get(k))
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(data["deliveryID"]),
        provider_event_id=derive_event_id(PROVIDER, "poll", data["deliveryID"], raw,
                                          courier.name if courier else ""),
        occurred_at=now,
        status=normalize_status(raw),
        raw_status=raw,
        reference=data.get("merchantOrderID") or None,
        courier=courier,
        position=_position(data.get("courier")),
        tracking_url=data.get("trackingURL") or None,
        proof_urls=proofs,
        failure_reason=(data.get("advanceInfo") or {}).get("failedReason") or None,
    )


# --- errors ------------------------------------------------------------------------------------

def error_text(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) from Grab's JSON error or an OAuth error; the envelope is not
    documented [UNCERTAIN], so every usual key is tried."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if not isinstance(body, dict):
        return None, str(body)[:200]
    code = body.get("code") or body.get("error")
    message = " ".join(str(body[k]) for k in ("message", "reason", "arg", "error_description")
                       if body.get(k))
    return (str(code) if code is not None else None), message


def classify(response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    if status < 400 or status == 429 or status >= 500:
        return None
    code, message = error_text(response)
    message = message or f"HTTP {status}"
    if status == 404:
        return OrderNotFound(message, provider=PROVIDER, code=code)
    if status in (401, 403):
        return AuthenticationFailed(message, provider=PROVIDER, code=code)
    return PermanentProviderError(message, provider=PROVIDER, code=code)
