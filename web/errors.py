"""Errors on pages answer with a page, not JSON; the API keeps core's JSON handlers.

A visitor who must sign in is sent to the sign-in page (htmx requests get ``HX-Redirect``);
403/404/409/429 render a short page in the visitor's language; nothing expected is a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from core.deps import SESSION_COOKIE
from core.errors import AppError, Unauthorized
from web.context import base_context, sign_in_url, translator_for
from web.templating import templates

log = logging.getLogger("sipoke.web")

# Paths that belong to machines (JSON API, probes, docs): core's handlers answer there.
NON_PAGE_PREFIXES = ("/api/", "/healthz", "/readyz", "/docs", "/openapi.json", "/metrics",
                     "/static/", "/webhooks/")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(NON_PAGE_PREFIXES)


def _error_key(status: int, exc: Exception | None) -> str:
    if isinstance(exc, AppError) and exc.code == "forbidden" and "CSRF" in exc.message:
        return "error.csrf"
    return f"error.{status}" if status in (401, 403, 404, 409, 429) else "error.500"


def render_error(request: Request, status: int, exc: Exception | None = None) -> Response:
    t = translator_for(request)
    detail = None
    if isinstance(exc, AppError) and status in (409, 422, 429):
        detail = t.service(exc.message)
    user = getattr(request.state, "viewer", None)
    return templates.TemplateResponse(request, "error.html", {
        **base_context(request, t, user), "status": status,
        # Nothing from the URL: a 404 for another office's id must read exactly like the 404
        # for an id that does not exist.
        "path": "/",
        "message": t(_error_key(status, exc)), "detail": detail,
        # Only a browser session's own token (its sign-out form); nothing that varies per
        # call, so every 404 reads the same.
        "csrf_token": getattr(request.state, "page_csrf", ""),
        "sign_in": status == 401,
        "flashes": [],
    }, status_code=status)


def sign_in_redirect(request: Request) -> Response:
    """A page view goes to the sign-in page and comes back; a form post is answered 401
    with a page that links there (its typed data cannot survive a redirect anyway)."""
    target = sign_in_url(request.url.path if request.method == "GET" else None)
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=401, headers={"HX-Redirect": target})
    elif request.method == "GET":
        response = RedirectResponse(target, status_code=303)
    else:
        response = render_error(request, 401, None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    api_app_error: Handler = app.exception_handlers[AppError]
    api_http: Handler = app.exception_handlers[StarletteHTTPException]
    api_validation: Handler = app.exception_handlers[RequestValidationError]
    api_unexpected: Handler = app.exception_handlers[Exception]

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if not is_page_request(request):
            return await api_app_error(request, exc)
        if isinstance(exc, Unauthorized):
            return sign_in_redirect(request)
        return render_error(request, exc.status_code, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_page_request(request):
            return await api_http(request, exc)
        return render_error(request, exc.status_code, None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if not is_page_request(request):
            return await api_validation(request, exc)
        # A malformed link (a bad id in the URL) is a page that does not exist.
        return render_error(request, 404, None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if not is_page_request(request):
            return await api_unexpected(request, exc)
        log.exception("unhandled page error", extra={"path": request.url.path})
        return render_error(request, 500, None)
