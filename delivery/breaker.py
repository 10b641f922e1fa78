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

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from delivery.models import CircuitState, ProviderCircuit
from delivery.repository import insert_ignore

FAILURE_THRESHOLD = 5
OPEN_FOR = timedelta(seconds=60)
MAX_OPEN_FOR = timedelta(minutes=15)
PROBE_TIMEOUT = timedelta(seconds=60)


def _row(session: Session, provider: str, *, lock: bool = False) -> ProviderCircuit:
    stmt = select(ProviderCircuit).where(ProviderCircuit.provider == provider)
    if lock:
        stmt = stmt.with_for_update()
    stmt = stmt.execution_options(populate_existing=True)
    row = session.scalars(stmt).first()
    if row is None:  # the provider's first call: create its row (once, across processes)
        insert_ignore(session, ProviderCircuit, {"provider": provider, "state": "closed",
                                                 "failures": 0, "total_failures": 0,
                                                 "updated_at": utcnow()}, ["provider"])
        row = session.scalars(stmt).one()
    return row


def allow(session: Session, provider: str, now: datetime | None = None) -> bool:
    """May we call ``provider`` now? An open circuit past its wait lets exactly one caller
    through as the probe (a conditional update decides who)."""
    now = now or utcnow()
    row = _row(session, provider)
    if row.retry_at is not None and row.retry_at > now:
        return False
    if row.state == CircuitState.closed:
        return True
    claimed = session.execute(
        update(ProviderCircuit)
        .where(ProviderCircuit.provider == provider, ProviderCircuit.state == row.state,
               ProviderCircuit.retry_at.is_(None) if row.retry_at is None
               else ProviderCircuit.retry_at == row.retry_at)
        .values(state=CircuitState.half_open, retry_at=now + PROBE_TIMEOUT, updated_at=now)
    ).rowcount
    session.expire(row)
    return bool(claimed)


def record_success(session: Session, provider: str) -> None:
    """Close the circuit and forget the failures. A closed circuit without failures (nearly
    every call) is not written at all: a write takes the provider's row lock until commit,
    and every booking of that provider would queue behind it."""
    session.execute(
        update(ProviderCircuit)
        .where(ProviderCircuit.provider == provider,
               or_(ProviderCircuit.state != CircuitState.closed, ProviderCircuit.failures > 0))
        .values(state=CircuitState.closed, failures=0, opened_at=None, retry_at=None,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))


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
    return list(session.scalars(select(ProviderCircuit).order_by(ProviderCircuit.provider)))
