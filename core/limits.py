"""Attempt limits that hold under parallel requests, on SQLite and PostgreSQL alike.

A limit is a counter row per key (``login:user:admin``, ``otp-send:phone:+62…``). A caller
*takes a slot before it checks anything* (a password, a code, a PIN) with one statement::

    INSERT INTO attempt_counters (key, used, window_ends_at) VALUES (:key, 1, :ends)
    ON CONFLICT (key) DO UPDATE SET used = used + 1 (or 1 in a new window)
    WHERE window_ends_at <= :now OR used < :limit
    RETURNING used

No row back means the limit is reached. The statement is atomic on both databases:
PostgreSQL locks the row and re-reads it after a concurrent writer commits; SQLite runs it
under its single write lock, which the statement itself takes (reads before it run outside a
transaction). The row stays locked until the request commits, so attempts on one key queue
behind each other while a slot is checked, and ``give_back`` after a success leaves the
counter at the number of failures. A request that fails keeps its slot only if its error
keeps the changes (``AppError.keeping_changes``), which every wrong-secret error does.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models.limits import AttemptCounter

_TABLE = AttemptCounter.__table__


def _stored(key: str) -> str:
    """Keys carry what callers typed (usernames, phones, addresses): stored as a digest, so
    any text is a valid key and the table holds no personal data."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def take(session: Session, key: str, *, limit: int, window_seconds: int,
         now: datetime | None = None) -> int | None:
    """Take one of ``limit`` slots of ``key`` in its window; the slots used now, or None
    when none is left."""
    now = now or utcnow()
    ends = literal(now + timedelta(seconds=window_seconds), _TABLE.c.window_ends_at.type)
    expired = _TABLE.c.window_ends_at <= literal(now, _TABLE.c.window_ends_at.type)
    insert = _INSERTS[session.get_bind().dialect.name](_TABLE)
    stmt = (
        insert.values(key=_stored(key), used=1, window_ends_at=ends)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"used": case((expired, 1), else_=_TABLE.c.used + 1),
                  "window_ends_at": case((expired, ends), else_=_TABLE.c.window_ends_at)},
            where=expired | (_TABLE.c.used < limit),
        )
        .returning(_TABLE.c.used)
    )
    return session.execute(stmt).scalar()


def give_back(session: Session, key: str) -> None:
    """Return a slot taken by an attempt that succeeded: only failures use up a limit."""
    session.execute(update(_TABLE).where(_TABLE.c.key == _stored(key), _TABLE.c.used > 0)
                    .values(used=_TABLE.c.used - 1))


def clear(session: Session, key: str) -> None:
    session.execute(delete(_TABLE).where(_TABLE.c.key == _stored(key)))


def purge_expired(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop counters whose window ended long ago (run by the daily retention task)."""
    result = session.execute(delete(_TABLE).where(
        _TABLE.c.window_ends_at < utcnow() - older_than))
    return result.rowcount or 0
