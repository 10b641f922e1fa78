"""The FastAPI app factory. The composition root (``sipoke.app``) adds the other packages'
routers and readiness checks; core itself knows nothing of delivery or workers."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import access_log
from core.accounts.endpoints import auth_router, users_router
from core.asgi import HttpMiddleware
from core.bodies import install_body_guard
from core.catalog.endpoints import admin_router as catalog_admin_router
from core.catalog.endpoints import public_router as catalog_public_router
from core.db import POOL_SIZE, get_engine
from core.errors import AppError, PayloadTooLarge, validation_fields
from core.logging import reset_request_id, set_request_id
from core.notifications.endpoints import router as notifications_webhook_router
from core.offices.endpoints import router as offices_router
from core.openapi import install_openapi
from core.requests.endpoints import ROUTERS as REQUEST_ROUTERS
from core.settings import Settings, get_settings

log = logging.getLogger("sipoke.http")

API_PREFIX = "/api/v1"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ReadinessCheck = Callable[[], None]

CORE_ROUTERS: tuple[APIRouter, ...] = (auth_router, users_router, offices_router,
                                       catalog_public_router, catalog_admin_router,
                                       *REQUEST_ROUTERS)


def database_ready() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each refused field with its message in Bahasa Indonesia (by the error's type)."""
    return validation_fields(exc.errors(), skip=("body", "query", "path"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        invalid_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        body = {"error": {
            "code": "invalid_json" if invalid_json else "validation_error",
            "message": "Format JSON tidak valid." if invalid_json else "Data tidak valid.",
            "fields": _field_errors(exc),
        }}
        return JSONResponse(body, status_code=400 if invalid_json else 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:  # a multipart body counted past its limit (core.bodies)
            return await _app_error(request, PayloadTooLarge())
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyTimeoutError)
    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
        # The pool ran dry, SQLite stayed locked, or PostgreSQL is restarting: nothing was
        # committed, and the client (or the provider sending a webhook) should try again.
        log.warning("database unavailable", extra={"path": request.url.path,
                                                   "error": exc.__class__.__name__})
        return JSONResponse({"error": {"code": "database_busy",
                                       "message": "Server sedang sibuk. Coba lagi sebentar."}},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse({"error": {"code": "internal_error",
                                       "message": "Terjadi kesalahan pada server."}},
                            status_code=500)


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """32 hex digits, unique across processes (a random prefix drawn at start-up and a
    counter): as good as a uuid4 for finding a request in the logs, without a random draw and
    a UUID object on every request."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class RequestContext(HttpMiddleware):
    """A request id for the logs and the ``X-Request-ID`` header; one access line per request
    (core.access_log)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A caller's id is kept only if it is short and plain, so it cannot forge log fields.
        request_id = Headers(scope=scope).get("x-request-id", "")
        if not _REQUEST_ID_RE.fullmatch(request_id):
            request_id = new_request_id()
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        token = set_request_id(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_request_id(token)
            access_log.record(scope, status, time.perf_counter() - started, request_id)


def install_request_context(app: FastAPI) -> None:
    app.add_middleware(RequestContext)


HSTS = "max-age=31536000; includeSubDomains"


class StrictTransportSecurity(HttpMiddleware):
    """``Strict-Transport-Security`` on every response when the public URL
    (``SIPOKE_BASE_URL``) is https: browsers then never go back to plain http."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not get_settings().base_url.startswith("https://"):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def install_transport_security(app: FastAPI) -> None:
    app.add_middleware(StrictTransportSecurity)


# Requests that never hold a database connection while they wait: probes, metrics, and
# webhooks (their events go to the group-commit writer, delivery.tracking.ingest).
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNLIMITED_PREFIXES = ("/webhooks/",)


class AdmissionGate:
    """Admit at most ``limit`` requests at once; the rest wait their turn (then 503).

    Sync endpoints hold a database connection between their dependency and endpoint steps
    while waiting for a worker thread; without a gate, a burst larger than the pool makes
    every request hold one connection and wait for another until the pool times out.
    """

    def __init__(self, app: ASGIApp, limit: int, queue_timeout: float = 10.0) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._gate: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in UNLIMITED_PATHS \
                or path.startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._gate is None:  # created in the server's event loop
            self._gate = anyio.Semaphore(self.limit)
        try:
            try:  # a free slot: no timeout scope (its cost shows on the busiest paths)
                self._gate.acquire_nowait()
            except anyio.WouldBlock:
                with anyio.fail_after(self.queue_timeout):
                    await self._gate.acquire()
        except TimeoutError:
            response = JSONResponse({"error": {"code": "overloaded",
                                               "message": "Server sedang sibuk. Coba lagi."}},
                                    status_code=503, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._gate.release()


def install_concurrency_limit(app: FastAPI, limit: int, queue_timeout: float = 10.0) -> None:
    app.add_middleware(AdmissionGate, limit=limit, queue_timeout=queue_timeout)


def include_first(app: FastAPI, *routers: APIRouter) -> None:
    """Include ``routers`` ahead of every route already there: they win a path both match
    (web's styled pages over core's minimal ones)."""
    _first(app, lambda: [app.include_router(router) for router in routers])


def add_routes_first(app: FastAPI, *routers: APIRouter) -> None:
    """Put the routes of ``routers`` ahead of every route already there, as the app's own
    routes: the busiest callers (webhooks) skip the walk past all the others, and they skip
    the layer of route contexts an included router is matched through on every request (a
    cost the webhook door, thousands of requests a second, should not pay). For routers of
    plain API routes without a prefix."""
    def add() -> None:
        for router in routers:
            if router.prefix:
                raise ValueError(f"add_routes_first: router with a prefix ({router.prefix})")
            for route in router.routes:
                if not isinstance(route, APIRoute):
                    raise TypeError(f"add_routes_first: {route!r} is not an API route")
                app.router.add_api_route(
                    route.path, route.endpoint, methods=sorted(route.methods or ()),
                    name=route.name, response_model=route.response_model,
                    status_code=route.status_code, tags=route.tags,
                    dependencies=route.dependencies, summary=route.summary,
                    description=route.description, responses=route.responses,
                    deprecated=route.deprecated, operation_id=route.operation_id,
                    include_in_schema=route.include_in_schema,
                    response_class=route.response_class,
                    route_class_override=type(route))  # a route class of its own kept

    _first(app, add)


def _first(app: FastAPI, add: Callable[[], object]) -> None:
    before = list(app.router.routes)
    known = {id(route) for route in before}
    add()
    added = [route for route in app.router.routes if id(route) not in known]
    app.router.routes[:] = added + before


def create_app(
    settings: Settings,
    *,
    routers: Iterable[APIRouter] = (),
    readiness: dict[str, ReadinessCheck] | None = None,
    title: str = "SIP OKE Antar",
) -> FastAPI:
    app = FastAPI(
        title=title,
        version="0.1.0",
        description="Layanan online kelurahan dengan pengambilan di kantor atau antar ke rumah.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # FastAPI's native OpenTelemetry is not used (metrics: Prometheus, /metrics); off, it
        # no longer looks up three providers in os.environ on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    checks = {"database": database_ready, **(readiness or {})}

    install_error_handlers(app)
    install_openapi(app)  # security, error answers and files in /openapi.json; 405's Allow
    # Outermost last: HSTS and request ids go on every answer, also the refusals of the
    # body guard and the gate; a refused body never waits for (or holds) a place at the gate.
    install_concurrency_limit(app, POOL_SIZE - 2)
    install_body_guard(app)
    install_request_context(app)
    install_transport_security(app)

    for router in (*CORE_ROUTERS, *routers):
        app.include_router(router, prefix=API_PREFIX)
    # Registered with Meta by its full path, so outside /api/v1 (like the courier webhooks).
    app.include_router(notifications_webhook_router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"error: {exc.__class__.__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", "checks": results},
                            status_code=200 if ready else 503)

    return app
