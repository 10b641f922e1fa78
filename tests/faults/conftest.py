"""Fault-injection fixtures. The in-process ones reuse the delivery tests' live sandbox
(real HTTP, frozen clock) or :func:`recorded_sandbox`, which also keeps every request it
received; the process-level ones (``procs.py``) start their own Redis and PostgreSQL
instances on spare ports, never the shared ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from core.settings import reset_settings_cache
from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.server import SandboxServer
from tests.delivery.conftest import (  # noqa: F401 - fixtures shared with the delivery tests
    API_KEY,
    FROZEN,
    WEBHOOK_SECRET,
    installed,
    providers_env,
    sandbox_server,
)
from tests.faults.procs import own_redis, processes  # noqa: F401 - fixtures


@dataclass
class Seen:
    """Every request the sandbox received: (method, path, headers, body)."""

    requests: list[tuple[str, str, dict[str, str], bytearray]] = field(default_factory=list)

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _, _ in self.requests if m == method and p == path)


class _Recorder:
    """Pure ASGI middleware: keeps each request's raw body as the provider received it."""

    def __init__(self, app, seen: Seen) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = bytearray()  # filled as it arrives; recorded at the start of the request
        headers = {k.decode(): v.decode(errors="replace") for k, v in scope["headers"]}
        self.seen.requests.append((scope["method"], scope["path"], headers, body))

        async def recording_receive():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        await self.app(scope, recording_receive, send)


@dataclass
class RecordedSandbox:
    server: SandboxServer
    seen: Seen


@pytest.fixture
def recorded_sandbox(engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedSandbox]:
    """A live sandbox (frozen clock) that records every request, as the deployment's only
    provider."""
    config = SandboxServerConfig.from_mapping({
        "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "seed": 5, "webhook_url": None,
        "location_ping_s": 0, "tick_s": 0.01, "time_scale": FROZEN})
    server = SandboxServer(config)
    seen = Seen()
    server.app.add_middleware(_Recorder, seen=seen)
    env = {
        "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": server.url,
        "SIPOKE_PROVIDERS__SANDBOX__API_KEY": API_KEY,
        "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT": "1",
        "SIPOKE_PROVIDERS__INHOUSE__ENABLED": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    with server.running():
        yield RecordedSandbox(server, seen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow fault tests (subprocesses, recovery timers) run under ``make faults``
    (SIPOKE_FAULTS_SLOW=1); ``make test`` and CI run the fast ones only."""
    if os.environ.get("SIPOKE_FAULTS_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow fault test: run `make faults`")
    here = os.path.dirname(__file__)
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(here):
            item.add_marker(skip)
