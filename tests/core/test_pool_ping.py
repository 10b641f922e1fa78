"""Pooled connections are pinged only when they sat idle (``core.db._ping_if_idle``): a
connection the server dropped while it waited in the pool is replaced on checkout without the
caller seeing an error, and a connection reused within milliseconds costs no extra round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from core import db


@pytest.fixture
def pg(engine: Engine, backend: str) -> Engine:
    if backend != "postgresql":
        pytest.skip("a server that drops connections: PostgreSQL")
    own = db.make_engine(engine.url.render_as_string(hide_password=False), pool_size=1,
                         max_overflow=0)
    yield own
    own.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _drop(engine: Engine, pid: int) -> None:
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_unseen(pg, monkeypatch):
    monkeypatch.setattr(db, "PING_IF_IDLE_S", 0.0)  # every checkout counts as idle
    first = _backend_pid(pg)
    _drop(pg, first)

    second = _backend_pid(pg)  # no error: the ping found it dead, the pool made a new one

    assert second != first


def test_a_hot_connection_is_not_pinged(pg, monkeypatch):
    monkeypatch.setattr(db, "PING_IF_IDLE_S", 3600.0)
    first = _backend_pid(pg)
    _drop(pg, first)

    # Not idle long enough to be pinged: the dead connection fails its statement once, and
    # SQLAlchemy replaces the pool's connections, so the next statement gets a new one.
    with pytest.raises(Exception, match=r"terminat|closed|connection"):
        _backend_pid(pg)
    assert _backend_pid(pg) != first
