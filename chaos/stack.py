"""The chaos run's own stack, all on 127.0.0.1 and spare ports, never the shared services:

* a throw-away PostgreSQL cluster (``initdb`` in a temporary directory, ``pg_ctl``; as the
  ``postgres`` user when run as root), crashed with ``-m immediate`` and started again;
* ``redis-server`` without persistence, so a restart comes back empty;
* the product's processes as subprocesses, each in its own process group: the sandbox
  provider, ``sipoke api --workers 2``, the dispatch worker (threads), the prefork worker
  and beat.

``close()`` stops everything and removes the temporary directory. The process helpers are
the benchmark's (``bench.stack``); the PostgreSQL and Redis handling follows the process
fault tests (``tests/faults``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.stack import free_port, stop_group, wait_http

REPO = Path(__file__).resolve().parents[1]
SANDBOX_KEY = "chaos-sandbox-key"
SANDBOX_SECRET = "chaos-sandbox-webhook-secret"
SECRET = "chaos-secret-key-not-for-production-0123456789abcdef"

# name -> sipoke command line
COMMANDS: dict[str, tuple[str, ...]] = {
    "api": ("api", "--workers", "2"),
    # The compose workers: provider calls on threads, the rest on processes (4, as compose).
    "threads": ("worker", "--queues", "dispatch", "--pool", "threads", "--concurrency", "16"),
    "prefork": ("worker", "--queues", "default,tracking,notifications", "--pool", "prefork",
                "--concurrency", "4"),
    "beat": ("beat",),
}


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} (PostgreSQL server binaries) is not installed")
    return path


class OwnPostgres:
    """A PostgreSQL cluster of this run's own, in ``directory``, on a spare port."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *argv] if self.as_root else list(argv)
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)

    def url(self, database: str = "chaos") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run(pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust",
                  "-U", "postgres", "--no-sync")
        self.start()
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE chaos"))
        admin.dispose()

    def start(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                  # fsync off survives a server crash (the OS keeps what was written), not a
                  # machine crash; commits stay synchronous, so none acknowledged is lost.
                  "-c fsync=off -c max_connections=300")

    def crash(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")

    def destroy(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.crash()


class OwnRedis:
    """``redis-server`` on a spare port, no persistence: a restart loses every message."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(  # fixed argv
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        import redis

        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 15
        try:
            while True:
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError("own redis-server did not start")
                time.sleep(0.1)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None:
            stop_group(self.process, timeout=0)
            self.process = None


@dataclass
class ChaosStack:
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sipoke-chaos-")))
    api_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    sandbox_seed: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    postgres: OwnPostgres | None = None
    redis: OwnRedis | None = None
    restarts: dict[str, int] = field(default_factory=dict)
    # Held while a fault kills and restarts processes, so the supervisor keeps out of it.
    lock: threading.RLock = field(default_factory=threading.RLock)
    exited: list[str] = field(default_factory=list)
    closing: bool = False

    def __post_init__(self) -> None:
        os.chmod(self.tmp, 0o755)  # the postgres user must reach its directory inside
        self.logs = self.tmp / "logs"
        self.logs.mkdir()

    # --- services -------------------------------------------------------------------------

    def start_services(self) -> None:
        self.postgres = OwnPostgres(self.tmp / "pg")
        self.postgres.init()
        self.redis = OwnRedis(self.tmp)
        self.redis.start()

    @property
    def database_url(self) -> str:
        assert self.postgres is not None
        return self.postgres.url()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def env(self) -> dict[str, str]:
        assert self.redis is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
        env.update({
            "PYTHONPATH": str(REPO),
            "SIPOKE_ENV": "development",
            "SIPOKE_SECRET_KEY": SECRET,
            "SIPOKE_VAR_DIR": str(self.tmp / "var"),
            "SIPOKE_DATABASE_URL": self.database_url,
            "SIPOKE_BROKER_URL": self.redis.url,
            "SIPOKE_HOST": "127.0.0.1",
            "SIPOKE_PORT": str(self.api_port),
            "SIPOKE_BASE_URL": self.api_url,
            "SIPOKE_LOG_LEVEL": "WARNING",
            "SIPOKE_LOG_JSON": "false",
            # Faster clocks than production, so a lost task is re-driven within the run.
            "SIPOKE_OUTBOX_RELAY_INTERVAL": "1",
            "SIPOKE_DELIVERY_SWEEP_INTERVAL": "5",
            "SIPOKE_DELIVERY__STUCK_AFTER_S": "10",
            "SIPOKE_DELIVERY__POLL_AFTER_S": "20",
            "SIPOKE_DELIVERY__CHOICE_POLICY": "cheapest",
            "SIPOKE_TASK_SOFT_TIME_LIMIT": "20",
            "SIPOKE_TASK_TIME_LIMIT": "30",
            "SIPOKE_VISIBILITY_TIMEOUT": "60",
            "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": self.sandbox_url,
            "SIPOKE_PROVIDERS__SANDBOX__API_KEY": SANDBOX_KEY,
            "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": SANDBOX_SECRET,
            "SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT": "5",
            "SIPOKE_PROVIDERS__SANDBOX__TICK_S": "0.2",
            "SIPOKE_PROVIDERS__SANDBOX__LOCATION_PING_S": "0",
            "SIPOKE_PROVIDERS__SANDBOX__QUOTE_VALIDITY_S": "1800",
            "SIPOKE_PROVIDERS__INHOUSE__ENABLED": "false",
        })
        return env

    # --- processes ------------------------------------------------------------------------

    def start(self, name: str) -> subprocess.Popen:
        if name == "sandbox":
            args: tuple[str, ...] = ("sandbox-provider", "--port", str(self.sandbox_port),
                                     "--seed", str(self.sandbox_seed), "--time-scale", "20")
        else:
            args = COMMANDS[name]
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # our interpreter, fixed argv
            [sys.executable, "-m", "sipoke.cli", *args], cwd=REPO, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes[name] = process
        if name == "api":
            wait_http(f"{self.api_url}/healthz", process)
        elif name == "sandbox":
            wait_http(f"{self.sandbox_url}/healthz", process)
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.start(name)

    def children(self, name: str) -> list[int]:
        """The direct children of a process (uvicorn's or Celery's pool processes)."""
        process = self.processes[name]
        kids: list[int] = []
        with contextlib.suppress(FileNotFoundError):
            for task in os.listdir(f"/proc/{process.pid}/task"):
                with contextlib.suppress(FileNotFoundError), \
                        open(f"/proc/{process.pid}/task/{task}/children") as f:
                    kids += [int(x) for x in f.read().split()]
        return sorted(set(kids))

    def signal_group(self, name: str, sig: int) -> None:
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def supervise(self, stop: threading.Event, started: float) -> None:
        """What the deployment's restart policy (compose: ``restart: unless-stopped``) does: a
        process that exits by itself is started again. Each such exit is recorded."""
        while not stop.wait(1.0):
            with self.lock:
                if self.closing:
                    return
                for name, status in self.dead().items():
                    line = (f"t={time.monotonic() - started:6.1f}s  {name} exited by itself "
                            f"(status {status}); started again")
                    self.exited.append(line)
                    print(f"chaos: {line}", flush=True)
                    self.restart(name)

    def dead(self) -> dict[str, int]:
        """Processes that exited by themselves, with their exit status."""
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}

    def api_up(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_errors(self) -> dict[str, int]:
        """Tracebacks per process log (informational: faults cause some)."""
        return {p.stem: p.read_text(errors="replace").count("Traceback")
                for p in sorted(self.logs.glob("*.log"))}

    def close(self) -> None:
        with self.lock:
            self.closing = True
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)  # a paused sandbox must hear SIGTERM
            stop_group(process, timeout=5)
        if self.redis is not None:
            self.redis.kill()
        if self.postgres is not None:
            self.postgres.destroy()
        keep = os.environ.get("CHAOS_LOGS")
        if keep:  # the processes' logs (and PostgreSQL's), for a closer look
            shutil.copytree(self.logs, Path(keep), dirs_exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(self.tmp / "pg" / "log", Path(keep) / "postgresql.log")
        shutil.rmtree(self.tmp, ignore_errors=True)
