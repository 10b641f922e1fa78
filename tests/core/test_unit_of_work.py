"""The unit of work hands committed outbox rows to the publisher, and a publisher that fails
never fails the caller: the work is durable and the relay sends the rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import db
from core.models import OutboxMessage
from core.outbox import enqueue


def _unpublished(task_name: str) -> list[OutboxMessage]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.task_name == task_name, OutboxMessage.published_at.is_(None))))


def test_committed_rows_go_to_the_publisher(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[list[db.NewOutboxRow]] = []
    monkeypatch.setattr(db, "_publisher", handed.append)
    with db.unit_of_work() as s:
        message = enqueue(s, "test.uow", value=1)
    assert [[row.id for row in rows] for rows in handed] == [[message.id]]


def test_rolled_back_rows_are_not_published(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[list[db.NewOutboxRow]] = []
    monkeypatch.setattr(db, "_publisher", handed.append)
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        enqueue(s, "test.uow", value=1)
        raise RuntimeError("boom")
    assert handed == [] and _unpublished("test.uow") == []


def test_a_failing_publisher_neither_fails_the_caller_nor_loses_the_row(
        settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(rows: list[db.NewOutboxRow]) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(db, "_publisher", broken)
    with db.unit_of_work() as s:  # must not raise: the commit has happened
        message = enqueue(s, "test.uow", value=2)
    assert [m.id for m in _unpublished("test.uow")] == [message.id]  # the relay sends it
    assert "after-commit publish failed" in caplog.text
