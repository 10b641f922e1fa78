"""The webhook doors under hostile input: a deeply nested body is a 400 at every door (never a
crash, whoever sends it and whatever it is signed with), and a provider that is switched off
or holds no webhook secret answers 404 and stores nothing."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.settings import reset_settings_cache
from delivery.models import TrackingEvent
from providers.errors import WebhookRejected
from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

NESTED = b"[" * 50000 + b"]" * 50000
SANDBOX_SECRET = "guards-sandbox-webhook-secret"
# Enabled, with the credentials and the webhook secrets each provider needs.
CONFIGURED = {
    "sandbox": {"ENABLED": "true", "WEBHOOK_SECRET": SANDBOX_SECRET},
    "lalamove": {"ENABLED": "true", "API_KEY": "pk_test_guards", "API_SECRET": "sk_test_guards"},
    "gosend": {"ENABLED": "true", "CLIENT_ID": "guards", "PASS_KEY": "pass",
               "WEBHOOK_TOKEN": "gosend-hook-token"},
    "grabexpress": {"ENABLED": "true", "CLIENT_ID": "guards", "CLIENT_SECRET": "secret",
                    "WEBHOOK_AUTHORIZATION": "grab-hook", "WEBHOOK_AUTHORIZATION_ID": "grab-id"},
    "biteship": {"ENABLED": "true", "API_KEY": "biteship_test.guards",
                 "WEBHOOK_SECRET": "biteship-hook-secret"},
}
# Enabled with credentials, but without the secret their webhooks are checked with.
WITHOUT_WEBHOOK_SECRET = {
    "gosend": {"ENABLED": "true", "CLIENT_ID": "guards", "PASS_KEY": "pass"},
    "grabexpress": {"ENABLED": "true", "CLIENT_ID": "guards", "CLIENT_SECRET": "secret",
                    "WEBHOOK_AUTHORIZATION": "grab-hook"},
    "biteship": {"ENABLED": "true", "API_KEY": "biteship_test.guards"},
}
# Any JSON object that names no order: what was stored raw, 256 KB at a time.
ANY_OBJECT = json.dumps({"event": "anything", "padding": "x" * 200_000}).encode()


def _configure(monkeypatch: pytest.MonkeyPatch, name: str, config: dict[str, str]) -> None:
    for key, value in config.items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__{name.upper()}__{key}", value)
    reset_settings_cache()


def _sandbox_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {"Content-Type": "application/json", TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(SANDBOX_SECRET, ts, body)}


def _events() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(TrackingEvent)) or 0


def _post(client, name: str, body: bytes):
    headers = _sandbox_headers(body) if name == "sandbox" else {
        "Content-Type": "application/json"}
    return client.post(f"/webhooks/{name}", content=body, headers=headers)


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_nested_json_is_400_at_every_door_and_the_next_webhook_works(client, engine,
                                                                     monkeypatch, name):
    _configure(monkeypatch, name, CONFIGURED[name])
    for _ in range(2):
        response = _post(client, name, NESTED)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_json"
    assert _events() == 0

    if name == "sandbox":  # a genuine event, signed
        event = {"event_id": "evt_after_nested", "type": "wallet.low",
                 "occurred_at": "2026-01-01T00:00:00Z",
                 "order": {"order_id": "9", "status": "CREATED",
                           "updated_at": "2026-01-01T00:00:00Z"}}
        after = _post(client, name, json.dumps(event).encode())
    else:  # the provider's URL probe
        after = client.post(f"/webhooks/{name}", content=b"")
    assert after.status_code == 200, after.text


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_a_switched_off_provider_door_is_404_and_stores_nothing(client, engine, monkeypatch,
                                                                name):
    _configure(monkeypatch, name, {**CONFIGURED[name], "ENABLED": "false"})
    for body in (ANY_OBJECT, b"{}", b"", b'{"order_id": "1", "status": "delivered"}'):
        response = _post(client, name, body)
        assert response.status_code == 404, (body[:40], response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert _events() == 0


@pytest.mark.parametrize("name", sorted(WITHOUT_WEBHOOK_SECRET))
def test_a_provider_without_its_webhook_secret_is_404_and_stores_nothing(client, engine,
                                                                         monkeypatch, name):
    _configure(monkeypatch, name, WITHOUT_WEBHOOK_SECRET[name])
    for body in (ANY_OBJECT, b"{}", b""):
        response = client.post(f"/webhooks/{name}", content=body)
        assert response.status_code == 404, response.text
    assert _events() == 0


def test_an_unsigned_biteship_body_naming_no_order_is_never_stored(client, engine,
                                                                    monkeypatch):
    _configure(monkeypatch, "biteship", CONFIGURED["biteship"])
    for _ in range(5):  # Biteship's installation test comes without our header: 200
        response = client.post("/webhooks/biteship", content=ANY_OBJECT,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json() == {"received": 0, "duplicates": 0}
    assert _events() == 0


def test_biteship_without_a_secret_accepts_nothing_unsigned() -> None:
    from providers.biteship import webhooks

    for body in (b"", b"{}", ANY_OBJECT, b'{"order_id": "1", "status": "delivered"}'):
        for received in (None, ""):
            with pytest.raises(WebhookRejected):
                webhooks.verify(body, secret="", received=received)
