"""Connections kept, not churned: the API admits no more requests than its pool keeps open,
so a busy API never opens and closes a PostgreSQL connection per request (an overflow
connection is closed at its first check-in); the overflow is for the workers' bursts."""

from __future__ import annotations

from sqlalchemy.pool import QueuePool

from core import db
from core.app import AdmissionGate


def _gate_limit(app) -> int:
    [gate] = [m for m in app.user_middleware if m.cls is AdmissionGate]
    return gate.kwargs["limit"]


def test_the_api_admits_what_the_kept_pool_serves(settings):
    from sipoke.app import build_app

    limit = _gate_limit(build_app(settings))
    # Two connections stay for the process's own writers (webhook group commit, outbox).
    assert limit == db.POOL_SIZE - 2
    assert db.POOL_SIZE >= 20  # a worker's threads and the API's admitted requests


def test_engines_keep_the_pool_size_and_allow_the_overflow():
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == db.POOL_SIZE
        assert engine.pool._max_overflow == db.POOL_OVERFLOW
        assert db.POOL_CAPACITY == 30  # the peak per process is unchanged
    finally:
        engine.dispose()
