"""Fixtures for provider tests: a live sandbox server, a webhook receiver, the harnesses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.server import SandboxServer

API_KEY = "test-sandbox-key"
WEBHOOK_SECRET = "test-sandbox-webhook-secret"
FROZEN = 0.001  # time scale that keeps an order in its phase for the length of a test


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A real local HTTP endpoint that records webhooks; ``fail_next`` answers 500 first."""

    server: ThreadingHTTPServer
    url: str
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        import json

        with self.lock:
            return [json.loads(r.body) for r in self.received]

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = self.bodies()
            if predicate(bodies):
                return bodies
            time.sleep(0.02)
        raise AssertionError(f"webhooks never matched; got {self.bodies()}")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    holder: dict[str, WebhookReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rec = holder["r"]
            with rec.lock:
                failing = rec.fail_next > 0
                if failing:
                    rec.fail_next -= 1
                else:
                    rec.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec = WebhookReceiver(server, f"http://127.0.0.1:{server.server_address[1]}/webhooks/sandbox")
    holder["r"] = rec
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def sandbox_config(receiver: WebhookReceiver | None = None, **overrides: Any
                   ) -> SandboxServerConfig:
    base = {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "seed": 7,
            "webhook_url": receiver.url if receiver else None, "webhook_retry_base_s": 0.05,
            "webhook_timeout_s": 2, "location_ping_s": 0, "tick_s": 0.01, "time_scale": FROZEN}
    return SandboxServerConfig.from_mapping({**base, **overrides})


@pytest.fixture
def sandbox(receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    """A live sandbox server on a free port, frozen in time until a test speeds it up."""
    with SandboxServer(sandbox_config(receiver)).running() as server:
        yield server


class SandboxAdmin:
    def __init__(self, server: SandboxServer) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=5,
                                   headers={"Authorization": f"Bearer {API_KEY}"})

    def switches(self, **changes: Any) -> dict[str, Any]:
        response = self.client.patch("/v1/admin/switches", json=changes)
        assert response.status_code == 200, response.text
        return response.json()

    def webhook_log(self) -> list[dict[str, Any]]:
        return self.client.get("/v1/admin/webhooks").json()["deliveries"]


@pytest.fixture
def sandbox_admin(sandbox: SandboxServer) -> Iterator[SandboxAdmin]:
    admin = SandboxAdmin(sandbox)
    yield admin
    admin.client.close()


def sandbox_adapter_config(server: SandboxServer, **extra: Any) -> dict[str, Any]:
    return {"base_url": server.url, "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET,
            "read_timeout": 5, "connect_timeout": 2, **extra}
