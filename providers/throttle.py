"""Client-side rate limits, so we stay under what a provider documents instead of
collecting 429s (Lalamove: 100 quotations and 100 orders a minute, at most 2 orders a second;
Grab: 33 creates a second...).

A sliding window per (provider, endpoint) shared by every adapter instance in this process.
Celery runs several processes, so the window is per process: set limits with that margin in
mind (the provider's 429 + Retry-After is still handled by :mod:`providers.http`). A call
that would exceed the window waits if the wait is short (``max_wait_s``), otherwise raises a
:class:`TransientProviderError` with ``retry_after`` and nothing sent, so the task retries
later instead of holding a worker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from providers.errors import TransientProviderError


@dataclass(frozen=True)
class Limit:
    calls: int
    per_s: float


class Throttle:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_wait_s: float = 1.0) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_wait_s = max_wait_s
        self._calls: dict[tuple[str, str, float], deque[float]] = {}
        self._lock = threading.Lock()

    def _reserve(self, key: tuple[str, str, float], limit: Limit) -> float:
        """Record the call now and return 0, or return how long to wait (nothing recorded)."""
        now = self.clock()
        with self._lock:
            window = self._calls.setdefault(key, deque())
            while window and window[0] <= now - limit.per_s:
                window.popleft()
            if len(window) < limit.calls:
                window.append(now)
                return 0.0
            return window[0] + limit.per_s - now

    def acquire(self, provider: str, endpoint: str, *limits: Limit) -> None:
        """Wait for a slot under every limit of this endpoint, or raise TransientProviderError."""
        for limit in limits:
            if limit.calls <= 0:
                continue
            key = (provider, endpoint, limit.per_s)
            while True:
                wait = self._reserve(key, limit)
                if wait <= 0:
                    break
                if wait > self.max_wait_s:
                    raise TransientProviderError(
                        f"client-side rate limit for {endpoint} ({limit.calls}/{limit.per_s:g}s)",
                        provider=provider, retry_after=round(wait, 3), outcome_unknown=False)
                self.sleep(wait)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


# One per process: adapters are built per call, the limits must outlive them.
THROTTLE = Throttle()
