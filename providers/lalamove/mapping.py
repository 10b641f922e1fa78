"""Pure Lalamove v3 request building, signing and response parsing (no I/O).

Facts from docs/providers.md §1: every body and successful response is wrapped in
``{"data": ...}``; amounts are decimal strings in the market currency; ids (quotation, stop,
order: 19 digits) stay strings; request signing uses millisecond timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
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
    TransientProviderError,
)
from providers.parsing import parse_time, rupiah
from providers.status import DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    CourierInfo,
    Place,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    derive_event_id,
)

PROVIDER = "lalamove"

# Lalamove statuses [OFFICIAL]. A driver rejection sends ON_GOING/PICKED_UP back to
# ASSIGNING_DRIVER: that maps to a lower rank, so the delivery side keeps its status and
# only stores the event. REJECTED (too many driver rejections, no longer broadcast) and
# EXPIRED (nobody accepted in time) both mean "no courier": fail over and re-book.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "ASSIGNING_DRIVER": DeliveryStatus.searching_courier,
    "ON_GOING": DeliveryStatus.courier_assigned,
    "PICKED_UP": DeliveryStatus.picked_up,
    "COMPLETED": DeliveryStatus.delivered,
    "CANCELED": DeliveryStatus.cancelled,
    "CANCELLED": DeliveryStatus.cancelled,
    "REJECTED": DeliveryStatus.no_courier,
    "EXPIRED": DeliveryStatus.no_courier,
}


def normalize_status(raw: Any) -> DeliveryStatus:
    """Unknown statuses fall back to ``booked`` (rank 0): stored, never applied over anything."""
    return STATUS_MAP.get(str(raw).strip().upper(), DeliveryStatus.booked)


# --- signing ---------------------------------------------------------------------------------

def signature(secret: str, timestamp_ms: int | str, method: str, path: str,
              body: bytes = b"") -> str:
    """lowercase hex HMAC-SHA256(secret, "<ts>\\r\\n<METHOD>\\r\\n<path>\\r\\n\\r\\n<body>")."""
    message = f"{timestamp_ms}\r\n{method.upper()}\r\n{path}\r\n\r\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authorization(api_key: str, timestamp_ms: int | str, sig: str) -> str:
    return f"hmac {api_key}:{timestamp_ms}:{sig}"


def envelope(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent AND signed: compact ``{"data": ...}`` (never re-serialize)."""
    return json.dumps({"data": payload}, separators=(",", ":"), ensure_ascii=False).encode()


# --- requests ----------------------------------------------------------------------------------

def _coordinates(place: Place) -> dict[str, str]:
    # Lalamove wants coordinates as strings.
    return {"lat": str(place.coordinates.lat), "lng": str(place.coordinates.lng)}


def quote_payload(request: QuoteRequest, *, service_type: str, language: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "serviceType": service_type,
        "language": language,
        "stops": [{"coordinates": _coordinates(p), "address": p.address or "-"}
                  for p in (request.pickup, request.dropoff)],
    }
    if request.scheduled_at is not None:
        payload["scheduleAt"] = request.scheduled_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # Item details are only accepted in TH/VN/HK per the docs: not sent for Indonesia.
    return payload


def order_payload(request: BookingRequest, stop_ids: list[str]) -> dict[str, Any]:
    if len(stop_ids) < 2:
        raise PermanentProviderError("quotation has fewer than two stops", provider=PROVIDER)
    remarks = "\r\n".join(x for x in (f"Barang: {request.item.description}",
                                      request.dropoff.note) if x)
    return {
        "quotationId": request.quote.provider_quote_id,
        "sender": {"stopId": stop_ids[0], "name": request.pickup.name,
                   "phone": request.pickup.phone},
        "recipients": [{"stopId": stop_ids[1], "name": request.dropoff.name,
                        "phone": request.dropoff.phone, "remarks": remarks[:1500]}],
        "isPODEnabled": request.require_photo_proof,
        # No idempotency key in v3: our reference rides in metadata (echoed back).
        "metadata": {"reference": request.reference},
    }


# --- responses ---------------------------------------------------------------------------------

