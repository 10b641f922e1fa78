"""HSTS: browsers are told to stay on https whenever the public URL is https, on every
response (pages, API, probes, refusals); never over plain http, where it would be ignored
anyway and would wrongly pin a development host."""

from __future__ import annotations

from core.settings import reset_settings_cache

HSTS = "max-age=31536000; includeSubDomains"


def test_every_response_carries_hsts_when_the_base_url_is_https(client, demo,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("SIPOKE_BASE_URL", "https://layanan.example.go.id")
    reset_settings_cache()
    responses = {
        "probe": client.get("/healthz"),
        "page": client.get("/"),
        "api error": client.get("/api/v1/me"),
        "refused body": client.post("/api/v1/auth/login", content=b"[" * 5000,
                                    headers={"Content-Type": "application/json"}),
        "webhook": client.post("/webhooks/sandbox", content=b""),
    }
    for name, response in responses.items():
        assert response.headers.get("Strict-Transport-Security") == HSTS, name


def test_no_hsts_when_the_base_url_is_plain_http(client, demo) -> None:
    for response in (client.get("/healthz"), client.get("/"), client.get("/api/v1/me")):
        assert "Strict-Transport-Security" not in response.headers
