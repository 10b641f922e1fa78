"""The WhatsApp Cloud API webhook: Meta's subscription check and signed delivery receipts.

``GET`` answers the verification request (``hub.mode=subscribe``, ``hub.verify_token``,
``hub.challenge``) with the challenge when the token matches. ``POST`` checks
``X-Hub-Signature-256`` on the raw body (401 without a valid one, also while no app secret
is configured: nothing can be verified), then applies the receipts in one short transaction
and answers 200, also for receipts it does not know, so Meta stops retrying.

Not under /api/v1 and not under /webhooks/ (the courier providers' door): the path is
registered in the Meta app's dashboard (docs/notifications.md).
"""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from core.bodies import parse_json
from core.db import unit_of_work
from core.notifications.receipts import apply_receipts
from core.notifications.whatsapp import Receipt, receipts, signature_ok
from core.openapi import errors, plain_text
from core.settings import get_settings

WEBHOOK_PATH = "/notifications/whatsapp/webhook"
_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,128}")

router = APIRouter(tags=["notifications"])


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "invalid_signature", "message": message}},
                        status_code=401)


@router.get(WEBHOOK_PATH, responses={**plain_text("hub.challenge"), **errors(400, 401)})
def verify_subscription(request: Request) -> Response:
    token = get_settings().whatsapp_verify_token
    query = request.query_params
    given = query.get("hub.verify_token") or ""
    if (token is None or query.get("hub.mode") != "subscribe"
            or not hmac.compare_digest(given.encode(), token.get_secret_value().encode())):
        return _refused("Token verifikasi webhook tidak valid.")
    challenge = query.get("hub.challenge") or ""
    if not _CHALLENGE.fullmatch(challenge):
        return JSONResponse({"error": {"code": "invalid_challenge",
                                       "message": "hub.challenge tidak valid."}},
                            status_code=400)
    return PlainTextResponse(challenge)


@router.post(WEBHOOK_PATH, responses=errors(400, 401, 413))
async def receive_receipts(request: Request) -> JSONResponse:
    body = await request.body()  # at most SIPOKE_MAX_JSON_BODY_BYTES (core.bodies)
    settings = get_settings()
    secret = settings.whatsapp_app_secret
    if secret is None or not signature_ok(body, request.headers.get("x-hub-signature-256"),
                                          secret.get_secret_value()):
        return _refused("Tanda tangan webhook tidak valid.")
    found = receipts(parse_json(body))  # malformed JSON: 400 invalid_json
    outcomes = await run_in_threadpool(_apply, found) if found else {}
    return JSONResponse({"received": len(found), **outcomes}, status_code=200)


def _apply(found: list[Receipt]) -> dict[str, int]:
    with unit_of_work() as session:
        return dict(apply_receipts(session, found, get_settings()))
