"""The WhatsApp webhook: Meta's subscription check, signed delivery receipts (X-Hub-Signature-256
over the raw body), and a "failed" receipt sending the message by SMS, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import update

from core.app import create_app
from core.db import unit_of_work, utcnow
from core.models import Notification
from core.notifications.channels import channel_from_settings
from core.notifications.service import WIPED_TEXT, deliver
from core.settings import get_settings
from tests.core.notifications.helpers import (
    APP_SECRET,
    UNDELIVERABLE,
    VERIFY_TOKEN,
    WEBHOOK,
    WHATSAPP_ENV,
    accepted,
    gateway_route,
    mark_published,
    messages_route,
    new_notification,
    queued_sends,
    row,
    sent_json,
    signed,
    status_webhook,
    wamid,
)
from tests.fixtures import drain_outbox


@pytest.fixture
def whatsapp(settings, tune, demo):
    tune(**WHATSAPP_ENV)


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    """Core's own app (the factory every deployment's app is built from), without the other
    packages' routers: the door is core's."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _sent_over_whatsapp(kind: str = "otp", n: int = 1, **values: object):
    with respx.mock:
        messages_route().mock(return_value=accepted(wamid(n)))
        notification_id = new_notification(kind, **values)
        assert deliver(notification_id, channel_from_settings(get_settings())) == "sent"
    mark_published()
    return notification_id


def _post(client, payload: dict, secret: str = APP_SECRET):
    body, headers = signed(payload, secret)
    return client.post(WEBHOOK, content=body, headers=headers)


def test_meta_subscription_check_echoes_the_challenge(whatsapp, client) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444",
              "hub.verify_token": VERIFY_TOKEN}
    r = client.get(WEBHOOK, params=params)
    assert (r.status_code, r.text) == (200, "1158201444")
    assert client.get(WEBHOOK, params={**params, "hub.verify_token": "wrong"}).status_code \
        == 401
    assert client.get(WEBHOOK, params={**params, "hub.mode": "unsubscribe"}).status_code \
        == 401
    assert client.get(WEBHOOK).status_code == 401


def test_a_signed_receipt_is_applied_and_a_delivered_code_is_wiped(whatsapp, client) -> None:
    notification_id = _sent_over_whatsapp("otp", code="482913")
    assert "482913" in row(notification_id).text

    r = _post(client, status_webhook(wamid(1), "sent"))
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "applied": 1}
    assert row(notification_id).receipt == "sent"
    assert "482913" in row(notification_id).text

    assert _post(client, status_webhook(wamid(1), "delivered")).json()["applied"] == 1
    delivered = row(notification_id)
    assert (delivered.receipt, delivered.status) == ("delivered", "sent")
    assert delivered.receipt_at.timestamp() == 1750857384
    assert delivered.text == WIPED_TEXT and delivered.template_values is None

    # Late or repeated receipts change nothing: "sent" after "delivered", the same twice.
    assert _post(client, status_webhook(wamid(1), "sent")).json() == {"received": 1,
                                                                       "stale": 1}
    assert _post(client, status_webhook(wamid(1), "delivered")).json()["stale"] == 1
    assert _post(client, status_webhook(wamid(1), "read")).json()["applied"] == 1
    assert row(notification_id).receipt == "read"


