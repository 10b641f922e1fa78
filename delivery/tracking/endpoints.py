"""``POST /webhooks/{provider}``: read at most 256 KB of raw body, verify, store once, 2xx.

Order matters and nothing is stored on any refusal: size (413) -> signature on the raw bytes
(401) -> JSON (400) -> parse (400) -> store + enqueue ``tracking.apply`` -> 200 (also for a
duplicate, so the provider stops retrying). Only a failure to store answers 5xx, which makes
the provider retry. Not under /api/v1: providers are configured with this path.
"""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.db import unit_of_work
from core.errors import NotFound, PayloadTooLarge
from core.outbox import enqueue
from core.settings import get_settings
from delivery import gateway
from delivery.metrics import WEBHOOK_LATENCY, WEBHOOKS
from delivery.tracking.service import APPLY_TASK, kept_headers, store_ignored, store_update
from providers.errors import CapabilityNotSupported, WebhookRejected
from providers.parsing import is_empty_ping
from providers.types import TrackingUpdate, derive_event_id

MAX_WEBHOOK_BYTES = 256 * 1024

router = APIRouter(tags=["webhooks"])


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(max_bytes=MAX_WEBHOOK_BYTES)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge(max_bytes=MAX_WEBHOOK_BYTES)
    return bytes(body)


def _store(provider: str, body: bytes, updates: list[TrackingUpdate],
           headers: dict[str, str]) -> tuple[int, int]:
    text = body.decode("utf-8", errors="replace")
    stored = duplicates = 0
    with unit_of_work() as session:
        if not updates:
            event_id = derive_event_id("content", body.hex())
            if store_ignored(session, provider, event_id, body=text, headers=headers):
                stored += 1
            else:
                duplicates += 1
        for update in updates:
            if update.provider != provider:
                continue  # an adapter may only speak for itself
            event = store_update(session, update, source="webhook", body=text, headers=headers)
            if event is None:
                duplicates += 1
                continue
            stored += 1
            enqueue(session, APPLY_TASK, event_id=event.id)
    return stored, duplicates


@router.post("/webhooks/{provider}", include_in_schema=True)
async def receive_webhook(provider: str, request: Request) -> JSONResponse:
    started = time.perf_counter()
    name = provider.lower()
    if not gateway.known(name):
        raise NotFound("Penyedia tidak dikenal.")
    body = await _read_limited(request)
    headers = dict(request.headers)
    outcome = "stored"
    try:
        with gateway.adapter(name, get_settings()) as adapter:
            try:
                adapter.verify_webhook(body, headers)
            except CapabilityNotSupported:
                raise NotFound("Penyedia ini tidak mengirim webhook.") from None
            except WebhookRejected:
                outcome = "rejected"
                return _error(401, "invalid_signature", "Tanda tangan webhook tidak valid.")
            try:
                # An empty probe (Lalamove, Biteship check the URL this way) passed the
                # adapter's verification and carries nothing; it must still answer 200.
                if body.strip():
                    json.loads(body)
            except ValueError:
                outcome = "invalid_json"
                return _error(400, "invalid_json", "Format JSON tidak valid.")
            try:
                updates = adapter.parse_webhook(body, headers)
            except WebhookRejected as exc:
                outcome = "unparseable"
                return _error(400, "invalid_payload", f"Isi webhook tidak dikenali: {exc}")
        if not updates and is_empty_ping(body):
            outcome = "probe"
            return JSONResponse({"received": 0, "duplicates": 0}, status_code=200)
        stored, duplicates = await run_in_threadpool(_store, name, body, updates,
                                                     kept_headers(headers))
        if duplicates and not stored:
            outcome = "duplicate"
        return JSONResponse({"received": stored, "duplicates": duplicates}, status_code=200)
    finally:
        WEBHOOKS.labels(name, outcome).inc()
        WEBHOOK_LATENCY.labels(name).observe(time.perf_counter() - started)
