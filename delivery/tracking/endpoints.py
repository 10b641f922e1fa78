"""``POST /webhooks/{provider}``: check the raw body, verify, store once, 2xx.

Order matters and nothing is stored on any refusal: size (413, ``core.bodies``, before the
body is read) -> the provider's door (404 unless it is switched on and holds the secrets its
webhooks are checked with) -> JSON (400: malformed or nested too deep, checked by
``core.bodies.parse_json`` before any adapter parses the body) -> signature on the raw bytes
(401) -> parse (400) -> a URL probe (200, nothing stored) -> store (group commit, with the
``tracking.apply_batch`` outbox row; see ``ingest``) -> 200 (also for a duplicate, so the
provider stops retrying). Only a failure to store answers 5xx, which makes the provider
retry. Not under /api/v1: providers are configured with this path.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from core.batching import BatcherFull
from core.bodies import parse_json
from core.errors import InvalidJson, NotFound, ServiceUnavailable
from core.openapi import errors
from core.settings import get_settings
from delivery import gateway
from delivery.metrics import WEBHOOK_LATENCY, WEBHOOKS
from delivery.tracking import ingest
from delivery.tracking.service import event_row, kept_headers
from providers.errors import CapabilityNotSupported, WebhookRejected
from providers.types import TrackingUpdate, derive_event_id


class WebhookRoute(APIRoute):
    """Documented (OpenAPI) like any API route, from ``receive_webhook``'s signature, but
    served as plain ASGI (:func:`webhook_app`): no dependency resolution, no ``Request``, no
    response class for the thousands of webhooks a second this door takes. Errors are raised
    as elsewhere (``AppError``) and answered by the app's handlers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = webhook_app


router = APIRouter(tags=["webhooks"], route_class=WebhookRoute)

_JSON_HEADERS = [(b"content-type", b"application/json")]


def _answer(status: int, content: dict[str, Any]) -> tuple[int, bytes]:
    return status, orjson.dumps(content)


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return _answer(status, {"error": {"code": code, "message": message}})


def _rows(provider: str, body: bytes, updates: list[TrackingUpdate],
          headers: dict[str, str]) -> list[dict]:
    text = body.decode("utf-8", errors="replace")
    if not updates:  # verified but nothing we track: kept for the record, never applied
        return [event_row(provider, derive_event_id("content", body.hex()), None,
                          source="webhook", body=text, headers=headers)]
    return [event_row(provider, update.provider_event_id, update, source="webhook", body=text,
                      headers=headers)
            for update in updates if update.provider == provider]  # it speaks for itself only


async def _store(rows: list[dict]) -> tuple[int, int]:
    try:
        outcomes = await ingest.store(rows)
    except (TimeoutError, BatcherFull):
        raise ServiceUnavailable("Server sedang sibuk. Coba lagi sebentar.",
                                 retry_after=1) from None
    stored = sum(1 for o in outcomes if o.event_id is not None)
    return stored, len(outcomes) - stored


# Metric children by labels: ``labels()`` takes a lock and builds a key on every call.
_counted: dict[tuple[str, str], Any] = {}
_timed: dict[str, Any] = {}


def _record(name: str, outcome: str, seconds: float) -> None:
    counter = _counted.get((name, outcome))
    if counter is None:
        counter = _counted[(name, outcome)] = WEBHOOKS.labels(name, outcome)
    timer = _timed.get(name)
    if timer is None:
        timer = _timed[name] = WEBHOOK_LATENCY.labels(name)
    counter.inc()
    timer.observe(seconds)


async def handle(provider: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """The door itself: (status, JSON body) for a webhook of ``provider``; refusals that the
    app's error handlers answer are raised (404, 400 invalid_json, 503)."""
    started = time.perf_counter()
    name = provider.lower()
    if not gateway.known(name):
        raise NotFound("Penyedia tidak dikenal.")
    outcome = "stored"
    try:
        adapter = gateway.shared_adapter(name, get_settings())
        if not adapter.accepts_webhooks():
            outcome = "closed"
            raise NotFound("Penyedia ini tidak menerima webhook.")
        try:
            # An empty body is a URL probe (Lalamove, Biteship check the URL this way).
            if body.strip():
                parse_json(body)
        except InvalidJson:
            outcome = "invalid_json"
            raise
        try:
            adapter.verify_webhook(body, headers)
        except CapabilityNotSupported:
            raise NotFound("Penyedia ini tidak mengirim webhook.") from None
        except WebhookRejected:
            outcome = "rejected"
            return _error(401, "invalid_signature", "Tanda tangan webhook tidak valid.")
        try:
            updates = adapter.parse_webhook(body, headers)
        except WebhookRejected as exc:
            outcome = "unparseable"
            return _error(400, "invalid_payload", f"Isi webhook tidak dikenali: {exc}")
        # A probe passed verification but carries nothing: it must still answer 200.
        if not updates and adapter.is_probe(body):
            outcome = "probe"
            return _answer(200, {"received": 0, "duplicates": 0})
        stored, duplicates = await _store(_rows(name, body, updates, kept_headers(headers)))
        if duplicates and not stored:
            outcome = "duplicate"
        return _answer(200, {"received": stored, "duplicates": duplicates})
    finally:
        _record(name, outcome, time.perf_counter() - started)


async def _read_body(receive: Receive) -> bytes:
    """The whole body: ``core.bodies.BodyGuard`` has read it already, within the webhook
    limit, and hands it over in one message."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def webhook_app(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /webhooks/{provider}`` as plain ASGI (see :class:`WebhookRoute`)."""
    try:
        body = await _read_body(receive)
    except ClientDisconnect:
        return
    # Header names in lower case, the first value of a repeated one (as Starlette's mapping).
    headers = {key.decode("latin-1"): value.decode("latin-1")
               for key, value in reversed(scope["headers"])}
    status, content = await handle(scope["path_params"]["provider"], body, headers)
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


@router.post("/webhooks/{provider}", include_in_schema=True,
             responses=errors(400, 401, 413))
async def receive_webhook(provider: str, request: Request) -> JSONResponse:
    """Receive a provider's signed webhook (served by :func:`webhook_app`; this signature
    documents it)."""
    status, content = await handle(provider, await request.body(), dict(request.headers))
    return JSONResponse(orjson.loads(content), status_code=status)
