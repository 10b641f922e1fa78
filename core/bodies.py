"""Request bodies: limited before the app reads them, and JSON parsed once with a depth limit.

Every body has a limit (settings): an upload (``multipart/form-data``) may be as large as
``max_upload_bytes`` plus the multipart framing (``core.requests.uploads`` then counts the
file itself); a provider webhook (``/webhooks/``) ``max_webhook_body_bytes``; anything else
(the JSON API, the pages' forms) ``max_json_body_bytes``. A Content-Length above the limit is
answered 413 before a byte is read; a chunked body is counted as it arrives and refused as
soon as it passes the limit (an upload answers its own 413, see ``core.requests.uploads``).

Bodies other than uploads are small, so they are read here whole and handed on unchanged. A
JSON body (``application/json``, ``application/*+json``) is first parsed by
:func:`parse_json`; one that is malformed or nested too deep is answered 400 ``invalid_json``
before FastAPI's standard-library parser, which recurses once per level, ever sees it. The
webhook door parses its own bodies with the same function (it must, whatever the provider's
content type). Pure ASGI, like the other middlewares in ``core.app``: webhooks pass through
here on their hot path.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic_core import from_json
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from core.asgi import HttpMiddleware
from core.errors import AppError, InvalidJson, PayloadTooLarge
from core.requests.uploads import MULTIPART_OVERHEAD
from core.settings import get_settings

WEBHOOK_PREFIX = "/webhooks/"
MULTIPART = b"multipart/form-data"


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; :class:`InvalidJson` when it is not strict JSON (also
    NaN and Infinity) or nests deeper than pydantic-core's parser allows (200 levels). The
    parser does not recurse in Python, so no body can exhaust the interpreter's stack."""
    if b"\\u0000" in body:
        # No text the product stores may hold a NUL character (PostgreSQL refuses it).
        raise InvalidJson("NUL character (\\u0000) is not allowed")
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise InvalidJson(str(exc)) from None


def is_json(media_type: bytes) -> bool:
    """The media types FastAPI parses as JSON."""
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json"))


def error_response(exc: AppError) -> JSONResponse:
    # The connection is closed after a refusal, so a client that declared 100 MB stops
    # sending them instead of having the server read and drop every byte.
    headers = {"Connection": "close"} if isinstance(exc, PayloadTooLarge) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def _body_headers(scope: Scope) -> tuple[bool, int | None, bytes]:
    """(a body follows, its declared length if any, its media type in lower case)."""
    declared: bytes | None = None
    chunked = False
    media_type = b""
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = value.strip()
        elif name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
        elif name == b"transfer-encoding":
            chunked = True
    length = int(declared) if declared is not None and declared.isdigit() else None
    has_body = chunked or (declared is not None and length != 0)
    return has_body, length, media_type


async def _read_whole(receive: Receive, limit: int) -> bytes:
    """The body, or PayloadTooLarge as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(max_bytes=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then the client's own
    messages (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counted(receive: Receive, limit: int) -> Receive:
    """A ``receive`` that raises 413 as soon as the body passes ``limit`` bytes. (Starlette's
    own body limit would also replace any answer to an oversize Content-Length with a plain
    413, the upload's own refusal page included.)"""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise HTTPException(413)  # rendered as PayloadTooLarge by core.app
        return message

    return counted


class BodyGuard(HttpMiddleware):
    """Enforce the body limits and the JSON check described in the module docstring."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        has_body, length, media_type = _body_headers(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if media_type == MULTIPART:
            # Streamed to disk by the upload, which refuses an oversize Content-Length or
            # file itself (a page shows that next to the field); counted here on the way, so
            # a multipart body sent anywhere else stops at the same size.
            limit = settings.max_upload_bytes + MULTIPART_OVERHEAD
            await self.app(scope, _counted(receive, limit), send)
            return
        webhook = scope["path"].startswith(WEBHOOK_PREFIX)
        limit = settings.max_webhook_body_bytes if webhook else settings.max_json_body_bytes
        if length is not None and length > limit:
            await error_response(PayloadTooLarge(max_bytes=limit))(scope, receive, send)
            return
        try:
            body = await _read_whole(receive, limit)
            if body and is_json(media_type) and not webhook:
                parse_json(body)
        except ClientDisconnect:
            return
        except AppError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def install_body_guard(app: FastAPI) -> None:
    app.add_middleware(BodyGuard)
