"""Pure GoSend (Gojek "kilat" partner API v10) request building and response parsing.

All facts are [COMMUNITY] (docs/providers.md §2): no official page was retrievable.
Two status vocabularies: webhooks send keys (``out_for_pickup``), the status GET answers
display strings (``"Enroute Pickup"``); both are matched through :func:`status_key`.
Order numbers (``GK-11-170563``) are strings; webhook ``event_date`` is milliseconds.
"""

from __future__ import annotations

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
from providers.parsing import rupiah, status_key
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    CourierInfo,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    derive_event_id,
)

PROVIDER = "gosend"

_S = DeliveryStatus
STATUS_MAP: dict[str, DeliveryStatus] = {
    # webhook keys
    "confirmed": _S.searching_courier,
    "allocated": _S.courier_assigned,
    "out_for_pickup": _S.courier_assigned,
    "picked": _S.picked_up,
    "out_for_delivery": _S.in_transit,
    # On hold (recipient unreachable, weather): still with the courier, on the way.
    "on_hold": _S.in_transit,
    "delivered": _S.delivered,
    "cancelled": _S.cancelled,
    "canceled": _S.cancelled,
    # "Drop-off failed, item returned to sender", terminal at GoSend: no later status comes.
    "rejected": _S.returned,
    "no_driver": _S.no_courier,
    # display strings of the status GET
    "finding_driver": _S.searching_courier,
    "driver_allocated": _S.courier_assigned,
    "enroute_pickup": _S.courier_assigned,
    "item_picked": _S.picked_up,
    "item_picked_by_driver": _S.picked_up,
    "enroute_drop": _S.in_transit,
    "completed": _S.delivered,
    "driver_not_found": _S.no_courier,
}


def normalize_status(raw: Any) -> DeliveryStatus:
    """Any spelling (key, display string, any case); unknown -> ``booked`` (never applied)."""
    return STATUS_MAP.get(status_key(raw), DeliveryStatus.booked)


# --- requests ----------------------------------------------------------------------------------

def latlng(place: Place) -> str:
    return f"{place.coordinates.lat},{place.coordinates.lng}"


def price_params(request: QuoteRequest, *, payment_type: int) -> dict[str, Any]:
    return {"origin": latlng(request.pickup), "destination": latlng(request.dropoff),
            "paymentType": payment_type}


def _route_side(prefix: str, stop: Stop) -> dict[str, Any]:
    return {
        f"{prefix}Name": stop.name,
        f"{prefix}Note": stop.note,
        f"{prefix}ContactName": stop.name,
        f"{prefix}ContactPhone": stop.phone,
        f"{prefix}LatLong": latlng(stop),
        f"{prefix}Address": stop.address or "-",
    }


def booking_body(request: BookingRequest, *, shipment_method: str,
                 payment_type: int) -> dict[str, Any]:
    return {
        "paymentType": payment_type,
        "deviceToken": "",
        "collection_location": "pickup",
        "shipment_method": shipment_method,
        "routes": [{
            **_route_side("origin", request.pickup),
            **_route_side("destination", request.dropoff),
            "item": request.item.description,
            # Our reference; echoed back and searchable (no idempotency key exists).
            "storeOrderId": request.reference,
            # GoSend wants these as strings.
            "insuranceDetails": {"applied": "false", "fee": "0",
                                 "product_description": request.item.description,
                                 "product_price": "0"},
        }],
    }


# --- responses ---------------------------------------------------------------------------------

