"""Shared fixtures: the app, a client, demo data, signed-in headers, and an outbox drain."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.accounts.service import _issue_session
from core.db import unit_of_work, utcnow
from core.models import OutboxMessage, User
from core.settings import reset_settings_cache

_APP_CACHE: dict[str, FastAPI] = {}


@pytest.fixture
def app(settings) -> Iterator[FastAPI]:
    """The app, built once per test process.

    Building ~130 routes costs 0.3-1 s, which every API test would pay again. The app keeps
    no per-test state: it reads settings per request and data from the database; the
    process-wide hooks ``build_app`` installs are re-installed here before every test.
    """
    from core import db
    from sipoke.app import build_app
    from sipoke.wiring import wire

    wire(settings)
    application = _APP_CACHE.get("app")
    if application is None:
        application = _APP_CACHE["app"] = build_app(settings)
    # Tests drain the outbox themselves (drain_outbox) or run a real worker.
    SENT_AFTER_COMMIT.clear()
    db.set_after_commit_publisher(record_sent_after_commit)
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
def tune(monkeypatch: pytest.MonkeyPatch):
    """Change settings for this test; the app reads them per request."""

    def _tune(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"SIPOKE_{key.upper()}", str(value))
        reset_settings_cache()

    return _tune


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def demo(settings):
    """The demo data: two offices and one account of every role."""
    from sipoke.seed import seed_demo

    seed_demo(settings)
    return Demo()


@dataclass
class Demo:
    def user(self, key: str) -> User:
        """A user by username, or by phone for residents."""
        with unit_of_work() as s:
            stmt = select(User).where((User.username == key) | (User.phone == key))
            user = s.scalar(stmt)
            assert user is not None, key
            return user

    def headers(self, key: str) -> dict[str, str]:
        user = self.user(key)
        from core.settings import get_settings

        with unit_of_work() as s:
            issued = _issue_session(s, get_settings(), s.merge(user), client_ip="test")
        return {"Authorization": f"Bearer {issued.token}"}


RESIDENT_A = "+6281234560001"  # Siti, Mekarjaya RW 005
RESIDENT_B = "+6281234560002"  # Agus, Mekarjaya RW 002
RESIDENT_OTHER_OFFICE = "+6281234560003"  # Dewi, Abadijaya


SENT_AFTER_COMMIT: list[tuple[str, dict]] = []


def record_sent_after_commit(rows: list) -> None:
    """The tests' after-commit publisher: rows of the outbox table are run by
    :func:`drain_outbox` from the table; tasks sent without a row
    (``core.outbox.send_after_commit``) are kept here for it."""
    SENT_AFTER_COMMIT.extend((r.task_name, dict(r.kwargs)) for r in rows if r.id is None)


def drain_outbox(max_rounds: int = 10) -> list[str]:
    """Run due outbox tasks in this process, the way a worker would, until none are left.

    The integration tests use a real worker; this keeps API tests fast and deterministic.
    """
    import importlib

    from workers.celery_app import TASK_MODULES

    for module in TASK_MODULES:  # register every task, as a worker does at start-up
        importlib.import_module(module)
    from workers.celery_app import app as celery

    ran: list[str] = []
    for _ in range(max_rounds):
        with unit_of_work() as s:
            due = list(s.scalars(select(OutboxMessage).where(
                OutboxMessage.published_at.is_(None), OutboxMessage.available_at <= utcnow()
            ).order_by(OutboxMessage.id)))
            for m in due:
                m.published_at = utcnow()
            jobs = [(m.task_name, dict(m.kwargs)) for m in due]
        jobs += SENT_AFTER_COMMIT
        SENT_AFTER_COMMIT.clear()
        if not jobs:
            break
        for name, kwargs in jobs:
            celery.tasks[name].run(**kwargs)
            ran.append(name)
    return ran


@pytest.fixture
def outbox() -> Callable[[], list[str]]:
    return drain_outbox


OTP_RE = re.compile(r"Kode masuk SIP OKE Antar: (\d{6})")


@pytest.fixture
def read_otp(caplog: pytest.LogCaptureFixture) -> Callable[[str], str]:
    """Drain the outbox and read the last code the console channel sent to ``phone``."""
    caplog.set_level(logging.INFO, logger="sipoke.notify")

    def _read(phone: str) -> str:
        drain_outbox()
        codes = [OTP_RE.search(r.getMessage()) for r in caplog.records
                 if getattr(r, "recipient", None) == phone]
        codes = [c.group(1) for c in codes if c]
        assert codes, f"no code sent to {phone}"
        return codes[-1]

    return _read
