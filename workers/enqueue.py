"""Publish outbox rows to the broker: right after a commit, and from the relay."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from core.batching import Batcher, BatcherFull
from core.db import NewOutboxRow, new_session, utcnow
from core.outbox import OutboxRepository
from core.task_names import JOINABLE

log = logging.getLogger("sipoke.outbox")


def publish(*, limit: int = 500, min_age: timedelta = timedelta(0)) -> int:
    """The relay: send due outbox rows and mark them published.

    The rows are selected (locked on PostgreSQL) and marked in one transaction, through one
    broker connection; if a send fails the rest stay unpublished for the relay. A crash after
    send and before commit sends again, which idempotent tasks absorb.
    """
    from workers.celery_app import app

    session = new_session()
    sent: list[int] = []
    try:
        repo = OutboxRepository(session)
        now = utcnow()
        due = repo.due(limit=limit, now=now, min_age=min_age)
        if due:
            with app.producer_or_acquire() as producer:
                for message in due:
                    try:
                        app.send_task(message.task_name, kwargs=message.kwargs,
                                      producer=producer)
                    except Exception as exc:  # broker down: leave it for the relay
                        log.warning("outbox publish failed",
                                    extra={"outbox_id": message.id, "error": repr(exc)})
                        repo.mark_failed(message.id, repr(exc))
                        break
                    sent.append(message.id)
        marked = repo.mark_published(sent, now)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("outbox publish aborted")
        return 0
    finally:
        session.close()
    return marked


def publish_new(rows: list[NewOutboxRow]) -> int:
    """Send rows this process has just committed, through one broker connection, then mark
    them in one statement. No select and no lock: the relay takes only rows older than a few
    seconds, so it meets these only if this send is late, and then both send; idempotent
    tasks absorb that. A row whose send failed stays for the relay. Rows without an id
    (``core.outbox.send_after_commit``) are sent only: their work is re-driven elsewhere."""
    from workers.celery_app import app

    sent: list[int] = []
    done = 0
    try:
        with app.producer_or_acquire() as producer:
            for row in rows:
                app.send_task(row.task_name, kwargs=row.kwargs, producer=producer)
                done += 1
                if row.id is not None:
                    sent.append(row.id)
    except Exception as exc:  # broker down: the rest waits for the relay (or the sweeper)
        log.warning("outbox publish failed",
                    extra={"sent": done, "left": len(rows) - done, "error": repr(exc)})
    if not sent:
        return 0
    session = new_session()
    try:
        marked = OutboxRepository(session).mark_published(sent, utcnow())
        session.commit()
        return marked
    except Exception:  # unmarked rows are sent again by the relay: idempotent tasks
        session.rollback()
        log.exception("outbox rows sent but not marked")
        return 0
    finally:
        session.close()


def joined(rows: list[NewOutboxRow]) -> list[NewOutboxRow]:
    """``rows`` with the sends of each joinable task (``core.task_names.JOINABLE``, rows
    without an outbox id) joined into as few messages as their size allows, in the place of
    the first: under load every commit of the webhook writer sends one small apply task, and
    each message costs a publish here and a task's fixed cost in the worker."""
    out: list[NewOutboxRow] = []
    open_rows: dict[str, int] = {}  # task name -> index in out of the message being filled
    for row in rows:
        join = JOINABLE.get(row.task_name)
        if join is None or row.id is not None or set(row.kwargs) != {join[0]}:
            out.append(row)
            continue
        key, size = join
        at = open_rows.get(row.task_name)
        if at is not None and len(out[at].kwargs[key]) + len(row.kwargs[key]) <= size:
            out[at] = out[at]._replace(kwargs={key: [*out[at].kwargs[key], *row.kwargs[key]]})
        else:
            open_rows[row.task_name] = len(out)
            out.append(row)
    return out


def _publish_batch(batches: list[list[NewOutboxRow]]) -> list[None]:
    rows = joined([row for batch in batches for row in batch])
    for start in range(0, len(rows), 500):
        publish_new(rows[start:start + 500])
    return [None] * len(batches)


# The commits of concurrent requests share one broker connection and one marking statement;
# the request does not wait for the broker (the relay covers a send that never happens).
_after_commit: Batcher[list[NewOutboxRow], None] = Batcher("outbox-publish", _publish_batch,
                                                          max_batch=200)


def publish_after_commit(rows: list[NewOutboxRow]) -> None:
    with contextlib.suppress(BatcherFull):  # else the relay sends them within seconds
        _after_commit.submit(list(rows))
