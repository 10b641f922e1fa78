"""/metrics is read by the scraper holding SIPOKE_METRICS_TOKEN (a bearer token compared in
constant time); without a token it is open only outside production."""

from __future__ import annotations

import pytest

from core.settings import reset_settings_cache

TOKEN = "scrape-0123456789abcdef"


@pytest.fixture
def metrics_token(engine, monkeypatch) -> str:
    monkeypatch.setenv("SIPOKE_METRICS_TOKEN", TOKEN)
    reset_settings_cache()
    return TOKEN


def test_metrics_ask_for_the_bearer_token(client, metrics_token) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                    {"Authorization": f"Bearer {metrics_token}x"},
                    {"Authorization": metrics_token},
                    {"Authorization": f"Basic {metrics_token}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
        assert "sipoke_" not in response.text
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert allowed.status_code == 200
    assert "sipoke_webhooks_total" in allowed.text


def test_without_a_token_metrics_are_open_in_development_only(client, engine,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("SIPOKE_ENV", "development")
    reset_settings_cache()
    assert client.get("/metrics").status_code == 200
    monkeypatch.setenv("SIPOKE_ENV", "production")
    reset_settings_cache()
    response = client.get("/metrics")
    assert response.status_code == 404
    assert "sipoke_" not in response.text
