"""B5 memory, from /proc (VmRSS, summed over a process and its children):

* :class:`RssSampler` samples the API and worker every 0.25 s while B1/B2 run, keeping the
  peak of each process tree and of its largest single process;
* :func:`embedded_stack` starts ``sipoke run`` (SQLite, SQLAlchemy broker, worker + beat and
  the sandbox in child processes) in a temporary directory, waits for it, sends a little
  traffic, and reads the whole tree's RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.stack import REPO, descendants, free_port, rss_bytes, stop_group, wait_http

MB = 1024 * 1024


def _largest(pid: int) -> int:
    return max((rss_bytes_single(p) for p in [pid, *descendants(pid)]), default=0)


def rss_bytes_single(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


class RssSampler:
    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        self.peak_tree = dict.fromkeys(pids, 0)
        self.peak_process = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak_tree[name] = max(self.peak_tree[name], rss_bytes(pid))
                self.peak_process[name] = max(self.peak_process[name], _largest(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def result(self) -> dict:
        return {name: {"tree_mb": round(self.peak_tree[name] / MB, 1),
                       "largest_process_mb": round(self.peak_process[name] / MB, 1)}
                for name in self.pids}


def embedded_stack(timeout_s: float = 90) -> dict:
    """``sipoke run`` as a person starts it (``make run``), measured after start-up and after
    a little traffic. The sandbox binds its default port 8100; if that is taken the run
    reports it instead of a figure."""
    tmp = Path(tempfile.mkdtemp(prefix="sipoke-bench-embedded-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({"PYTHONPATH": str(REPO), "SIPOKE_VAR_DIR": str(tmp / "var"),
                "SIPOKE_PORT": str(port), "SIPOKE_BASE_URL": f"http://127.0.0.1:{port}",
                "SIPOKE_LOG_LEVEL": "WARNING"})
    with socket_free(8100) as free:
        if not free:
            return {"error": "port 8100 (the embedded sandbox's) is in use; not measured"}
    log = (tmp / "run.log").open("wb")
    process = subprocess.Popen(  # our interpreter, fixed argv
        [sys.executable, "-m", "sipoke.cli", "run"], cwd=REPO, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, timeout=timeout_s)
        time.sleep(5)  # worker, beat and sandbox finish starting
        idle = rss_bytes(process.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(200):
                client.get("/healthz")
                client.get("/")
        time.sleep(2)
        busy = rss_bytes(process.pid)
        parts = {str(p): round(rss_bytes_single(p) / MB, 1)
                 for p in [process.pid, *descendants(process.pid)]}
        return {"processes": len(parts), "idle_total_mb": round(idle / MB, 1),
                "after_traffic_total_mb": round(busy / MB, 1), "per_process_mb": parts}
    except RuntimeError as exc:
        return {"error": str(exc), "log": (tmp / "run.log").read_text(errors="replace")[-1500:]}
    finally:
        stop_group(process)


class socket_free:
    """``with socket_free(port) as free``: can 127.0.0.1:port be bound right now?"""

    def __init__(self, port: int) -> None:
        self.port = port

    def __enter__(self) -> bool:
        import socket

        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                return False
        return True

    def __exit__(self, *_: object) -> None:
        return None
