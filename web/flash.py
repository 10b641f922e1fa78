"""One-shot messages shown on the next page, kept in a small signed cookie.

Only catalog keys (plus their values) travel in the cookie, never HTML, and the signature
stops anyone from planting a message in a resident's browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from starlette.responses import Response

FLASH_COOKIE = "sipoke_flash"
LEVELS = ("info", "success", "warning", "error")


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()[:32]


def encode(secret: str, messages: list[dict[str, Any]]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(messages, separators=(",", ":")).encode())
    return f"{payload.decode()}.{_sign(secret, payload)}"


def decode(secret: str, raw: str | None) -> list[dict[str, Any]]:
    if not raw or "." not in raw:
        return []
    payload, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return []
    return [m for m in messages if isinstance(m, dict) and m.get("level") in LEVELS][:5]


def add(response: Response, secret: str, pending: list[dict[str, Any]], *, secure: bool) -> None:
    response.set_cookie(FLASH_COOKIE, encode(secret, pending), max_age=120, httponly=True,
                        samesite="lax", secure=secure, path="/")
