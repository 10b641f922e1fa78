"""A real Celery worker in a subprocess, on the test Redis and the test's own database.

The worker gets a dedicated Redis database number and a key prefix unique to this run, so
test runs sharing one Redis never take each other's messages. It is always stopped (its
whole process group) when the test ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import REDIS_URL, TEST_SECRET, missing_service

REPO = Path(__file__).resolve().parents[2]
WORKER_DB = 14  # not the db number SIPOKE_TEST_REDIS_URL names (CI: 15)


@dataclass
class RedisBroker:
    url: str
    prefix: str


@pytest.fixture
def redis_broker() -> Iterator[RedisBroker]:
    if not REDIS_URL:
        missing_service("redis")
    import redis

    base = redis.Redis.from_url(REDIS_URL)
    db = WORKER_DB if base.connection_pool.connection_kwargs.get("db", 0) != WORKER_DB else 13
    url = REDIS_URL.rsplit("/", 1)[0] + f"/{db}" if REDIS_URL.count("/") > 2 \
        else f"{REDIS_URL}/{db}"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is not reachable: {exc}")
    prefix = f"sipoke-test-{uuid.uuid4().hex[:10]}:"
    yield RedisBroker(url=url, prefix=prefix)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    base.close()


@dataclass
class Gateway:
    """A WhatsApp/SMS gateway on a local port: records messages, fails for some numbers."""

    url: str
    received: list[dict] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["authorization"] = self.headers.get("Authorization")
            state.received.append(body)
            status = 503 if body.get("to") in state.failing else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def stop_process_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
    if process.poll() is None:
        process.wait(timeout=5)


@pytest.fixture
def start_worker(engine: Engine, redis_broker: RedisBroker, gateway: Gateway,
                 tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def _start(*extra_args: str, **extra_env: str) -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
        env.update({
            "PYTHONPATH": str(REPO),
            "SIPOKE_ENV": "test",
            "SIPOKE_VAR_DIR": str(tmp_path / "worker-var"),
            "SIPOKE_SECRET_KEY": TEST_SECRET,
            "SIPOKE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SIPOKE_BROKER_URL": redis_broker.url,
            "SIPOKE_BROKER_KEY_PREFIX": redis_broker.prefix,
            "SIPOKE_NOTIFY_CHANNEL": "http",
            "SIPOKE_NOTIFY_GATEWAY_URL": gateway.url,
            "SIPOKE_NOTIFY_GATEWAY_TOKEN": "gateway-token",
            "SIPOKE_NOTIFY_MAX_RETRIES": "1",
            "SIPOKE_OUTBOX_RELAY_INTERVAL": "0.5",
            "SIPOKE_LOG_JSON": "true",
            **extra_env,
        })
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "sipoke.cli", "worker", "--concurrency", "1",
                 *extra_args],
                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we stop all of it
            )
        worker = WorkerProcess(process=process, log=log)
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        stop_process_group(worker.process)


def wait_until(predicate: Callable[[], object], *, timeout: float = 30,
               worker: WorkerProcess | None = None, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"worker exited ({worker.process.returncode}) before {what}:\n"
                        + worker.output())
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}" + (
        f"; worker output:\n{worker.output()}" if worker else ""))
