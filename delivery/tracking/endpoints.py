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

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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

router = APIRouter(tags=["webhooks"])


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


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


@router.post("/webhooks/{provider}", include_in_schema=True,
             responses=errors(400, 401, 413))
async def receive_webhook(provider: str, request: Request) -> JSONResponse:
    started = time.perf_counter()
    name = provider.lower()
    if not gateway.known(name):
        raise NotFound("Penyedia tidak dikenal.")
    body = await request.body()  # at most SIPOKE_MAX_WEBHOOK_BODY_BYTES (core.bodies)
    headers = dict(request.headers)
    outcome = "stored"
    try:
        with gateway.adapter(name, get_settings()) as adapter:
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
            probe = not updates and adapter.is_probe(body)
        if probe:
            outcome = "probe"
            return JSONResponse({"received": 0, "duplicates": 0}, status_code=200)
        stored, duplicates = await _store(_rows(name, body, updates, kept_headers(headers)))
        if duplicates and not stored:
            outcome = "duplicate"
        return JSONResponse({"received": stored, "duplicates": duplicates}, status_code=200)
    finally:
        WEBHOOKS.labels(name, outcome).inc()
        WEBHOOK_LATENCY.labels(name).observe(time.perf_counter() - started)
