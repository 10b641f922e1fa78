"""`sipoke run` on the embedded defaults (no PostgreSQL, no Redis) serves /healthz and /docs,
and SIGTERM stops every process it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.workers.conftest import stop_process_group

REPO = Path(__file__).resolve().parents[1]
# Seconds. Alone on 2 cores it serves in ~12-20 s (the issue asks for 30); the limit leaves
# room for a loaded CI machine.
START_LIMIT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc (no psutil)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
def test_sipoke_run_serves_then_stops_every_child(tmp_path: Path) -> None:
    port, sandbox_port = _free_port(), _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({
        "PYTHONPATH": str(REPO),
        "SIPOKE_PORT": str(port),
        "SIPOKE_BASE_URL": base_url,
        "SIPOKE_VAR_DIR": str(tmp_path / "var"),
        # The sandbox courier provider (when present) gets a free port too.
        "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": f"http://127.0.0.1:{sandbox_port}",
        "SIPOKE_PROVIDERS__SANDBOX__PUBLIC_URL": f"http://127.0.0.1:{sandbox_port}",
    })
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "sipoke.cli", "run"], cwd=tmp_path,
                                   env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    started = time.monotonic()
    try:
        ready = {"/healthz": False, "/docs": False}
        while not all(ready.values()):
            if process.poll() is not None:
                pytest.fail(f"sipoke run exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() - started > START_LIMIT:
                pytest.fail(f"not serving after {START_LIMIT} s:\n{log.read_text()[-4000:]}")
            for path in ready:
                with contextlib.suppress(httpx.HTTPError):
                    ready[path] = httpx.get(base_url + path, timeout=1).status_code == 200
            time.sleep(0.3)
        elapsed = time.monotonic() - started
        print(f"sipoke run served /healthz and /docs after {elapsed:.1f} s")

        output = log.read_text()
        assert f"{base_url}/docs" in output and f"{base_url}/healthz" in output
        assert "operator.mekarjaya" in output and "+6281234560001" in output  # demo logins
        assert (tmp_path / "var" / "sipoke.sqlite3").exists()  # embedded database
        # The sandbox courier company listens where its setting says, so two runs coexist.
        assert f"http://127.0.0.1:{sandbox_port}" in output
        deadline = time.monotonic() + 30
        while not _listening(sandbox_port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _listening(sandbox_port)
        assert httpx.get(base_url + "/readyz", timeout=5).json()["checks"]["database"] == "ok"

        children = _descendants(process.pid)
        assert len(children) >= 2, "api and worker run as children"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"still running after SIGTERM: {left}"
    finally:
        stop_process_group(process)
