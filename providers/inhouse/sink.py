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
