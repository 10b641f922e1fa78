"""Processes the process-level fault tests start, kill and restart: their own Redis (and
PostgreSQL, see ``own_postgres``), and the product's ``sipoke api`` / ``sipoke worker``
subprocesses pointed at them. Everything is killed by process group when the test ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str,
             interval: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class OwnRedis:
    """``redis-server`` on a spare port, no persistence: a restart loses every message."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=15, what="own redis-server")
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(directory=tmp_path)
    server.start()
    yield server
    server.kill()


@dataclass
class Processes:
    """``sipoke api`` and ``sipoke worker`` subprocesses sharing one environment."""

    env: dict[str, str]
    logs: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *args: str, **extra_env: str) -> subprocess.Popen:
        log = (self.logs / f"{name}-{uuid.uuid4().hex[:6]}.log").open("wb")
        providers = {k: v for k, v in os.environ.items() if k.startswith("SIPOKE_PROVIDERS__")}
        process = subprocess.Popen(
            [sys.executable, "-m", "sipoke.cli", *args], cwd=REPO,
            env={**self.env, **providers, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.running[name] = process
        return process

    def api(self, name: str = "api", **extra_env: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start(name, "api", SIPOKE_PORT=str(port), SIPOKE_BASE_URL=url,
                             **extra_env)

        def up() -> bool:
            assert process.poll() is None, f"{name} exited:\n{self.output()}"
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, what=f"{name} to answer")
        return url

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running.pop(name, None)
        if process is not None:
            kill_group(process, sig)

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.logs.glob("*.log")))

    def close(self) -> None:
        for name in list(self.running):
            self.kill(name, signal.SIGTERM)


@pytest.fixture
def processes(engine, tmp_path: Path) -> Iterator[Processes]:
    """Subprocess environment: the test's database, fast sweeps and relay; each start adds
    the provider settings the test has set (``SIPOKE_PROVIDERS__*``). Callers add the broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({
        "PYTHONPATH": str(REPO),
        "SIPOKE_ENV": "test",
        "SIPOKE_SECRET_KEY": TEST_SECRET,
        "SIPOKE_VAR_DIR": str(tmp_path / "var"),
        "SIPOKE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SIPOKE_LOG_LEVEL": "WARNING",
        "SIPOKE_LOG_JSON": "false",
        "SIPOKE_OUTBOX_RELAY_INTERVAL": "0.5",
        "SIPOKE_DELIVERY_SWEEP_INTERVAL": "1",
        "SIPOKE_DELIVERY__STUCK_AFTER_S": "3",
    })
    procs = Processes(env=env, logs=tmp_path)
    yield procs
    procs.close()