def unwrap(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    raise PermanentProviderError("response has no data object", provider=PROVIDER)


def parse_quote(data: dict[str, Any], *, now: datetime, validity_s: int) -> Quote:
    breakdown = data.get("priceBreakdown") or {}
    price = rupiah(breakdown.get("total"), breakdown.get("currency") or "IDR")
    if price is None:
        raise PermanentProviderError("quotation without a total", provider=PROVIDER)
    expires = data.get("expiresAt")
    distance = (data.get("distance") or {}).get("value")
    return Quote(
        provider=PROVIDER,
        provider_quote_id=str(data["quotationId"]),
        price=price,
        expires_at=parse_time(expires) if expires else now + timedelta(seconds=validity_s),
        distance_m=round(float(distance)) if distance not in (None, "") else None,
    )


def stop_ids(data: dict[str, Any]) -> list[str]:
    return [str(stop["stopId"]) for stop in data.get("stops") or [] if stop.get("stopId")]


def _reference(order: dict[str, Any]) -> str | None:
    metadata = order.get("metadata")
    return str(metadata["reference"]) if isinstance(metadata, dict) and \
        metadata.get("reference") else None


def parse_booking(order: dict[str, Any], *, reference: str) -> Booking:
    raw = str(order.get("status") or "ASSIGNING_DRIVER")
    breakdown = order.get("priceBreakdown") or {}
    return Booking(
        provider=PROVIDER,
        provider_order_id=str(order["orderId"]),
        reference=_reference(order) or reference,
        status=normalize_status(raw),
        raw_status=raw,
        price=rupiah(breakdown.get("total"), breakdown.get("currency") or "IDR"),
        tracking_url=order.get("shareLink") or None,
    )


def parse_driver(driver: dict[str, Any] | None) -> CourierInfo | None:
    if not driver:
        return None
    return CourierInfo(name=driver.get("name") or None, phone=driver.get("phone") or None,
                       plate=driver.get("plateNumber") or None,
                       photo_url=driver.get("photo") or None)


def parse_order_update(order: dict[str, Any], *, now: datetime,
                       driver: dict[str, Any] | None = None) -> TrackingUpdate:
    """``GET /v3/orders/{id}`` as an update; the id is stable while status and driver stay."""
    raw = str(order.get("status") or "")
    proof = tuple(str(stop["POD"]["image"]) for stop in order.get("stops") or []
                  if isinstance(stop.get("POD"), dict) and stop["POD"].get("image"))
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(order["orderId"]),
        provider_event_id=derive_event_id(PROVIDER, "poll", order["orderId"], raw,
                                          order.get("driverId") or ""),
        occurred_at=now,
        status=normalize_status(raw),
        raw_status=raw,
        reference=_reference(order),
        courier=parse_driver(driver),
        tracking_url=order.get("shareLink") or None,
        proof_urls=proof,
    )


# --- errors ------------------------------------------------------------------------------------

ERROR_KINDS: dict[str, type[ProviderError]] = {
    "ERR_OUT_OF_SERVICE_AREA": OutOfServiceArea,
    "ERR_INVALID_QUOTATION_ID": QuoteExpired,
    "ERR_ORDER_NOT_FOUND": OrderNotFound,
    "ERR_CANCELLATION_FORBIDDEN": CancelNotAllowed,
    "ERR_UNAUTHORIZED": AuthenticationFailed,
}


def error_code(body: Any) -> tuple[str | None, str]:
    """(code, message) from ``{"errors": [{id, message, detail}]}``, a single ``errors``
    object, or the older ``{"message": "ERR_..."}``."""
    if not isinstance(body, dict):
        return None, ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        errors = errors[0]
    if isinstance(errors, dict):
        message = " ".join(str(errors[k]) for k in ("message", "detail") if errors.get(k))
        return (str(errors["id"]) if errors.get("id") else None), message
    message = str(body.get("message") or "")
    return (message if message.startswith("ERR_") else None), message


def rate_limit_reset(headers: httpx.Headers) -> float | None:
    """Seconds until the window resets, from ``RateLimit-Reset-<Api>`` headers."""
    for name, value in headers.items():
        if name.lower().startswith("ratelimit-reset"):
            try:
                seconds = float(value)
            except ValueError:
                continue
            # An epoch timestamp rather than a delay: not documented either way.
            return seconds if seconds < 10**9 else None
    return None


def classify(response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = error_code(body)
    if status == 429 or code == "ERR_RATE_LIMIT_EXCEEDED":
        return TransientProviderError("rate limited", provider=PROVIDER, code=code,
                                      retry_after=rate_limit_reset(response.headers))
    if status >= 500:
        return None  # the shared transport: transient, outcome unknown
    kind = ERROR_KINDS.get(code or "")
    if kind is None and status == 404:
        kind = OrderNotFound
    if kind is None and status == 401:
        kind = AuthenticationFailed
    if kind is None:
        # 402 ERR_INSUFFICIENT_CREDIT (top up the wallet), 403 (outside a time window),
        # 422 validation: retrying the same request will not help.
        kind = PermanentProviderError
    return kind(message or code or f"HTTP {status}", provider=PROVIDER, code=code)
