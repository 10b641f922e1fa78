"""WhatsApp Business Cloud API: template messages out, delivery receipts in.

As docs/notifications.md describes it: ``POST {api}/{phone-number-id}/messages`` with a bearer
token sends an approved template (business-initiated messages must be templates); the answer
carries the message's ``wamid``, which the ``messages`` webhook's ``statuses`` later refer to.
Receipts are signed: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``.

Nothing here logs or keeps a message's text or template values: they hold codes and PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from core.notifications.channels import ChannelError
from core.settings import Settings

# notify() values a template needs beyond the rendered text, in the template's order.
TEMPLATE_VALUES: dict[str, tuple[str, ...]] = {
    "otp": ("code",),
    "delivery_pin": ("courier", "reference", "pin"),
}
# Graph API error codes that say "try again later" (rate limits, a temporary outage), from
# the Cloud API error code reference; any other refusal is permanent.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131056, 133004})
RECEIPT_RANK = {"sent": 1, "delivered": 2, "read": 3}
_SPACES = re.compile(r"\s+")


def template_values(kind: str, values: dict[str, object]) -> list[str] | None:
    names = TEMPLATE_VALUES.get(kind)
    if names is None or not all(name in values for name in names):
        return None
    return [str(values[name]) for name in names]


def parameter_text(text: str) -> str:
    """A template parameter may hold no newline, tab or run of more than four spaces."""
    return _SPACES.sub(" ", text).strip()[:1024]


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: list[str]
    copy_code: str | None = None  # authentication templates: the code behind the button

    def components(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{
            "type": "body",
            "parameters": [{"type": "text", "text": parameter_text(v)} for v in self.body],
        }]
        if self.copy_code is not None:
            # An authentication template's copy-code (OTP) button is a URL button once the
            # template is created; it is sent with the code as its one parameter.
            parts.append({"type": "button", "sub_type": "url", "index": "0",
                          "parameters": [{"type": "text", "text": self.copy_code}]})
        return parts


def template_for(kind: str, text: str, values: list[str] | None,
                 settings: Settings) -> Template:
    """The template a notification goes out with: the sign-in code and the handover PIN have
    their own; every other message (request and delivery status changes) fills the generic
    status template with its whole text."""
    language = settings.whatsapp_language
    if kind == "otp" and values:
        return Template(settings.whatsapp_template_otp, language, [values[0]],
                        copy_code=values[0])
    if kind == "delivery_pin" and values:
        return Template(settings.whatsapp_template_pin, language, list(values))
    return Template(settings.whatsapp_template_status, language, [text])


def wa_recipient(phone: str) -> str:
    """E.164 without the plus, as WhatsApp ids are written (+6281... -> 6281...)."""
    return phone.removeprefix("+")


class WhatsAppChannel:
    """The Cloud API's messages endpoint, one client (and connection pool) per process."""

    name = "whatsapp"

    def __init__(self, api_url: str, token: str, *, default_sender: str | None = None,
                 timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.default_sender = default_sender
        self.client = client or httpx.Client(timeout=timeout)

    def send_template(self, recipient: str, template: Template, *,
                      sender: str | None = None) -> str:
        """Send; the message's wamid, or :class:`ChannelError`."""
        sender = sender or self.default_sender
        if not sender:
            raise ChannelError("whatsapp: no sender phone number id for this office",
                               transient=False)
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_recipient(recipient),
            "type": "template",
            "template": {"name": template.name, "language": {"code": template.language},
                         "components": template.components()},
        }
        try:
            response = self.client.post(f"{self.api_url}/{sender}/messages", json=body,
                                        headers={"Authorization": f"Bearer {self.token}"})
        except httpx.TransportError as exc:
            raise ChannelError(f"whatsapp unreachable: {exc.__class__.__name__}",
                               transient=True) from exc
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ChannelError(f"whatsapp answered {response.status_code} without a message id",
                               transient=False) from None


def _refusal(response: httpx.Response) -> ChannelError:
    """A Graph API error as a ChannelError: code, type and message, never the request's
    values (``error_data.details`` may quote them)."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    transient = (response.status_code == 429 or response.status_code >= 500
                 or code in TRANSIENT_CODES)
    what = f"whatsapp answered {response.status_code}"
    if code is not None:
        what += f": #{code} {error.get('type') or ''} {error.get('message') or ''}"
    return ChannelError(what.strip()[:300], transient=transient)


# --- delivery receipts ---------------------------------------------------------------------

def signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` and the hex HMAC-SHA256 of the raw body keyed
    with the app secret; compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").strip().lower(), expected)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    status: str  # sent, delivered, read, failed (anything else is kept and ignored)
    at: datetime
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error_text(self) -> str:
        return "; ".join(f"#{e.get('code')} {e.get('title') or e.get('message') or ''}".strip()
                         for e in self.errors if isinstance(e, dict))[:300]


def receipts(payload: Any) -> list[Receipt]:
    """Every ``statuses`` item of a ``messages`` webhook (one POST may batch several entries,
    changes and statuses); anything else in it (incoming messages, errors) is not ours."""
    found: list[Receipt] = []
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return found
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for status in value.get("statuses") or []:
                if not isinstance(status, dict) or not status.get("id"):
                    continue
                found.append(Receipt(message_id=str(status["id"])[:128],
                                     status=str(status.get("status") or "").lower(),
                                     at=_time(status.get("timestamp")),
                                     errors=list(status.get("errors") or [])))
    return found


def _time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)
