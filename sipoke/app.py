"""Build the ASGI app with every package's routers."""

from __future__ import annotations

from fastapi import FastAPI

import sipoke.models  # noqa: F401 - register every mapper before the first query
from core import db
from core.app import create_app
from core.settings import Settings, get_settings
from workers.enqueue import publish_after_commit


def broker_ready() -> None:
    from workers.celery_app import app as celery

    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db.get_engine()
    if settings.outbox_publish_after_commit:
        db.set_after_commit_publisher(publish_after_commit)
    return create_app(settings, routers=(), readiness={"broker": broker_ready})


def asgi() -> FastAPI:
    """Factory for ``uvicorn --factory sipoke.app:asgi``."""
    return build_app()
