"""The OpenAPI document as the API really answers, completed in one place.

FastAPI describes the success answer of each route and its own 422 model. This module adds,
from what each route depends on and what kind of route it is:

* the security schemes (a bearer token, or the web session cookie with its CSRF header on
  unsafe methods) and, per operation, the ones its authentication dependency accepts;
* every error answer the route can give, all in the product's error model (:class:`ErrorBody`),
  422 included: 401/403 for signed-in routes, 404 for a path id, 400/413 for a body, 409 for a
  change of state, 503 when the database or the admission gate is busy; what cannot be
  derived (429, 423, 415...) a route declares with ``responses=errors(...)``;
* binary answers (``responses=binary(...)``): their media types instead of JSON.

It also makes a 405's ``Allow`` header list every method of the path, not only those of the
first route that matched it (Starlette's default). Installed by :func:`install_openapi`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from core import deps

SAFE_METHODS = frozenset({"get", "head", "options"})
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
# Paths that never wait at the admission gate nor use the database (core.app).
UNGATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

BEARER = "bearerAuth"
COOKIE = "sessionCookie"
CSRF = "csrfHeader"


class FieldError(BaseModel):
    field: str = Field(description="The refused field, dotted (``fields.nama``, ``phone``)")
    message: str = Field(description="What is wrong, in Bahasa Indonesia")
    type: str | None = Field(default=None, description="The validator's error type")


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable, e.g. ``not_found``, ``validation_error``")
    message: str = Field(description="For people, in Bahasa Indonesia")
    fields: list[FieldError] | None = Field(
        default=None, description="Each refused field (validation errors only)")
    details: dict[str, Any] | None = Field(
        default=None, description="More about the error, e.g. ``retry_after`` or a state "
                                  "machine's ``allowed`` transitions")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorInfo


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON (or nested too deeply): `invalid_json`",
    401: "No valid session: send `Authorization: Bearer <token>` (`unauthorized`)",
    403: "The caller's role or office may not do this, or a cookie session sent no valid "
         "`X-CSRF-Token` (`forbidden`)",
    404: "Not found, or not visible to the caller (another office's data answers 404 too)",
    409: "Conflicts with the current state, e.g. a state transition that is not allowed "
         "(`invalid_transition`, with `details.allowed`) or a duplicate",
    413: "The body is larger than the server accepts (`payload_too_large`)",
    415: "The body's media type or the uploaded file's type is not accepted "
         "(`unsupported_media_type`)",
    422: "The data is not valid (`validation_error`); `fields` lists each refused field",
    423: "Too many wrong codes: locked until an operator resets it",
    429: "Too many attempts (`too_many_requests`); see `Retry-After` when given",
    503: "Busy or a needed service is unavailable; try again after `Retry-After` seconds",
}

# Answers of the app's own routes (core.app) that are not errors in the product's model.
READINESS = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["ok", "unavailable"]},
    "checks": {"type": "object", "additionalProperties": {"type": "string"}}},
    "required": ["status", "checks"]}
OWN_ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("/readyz", "get"): {
        "200": {"description": "Ready: every check answered",
                "content": {"application/json": {"schema": READINESS}}},
        "503": {"description": "Not ready: a check failed (see `checks`)",
                "content": {"application/json": {"schema": READINESS}}}},
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                               "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the error answers a route gives that cannot be derived."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]}
            for code in codes}


def binary(*media_types: str, description: str = "The file",
           status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering a file (PDF, PNG, SVG...) instead of JSON."""
    schema = {"type": "string", "format": "binary"}
    return {status_code: {"description": description,
                          "content": {media: {"schema": dict(schema)} for media in media_types}}}


def plain_text(description: str = "Plain text") -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering ``text/plain`` instead of JSON."""
    return {200: {"description": description,
                  "content": {"text/plain": {"schema": {"type": "string"}}}}}


def multipart_body(*fields: str, files: tuple[str, ...] = ("file",)) -> dict[str, Any]:
    """``openapi_extra=`` for a route that reads a multipart/form-data body by hand."""
    properties: dict[str, Any] = {name: {"type": "string", "format": "binary"}
                                  for name in files}
    properties.update({name: {"type": "string"} for name in fields})
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": properties, "required": sorted(properties)}}}}}


# --- what a route depends on ------------------------------------------------------------------

def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _route_contexts(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, also those of included routers (which FastAPI resolves lazily)."""
    yield from routing.iter_route_contexts(list(routes))


def _auth_of(route: Any) -> tuple[str | None, bool]:
    """(``"required"``, ``"optional"`` or None, whether a role is required)."""
    calls = list(_calls(route.dependant))
    with_role = any(getattr(c, "__qualname__", "").startswith(deps.require_roles.__qualname__)
                    for c in calls)
    if any(getattr(c, "auth_roles", None) for c in calls):  # deps.work_as
        return "required", True
    if deps.current_auth in calls:
        return "required", with_role
    if deps.current_auth_optional in calls:
        return "optional", with_role
    return None, with_role


