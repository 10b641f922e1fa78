"""The hook that carries in-house status changes to the delivery side without HTTP.

The delivery package registers ``fn(session, provider_name, update)`` once at import time
(``set_update_sink(apply_tracking_update)``); the in-house service calls it for every job
status change *in the same session and transaction* as the change, so both commit or roll
back together. With no sink registered, updates are only stored on the job (``get_status``
still returns them). A sink must be idempotent on ``update.provider_event_id``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from providers.types import TrackingUpdate

UpdateSink = Callable[[Session, str, TrackingUpdate], None]

_sink: UpdateSink | None = None


def set_update_sink(sink: UpdateSink | None) -> None:
    global _sink
    _sink = sink


def get_update_sink() -> UpdateSink | None:
    return _sink


def emit(session: Session, update: TrackingUpdate) -> None:
    if _sink is not None:
        _sink(session, update.provider, update)


# The other direction: what the delivery side says about the delivery a job carries. The
# delivery package registers ``fn(session, reference) -> delivery state | None`` (by the
# attempt reference the job was booked with); the job's page and its allowed reports follow
# that state (``providers.inhouse.service.job_view``). With none registered, a job stands alone.
DeliveryLookup = Callable[[Session, str], "str | None"]

_lookup: DeliveryLookup | None = None


def set_delivery_lookup(lookup: DeliveryLookup | None) -> None:
    global _lookup
    _lookup = lookup


def has_delivery_lookup() -> bool:
    return _lookup is not None


def delivery_state(session: Session, reference: str) -> str | None:
    return _lookup(session, reference) if _lookup is not None else None
