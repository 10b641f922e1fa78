"""Webhook events stored with group commit.

A webhook is acknowledged only once its event is durable. Committing each one on its own
makes the database's commit (and a transaction's Python overhead) the price of every webhook;
instead the events of all requests in flight go to one writer thread per process, which stores
whatever has queued up in ONE transaction: one multi-row ``INSERT ... ON CONFLICT DO NOTHING``
and one commit. After the commit one ``tracking.apply_batch`` task carrying the new event ids
is sent (the publisher joins those of commits that queue up meanwhile into one message,
``workers.enqueue.joined``); it needs no outbox row, because the events themselves are the
durable record: they stay ``pending`` until applied, and the delivery sweeper re-drives
pending events older than a few seconds (``tracking.service.events_to_retry``). A lone
webhook is written at once (the writer waits for nothing); a burst shares commits.

Each request waits for its own events' result: stored (a new id), duplicate (None), or the
exception that failed the batch (the endpoint then answers 5xx and the provider retries, so
nothing acknowledged is ever lost).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from core.batching import Batcher
from core.db import unit_of_work
from core.outbox import send_after_commit
from delivery.models import EventOutcome
from delivery.repository import insert_events_ignore
from delivery.tracking.service import APPLY_BATCH_TASK

# Seconds a request waits for its batch before answering 503 (the provider retries; the row,
# if it was committed after all, makes the retry a duplicate).
STORE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Stored:
    event_id: int | None  # None: this provider event was stored before


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return row["provider"], row["provider_event_id"]


def write_events(rows: list[dict[str, Any]]) -> list[Stored | Exception]:
    """The writer's batch: one transaction for all. If the database refuses the data
    (a constraint, a value it cannot store), each row is tried on its own, so that row fails
    its own webhook only. Any other failure (the database unavailable, the pool dry) fails
    the whole batch at once: every caller answers 5xx and the provider retries."""
    try:
        return list(_write(rows))
    except (IntegrityError, DataError):
        if len(rows) == 1:
            raise
    outcomes: list[Stored | Exception] = []
    for row in rows:
        try:
            outcomes.extend(_write([row]))
        except (IntegrityError, DataError) as exc:
            outcomes.append(exc)
    return outcomes


def _write(rows: list[dict[str, Any]]) -> list[Stored]:
    """Store ``rows`` (``service.event_row`` dicts) in one transaction; same order out."""
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:  # a repeat inside the batch is a duplicate too
        unique.setdefault(_key(row), row)
    with unit_of_work() as session:
        new_ids = insert_events_ignore(session, list(unique.values()))
        to_apply = sorted(event_id for key, event_id in new_ids.items()
                          if unique[key]["outcome"] == EventOutcome.pending)
        if to_apply:
            send_after_commit(session, APPLY_BATCH_TASK, event_ids=to_apply)
    seen: set[tuple[str, str]] = set()
    out = []
    for row in rows:
        key = _key(row)
        out.append(Stored(None if key in seen else new_ids.get(key)))
        seen.add(key)
    return out


writer: Batcher[dict[str, Any], Stored] = Batcher("webhook-events", write_events,
                                                 max_batch=500)


async def store(rows: list[dict[str, Any]]) -> list[Stored]:
    """Hand ``rows`` to the writer and wait for their outcome without holding a thread (one
    queue entry per request, settled in this loop with the rest of its batch)."""
    if not rows:
        return []
    async with asyncio.timeout(STORE_TIMEOUT_S):
        outcomes = await writer.run(rows)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]
