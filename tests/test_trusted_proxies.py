"""X-Forwarded-For is believed only from SIPOKE_TRUSTED_PROXIES: every command that starts
uvicorn passes the setting, and a client that forges the header is counted at its own address
(the per-client limits on sign-in codes cannot be dodged)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from core.db import unit_of_work
from core.models import OtpChallenge
from core.settings import reset_settings_cache
from sipoke.commands import sandbox, serve

PEER = "203.0.113.7"
SPOOFED = "9.9.9.9"


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


def _trust(monkeypatch: pytest.MonkeyPatch, proxies: str | None) -> None:
    if proxies is None:
        monkeypatch.delenv("SIPOKE_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("SIPOKE_TRUSTED_PROXIES", proxies)
    reset_settings_cache()


def _api_options(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]],
                 proxies: str | None) -> dict[str, Any]:
    _trust(monkeypatch, proxies)
    serve.api(argparse.Namespace(workers=1))
    return calls.pop()


def test_the_commands_pass_the_trusted_proxies_to_uvicorn(uvicorn_calls, monkeypatch) -> None:
    options = _api_options(monkeypatch, uvicorn_calls, None)
    assert options["proxy_headers"] is False  # nobody's forwarded headers are believed
    assert options["forwarded_allow_ips"] == ""  # never uvicorn's 127.0.0.1 default

    options = _api_options(monkeypatch, uvicorn_calls, "10.0.0.5, 172.18.0.0/16")
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.5,172.18.0.0/16"

    # The sandbox courier company is started by uvicorn too, with the same rule.
    args = argparse.Namespace(host="127.0.0.1", port=18100, webhook_url="none", seed=1,
                              **dict.fromkeys(sandbox.SWITCH_NAMES))
    sandbox.sandbox_provider(args)
    assert uvicorn_calls.pop()["forwarded_allow_ips"] == "10.0.0.5,172.18.0.0/16"


def _otp_client_ip(app, options: dict[str, Any], peer: str, forwarded_for: str) -> str:
    """Ask for a sign-in code through uvicorn's own app wrapping, from ``peer``, with a
    forged X-Forwarded-For: the client address stored with the code."""
    config = uvicorn.Config(app, **{**options, "factory": False})  # the app, built already
    config.load()

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/api/v1/auth/otp", json={"phone": "081234560001"},
                                headers={"X-Forwarded-For": forwarded_for})

    response = asyncio.run(ask())
    assert response.status_code == 202, response.text
    with unit_of_work() as s:
        return s.scalars(select(OtpChallenge.client_ip).order_by(OtpChallenge.id.desc())).first()


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(app, demo, uvicorn_calls,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("SIPOKE_OTP_PER_PHONE_PER_WINDOW", "10")  # four codes for one phone
    # Nobody is trusted by default, not even a local process (or an undeclared local proxy).
    options = _api_options(monkeypatch, uvicorn_calls, None)
    assert _otp_client_ip(app, options, "127.0.0.1", SPOOFED) == "127.0.0.1"
    assert _otp_client_ip(app, options, PEER, SPOOFED) == PEER

    options = _api_options(monkeypatch, uvicorn_calls, "10.0.0.0/8")
    assert _otp_client_ip(app, options, PEER, SPOOFED) == PEER  # not one of the proxies

    options = _api_options(monkeypatch, uvicorn_calls, PEER)  # the peer IS our proxy
    assert _otp_client_ip(app, options, PEER, SPOOFED) == SPOOFED
