"""Test fixtures: real databases (SQLite always, PostgreSQL when configured), real commits.

* ``SIPOKE_TEST_DATABASE_URL``: a PostgreSQL database we may create throw-away databases from.
* ``SIPOKE_TEST_REDIS_URL``: a Redis for broker tests.
* ``SIPOKE_REQUIRE_SERVICES=1``: a missing service fails the run instead of skipping.

Each test that uses ``db`` runs once per backend, against a schema built by the migrations,
and every table is emptied after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

import sipoke.models  # noqa: F401
from core import db as core_db
from core.settings import reset_settings_cache
from sipoke.migrate import upgrade

PG_URL = os.environ.get("SIPOKE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("SIPOKE_TEST_REDIS_URL")
REQUIRE = os.environ.get("SIPOKE_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"


def missing_service(what: str) -> None:
    message = f"{what} is not configured (set SIPOKE_TEST_{what.upper()}_URL)"
    if REQUIRE:
        pytest.fail(message + " and SIPOKE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _pg_admin_url() -> str:
    url = PG_URL or ""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session", autouse=True)
def _base_env(var_dir: Path) -> Iterator[None]:
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("SIPOKE_") and not key.startswith("SIPOKE_TEST_") \
                and key != "SIPOKE_REQUIRE_SERVICES":
            del os.environ[key]
    os.environ.update({
        "SIPOKE_ENV": "test",
        "SIPOKE_VAR_DIR": str(var_dir),
        "SIPOKE_SECRET_KEY": TEST_SECRET,
        "SIPOKE_BROKER_URL": "memory://",
        "SIPOKE_LOG_JSON": "false",
    })
    reset_settings_cache()
    # Real argon2 parameters cost ~0.2 s a hash and the demo seeds seven accounts per test;
    # the cheapest valid parameters keep the suite fast (hashes stay verifiable either way).
    from argon2 import PasswordHasher

    from core import security

    real_hasher = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    security._hasher = real_hasher
    os.environ.clear()
    os.environ.update(saved)
    reset_settings_cache()


_ENGINES: dict[str, Engine] = {}


def _sqlite_engine(var_dir: Path) -> Engine:
    url = f"sqlite:///{var_dir / 'test.sqlite3'}"
    upgrade(url)
    return core_db.make_engine(url)


def _postgres_engine() -> Engine:
    admin_url = make_url(_pg_admin_url())
    name = f"sipoke_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = core_db.make_engine(url)
    engine.info_drop = (admin_url, name)  # type: ignore[attr-defined]
    return engine


def engine_for(backend: str, var_dir: Path) -> Engine:
    if backend not in _ENGINES:
        if backend == "postgresql":
            if not PG_URL:
                missing_service("database")
            _ENGINES[backend] = _postgres_engine()
        else:
            _ENGINES[backend] = _sqlite_engine(var_dir)
    return _ENGINES[backend]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for engine in _ENGINES.values():
        drop = getattr(engine, "info_drop", None)
        engine.dispose()
        if drop:
            admin_url, name = drop
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _empty_all_tables(engine: Engine) -> None:
    tables = list(reversed(core_db.Base.metadata.sorted_tables))
    # DELETE (children first) takes ~15 ms on a test's few rows; PostgreSQL's TRUNCATE of
    # every table takes ~0.7 s, which on every test would cost minutes. TRUNCATE stays as
    # the fallback for rows that reference each other in a cycle.
    try:
        with engine.begin() as conn:
            for table in tables:
                conn.execute(table.delete())
    except IntegrityError:
        if engine.dialect.name != "postgresql":
            raise
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(backend: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = engine_for(backend, var_dir)
    monkeypatch.setenv("SIPOKE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    core_db.use_engine(engine)
    from tests.fixtures import SENT_AFTER_COMMIT, record_sent_after_commit

    SENT_AFTER_COMMIT.clear()
    core_db.set_after_commit_publisher(record_sent_after_commit)
    yield engine
    _empty_all_tables(engine)
    reset_settings_cache()


@pytest.fixture
def settings(engine: Engine):
    from core.settings import get_settings

    return get_settings()


@pytest.fixture
def session(engine: Engine):
    s = core_db.new_session()
    yield s
    s.rollback()
    s.close()


pytest_plugins = ["tests.fixtures"]
