"""Biteship webhooks: a static custom header (name and value set in the dashboard).

Events ``order.status`` (status + driver), ``order.price`` and ``order.waybill_id``; payload
flat [COMMUNITY, logged real payload]: ``event``, ``order_id``, ``status``, ``courier_*``,
``courier_link``, ``updated_at``. No event id: a content hash of the payload is the id, so a
re-sent webhook is the same event. When saving the URL Biteship posts an installation test
(maybe empty, maybe without our header): a body that names no order carries nothing, so it is
answered 200 without a token [UNCERTAIN shape], and never stored (``is_probe``). Without a
configured secret nothing is accepted, not even that test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from providers.biteship.mapping import PROVIDER, normalize_status
from providers.errors import WebhookRejected
from providers.parsing import content_event_id, is_empty_ping, parse_time, tokens_match
from providers.types import CourierInfo, TrackingUpdate


def _event(body: bytes) -> dict[str, Any] | None:
    """The JSON object, or None for a probe (empty, not an object, or naming no order)."""
    if is_empty_ping(body):
        return None
    try:
        event = orjson.loads(body)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON", provider=PROVIDER) from exc
    if not isinstance(event, dict) or not event.get("order_id"):
        return None
    return event


def is_probe(body: bytes) -> bool:
    """The installation test, or anything else naming no order: nothing to store."""
    try:
        return _event(body) is None
    except WebhookRejected:
        return False


def verify(body: bytes, *, secret: str, received: str | None) -> None:
    if not secret:
        raise WebhookRejected("no webhook secret is configured", provider=PROVIDER)
    if _event(body) is None:
        return
    if not tokens_match(secret, received):
        raise WebhookRejected("webhook header does not match", provider=PROVIDER)


def updates(event: dict[str, Any]) -> list[TrackingUpdate]:
    """The update a decoded event naming an order carries (a probe names none)."""
    if str(event.get("event") or "order.status") != "order.status":
        # order.price (re-weighed) and order.waybill_id change no delivery status.
        return []
    raw = str(event["status"])
    name = event.get("courier_driver_name")
    courier = CourierInfo(name=name, phone=event.get("courier_driver_phone") or None,
                          plate=event.get("courier_driver_plate_number") or None,
                          photo_url=event.get("courier_driver_photo_url") or None) \
        if name else None
    updated = event.get("updated_at")
    return [TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(event["order_id"]),
        provider_event_id=content_event_id(PROVIDER, event),
        occurred_at=parse_time(updated) if updated else datetime.now(UTC),
        status=normalize_status(raw),
        raw_status=raw,
        courier=courier,
        tracking_url=event.get("courier_link") or None,
        failure_reason=event.get("sub_status") or None,
    )]
