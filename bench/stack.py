"""The benchmark's own stack: a throw-away PostgreSQL database, a dedicated Redis database
number with a key prefix of its own, and the product's processes as subprocesses (``sipoke
api``, ``sipoke worker``, ``sipoke sandbox-provider``), all on 127.0.0.1.

Everything is created by :class:`BenchStack` and removed by its ``close()``: processes are
stopped by process group, the database is dropped, the Redis keys are deleted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SANDBOX_KEY = "bench-sandbox-key"
SANDBOX_SECRET = "bench-sandbox-webhook-secret"
SECRET = "bench-secret-key-not-for-production-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_admin_url() -> str:
    url = os.environ.get("SIPOKE_BENCH_DATABASE_URL",
                         "postgresql://postgres@127.0.0.1:5432/postgres")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def redis_url() -> str:
    # A db number of its own (the tests use 13-15).
    return os.environ.get("SIPOKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def rss_bytes(pid: int) -> int:
    """Resident set of ``pid`` and all its descendants, from /proc."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(FileNotFoundError):
            for task in os.listdir(f"/proc/{current}/task"):
                kids = []
                with contextlib.suppress(FileNotFoundError), \
                        open(f"/proc/{current}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
    return out


def stop_group(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            # argv[3:]: the sipoke command, without this machine's interpreter path
            raise RuntimeError(f"sipoke {' '.join(map(str, process.args[3:]))} exited with "
                               f"{process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class BenchStack:
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sipoke-bench-")))
    db_name: str = field(default_factory=lambda: f"sipoke_bench_{uuid.uuid4().hex[:8]}")
    prefix: str = field(default_factory=lambda: f"sipoke-bench-{uuid.uuid4().hex[:8]}:")
    api_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    database_url: str = ""

    # --- database ------------------------------------------------------------------------

    def create_database(self) -> str:
        admin = make_url(pg_admin_url())
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        engine.dispose()
        self.database_url = admin.set(database=self.db_name).render_as_string(
            hide_password=False)
        from sipoke.migrate import upgrade

        upgrade(self.database_url)
        return self.database_url

    def drop_database(self) -> None:
        if not self.database_url:
            return
        engine = create_engine(make_url(pg_admin_url()), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        engine.dispose()

    # --- environment and processes ------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
        env.update({
            "PYTHONPATH": str(REPO),
            "SIPOKE_ENV": "development",
            "SIPOKE_SECRET_KEY": SECRET,
            "SIPOKE_VAR_DIR": str(self.tmp / "var"),
            "SIPOKE_DATABASE_URL": self.database_url,
            "SIPOKE_BROKER_URL": redis_url(),
            "SIPOKE_BROKER_KEY_PREFIX": self.prefix,
            "SIPOKE_HOST": "127.0.0.1",
            "SIPOKE_PORT": str(self.api_port),
            "SIPOKE_BASE_URL": self.api_url,
            "SIPOKE_LOG_LEVEL": "WARNING",
            "SIPOKE_BENCH_NOOP_ENDPOINT": "true",
            "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": self.sandbox_url,
            "SIPOKE_PROVIDERS__SANDBOX__API_KEY": SANDBOX_KEY,
            "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": SANDBOX_SECRET,
            "SIPOKE_PROVIDERS__SANDBOX__TICK_S": "0.5",
            "SIPOKE_PROVIDERS__INHOUSE__ENABLED": "false",
        })
        env.update(extra)
        return env

    def start(self, name: str, *args: str, url: str | None = None, **extra_env: str
              ) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(  # our interpreter, fixed argv
            [sys.executable, "-m", "sipoke.cli", *args], cwd=REPO, env=self.env(**extra_env),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        if url:
            wait_http(url, process)
        return process

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            stop_group(process)

    def clean_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(redis_url())
        with contextlib.suppress(redis.RedisError):
            keys = list(client.scan_iter(match=f"{self.prefix}*"))
            if keys:
                client.delete(*keys)
        client.close()

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        self.clean_redis()
        self.drop_database()
