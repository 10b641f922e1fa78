"""Delivery tasks: thin, by id. Provider-facing ones manage their own units of work (load ->
commit -> call -> record), so they are registered with :func:`boundary_task` instead of
``db_task``; both retry transient errors with full-jitter backoff (Retry-After honoured)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from core import task_names
from delivery.booking.service import book_attempt, cancel_at_provider, give_up_search
from delivery.gateway import TransientProviderError
from delivery.quotes.service import refresh_quotes
from delivery.sweeper import sweep
from delivery.tracking.polling import claim_due, poll_attempt
from delivery.tracking.service import (
    APPLY_BATCH_TASK,
    apply_events,
    purge_raw_bodies,
)
from workers.base import db_task, retry_or_give_up
from workers.celery_app import app


def boundary_task(name: str, *, max_retries: int = 6, **options: Any):
    """Register ``fn(**kwargs)`` that opens its own units of work around a provider call.
    After the last retry the task stops: the sweeper re-drives what is still due."""

    def decorator(fn: Callable[..., Any]):
        @app.task(name=name, bind=True, max_retries=max_retries, **options)
        def task(self, **kwargs: Any) -> Any:
            try:
                return fn(**kwargs)
            except TransientProviderError as exc:
                retry_or_give_up(self, name, exc,
                                 note="task gave up; the sweeper will re-drive it")
                return None

        task.__wrapped__ = fn
        return task

    return decorator


@boundary_task(task_names.DELIVERY_QUOTE)
def quote(delivery_id: str) -> str:
    return refresh_quotes(uuid.UUID(delivery_id))


@boundary_task(task_names.DELIVERY_BOOK)
def book(attempt_id: str) -> str:
    return book_attempt(uuid.UUID(attempt_id))


@boundary_task(task_names.DELIVERY_CANCEL_ATTEMPT)
def cancel_attempt(attempt_id: str, reason: str = "") -> str:
    return cancel_at_provider(uuid.UUID(attempt_id), reason)


@boundary_task(task_names.DELIVERY_GIVE_UP_SEARCH)
def give_up(attempt_id: str) -> str:
    return give_up_search(uuid.UUID(attempt_id))


@boundary_task(task_names.TRACKING_POLL, max_retries=3)
def poll(attempt_id: str) -> str:
    return poll_attempt(uuid.UUID(attempt_id))


@app.task(name=APPLY_BATCH_TASK)
def apply_batch(event_ids: list[int]) -> dict[str, int]:
    """The events one webhook batch stored; each applied in a unit of work of its own."""
    return apply_events(event_ids)


@db_task(task_names.TRACKING_POLL_DUE)
def poll_due(session: Session) -> int:
    return len(claim_due(session))


@db_task(task_names.DELIVERY_SWEEP)
def sweep_deliveries(session: Session) -> dict[str, int]:
    return sweep(session)


@db_task(task_names.TRACKING_PURGE_RAW)
def purge_raw(session: Session) -> int:
    return purge_raw_bodies(session)
