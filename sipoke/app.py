"""Build the ASGI app with every package's routers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

import delivery
import sipoke.models  # noqa: F401 - register every mapper before the first query
from core import db
from core.app import add_routes_first, create_app
from core.backup import status as backup_status
from core.settings import Settings, get_settings
from fleet.endpoints import router as courier_router
from sipoke.wiring import wire
from web import app as web


def broker_ready() -> None:
    from workers.celery_app import app as celery

    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db.get_engine()
    wire(settings)
    app = create_app(settings, routers=(courier_router, *delivery.routers()),
                     readiness={"broker": broker_ready})
    web.mount(app)  # the pages: a presentation layer over the same services
    # Webhooks and /metrics are matched first: the busiest callers, and a route table walk
    # past every page and API route costs each of them more than storing its event.
    add_routes_first(app, *delivery.root_routers(), *_bench_routers(settings))
    backup_status.install_collector()  # /metrics: when the last backup succeeded
    return app


def _bench_routers(settings: Settings) -> tuple[APIRouter, ...]:
    """The same server's cheapest POST, for the webhook benchmark's ratio (bench/); matched
    at the same place as the webhooks, so the ratio compares the handlers only."""
    if not settings.bench_noop_endpoint:
        return ()
    router = APIRouter()

    @router.post("/bench/noop", include_in_schema=False)
    async def bench_noop() -> dict[str, bool]:
        return {"ok": True}

    return (router,)


def asgi() -> FastAPI:
    """Factory for ``uvicorn --factory sipoke.app:asgi``."""
    return build_app()
