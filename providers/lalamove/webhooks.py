"""Lalamove webhooks: in-body signature and apiKey check, then events -> tracking updates.

Envelope (real captures, docs/providers.md §1.6): ``{apiKey, timestamp (Unix SECONDS), signature,
eventId (once spelt eventID), eventType, eventVersion, data}``. The signature scheme is the
community consensus [UNCERTAIN]: hex HMAC-SHA256(API_SECRET, "<timestamp>\\r\\nPOST\\r\\n<path
of our webhook URL>\\r\\n\\r\\n<JSON of data>"). We sign-check the raw ``data`` substring of the
body and/or its compact re-serialization (``webhook_signed_data``), and the timestamp text
exactly as it appears in the body. Deliveries are not ordered: ``occurred_at`` is the signed
timestamp, and the delivery side's ranks make the order irrelevant.
"""

from __future__ import annotations

import hmac
import json
from json.decoder import scanstring
from typing import Any

from providers.errors import WebhookRejected
from providers.lalamove.mapping import PROVIDER, normalize_status, parse_driver, signature
from providers.parsing import epoch_seconds, from_epoch, is_empty_ping, tokens_match
from providers.status import DeliveryStatus
from providers.types import Coordinates, TrackingUpdate, derive_event_id

_WS = " \t\r\n"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def raw_member(text: str, key: str) -> str | None:
    """The exact source text of a top-level member's value in a JSON object, or None.

    Signatures are over bytes; re-serializing parsed JSON can change spacing, escapes or
    number formats, so we cut the value out of the body as received.
    """
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "}":
        return None
    while i < len(text):
        if text[i] != '"':
            return None
        name, i = scanstring(text, i + 1)
        i = _skip(text, i)
        if i >= len(text) or text[i] != ":":
            return None
        start = _skip(text, i + 1)
        _, end = decoder.raw_decode(text, start)
        if name == key:
            return text[start:end]
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        return None
    return None


def _signed_candidates(text: str, envelope: dict[str, Any], mode: str) -> list[bytes]:
    candidates: list[bytes] = []
    if mode in ("raw", "either"):
        raw = raw_member(text, "data")
        if raw is not None:
            candidates.append(raw.encode())
    if mode in ("compact", "either") and "data" in envelope:
        compact = json.dumps(envelope["data"], separators=(",", ":"), ensure_ascii=False)
        if compact.encode() not in candidates:
            candidates.append(compact.encode())
    return candidates


def verify(body: bytes, *, api_key: str, api_secret: str, path: str, now: float,
           tolerance_s: float, mode: str = "raw") -> None:
    """Raise WebhookRejected unless the body is an authentic, fresh Lalamove webhook.

    An empty probe (Lalamove checks the URL answers 200) passes: it carries nothing.
    """
    if is_empty_ping(body):
        return
    try:
        text = body.decode()
        envelope = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("body is not JSON", provider=PROVIDER) from exc
    if not isinstance(envelope, dict):
        raise WebhookRejected("body is not a JSON object", provider=PROVIDER)
    if not tokens_match(api_key, str(envelope.get("apiKey") or "")):
        raise WebhookRejected("apiKey does not match", provider=PROVIDER)
    sent_signature = envelope.get("signature")
    timestamp_text = (raw_member(text, "timestamp") or "").strip().strip('"')
    if not sent_signature or not timestamp_text:
        raise WebhookRejected("signature or timestamp missing", provider=PROVIDER)
    try:
        sent_at = epoch_seconds(timestamp_text)
    except ValueError as exc:
        raise WebhookRejected("bad timestamp", provider=PROVIDER) from exc
    if abs(now - sent_at) > tolerance_s:
        raise WebhookRejected("timestamp outside tolerance (replay?)", provider=PROVIDER)
    received = str(sent_signature).strip().lower().encode()
    matches = [hmac.compare_digest(signature(api_secret, timestamp_text, "POST", path,
                                             candidate).encode(), received)
               for candidate in _signed_candidates(text, envelope, mode)]
    if not any(matches):
        raise WebhookRejected("signature mismatch", provider=PROVIDER)


