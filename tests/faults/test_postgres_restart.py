"""F5 PostgreSQL restarted during a webhook burst, on a PostgreSQL instance of this test's
own (``initdb`` + ``pg_ctl`` in a temporary directory on a spare port; as the ``postgres``
user when run as root), never the shared one.

A ``sipoke api`` subprocess receives signed webhooks (each a new event) at a steady pace;
mid-burst the database is stopped with ``-m immediate`` (a crash) and started again. Every
webhook answered 2xx must be stored; every other answer must be a 5xx (so the provider
retries, never a 4xx that would make it give up); re-sending the refused ones stores them,
and each event is stored exactly once.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import TEST_SECRET
from tests.delivery.conftest import signed
from tests.faults.procs import REPO, free_port, kill_group, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SECRET = "f5-webhook-secret"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or \
        ([shutil.which(name)] if shutil.which(name) else [])
    if not found:
        pytest.skip(f"{name} is not installed")
    return found[-1]


class OwnPostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sipoke-f5-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *argv: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *argv] if self.as_root else list(argv)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/faults"

    def init(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust",
                  "-U", "postgres", "--no-sync")
        self.start()
        admin = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE faults"))
        admin.dispose()

    def start(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-l",
                  str(self.dir / "log"), "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")

    def crash(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.crash()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    pg.init()
    yield pg
    pg.destroy()


def _event(i: int) -> dict:
    return {"event_id": f"evt_f5_{i}_{uuid.uuid4().hex[:6]}", "type": "order.status",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "order": {"order_id": f"so_f5_{i}", "client_reference": f"spk-f5-{i}",
                      "status": "ALLOCATING", "updated_at": "2026-01-01T00:00:00+00:00"}}


def test_f5_postgres_restarted_during_a_webhook_burst(own_postgres, tmp_path):
    from sipoke.migrate import upgrade

    upgrade(own_postgres.url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({"PYTHONPATH": str(REPO), "SIPOKE_ENV": "test", "SIPOKE_SECRET_KEY": TEST_SECRET,
                "SIPOKE_VAR_DIR": str(tmp_path / "var"), "SIPOKE_DATABASE_URL": own_postgres.url,
                "SIPOKE_BROKER_URL": "memory://", "SIPOKE_OUTBOX_PUBLISH_AFTER_COMMIT": "false",
                "SIPOKE_PORT": str(port), "SIPOKE_LOG_LEVEL": "WARNING",
                "SIPOKE_PROVIDERS__SANDBOX__WEBHOOK_SECRET": SECRET})
    log = (tmp_path / "api.log").open("wb")
    api = subprocess.Popen([sys.executable, "-m", "sipoke.cli", "api"], cwd=REPO, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/webhooks/sandbox"
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="api")
        events = [_event(i) for i in range(150)]
        answers: dict[str, int] = {}

        def burst() -> None:
            with httpx.Client(timeout=15) as client:
                for event in events:
                    body, headers = signed(event, secret=SECRET)
                    try:
                        answers[event["event_id"]] = client.post(url, content=body,
                                                                 headers=headers).status_code
                    except httpx.HTTPError:
                        answers[event["event_id"]] = 599  # no answer: not acknowledged
                    time.sleep(0.03)

        sender = threading.Thread(target=burst)
        sender.start()
        wait_for(lambda: len(answers) >= 30, timeout=60, what="the burst to start")
        own_postgres.crash()
        time.sleep(1.5)
        own_postgres.start()
        sender.join(timeout=180)
        assert len(answers) == len(events)
        codes = set(answers.values())
        assert 200 in codes
        refused = [e for e, code in answers.items() if code != 200]
        assert refused, "the database was down: some webhooks must have been refused"
        assert all(answers[e] >= 500 for e in refused), sorted(codes)  # never a 4xx

        engine = create_engine(own_postgres.url.replace("postgresql://",
                                                        "postgresql+psycopg://"))
        with engine.connect() as conn:
            stored = set(conn.scalars(text("SELECT provider_event_id FROM tracking_events")))
        acknowledged = {e for e, code in answers.items() if code == 200}
        assert acknowledged <= stored, "an acknowledged webhook was lost"

        # The provider retries the refused ones: all stored, each exactly once.
        with httpx.Client(timeout=15) as client:
            for event in events:
                if event["event_id"] in refused or event["event_id"] in acknowledged:
                    body, headers = signed(event, secret=SECRET)
                    assert client.post(url, content=body, headers=headers).status_code == 200
        with engine.connect() as conn:
            rows = list(conn.scalars(text("SELECT provider_event_id FROM tracking_events")))
        engine.dispose()
        assert sorted(rows) == sorted(e["event_id"] for e in events)
    finally:
        kill_group(api)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
