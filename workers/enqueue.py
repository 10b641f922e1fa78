"""Publish outbox rows to the broker: right after a commit, and from the relay."""

from __future__ import annotations

import logging
from datetime import timedelta

from core.db import new_session, utcnow
from core.outbox import OutboxRepository

log = logging.getLogger("sipoke.outbox")


def publish(ids: list[int] | None = None, *, limit: int = 500,
            min_age: timedelta = timedelta(0)) -> int:
    """Send due outbox rows (these ``ids`` only, or all due ones) and mark them published.

    A row is marked in the same transaction that selected it; if the send fails the row
    stays unpublished for the relay. A crash after send and before commit sends it again,
    which idempotent tasks absorb.
    """
    from workers.celery_app import app

    sent = 0
    session = new_session()
    try:
        repo = OutboxRepository(session)
        now = utcnow()
        for message in repo.due(limit=limit, now=now, ids=ids, min_age=min_age):
            try:
                app.send_task(message.task_name, kwargs=message.kwargs)
            except Exception as exc:  # broker down: leave it for the relay
                log.warning("outbox publish failed", extra={"outbox_id": message.id,
                                                            "error": repr(exc)})
                repo.mark_failed(message.id, repr(exc))
                break
            if repo.mark_published(message.id, now):
                sent += 1
        session.commit()
    except Exception:
        session.rollback()
        log.exception("outbox publish aborted")
    finally:
        session.close()
    return sent


def publish_after_commit(ids: list[int]) -> None:
    publish(ids)
