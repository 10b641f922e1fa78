"""``sipoke providers list|quote`` and ``sipoke sandbox-provider`` running on its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from core.settings import reset_settings_cache
from sipoke.cli import main
from tests.providers.conftest import API_KEY

PICKUP, DROPOFF, SURABAYA = "-6.3925,106.8420", "-6.3952,106.8461", "-7.2575,112.7521"


@pytest.fixture
def sandbox_env(sandbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__BASE_URL", sandbox.url)
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__API_KEY", API_KEY)
    reset_settings_cache()
    yield sandbox
    reset_settings_cache()


def test_providers_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "list"]) == 0
    out = capsys.readouterr().out
    assert "sandbox" in out and "inhouse" in out and "webhooks" in out
    assert main(["providers", "list", "--json"]) == 0
    assert '"quote_validity_s": 300' in capsys.readouterr().out


def test_providers_quote_prints_the_quote(sandbox_env, capsys) -> None:
    assert main(["providers", "quote", "sandbox", "--pickup", PICKUP, "--dropoff", DROPOFF]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["currency"] == "IDR" and int(lines["price"]) > 0
    assert lines["quote_id"].startswith("sq_") and lines["expires_at"].startswith("20")


def test_providers_quote_errors_are_one_line(sandbox_env, capsys, monkeypatch) -> None:
    assert main(["providers", "quote", "sandbox", "--pickup", PICKUP,
                 "--dropoff", SURABAYA]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sandbox" in err and "beyond" in err
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__API_KEY", "wrong")
    reset_settings_cache()
    assert main(["providers", "quote", "sandbox", "--pickup", PICKUP, "--dropoff", DROPOFF]) == 1
    assert "UNAUTHORIZED" in capsys.readouterr().err
    assert main(["providers", "quote", "nope", "--pickup", PICKUP, "--dropoff", DROPOFF]) == 1
    assert main(["providers", "quote", "sandbox", "--pickup", "x", "--dropoff", DROPOFF]) == 2
    monkeypatch.setenv("SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT", "soon")
    reset_settings_cache()
    capsys.readouterr()
    assert main(["providers", "quote", "sandbox", "--pickup", PICKUP, "--dropoff", DROPOFF]) == 2
    assert "SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_provider_runs_on_its_own(tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "SIPOKE_PROVIDERS__SANDBOX__API_KEY": "standalone-key",
           "SIPOKE_LOG_JSON": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sipoke.cli", "sandbox-provider", "--port", str(port),
         "--webhook-url", "none", "--error-rate", "0", "--time-scale", "50"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.1)
        headers = {"Authorization": "Bearer standalone-key"}
        switches = httpx.get(f"{url}/v1/admin/switches", headers=headers).json()
        assert switches["time_scale"] == 50
        quote = httpx.post(f"{url}/v1/quotes", headers=headers, json={
            "pickup": {"lat": -6.3925, "lng": 106.842}, "dropoff": {"lat": -6.3952,
                                                                  "lng": 106.8461}})
        assert quote.status_code == 201 and quote.json()["price"]["currency"] == "IDR"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_inhouse_quote_needs_the_office(demo, capsys) -> None:
    assert main(["providers", "quote", "inhouse", "--pickup", PICKUP, "--dropoff", DROPOFF,
                 "--office", "mekarjaya"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["provider"] == "inhouse" and lines["price"] == "0"
    assert main(["providers", "quote", "inhouse", "--pickup", PICKUP, "--dropoff", DROPOFF]) == 1
    assert "office_id is required" in capsys.readouterr().err
    assert main(["providers", "quote", "inhouse", "--pickup", PICKUP, "--dropoff", DROPOFF,
                 "--office", "atlantis"]) == 1
