"""The WhatsApp Cloud API channel: template messages shaped as the public documentation shows
them, the office's own sender, and the SMS fallback (once) when WhatsApp refuses or fails.
Real databases; only WhatsApp's and the SMS gateway's HTTP are faked (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.notifications.channels import ChannelError, channel_from_settings
from core.notifications.service import WIPED_TEXT, deliver
from core.settings import get_settings
from tests.core.notifications.helpers import (
    DEFAULT_SENDER,
    GATEWAY,
    OFFICE_SENDER,
    PHONE,
    TOKEN,
    WHATSAPP_ENV,
    accepted,
    gateway_route,
    graph_error,
    messages_route,
    new_notification,
    office_id,
    row,
    sent_json,
    set_office_sender,
    wamid,
)


@pytest.fixture
def whatsapp(settings, tune, demo):
    tune(**WHATSAPP_ENV)


def _deliver(notification_id) -> str:
    return deliver(notification_id, channel_from_settings(get_settings()))


@respx.mock
def test_the_sign_in_code_goes_as_an_authentication_template(whatsapp, caplog) -> None:
    route = messages_route().mock(return_value=accepted(wamid(1)))
    sms = gateway_route().mock(return_value=httpx.Response(200))
    notification_id = new_notification("otp", code="482913")

    assert _deliver(notification_id) == "sent"

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent_json(route) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281234560001",
        "type": "template",
        "template": {
            "name": "sipoke_kode_masuk",
            "language": {"code": "id"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                {"type": "button", "sub_type": "url", "index": "0",
                 "parameters": [{"type": "text", "text": "482913"}]},
            ],
        },
    }
    assert not sms.called
    sent = row(notification_id)
    assert (sent.status, sent.channel, sent.attempts) == ("sent", "whatsapp", 1)
    assert sent.provider_message_id == wamid(1)
    assert sent.fallback_at is None and sent.claimed_at is None
    # Kept until WhatsApp reports it delivered: a "failed" receipt must be able to send the
    # code by SMS. Never in the logs.
    assert "482913" in sent.text
    assert not any("482913" in r.getMessage() for r in caplog.records)


@respx.mock
def test_the_handover_pin_and_a_status_change_use_their_templates(whatsapp) -> None:
    route = messages_route().mock(side_effect=[accepted(wamid(1)), accepted(wamid(2))])
    pin = new_notification("delivery_pin", courier="Budi", reference="SKU-2026-0042",
                           pin="730215")
    status = new_notification("request_submitted")

    assert _deliver(pin) == "sent"
    template = sent_json(route, 0)["template"]
    assert template["name"] == "sipoke_pin_serah_terima"
    assert template["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Budi"}, {"type": "text", "text": "SKU-2026-0042"},
        {"type": "text", "text": "730215"}]}]

    assert _deliver(status) == "sent"
    template = sent_json(route, 1)["template"]
    assert template["name"] == "sipoke_pemberitahuan"
    (body,) = template["components"]
    assert body["type"] == "body"
    assert body["parameters"] == [{"type": "text", "text": row(status).text}]
    assert "SKU-2026-0042" in body["parameters"][0]["text"]


@respx.mock
def test_the_offices_own_sender_is_used_else_the_deployments(whatsapp) -> None:
    set_office_sender("mekarjaya", OFFICE_SENDER)
    own = messages_route(OFFICE_SENDER).mock(return_value=accepted(wamid(1)))
    default = messages_route(DEFAULT_SENDER).mock(return_value=accepted(wamid(2)))

    assert _deliver(new_notification("request_submitted", office=office_id("mekarjaya"))) \
        == "sent"
    assert _deliver(new_notification("request_submitted", office=office_id("abadijaya"))) \
        == "sent"
    assert _deliver(new_notification("request_submitted")) == "sent"  # no office at all
    assert (own.call_count, default.call_count) == (1, 2)


def test_an_office_admin_sets_the_offices_sender(whatsapp, client, demo) -> None:
    headers = demo.headers("admin.mekarjaya")
    r = client.patch("/api/v1/offices/mekarjaya", headers=headers,
                     json={"whatsapp_phone_number_id": OFFICE_SENDER})
    assert r.status_code == 200, r.text
    r = client.patch("/api/v1/offices/mekarjaya", headers=headers,
                     json={"whatsapp_phone_number_id": "+62 811"})
    assert r.status_code == 422
    with respx.mock:
        own = messages_route(OFFICE_SENDER).mock(return_value=accepted(wamid(1)))
        assert _deliver(new_notification("otp", office=office_id("mekarjaya"))) == "sent"
        assert own.called


@respx.mock
@pytest.mark.parametrize("failure", [
    graph_error(400, 131026, "Message undeliverable"),
    graph_error(500, 131000, "Something went wrong"),
    httpx.ConnectTimeout("timed out"),
])
def test_a_failed_send_falls_back_to_sms_once(whatsapp, failure) -> None:
    route = messages_route().mock(side_effect=[failure])
    sms = gateway_route().mock(return_value=httpx.Response(200))
    notification_id = new_notification("otp", code="482913")

    assert _deliver(notification_id) == "sent"

    assert route.call_count == 1 and sms.call_count == 1
    sms_request = sms.calls.last.request
    assert sms_request.headers["Authorization"] == "Bearer gateway-token"
    assert sent_json(sms) == {"to": PHONE, "message": sent_json(sms)["message"]}
    assert "482913" in sent_json(sms)["message"]
    sent = row(notification_id)
    assert (sent.status, sent.channel, sent.attempts) == ("sent", "http", 1)
    assert sent.fallback_at is not None
    assert sent.last_error.startswith("whatsapp")
    assert sent.text == WIPED_TEXT  # sent by SMS: nothing will need the code again
    assert _deliver(notification_id) == "skipped"
    assert (route.call_count, sms.call_count) == (1, 1)


@respx.mock
def test_a_failing_sms_fallback_is_retried_by_sms_not_whatsapp(whatsapp) -> None:
    route = messages_route().mock(return_value=graph_error(400, 131026, "Undeliverable"))
    sms = gateway_route().mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    notification_id = new_notification("otp")

    with pytest.raises(ChannelError) as raised:
        _deliver(notification_id)
    assert raised.value.transient
    waiting = row(notification_id)
    assert (waiting.status, waiting.channel, waiting.attempts) == ("pending", "http", 1)
    assert "503" in waiting.last_error

    assert _deliver(notification_id) == "sent"  # the task's retry
    assert (route.call_count, sms.call_count) == (1, 2)
    assert row(notification_id).attempts == 2


@respx.mock
def test_without_an_sms_gateway_whatsapp_errors_keep_their_own_meaning(
        settings, tune, demo) -> None:
    tune(**{**WHATSAPP_ENV, "notify_gateway_url": ""})
    messages_route().mock(side_effect=[graph_error(503, 2, "Service temporarily unavailable"),
                                       graph_error(400, 132001, "Template name does not exist")])
    notification_id = new_notification("request_submitted")

    with pytest.raises(ChannelError):
        _deliver(notification_id)  # transient: back to pending for the task's retry
    assert row(notification_id).status == "pending"
    assert _deliver(notification_id) == "failed"  # permanent
    failed = row(notification_id)
    assert failed.status == "failed" and "#132001" in failed.last_error
    assert failed.fallback_at is None


@respx.mock
def test_an_office_without_any_sender_goes_by_sms(settings, tune, demo) -> None:
    tune(**{**WHATSAPP_ENV, "whatsapp_phone_number_id": ""})
    sms = gateway_route().mock(return_value=httpx.Response(200))
    notification_id = new_notification("request_submitted", office=office_id("abadijaya"))
    assert _deliver(notification_id) == "sent"
    assert sms.called and row(notification_id).channel == "http"
    assert "no sender" in row(notification_id).last_error


def test_the_whatsapp_channel_needs_its_token(settings, tune) -> None:
    from core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="SIPOKE_WHATSAPP_ACCESS_TOKEN"):
        load_settings(notify_channel="whatsapp")
    loaded = load_settings(notify_channel="whatsapp", whatsapp_access_token="t",
                           whatsapp_app_secret="", notify_gateway_url=GATEWAY)
    assert loaded.whatsapp_app_secret is None  # compose's empty variable means unset
    channels = channel_from_settings(loaded)
    assert channels.primary.name == "whatsapp" and channels.fallback.name == "http"
