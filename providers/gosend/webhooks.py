"""GoSend webhooks: a static token in a header (no HMAC), events -> tracking updates.

Payload fields (partner's copy of the GoSend doc + real sample, docs/providers.md §2.4):
``event_id`` (uuid, our dedup key), ``booking_id``/``entity_id`` (``GK-...``), ``status`` (key),
``type``, ``event_date`` (ms, number or string), ``driver_*``, ``cancellation_reason``,
``liveTrackingUrl`` / ``live_tracking_url`` (both spellings seen).
"""

from __future__ import annotations

from typing import Any

from providers.errors import WebhookRejected
from providers.gosend.mapping import PROVIDER, normalize_status
from providers.parsing import content_event_id, from_epoch, is_empty_ping, tokens_match
from providers.types import CourierInfo, TrackingUpdate


def verify(body: bytes, *, token: str, received: str | None) -> None:
    """Constant-time token check; the empty URL probe passes (it carries nothing)."""
    if is_empty_ping(body):
        return
    if received and received.lower().startswith("bearer ") and \
            not token.lower().startswith("bearer "):
        received = received[7:]
    if not tokens_match(token, received):
        raise WebhookRejected("webhook token does not match", provider=PROVIDER)


def _courier(event: dict[str, Any]) -> CourierInfo | None:
    if not event.get("driver_name"):
        return None
    return CourierInfo(name=event["driver_name"], phone=event.get("driver_phone") or None,
                       photo_url=event.get("driver_photo_url") or None)


def updates(event: Any) -> list[TrackingUpdate]:
    """The update a decoded event carries; none without a status or an order number."""
    raw = str(event.get("status") or event.get("booking_status") or "")
    order_id = event.get("booking_id") or event.get("entity_id")
    if not raw or not order_id:
        return []
    reason = event.get("cancellation_reason") or None
    return [TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(order_id),
        provider_event_id=str(event.get("event_id") or content_event_id(PROVIDER, event)),
        occurred_at=from_epoch(event["event_date"]),
        status=normalize_status(raw),
        raw_status=raw,
        courier=_courier(event),
        tracking_url=event.get("liveTrackingUrl") or event.get("live_tracking_url") or None,
        failure_reason=str(reason) if reason else None,
    )]
