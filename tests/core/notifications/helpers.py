"""Shared pieces of the notification tests: a WhatsApp-configured deployment, the Cloud API
and the SMS gateway as respx routes shaped like the public documentation
(docs/notifications.md), signed receipt webhooks, and notification rows."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import respx
from sqlalchemy import select

from core.db import unit_of_work
from core.models import Notification, Office, OutboxMessage
from core.notifications import notify

GRAPH = "https://graph.facebook.com/v23.0"
DEFAULT_SENDER = "100000000000001"
OFFICE_SENDER = "200000000000002"
GATEWAY = "https://sms-gateway.test/send"
TOKEN = "EAAG-test-access-token"
APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "verify-me-please"
PHONE = "+6281234560001"
WEBHOOK = "/notifications/whatsapp/webhook"

WHATSAPP_ENV = {
    "notify_channel": "whatsapp",
    "whatsapp_access_token": TOKEN,
    "whatsapp_phone_number_id": DEFAULT_SENDER,
    "whatsapp_app_secret": APP_SECRET,
    "whatsapp_verify_token": VERIFY_TOKEN,
    "notify_gateway_url": GATEWAY,
    "notify_gateway_token": "gateway-token",
}


def wamid(n: int = 1) -> str:
    return f"wamid.HBgNNjI4MTIzNDU2MDAwMRUCABEYEjk{n:03d}QkVFRDVBQTVDODFDOTg3MQA="


def accepted(message_id: str) -> httpx.Response:
    """The messages endpoint's answer to an accepted send."""
    return httpx.Response(200, json={
        "messaging_product": "whatsapp",
        "contacts": [{"input": "6281234560001", "wa_id": "6281234560001"}],
        "messages": [{"id": message_id, "message_status": "accepted"}],
    })


def graph_error(status: int, code: int, message: str) -> httpx.Response:
    """A Graph API error body, as the Cloud API answers a refused send."""
    return httpx.Response(status, json={"error": {
        "message": message, "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})


def messages_route(sender: str = DEFAULT_SENDER) -> respx.Route:
    return respx.post(f"{GRAPH}/{sender}/messages")


def gateway_route() -> respx.Route:
    return respx.post(GATEWAY)


def sent_json(route: respx.Route, index: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[index].request.content)


def status_webhook(message_id: str, status: str, *, errors: list[dict] | None = None,
                   timestamp: str = "1750857384") -> dict[str, Any]:
    """A ``messages`` webhook carrying one status, as the status webhook reference shows it."""
    item: dict[str, Any] = {
        "id": message_id, "status": status, "timestamp": timestamp,
        "recipient_id": "6281234560001",
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "authentication"},
    }
    if errors:
        item["errors"] = errors
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281100000001",
                         "phone_number_id": DEFAULT_SENDER},
            "statuses": [item]}}]}]}


UNDELIVERABLE = [{"code": 131026, "title": "Message undeliverable",
                  "message": "Message undeliverable",
                  "error_data": {"details": "Message Undeliverable."}}]


def signed(payload: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def office_id(slug: str = "mekarjaya") -> uuid.UUID:
    with unit_of_work() as s:
        return s.scalar(select(Office.id).where(Office.slug == slug))


def set_office_sender(slug: str, sender: str | None) -> None:
    with unit_of_work() as s:
        s.scalar(select(Office).where(Office.slug == slug)).whatsapp_phone_number_id = sender


def new_notification(kind: str = "otp", *, office: uuid.UUID | None = None,
                     sensitive: bool | None = None, **values: object) -> uuid.UUID:
    defaults: dict[str, dict[str, object]] = {
        "otp": {"code": "482913", "minutes": 5},
        "delivery_pin": {"courier": "Budi", "reference": "SKU-2026-0042", "pin": "730215"},
        "request_submitted": {"service": "Surat Keterangan Usaha", "reference": "SKU-2026-0042",
                              "office": "Kelurahan Mekarjaya"},
    }
    with unit_of_work() as s:
        return notify(s, recipient=PHONE, kind=kind, office_id=office,
                      sensitive=kind in ("otp", "delivery_pin") if sensitive is None
                      else sensitive, **{**defaults.get(kind, {}), **values}).id


def row(notification_id: uuid.UUID) -> Notification:
    with unit_of_work() as s:
        return s.get(Notification, notification_id)


def queued_sends(notification_id: uuid.UUID) -> int:
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxMessage).where(
            OutboxMessage.task_name == "notifications.send",
            OutboxMessage.published_at.is_(None))).all()
        return sum(1 for m in rows if str(m.kwargs.get("notification_id")) == str(notification_id))


def mark_published() -> None:
    """As if a worker had taken every queued task: later counts see only new ones."""
    from core.db import utcnow

    with unit_of_work() as s:
        for message in s.scalars(select(OutboxMessage).where(
                OutboxMessage.published_at.is_(None))):
            message.published_at = utcnow()
