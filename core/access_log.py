"""The access line: one per HTTP request, written when the request ends, and the response
counter the alert rules read (deploy/prometheus/alerts.yml).

Routes are named by their template (``/api/v1/requests/{request_id}``), never by the raw
path: a path may carry a token (the envelope QR's, a verification code), and templates keep
the metric's label values few. The line is cheap on purpose: it is on the webhook path.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter
from starlette.types import Scope

log = logging.getLogger("sipoke.access")

# What a request that matched no route (a 404, or a refusal before routing) is named.
UNMATCHED = "-"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

RESPONSES = Counter("sipoke_http_responses_total",
                    "HTTP responses by method, route template and status code",
                    ["method", "route", "status"])


def route_template(scope: Scope) -> str:
    """The template of the route that answered, as the router left it in the scope. A route
    of an included router is known by FastAPI's effective route context (it carries the
    include's prefix; ``scope["route"]`` does not); a route of the app itself by the route;
    a mounted app by the mount's prefix."""
    included = scope.get("fastapi", {}).get("effective_route_context")
    for holder in (getattr(included, "starlette_route", None), included, scope.get("route")):
        path = getattr(holder, "path_format", None)
        if isinstance(path, str) and path:
            return path
    if "app_root_path" in scope:  # a mounted app (the static files): the mount's prefix
        prefix = scope.get("root_path", "")[len(scope["app_root_path"]):]
        if prefix:
            return prefix + "/{path}"
    return UNMATCHED


def record(scope: Scope, status: int, seconds: float, request_id: str) -> None:
    method = scope["method"]
    if method not in _METHODS:  # a client may send any token: keep the labels bounded
        method = "OTHER"
    route = route_template(scope)
    RESPONSES.labels(method, route, str(status)).inc()
    if log.isEnabledFor(logging.INFO):
        log.info("request", extra={"method": method, "route": route, "status": status,
                                   "duration_ms": round(seconds * 1000, 1),
                                   "request_id": request_id})
