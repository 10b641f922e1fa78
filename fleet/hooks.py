"""The two hooks between the fleet and the deliveries it carries, installed at start-up
(``sipoke.wiring``), so the fleet never imports the delivery side.

* The status listener ``fn(session, update)`` gets every job status change *in the same
  session and transaction* as the change, so both commit or roll back together; it may
  refuse a change by raising (the change rolls back with it). It must be idempotent on
  ``update.event_id``. With none installed, a change is only stored on the job.
* The delivery lookup ``fn(session, reference) -> delivery state | None`` says where the
  delivery a job was booked for stands (by the attempt reference); the job's page and the
  reports it allows follow that state (``fleet.service.job_view``). With none installed, a
  job stands alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fleet.statuses import JobStatus


@dataclass(frozen=True)
class JobUpdate:
    """One status change of a job, as the fleet reports it outward."""

    job_id: str
    reference: str
    event_id: str
    occurred_at: datetime
    status: JobStatus
    courier_name: str | None = None
    courier_phone: str | None = None
    courier_plate: str | None = None
    lat: float | None = None
    lng: float | None = None
    proof_urls: tuple[str, ...] = ()
    failure_reason: str | None = None


StatusListener = Callable[[Session, JobUpdate], None]
DeliveryLookup = Callable[[Session, str], "str | None"]

_listener: StatusListener | None = None
_lookup: DeliveryLookup | None = None


def set_status_listener(listener: StatusListener | None) -> None:
    global _listener
    _listener = listener


def status_listener() -> StatusListener | None:
    return _listener


def has_status_listener() -> bool:
    return _listener is not None


def emit(session: Session, update: JobUpdate) -> None:
    if _listener is not None:
        _listener(session, update)


def set_delivery_lookup(lookup: DeliveryLookup | None) -> None:
    global _lookup
    _lookup = lookup


def has_delivery_lookup() -> bool:
    return _lookup is not None


def delivery_state(session: Session, reference: str) -> str | None:
    return _lookup(session, reference) if _lookup is not None else None
