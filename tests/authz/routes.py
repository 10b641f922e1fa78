"""List every HTTP route of the app as ("METHOD", "/path") pairs.

FastAPI >= 0.16x keeps included routers as branches instead of copying their routes into
``app.routes``; walk both shapes so a route can never hide from the policy table.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute

# Framework routes that serve documentation, not data.
FRAMEWORK_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def _walk(routes: list) -> Iterator[tuple[str, str]]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI >= 0.16x)
            for ctx in route.effective_route_contexts():
                for method in ctx.methods or ():
                    yield method, ctx.path
        elif isinstance(route, APIRoute):
            for method in route.methods:
                yield method, route.path
        elif hasattr(route, "methods") and getattr(route, "path", None) not in FRAMEWORK_PATHS:
            for method in route.methods or ():
                yield method, route.path


def app_routes(app: FastAPI) -> set[str]:
    """``{"GET /api/v1/me", ...}`` without HEAD (Starlette adds it to every GET)."""
    return {f"{method} {path}" for method, path in _walk(app.routes) if method != "HEAD"}
