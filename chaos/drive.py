"""The load and the faults of a chaos run, both on the plan's clock.

Residents act over HTTP like the web page would: ask for delivery; where the office lets
the resident choose, wait for the quotes and pick the cheapest; some cancel. A call that
fails (connection refused, 5xx while a fault lasts) is tried again, as a person would, until
it gets an answer or its deadline passes. The faults run one after another at their planned
times, each put right after its downtime.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from chaos.data import Resident
from chaos.schedule import Fault, Plan
from chaos.stack import ChaosStack

RETRY_FOR_S = 150.0


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class Residents:
    def __init__(self, stack: ChaosStack, people: list[Resident], plan: Plan) -> None:
        self.stack, self.people, self.plan = stack, people, plan
        self.tally = Tally()
        self.client = httpx.Client(base_url=f"{stack.api_url}/api/v1", timeout=15,
                                   limits=httpx.Limits(max_connections=64))

    def _call(self, method: str, path: str, person: Resident, json: dict | None = None,
              deadline: float | None = None) -> httpx.Response | None:
        """The answer to a call, retried over transport errors and 5xx until ``deadline``."""
        deadline = deadline or time.monotonic() + RETRY_FOR_S
        pause = 0.5
        while True:
            try:
                response = self.client.request(
                    method, path, json=json, headers={"Authorization": f"Bearer {person.token}"})
                if response.status_code < 500:
                    return response
                self.tally.add(f"http {response.status_code} (retried)")
            except httpx.HTTPError as exc:
                self.tally.add(f"{type(exc).__name__} (retried)")
            if time.monotonic() + pause > deadline:
                self.tally.add("gave up after retries")
                return None
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    def ask_for_delivery(self, person: Resident) -> None:
        body = {"request_id": str(person.request_id), "address": person.address,
                "lat": person.lat, "lng": person.lng}
        r = self._call("POST", "/deliveries", person, body)
        if r is None:
            return
        # 409: an earlier try went through but its answer was lost with the process
        self.tally.add(f"ask for delivery -> {r.status_code}")
        if r.status_code in (200, 201, 409) and person.chooses:
            self.choose(person)

    def choose(self, person: Resident) -> None:
        deadline = time.monotonic() + RETRY_FOR_S
        while time.monotonic() < deadline:
            r = self._call("GET", f"/deliveries/by-request/{person.request_id}", person,
                           deadline=deadline)
            if r is None or r.status_code != 200:
                time.sleep(1)
                continue
            d = r.json()
            if d["state"] == "quoting":
                time.sleep(1)
                continue
            if d["state"] != "awaiting_choice":
                self.tally.add(f"choice not needed ({d['state']})")
                return
            fresh = [q for q in d["quotes"] if not q["expired"]]
            if not fresh:
                time.sleep(1)
                continue
            best = min(fresh, key=lambda q: q["resident_pays"])
            c = self._call("POST", f"/deliveries/{d['id']}/choose", person,
                           {"quote_id": best["id"]}, deadline=deadline)
            if c is not None:
                self.tally.add(f"choose quote -> {c.status_code}")
                if c.status_code == 200:
                    return
            time.sleep(1)
        self.tally.add("choice gave up")

    def cancel(self, person: Resident) -> None:
        r = self._call("GET", f"/deliveries/by-request/{person.request_id}", person)
        if r is None or r.status_code != 200:
            self.tally.add("cancel: no delivery yet")
            return
        c = self._call("POST", f"/deliveries/{r.json()['id']}/cancel", person,
                       {"reason": "Tidak jadi, diambil sendiri"})
        self.tally.add(f"cancel -> {c.status_code if c is not None else 'no answer'}")

    def run(self, started: float) -> None:
        """Every planned action at its time; returns when all have finished."""
        actions = sorted([(t, 0, i) for t, i in self.plan.requests]
                         + [(t, 1, i) for t, i in self.plan.cancels])
        with ThreadPoolExecutor(max_workers=48, thread_name_prefix="resident") as pool:
            for at, kind, index in actions:
                wait = started + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                person = self.people[index]
                pool.submit(self.cancel if kind else self.ask_for_delivery, person)
        self.client.close()


class Faults(threading.Thread):
    def __init__(self, stack: ChaosStack, plan: Plan, started: float) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.stack, self.plan, self.started = stack, plan, started
        self.done: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for fault in self.plan.faults:
            wait = self.started + fault.at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            at = time.monotonic() - self.started
            try:
                with self.stack.lock:
                    note = self.inject(fault)
                line = f"t={at:6.1f}s  {fault.kind} {fault.target}: {note}"
            except Exception as exc:  # a fault that could not be put right is a finding
                line = f"t={at:6.1f}s  {fault.kind} {fault.target}: ERROR {exc!r}"
                self.errors.append(line)
            self.done.append(line)
            print(f"chaos: fault {line}", flush=True)

    def inject(self, fault: Fault) -> str:
        s = self.stack
        if fault.kind == "kill_worker":
            if fault.target == "prefork_child":
                kids = s.children("prefork")
                if not kids:
                    return "no pool child to kill"
                _kill(kids[0])
                return f"killed pool child {kids[0]}"
            s.kill(fault.target)
            time.sleep(fault.down_s)
            s.restart(fault.target)
            return f"killed, restarted after {fault.down_s}s"
        if fault.kind == "kill_api":
            if fault.target == "one":
                kids = s.children("api")
                if not kids:
                    return "no API child to kill"
                _kill(kids[0])
                time.sleep(fault.down_s)
                return f"killed API process {kids[0]} (uvicorn replaces it)"
            s.kill("api")
            time.sleep(fault.down_s)
            s.restart("api")
            return f"killed both, restarted after {fault.down_s}s"
        if fault.kind == "restart_redis":
            assert s.redis is not None
            s.redis.kill()
            time.sleep(fault.down_s)
            s.redis.start()
            return f"killed, started empty after {fault.down_s}s"
        if fault.kind == "restart_postgres":
            assert s.postgres is not None
            s.postgres.crash()
            time.sleep(fault.down_s)
            s.postgres.start()
            return f"crashed, started after {fault.down_s}s"
        if fault.kind == "pause_sandbox":
            s.signal_group("sandbox", signal.SIGSTOP)
            try:
                time.sleep(fault.down_s)
            finally:
                s.signal_group("sandbox", signal.SIGCONT)
            return f"paused {fault.down_s}s"
        raise ValueError(fault.kind)


def _kill(pid: int) -> None:
    import contextlib
    import os

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
