"""Where the courier is, for the resident's tracking (page and API), whoever the courier is.

A provider reports positions with its tracking events (webhooks, polling). The office's own
couriers report theirs from the courier app, with a status or on its own
(``PUT /api/v1/courier/me/position``); those land on the in-house job, so they are read
there: a position update is not a tracking event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.settings import get_settings
from delivery.models import Delivery, DeliveryAttempt, DeliveryState
from delivery.repository import DeliveryRepository
from fleet import service as fleet
from providers.inhouse.mapping import PROVIDER as INHOUSE

# The courier is shown on the map only while they hold (or come for) the envelope.
COURIER_STATES = frozenset({DeliveryState.courier_assigned, DeliveryState.picked_up,
                            DeliveryState.in_transit, DeliveryState.delivered})


def outbound_attempt(delivery: Delivery) -> DeliveryAttempt | None:
    outbound = [a for a in delivery.attempts if a.leg == "outbound"]
    return outbound[-1] if outbound else None


def courier_position(session: Session, delivery: Delivery) -> tuple[float, float] | None:
    """The courier's last known (lat, lng) while the courier is on the way, else None."""
    if delivery.state not in COURIER_STATES:
        return None
    attempt = outbound_attempt(delivery)
    if attempt is not None and attempt.provider == INHOUSE and attempt.provider_order_id:
        position = fleet.job_position(session, attempt.provider_order_id)
        if position is not None:
            return position
    for event in reversed(DeliveryRepository(session).events_for(delivery.id)):
        pos = (event.data or {}).get("position")
        if pos and pos.get("lat") is not None and pos.get("lng") is not None:
            return float(pos["lat"]), float(pos["lng"])
    return None


def tracking_url(delivery: Delivery) -> str | None:
    """The provider's own tracking page; for the office's couriers, the resident's page here."""
    attempt = outbound_attempt(delivery)
    if attempt is None:
        return None
    if attempt.tracking_url:
        return attempt.tracking_url
    if attempt.provider == INHOUSE:
        return f"{get_settings().base_url}/permohonan/{delivery.request_id}/lacak"
    return None
