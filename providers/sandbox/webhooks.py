"""Webhook delivery for the simulator: signed, retried with exponential backoff, logged.

One background thread sends due deliveries from a heap; a failed one (non-2xx, timeout,
refused connection) is rescheduled after ``base * 2**(attempt-1)`` seconds with jitter until
``max_attempts``. Each attempt is signed afresh (new timestamp) over the same body bytes.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from providers.sandbox.mapping import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


@dataclass
class Delivery:
    event_id: str
    order_id: str
    status: str
    body: bytes
    attempts: int = 0
    delivered: bool = False
    gave_up: bool = False
    last_error: str | None = None
    last_status: int | None = None  # the HTTP status of the last answer (None: no answer)
    sent_at: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "order_id": self.order_id, "status": self.status,
                "attempts": self.attempts, "delivered": self.delivered,
                "gave_up": self.gave_up, "last_error": self.last_error,
                "last_status": self.last_status}


class WebhookDispatcher:
    def __init__(self, *, url: str | None, secret: str, max_attempts: int, retry_base_s: float,
                 timeout_s: float, rng: random.Random) -> None:
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.rng = rng
        self.log: list[Delivery] = []
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._client = httpx.Client(timeout=timeout_s)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._client.close()

    def send(self, event: dict[str, Any]) -> None:
        """Queue one event for delivery now (no-op without a webhook URL)."""
        if not self.url:
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        delivery = Delivery(event["event_id"], event["order"]["order_id"],
                            event["order"]["status"], body)
        with self._cond:
            self.log.append(delivery)
            heapq.heappush(self._heap, (time.monotonic(), next(self._seq), delivery))
            self._cond.notify_all()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.as_dict() for d in self.log]

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stop:
                    return
                _, _, delivery = heapq.heappop(self._heap)
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(self.secret, timestamp, delivery.body),
                   "X-Sandbox-Event-Id": delivery.event_id}
        delivery.attempts += 1
        delivery.sent_at.append(time.monotonic())
        status: int | None = None
        try:
            response = self._client.post(self.url or "", content=delivery.body, headers=headers)
            status = response.status_code
            ok = 200 <= status < 300
            error = None if ok else f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok, error = False, repr(exc)
        with self._cond:
            delivery.last_status = status
            if ok:
                delivery.delivered, delivery.last_error = True, None
                return
            delivery.last_error = error
            if delivery.attempts >= self.max_attempts:
                delivery.gave_up = True
                return
            delay = self.retry_base_s * 2 ** (delivery.attempts - 1)
            delay *= self.rng.uniform(0.5, 1.0)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), delivery))
            self._cond.notify_all()