def parse_price(data: Any, *, method: str, now: datetime, validity_s: int) -> Quote:
    """The estimate for our shipment method; not serviceable/active -> OutOfServiceArea."""
    option = data.get(method) if isinstance(data, dict) else None
    if not isinstance(option, dict):
        raise OutOfServiceArea(f"no {method} estimate for this trip", provider=PROVIDER)
    if not option.get("serviceable", True) or not option.get("active", True):
        raise OutOfServiceArea(str(option.get("shipment_method_description") or
                                   f"{method} is not serviceable here"), provider=PROVIDER)
    price = rupiah((option.get("price") or {}).get("total_price"))
    if price is None:
        raise PermanentProviderError("estimate without total_price", provider=PROVIDER)
    distance_km = option.get("distance")
    return Quote(
        provider=PROVIDER,
        # GoSend has no quote ids: a readable, unique stand-in (booking does not use it).
        provider_quote_id=f"gosend-{method.lower()}-{uuid.uuid4().hex[:16]}",
        price=price,
        expires_at=now + timedelta(seconds=validity_s),
        # GoSend reports distance in km [COMMUNITY].
        distance_m=round(float(distance_km) * 1000) if distance_km not in (None, "") else None,
    )


def creation_error(data: Any) -> str | None:
    """A create answered 2xx can still carry ``errorMessage`` / ``errors[]`` and no order."""
    if not isinstance(data, dict):
        return "empty response"
    if data.get("orderNo"):
        return None
    errors = data.get("errors") or []
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    return str(data.get("errorMessage") or "; ".join(texts) or "no orderNo in response")


def parse_created(data: dict[str, Any], *, reference: str) -> Booking:
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(data["orderNo"]),
        reference=str(data.get("storeOrderId") or reference),
        status=DeliveryStatus.searching_courier,
        raw_status="confirmed",
    )


def _courier(data: dict[str, Any]) -> CourierInfo | None:
    name = data.get("driverName") or data.get("driver_name")
    if not name:
        return None
    return CourierInfo(name=name, phone=data.get("driverPhone") or data.get("driver_phone"),
                       plate=data.get("vehicleNumber") or None,
                       photo_url=data.get("driverPhoto") or data.get("driver_photo_url"))


def _proofs(data: dict[str, Any]) -> tuple[str, ...]:
    proofs = data.get("proofs")
    if not isinstance(proofs, dict):  # shape undocumented [UNCERTAIN]: take URL strings
        return ()
    found: list[str] = []
    for value in proofs.values():
        items = value if isinstance(value, list) else [value]
        found.extend(str(v) for v in items if isinstance(v, str) and v.startswith("http"))
    return tuple(found)


def parse_booking_status(data: dict[str, Any]) -> Booking:
    raw = str(data.get("status") or "")
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(data["orderNo"]),
        reference=str(data.get("storeOrderId") or ""),
        status=normalize_status(raw),
        raw_status=raw,
        price=rupiah(data.get("totalPrice")),
        tracking_url=data.get("liveTrackingUrl") or None,
        courier=_courier(data),
    )


def parse_status(data: dict[str, Any], *, now: datetime) -> TrackingUpdate:
    """The status GET as an update; the id is stable while status and driver stay."""
    raw = str(data.get("status") or "")
    status = normalize_status(raw)
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(data["orderNo"]),
        provider_event_id=derive_event_id(PROVIDER, "poll", data["orderNo"], status_key(raw),
                                          data.get("driverId") or data.get("driverName")),
        occurred_at=now,
        status=status,
        raw_status=raw,
        reference=data.get("storeOrderId") or None,
        courier=_courier(data),
        tracking_url=data.get("liveTrackingUrl") or None,
        proof_urls=_proofs(data),
        failure_reason=data.get("cancelDescription") or None,
    )


# --- errors ------------------------------------------------------------------------------------

def error_message(response: httpx.Response) -> str:
    """The reason from the ``Error-Message`` header or the body's ``errorMessage``/``errors``."""
    header = response.headers.get("Error-Message")
    if header:
        return header
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return creation_error(body) or str(body.get("message") or "")
    return str(body)[:200]


def classify(response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    if status < 400 or status == 429 or status >= 500:
        return None
    message = error_message(response) or f"HTTP {status}"
    if status == 404:
        return OrderNotFound(message, provider=PROVIDER)
    if status in (401, 403):
        return AuthenticationFailed(message, provider=PROVIDER)
    return PermanentProviderError(message, provider=PROVIDER)
