"""Per-provider circuit breaker with its state in the database, shared by every process.

closed --(``FAILURE_THRESHOLD`` transient failures in a row)--> open
open --(``retry_at`` passed; one caller claims the probe)--> half_open
half_open --(success)--> closed; --(failure)--> open again (longer)

A provider's Retry-After also sets ``retry_at`` without opening the circuit, so every
process holds off for the time the provider asked (its rate limit is respected globally,
unlike Celery's per-worker ``rate_limit``). Only transient failures count: a refusal (out of
area, quote expired) says nothing about the provider's health.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.db import utcnow
from delivery.models import CircuitState, ProviderCircuit
from delivery.repository import CircuitRepository

FAILURE_THRESHOLD = 5
OPEN_FOR = timedelta(seconds=60)
MAX_OPEN_FOR = timedelta(minutes=15)
PROBE_TIMEOUT = timedelta(seconds=60)


def _row(session: Session, provider: str, *, lock: bool = False) -> ProviderCircuit:
    circuits = CircuitRepository(session)
    row = circuits.get(provider, lock=lock)
    if row is None:  # the provider's first call: create its row (once, across processes)
        circuits.create(provider, utcnow())
        row = circuits.get(provider, lock=lock)
        assert row is not None
    return row


# ``row=`` not given: the circuit row is read here. The booking task reads it with the rows
# it locks (``DeliveryRepository.lock_for_booking``) and hands it in (None: no row yet).
_UNREAD: Any = object()


def allow(session: Session, provider: str, now: datetime | None = None, *,
          row: ProviderCircuit | None = _UNREAD) -> bool:
    """May we call ``provider`` now? An open circuit past its wait lets exactly one caller
    through as the probe (a conditional update decides who)."""
    now = now or utcnow()
    if row is _UNREAD or row is None:
        row = _row(session, provider)
    if row.retry_at is not None and row.retry_at > now:
        return False
    if row.state == CircuitState.closed:
        return True
    return CircuitRepository(session).claim_probe(row, now=now, until=now + PROBE_TIMEOUT)


def record_success(session: Session, provider: str, *,
                   row: ProviderCircuit | None = _UNREAD) -> None:
    """Close the circuit and forget the failures. A closed circuit without failures (nearly
    every call) is not written at all: a write takes the provider's row lock until commit,
    and every booking of that provider would queue behind it. ``row``: the circuit as this
    transaction just read it (None: no row); closed without failures, no statement is sent
    at all (the conditional update would match nothing)."""
    if row is not _UNREAD and (row is None or (row.state == CircuitState.closed
                                               and not row.failures)):
        return
    CircuitRepository(session).close(provider, utcnow())


def record_failure(session: Session, provider: str, error: str, *,
                   retry_after: float | None = None, now: datetime | None = None) -> None:
    now = now or utcnow()
    row = _row(session, provider, lock=True)
    row.failures += 1
    row.total_failures += 1
    row.last_error = error[:500]
    if row.state == CircuitState.half_open or row.failures >= FAILURE_THRESHOLD:
        reopened = row.state == CircuitState.half_open and row.opened_at is not None
        wait = min(MAX_OPEN_FOR, OPEN_FOR * (2 if reopened else 1))
        row.state = CircuitState.open
        row.opened_at = now
        row.retry_at = now + wait
    if retry_after:
        later = now + timedelta(seconds=retry_after)
        if row.retry_at is None or row.retry_at < later:
            row.retry_at = later


def snapshot(session: Session) -> list[ProviderCircuit]:
    return CircuitRepository(session).all()
