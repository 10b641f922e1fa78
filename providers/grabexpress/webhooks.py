"""GrabExpress tracking webhooks: static ``Authorization`` + ``Authorization-Id`` headers.

No HMAC over the body; both header values agreed at onboarding are compared in constant
time. Payload [GRAB-VN, GRAB-SDK TrackingMessage]: ``deliveryID``, ``merchantOrderID``,
``timestamp`` (Unix seconds), ``status``, ``trackURL`` (not ``trackingURL``), ``failedReason``,
``driver{name, phone, licensePlate, photoURL, currentLat, currentLng}``, proof URLs. There is
no event id: we derive one from deliveryID + status + timestamp, so a re-sent webhook is the
same event. No verbatim real sample was found [UNCERTAIN].
"""

from __future__ import annotations

from typing import Any

from providers.errors import WebhookRejected
from providers.grabexpress.mapping import PROVIDER, normalize_status
from providers.parsing import from_epoch, is_empty_ping, tokens_match
from providers.types import Coordinates, CourierInfo, TrackingUpdate, derive_event_id


def verify(body: bytes, *, authorization: str, authorization_id: str,
           received_authorization: str | None, received_authorization_id: str | None) -> None:
    if is_empty_ping(body):
        return
    # Both checks run (no early exit) so timing does not tell which header was wrong.
    ok_token = tokens_match(authorization, received_authorization)
    ok_id = tokens_match(authorization_id, received_authorization_id)
    if not (ok_token and ok_id):
        raise WebhookRejected("Authorization / Authorization-Id do not match",
                              provider=PROVIDER)


def _driver(driver: dict[str, Any] | None) -> tuple[CourierInfo | None, Coordinates | None]:
    if not driver:
        return None, None
    courier = CourierInfo(name=driver.get("name") or None, phone=driver.get("phone") or None,
                          plate=driver.get("licensePlate") or None,
                          photo_url=driver.get("photoURL") or None)
    lat, lng = driver.get("currentLat"), driver.get("currentLng")
    position = Coordinates(lat=float(lat), lng=float(lng)) \
        if lat not in (None, "", 0) and lng not in (None, "", 0) else None
    return (courier if courier.name else None), position


def updates(event: Any) -> list[TrackingUpdate]:
    """The update a decoded event carries; none without a status or a delivery id."""
    raw = str(event.get("status") or "")
    if not raw or not event.get("deliveryID"):
        return []
    courier, position = _driver(event.get("driver"))
    proofs = tuple(str(event[k]) for k in ("pickupProofURL", "dropoffProofURL",
                                           "cancelProofURL") if event.get(k))
    return [TrackingUpdate(
        provider=PROVIDER,
        provider_order_id=str(event["deliveryID"]),
        provider_event_id=derive_event_id(PROVIDER, event["deliveryID"], raw,
                                          event.get("timestamp")),
        occurred_at=from_epoch(event["timestamp"]),
        status=normalize_status(raw),
        raw_status=raw,
        reference=event.get("merchantOrderID") or None,
        courier=courier,
        position=position,
        tracking_url=event.get("trackURL") or event.get("trackingURL") or None,
        # Proof URLs expire after about 2 hours: the delivery side copies them at once.
        proof_urls=proofs,
        failure_reason=event.get("failedReason") or None,
    )]
