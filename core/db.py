"""Database engine, declarative base and the unit of work.

One rule: services only ``flush()``; the boundary (an HTTP request, a Celery task, a CLI
command) commits once through :func:`unit_of_work`. After a successful commit the pending
outbox rows are handed to the publisher hook so the task runs at once; the outbox relay
picks up anything a crash left behind.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import orjson
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("sipoke.outbox")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON
    }


class UUIDPk:
    """Random primary keys: ids in URLs reveal nothing and cannot be guessed."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- engine and sessions ------------------------------------------------------------------

# Connections per process. ``POOL_SIZE`` are kept once opened; the overflow serves bursts
# and each overflow connection is closed at its first check-in, so a steady load above the
# kept size opens and closes a PostgreSQL connection (a backend process, its catalog caches,
# the driver's prepared statements) for every other unit of work: measured at ~400 new
# connections for B2's 1,000 bookings with 10 kept (a worker's 32 threads, the API's
# admitted requests). The API admits at most ``POOL_SIZE - 2`` requests at once
# (core.app.install_concurrency_limit), so it works within the kept connections; a
# worker's threads borrow the overflow. The peak per process stays ``POOL_CAPACITY``:
# PostgreSQL's ``max_connections`` must cover it for every process.
POOL_SIZE = 20
POOL_OVERFLOW = 10
POOL_CAPACITY = POOL_SIZE + POOL_OVERFLOW

_engine: Engine | None = None
_session_factory: sessionmaker[Session] | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled connection is pinged before use only when it sat idle this long: the hot paths
# (webhooks, bookings) reuse connections within milliseconds and skip the round trip, while a
# connection left over from before a database restart is found dead and replaced
# (``_ping_if_idle``). A connection that dies while in use fails its statement once; SQLAlchemy
# then invalidates the whole pool, so every other connection is replaced on its next checkout.
PING_IF_IDLE_S = 2.0
POOL_RECYCLE_S = 1800


def _remember_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_IF_IDLE_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as exc:
        # The pool discards this connection and checks out another (up to three times).
        raise DisconnectionError(f"stale pooled connection: {exc!r}") from exc


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 15}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
        # Fail fast when the pool is dry: the API answers 503 + Retry-After (core.app).
        kwargs.setdefault("pool_timeout", 10)
        kwargs.setdefault("pool_recycle", POOL_RECYCLE_S)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _remember_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


def configure(url: str, **kwargs: Any) -> Engine:
    """(Re)bind the process-wide engine; used at start-up and by tests."""
    global _engine, _session_factory
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url, **kwargs)
    _session_factory = sessionmaker(bind=_engine, expire_on_commit=False, autoflush=True)
    return _engine


def use_engine(engine: Engine) -> None:
    """Point the process at an existing engine (tests switch between backends this way)."""
    global _engine, _session_factory
    _engine = engine
    _session_factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def get_engine() -> Engine:
    if _engine is None:
        from core.settings import get_settings

        configure(get_settings().database_url)
    assert _engine is not None
    return _engine


def new_session() -> Session:
    if _session_factory is None:
        get_engine()
    assert _session_factory is not None
    return _session_factory()


# --- after-commit publishing -----------------------------------------------------------

class NewOutboxRow(NamedTuple):
    """An outbox row this transaction wrote: what the publisher sends once it is committed.
    ``id`` None: a task sent after commit without an outbox row of its own
    (``core.outbox.send_after_commit``), nothing to mark."""

    id: int | None
    task_name: str
    kwargs: dict[str, Any]


AfterCommitPublisher = Callable[[list[NewOutboxRow]], None]
_publisher: AfterCommitPublisher | None = None
_PENDING = "outbox_rows"


def set_after_commit_publisher(publisher: AfterCommitPublisher | None) -> None:
    """The composition root plugs the Celery publisher in; core never imports workers."""
    global _publisher
    _publisher = publisher


def pending_outbox(session: Session) -> list[NewOutboxRow]:
    return session.info.setdefault(_PENDING, [])


def forget_pending_outbox(session: Session) -> None:
    """After a rollback: the rows are gone, nothing to publish."""
    session.info.pop(_PENDING, None)


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """Commit once on success, roll back on error, then publish what the commit made durable."""
    own = session is None
    session = session or new_session()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        if getattr(exc, "persist_changes", False):
            session.commit()
        else:
            session.rollback()
            forget_pending_outbox(session)
        raise
    finally:
        rows = session.info.pop(_PENDING, None)
        if own:
            session.close()
    if rows and _publisher is not None:
        try:
            _publisher(list(rows))
        except Exception:
            # The rows are committed: the relay sends them within seconds. A caller whose work
            # is durable must not see an error (an HTTP request would answer 500).
            log.exception("after-commit publish failed")
