"""Enqueue tasks by name through the transactional outbox.

``enqueue(session, "notifications.send", notification_id=...)`` writes a row in the caller's
transaction. When the boundary commits, :mod:`core.db` hands the new rows to the publisher,
which sends them to the broker at once; the relay (a beat task) sends whatever is left, so a crash
between commit and publish delays a task, never loses it. Consumers must be idempotent: a
relay that dies after publishing sends again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.db import NewOutboxRow, pending_outbox, utcnow
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
        pending_outbox(session).append(
            NewOutboxRow(message.id, message.task_name, dict(message.kwargs)))
    return message


def send_after_commit(session: Session, task_name: str, **kwargs: Any) -> None:
    """Send ``task_name`` once this transaction commits, WITHOUT an outbox row.

    Only for work whose own rows are the durable record and are re-driven by a sweeper when a
    send is lost: tracking events stay ``pending`` until applied, and the delivery sweeper
    re-drives pending events older than a few seconds. Writing an outbox row for them too
    would store the same intent twice and cost a second transaction to mark it published.
    """
    pending_outbox(session).append(NewOutboxRow(None, task_name, _jsonable(kwargs)))


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in kwargs.items()}


def _plain(value: Any) -> Any:
    """JSON scalars as they are, lists of them element by element, anything else (UUIDs,
    dates) as text."""
    if isinstance(value, (int, float, bool, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def due(self, *, limit: int, now: datetime,
            min_age: timedelta = timedelta(0)) -> list[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None), OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if min_age:
            stmt = stmt.where(OutboxMessage.created_at <= now - min_age)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt))

    def mark_published(self, message_ids: list[int], now: datetime) -> int:
        """Claim-and-mark in one conditional update, so two relays never both count a row."""
        if not message_ids:
            return 0
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.published_at.is_(None))
            .values(published_at=now, attempts=OutboxMessage.attempts + 1)
        )
        return result.rowcount or 0

    def count_unpublished(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.published_at.is_(None))) or 0)

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