def _update(envelope: dict[str, Any], order_id: str, raw: str, status: DeliveryStatus,
            part: str = "", **extra: Any) -> TrackingUpdate:
    """One update of the event; ``part`` tells apart several updates of one event (stops)."""
    event_id = envelope.get("eventId") or envelope.get("eventID")
    timestamp = envelope.get("timestamp")
    base = str(event_id) if event_id else derive_event_id(
        PROVIDER, envelope.get("eventType"), order_id, raw, timestamp)
    return TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=order_id,
        provider_event_id=f"{base}:{part}" if part else base,
        occurred_at=from_epoch(timestamp),
        status=status,
        raw_status=raw,
        **extra,
    )


def _reference(order: dict[str, Any]) -> str | None:
    metadata = order.get("metadata")
    if isinstance(metadata, dict) and metadata.get("reference"):
        return str(metadata["reference"])
    return None


def _status_changed(envelope: dict[str, Any], data: dict[str, Any]) -> list[TrackingUpdate]:
    """ORDER_STATUS_CHANGED, and ORDER_CREATED (status ASSIGNING_DRIVER when absent): with
    ``metadata.reference`` it lets the delivery side attach an order whose booking call
    timed out."""
    order = data.get("order") or {}
    raw = str(order.get("status") or "ASSIGNING_DRIVER")
    return [_update(envelope, str(order["orderId"]), raw, normalize_status(raw),
                    tracking_url=order.get("shareLink") or None,
                    reference=_reference(order))]


def _order_replaced(envelope: dict[str, Any], data: dict[str, Any]) -> list[TrackingUpdate]:
    """Customer service replaced the order: the new ``orderId`` is what moves from now on.
    The update names the new order (with our reference when Lalamove echoes the metadata)
    and says which order it replaces; the contract has no "re-key" event, so the delivery
    side must attach it by reference or by ``failure_reason`` [UNCERTAIN payload]."""
    order = data.get("order") or {}
    raw = str(order.get("status") or "ASSIGNING_DRIVER")
    return [_update(envelope, str(order["orderId"]), raw, normalize_status(raw),
                    reference=_reference(order),
                    failure_reason=f"replaces Lalamove order {data.get('prevOrderId')}")]


def _driver_assigned(envelope: dict[str, Any], data: dict[str, Any]) -> list[TrackingUpdate]:
    order = data.get("order") or {}
    location = data.get("location") or {}
    position = None
    if location.get("lat") is not None and location.get("lng") is not None:
        position = Coordinates(lat=float(location["lat"]), lng=float(location["lng"]))
    return [_update(envelope, str(order["orderId"]), "DRIVER_ASSIGNED",
                    DeliveryStatus.courier_assigned, courier=parse_driver(data.get("driver")),
                    position=position)]


def _pod_changed(envelope: dict[str, Any], data: dict[str, Any]) -> list[TrackingUpdate]:
    """Proof of delivery per stop: DELIVERED/SIGNED carry the photo; FAILED says the drop-off
    failed (Lalamove documents no return flow [UNCERTAIN]). The order's own status arrives by
    ORDER_STATUS_CHANGED; these updates add proof at the drop-off."""
    order = data.get("order") or {}
    updates = []
    for stop in order.get("stops") or []:
        pod = stop.get("POD") if isinstance(stop, dict) else None
        if not isinstance(pod, dict):
            continue
        pod_status = str(pod.get("status") or "").upper()
        if pod_status not in ("DELIVERED", "SIGNED", "FAILED"):
            continue
        updates.append(_update(
            envelope, str(order["orderId"]), f"POD_{pod_status}", DeliveryStatus.at_dropoff,
            part=str(stop.get("stopId") or len(updates)),
            proof_urls=(str(pod["image"]),) if pod.get("image") else (),
            failure_reason="Lalamove POD FAILED" if pod_status == "FAILED" else None))
    return updates


HANDLERS = {
    "ORDER_STATUS_CHANGED": _status_changed,
    "ORDER_CREATED": _status_changed,
    "ORDER_REPLACED": _order_replaced,
    "DRIVER_ASSIGNED": _driver_assigned,
    "POD_STATUS_CHANGED": _pod_changed,
}


def updates(envelope: Any) -> list[TrackingUpdate]:
    """Updates carried by a decoded envelope. Events we do not track (wallet balance, amount
    changed, order edited, proof of pickup...) give none."""
    handler = HANDLERS.get(str(envelope.get("eventType") or "").upper())
    if handler is None:
        return []
    return handler(envelope, envelope.get("data") or {})