def test_a_receipt_for_a_message_we_never_sent_is_answered_200(whatsapp, client) -> None:
    r = _post(client, status_webhook("wamid.someone-elses", "delivered"))
    assert r.status_code == 200 and r.json() == {"received": 1, "unknown": 1}
    # Incoming messages and other webhook fields carry no receipt for us.
    r = _post(client, {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messages": [{"from": "6281", "id": "wamid.x",
                                                      "type": "text"}]}}]}]})
    assert r.status_code == 200 and r.json() == {"received": 0}


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(whatsapp, client) -> None:
    notification_id = _sent_over_whatsapp()
    payload = status_webhook(wamid(1), "delivered")
    assert _post(client, payload, secret="not-the-app-secret").status_code == 401
    body, headers = signed(payload)
    tampered = body.replace(b'"delivered"', b'"read"')
    r = client.post(WEBHOOK, content=tampered, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
    assert client.post(WEBHOOK, content=body,
                       headers={"Content-Type": "application/json"}).status_code == 401
    assert row(notification_id).receipt is None


def test_without_an_app_secret_nothing_can_be_verified(settings, tune, demo, client) -> None:
    tune(**{**WHATSAPP_ENV, "whatsapp_app_secret": ""})
    assert _post(client, status_webhook(wamid(1), "delivered")).status_code == 401


def test_a_failed_receipt_sends_the_code_by_sms_once(whatsapp, client) -> None:
    notification_id = _sent_over_whatsapp("otp", code="482913")

    r = _post(client, status_webhook(wamid(1), "failed", errors=UNDELIVERABLE))
    assert r.status_code == 200 and r.json() == {"received": 1, "fallback": 1}
    waiting = row(notification_id)
    assert (waiting.status, waiting.receipt) == ("pending", "failed")
    assert waiting.fallback_at is not None
    assert "131026" in waiting.last_error
    assert queued_sends(notification_id) == 1

    # Meta retries the same receipt: no second fallback.
    assert _post(client, status_webhook(wamid(1), "failed", errors=UNDELIVERABLE)).json() \
        == {"received": 1, "applied": 1}
    assert queued_sends(notification_id) == 1

    with respx.mock:
        whatsapp_route = messages_route().mock(return_value=accepted(wamid(2)))
        sms = gateway_route().mock(return_value=httpx.Response(200))
        assert "notifications.send" in drain_outbox()
    assert not whatsapp_route.called
    assert sms.call_count == 1 and "482913" in sent_json(sms)["message"]
    sent = row(notification_id)
    assert (sent.status, sent.channel, sent.attempts) == ("sent", "http", 2)
    assert sent.provider_message_id == wamid(1)  # later WhatsApp receipts still match
    assert sent.text == WIPED_TEXT

    # A failed receipt after the fallback, or a late delivery, sends nothing more.
    assert _post(client, status_webhook(wamid(1), "failed")).json()["applied"] == 1
    assert _post(client, status_webhook(wamid(1), "delivered")).json()["applied"] == 1
    assert queued_sends(notification_id) == 0


def test_a_failed_receipt_after_a_delivery_is_ignored(whatsapp, client) -> None:
    notification_id = _sent_over_whatsapp("request_submitted")
    _post(client, status_webhook(wamid(1), "delivered"))
    assert _post(client, status_webhook(wamid(1), "failed")).json()["stale"] == 1
    assert (row(notification_id).status, row(notification_id).receipt) == ("sent", "delivered")
    assert queued_sends(notification_id) == 0


def test_a_failed_receipt_too_late_or_without_a_gateway_marks_it_failed(
        whatsapp, client, tune) -> None:
    late = _sent_over_whatsapp("request_submitted", 1)
    with unit_of_work() as s:
        s.execute(update(Notification).where(Notification.id == late)
                  .values(sent_at=utcnow() - timedelta(hours=1)))
    assert _post(client, status_webhook(wamid(1), "failed")).json()["applied"] == 1
    assert row(late).status == "failed" and queued_sends(late) == 0

    tune(**{**WHATSAPP_ENV, "notify_gateway_url": ""})
    code = _sent_over_whatsapp("otp", 2)
    assert row(code).text == WIPED_TEXT  # no fallback possible: wiped when sent
    assert _post(client, status_webhook(wamid(2), "failed")).json()["applied"] == 1
    assert row(code).status == "failed" and queued_sends(code) == 0


def test_one_post_may_carry_several_receipts(whatsapp, client) -> None:
    first = _sent_over_whatsapp("request_submitted", 1)
    second = _sent_over_whatsapp("request_submitted", 2)
    payload = status_webhook(wamid(2), "read")
    payload["entry"][0]["changes"][0]["value"]["statuses"].insert(
        0, status_webhook(wamid(1), "delivered")["entry"][0]["changes"][0]["value"]
        ["statuses"][0])
    r = _post(client, payload)
    assert r.json() == {"received": 2, "applied": 2}
    assert (row(first).receipt, row(second).receipt) == ("delivered", "read")


def test_malformed_json_with_a_valid_signature_is_a_400(whatsapp, client) -> None:
    import hashlib
    import hmac

    body = b'{"object": "whatsapp_business_account", "entry": ['
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    r = client.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": f"sha256={digest}",
                                                    "Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert json.loads(r.text)  # an error body, never a 500
