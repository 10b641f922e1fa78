"""B6: the embedded default (``sipoke run``: SQLite, the SQLite broker, API + worker + beat +
sandbox, as ``make run`` starts it) at a kelurahan's busy hour.

``residents`` deliveries wait for their resident's choice; the choices are sent over one
minute (``POST /api/v1/deliveries/{id}/choose``, paced, each timed from its scheduled send);
the sandbox answers every call after ``latency_ms`` and, running its clock ``time_scale``
times faster, walks each order through its statuses with signed webhooks to the API (as a
courier company would over the next hour). Measured, by polling the database:

* booking overhead: ``attempt.booked_at - choice scheduled - provider latency``;
* every stored tracking event applied, and how long after it was received (the first poll
  that sees it applied, so at most ``POLL_S`` late).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from bench import data
from bench.loadgen import percentile, raw_paced
from bench.memory import socket_free
from bench.stack import REPO, free_port, stop_group, wait_http

POLL_S = 0.25
SANDBOX_KEY = "bench-embedded-sandbox-key"


def _bind(env: dict[str, str]) -> None:
    """Point this process's settings and database at the embedded run's (nothing of the
    PostgreSQL stack's settings may remain)."""
    for key in [k for k in os.environ if k.startswith("SIPOKE_")]:
        del os.environ[key]
    for key, value in env.items():
        if key.startswith("SIPOKE_"):
            os.environ[key] = value
    from core import db
    from core.settings import get_settings, reset_settings_cache

    reset_settings_cache()
    db.configure(get_settings().database_url)


class Watcher:
    """Polls the database every ``POLL_S`` from before the first choice to the end: when
    each delivery was booked, and when each stored webhook event was first seen applied."""

    def __init__(self, ids: list) -> None:
        self.ids = ids
        self.booked: dict = {}
        self.applied: dict[int, tuple[float, float]] = {}
        self.pending = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def done(self) -> bool:
        return len(self.booked) == len(self.ids) and not self.pending and bool(self.applied)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(POLL_S)

    def poll(self) -> None:
        from core.db import unit_of_work
        from delivery.models import DeliveryAttempt, TrackingEvent

        now = time.time()
        with unit_of_work() as s:
            for delivery_id, at in s.execute(
                    select(DeliveryAttempt.delivery_id, DeliveryAttempt.booked_at)
                    .where(DeliveryAttempt.delivery_id.in_(self.ids),
                           DeliveryAttempt.booked_at.is_not(None))):
                self.booked[delivery_id] = at.timestamp()
            rows = s.execute(select(TrackingEvent.id, TrackingEvent.received_at,
                                    TrackingEvent.outcome)
                             .where(TrackingEvent.source == "webhook",
                                    TrackingEvent.id.not_in(list(self.applied) or [-1]))
                             ).all()
        pending = 0
        for event_id, received, outcome in rows:
            if outcome == "pending":
                pending += 1
            else:
                self.applied[event_id] = (received.timestamp(), now)
        self.pending = pending


def run(*, residents: int = 30, over_s: float = 60, latency_ms: int = 200,
        time_scale: float = 20, settle_s: float = 15, timeout_s: float = 60) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="sipoke-bench-busy-"))
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({"PYTHONPATH": str(REPO), "SIPOKE_VAR_DIR": str(tmp / "var"),
                "SIPOKE_PORT": str(port), "SIPOKE_BASE_URL": f"http://127.0.0.1:{port}",
                "SIPOKE_LOG_LEVEL": "WARNING",
                "SIPOKE_PROVIDERS__SANDBOX__BASE_URL": f"http://127.0.0.1:{sandbox_port}",
                "SIPOKE_PROVIDERS__SANDBOX__API_KEY": SANDBOX_KEY})
    with socket_free(sandbox_port) as free:
        if not free:
            return {"error": f"port {sandbox_port} taken; not measured"}
    log = (tmp / "run.log").open("wb")
    process = subprocess.Popen(  # our interpreter, fixed argv
        [sys.executable, "-m", "sipoke.cli", "run"], cwd=REPO, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, timeout=90)
        wait_http(f"http://127.0.0.1:{sandbox_port}/healthz", process, timeout=60)
        time.sleep(3)  # worker and beat finish starting
        _bind(env)
        ids = data.deliveries_awaiting_choice(residents)
        headers = data.bearer(data.SITI)
        with httpx.Client(base_url=f"http://127.0.0.1:{sandbox_port}", timeout=10,
                          headers={"Authorization": f"Bearer {SANDBOX_KEY}"}) as sandbox:
            sandbox.patch("/v1/admin/switches", json={
                "latency_ms": latency_ms, "time_scale": time_scale}).raise_for_status()
        from core.db import unit_of_work
        from delivery.models import DeliveryQuote

        with unit_of_work() as s:
            quote_of = dict(s.execute(select(DeliveryQuote.delivery_id, DeliveryQuote.id)
                                      .where(DeliveryQuote.delivery_id.in_(ids))).all())
        requests = [(json.dumps({"quote_id": str(quote_of[d])}).encode(),
                     {**headers, "Content-Type": "application/json"}) for d in ids]
        rate = residents / over_s
        with Watcher(ids) as watcher:
            load = raw_paced(
                lambda i: f"http://127.0.0.1:{port}/api/v1/deliveries/{ids[i]}/choose",
                requests, rate=rate, connections=8, grace_s=30)
            # The orders go on after the last choice: the couriers' webhooks keep arriving.
            time.sleep(settle_s)
            deadline = time.monotonic() + timeout_s
            while not watcher.done() and time.monotonic() < deadline:
                time.sleep(POLL_S)
        booked, applied, pending = watcher.booked, watcher.applied, watcher.pending
        sent = {d: load.began_at + i / rate for i, d in enumerate(ids)}
        overheads = [(booked[d] - sent[d]) * 1000 - latency_ms for d in ids if d in booked]
        delays = [(seen - received) for received, seen in applied.values()]
        return {
            "residents": residents, "over_s": over_s, "provider_latency_ms": latency_ms,
            "sandbox_time_scale": time_scale, "choose_http_errors": load.errors,
            "choose_statuses": {str(k): v for k, v in load.statuses.items()},
            "booked": len(booked),
            "overhead_p50_ms": round(percentile(overheads, 50), 1),
            "overhead_p99_ms": round(percentile(overheads, 99), 1),
            "webhook_events": len(applied) + pending, "events_applied": len(applied),
            "events_pending_at_end": pending,
            "apply_delay_p50_s": round(percentile(delays, 50), 2),
            "apply_delay_max_s": round(max(delays), 2) if delays else None,
            "poll_s": POLL_S,
        }
    except RuntimeError as exc:
        return {"error": str(exc), "log": (tmp / "run.log").read_text(errors="replace")[-1500:]}
    finally:
        stop_group(process)
