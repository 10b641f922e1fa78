"""The app on a real socket, and a burst of truly parallel HTTP requests against it.

Limits must hold when requests race through the server's worker threads and the database at
the same time; the in-process test client sends one request at a time, so these tests run
uvicorn in a thread and fire from a thread pool, all released at once by a barrier.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the duration; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def burst(count: int, send: Callable[[httpx.Client, int], httpx.Response]) -> Counter[int]:
    """Send ``count`` requests at the same moment, each from its own thread and connection;
    the status codes answered, counted."""
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return send(client, i).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(one, range(count)))


class CallCounter:
    """Wraps a function to count its calls across threads; ``delay`` widens the window in
    which a racing request could slip past a limit, so a lost update cannot hide."""

    def __init__(self, fn: Callable[..., Any], *, delay: float = 0.01) -> None:
        self.fn, self.delay, self.calls = fn, delay, 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return self.fn(*args, **kwargs)