def _security(auth: str | None, method: str) -> list[dict[str, list[str]]] | None:
    if auth is None:
        return None
    cookie = {COOKIE: []} if method in SAFE_METHODS else {COOKIE: [], CSRF: []}
    options: list[dict[str, list[str]]] = [{BEARER: []}, cookie]
    if auth == "optional":
        options.append({})
    return options


def _has_json_body(operation: dict[str, Any]) -> bool:
    content = operation.get("requestBody", {}).get("content", {})
    return any(media == "application/json" or media.endswith("+json") for media in content)


def _derived_errors(path: str, method: str, operation: dict[str, Any], route: Any) -> set[int]:
    codes: set[int] = set()
    auth, with_role = _auth_of(route) if route else (None, False)
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        codes.add(422)
    if "requestBody" in operation:
        codes.add(413)
        if _has_json_body(operation):
            codes.add(400)
        if "multipart/form-data" in operation["requestBody"].get("content", {}):
            codes.add(415)  # not multipart, or a file of a type the route does not take
    if auth is not None:
        codes.add(401)  # a token that expired or was revoked, also where signing in is optional
        if auth == "required" or with_role or method in UNSAFE_METHODS:
            codes.add(403)  # a role, the office's scope, or the cookie session's CSRF check
    if any(p.get("in") == "path" for p in parameters):
        codes.add(404)
    if method in UNSAFE_METHODS and path.startswith("/api/"):
        codes.add(409)
    if path not in UNGATED_PATHS:
        codes.add(503)
    return codes


def _error_response(code: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    response = dict(existing or {})
    description = response.get("description")
    if not description or description in {"Validation Error", "Successful Response"} \
            or description.startswith("Additional Response"):
        response["description"] = ERROR_DESCRIPTIONS.get(code, "Error")
    response["content"] = {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    if code in {429, 503}:
        response["headers"] = {**RETRY_AFTER, **response.get("headers", {})}
    return response


def _tidy_success(operation: dict[str, Any]) -> None:
    """A success answer that declares a file drops the JSON FastAPI assumed for it."""
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if str(status).startswith("2") and len(content) > 1 \
                and content.get("application/json", {}).get("schema") in ({}, None):
            del content["application/json"]


def complete_schema(schema: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add security, error answers and file answers to FastAPI's ``schema`` (in place)."""
    by_operation: dict[tuple[str, str], Any] = {}
    for route in _route_contexts(routes):
        if isinstance(route.original_route, routing.APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                by_operation.setdefault((route.path_format, method.lower()), route)

    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (FieldError, ErrorInfo, ErrorBody):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        model_schema.pop("$defs", None)
        schemas[model.__name__] = model_schema
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        BEARER: {"type": "http", "scheme": "bearer",
                 "description": "The token from `POST /api/v1/auth/otp/verify` (residents) or "
                                "`POST /api/v1/auth/login` (staff): "
                                "`Authorization: Bearer <token>`"},
        COOKIE: {"type": "apiKey", "in": "cookie", "name": deps.SESSION_COOKIE,
                 "description": "The web session (set when signing in with `cookie=true`)"},
        CSRF: {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
               "description": "With the session cookie, on every unsafe method: the session's "
                              "CSRF token"},
    }

    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in SAFE_METHODS | UNSAFE_METHODS:
                continue
            route = by_operation.get((path, method))
            auth = _auth_of(route)[0] if route else None
            security = _security(auth, method)
            if security is not None:
                operation["security"] = security
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if str(code)[:1] in "45"}
            for code in sorted(declared | _derived_errors(path, method, operation, route)):
                responses[str(code)] = _error_response(code, responses.get(str(code)))
            _tidy_success(operation)
            responses.update(OWN_ANSWERS.get((path, method), {}))
    return schema


# --- 405: every method of the path ------------------------------------------------------------

def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``path`` accepts."""
    table = getattr(app.state, "_allow_table", None)
    if table is None or table[0] != len(app.router.routes):
        patterns = []
        for route in _route_contexts(app.router.routes):
            if route.methods and route.path:
                patterns.append((compile_path(route.path)[0], frozenset(route.methods)))
        table = app.state._allow_table = (len(app.router.routes), patterns)
    methods: set[str] = set()
    for regex, route_methods in table[1]:
        if regex.match(path):
            methods |= route_methods
    return sorted(methods)


def _fix_allow(app: FastAPI) -> None:
    handler = app.exception_handlers.get(StarletteHTTPException)
    if handler is None:  # pragma: no cover - core.app installs one
        return

    async def http_error(request: Request, exc: Exception) -> Any:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
            methods = allowed_methods(app, request.scope.get("path", ""))
            if methods:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        return await handler(request, exc)

    app.exception_handlers[StarletteHTTPException] = http_error


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first use) and
    answer 405 with the path's real ``Allow``. Call after the error handlers are installed."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 openapi_version=app.openapi_version,
                                 description=app.description, routes=app.routes,
                                 tags=app.openapi_tags, servers=app.servers)
            app.openapi_schema = complete_schema(schema, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _fix_allow(app)
