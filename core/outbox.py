"""Enqueue tasks by name through the transactional outbox.

``enqueue(session, "notifications.send", notification_id=...)`` writes a row in the caller's
transaction. When the boundary commits, :mod:`core.db` hands the ids to the publisher, which
sends them to the broker at once; the relay (a beat task) sends whatever is left, so a crash
between commit and publish delays a task, never loses it. Consumers must be idempotent: a
relay that dies after publishing sends again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.db import pending_outbox_ids, utcnow
from core.models import OutboxMessage


def enqueue(
    session: Session, task_name: str, *, delay: timedelta | None = None, **kwargs: Any
) -> OutboxMessage:
    now = utcnow()
    message = OutboxMessage(
        task_name=task_name,
        kwargs=_jsonable(kwargs),
        created_at=now,
        available_at=now + delay if delay else now,
    )
    session.add(message)
    session.flush()
    if delay is None:
        pending_outbox_ids(session).append(message.id)
    return message


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, (int, float, bool, str, type(None))) else v)
            for k, v in kwargs.items()}


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def due(self, *, limit: int, now: datetime, ids: list[int] | None = None,
            min_age: timedelta = timedelta(0)) -> list[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None), OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if ids is not None:
            stmt = stmt.where(OutboxMessage.id.in_(ids))
        elif min_age:
            stmt = stmt.where(OutboxMessage.created_at <= now - min_age)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt))

    def mark_published(self, message_id: int, now: datetime) -> bool:
        """Claim-and-mark in one conditional update, so two relays never both count it."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.published_at.is_(None))
            .values(published_at=now, attempts=OutboxMessage.attempts + 1)
        )
        return bool(result.rowcount)

    def mark_failed(self, message_id: int, error: str) -> None:
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=OutboxMessage.attempts + 1, last_error=error[:2000])
        )

    def purge_published(self, before: datetime) -> int:
        result = self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < before
            )
        )
        return result.rowcount or 0
