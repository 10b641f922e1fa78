"""Providers check a webhook URL with an empty probe before they send anything (Lalamove and
Biteship refuse a URL that does not answer 200). The probe stores nothing; a forged non-empty
body to the same URL is still refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.settings import reset_settings_cache
from delivery.models import TrackingEvent

PROVIDERS = {
    "lalamove": {"ENABLED": "true", "API_KEY": "pk_test_probe", "API_SECRET": "sk_test_probe"},
    "biteship": {"ENABLED": "true", "API_KEY": "biteship_test_probe",
                 "WEBHOOK_SECRET": "probe-secret"},
}


def _events() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(TrackingEvent)) or 0


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_empty_probe_answers_200_and_stores_nothing(client, monkeypatch, name):
    for key, value in PROVIDERS[name].items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__{name.upper()}__{key}", value)
    reset_settings_cache()

    for probe in (b"", b"{}"):
        response = client.post(f"/webhooks/{name}", content=probe)
        assert response.status_code == 200, response.text
        assert response.json()["received"] == 0

    forged = b'{"eventType": "ORDER_STATUS_CHANGED", "order_id": "x", "status": "delivered"}'
    assert client.post(f"/webhooks/{name}", content=forged).status_code == 401
    assert _events() == 0
