"""Load generators, bounded in count and time, loopback only.

* :func:`wrk_saturate`: ``wrk`` (C, cheap on the shared CPU) replaying pre-built requests
  from a file through ``bench/replay.lua``; used when ``wrk`` is installed.
* :func:`py_saturate`: the fallback, an asyncio + httpx closed loop.
* :func:`py_paced`: an open loop at a fixed rate (asyncio + httpx); latency is measured from
  each request's SCHEDULED send time, so a stalled server is not hidden by a stalled client
  (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("replay.lua")
Request = tuple[bytes, dict[str, str]]  # body, headers


@dataclass
class LoadResult:
    tool: str
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk_saturate(url: str, requests: list[Request], path_dir: Path, *, seconds: int,
                 connections: int = 64, threads: int = 2) -> LoadResult:
    """Replay ``requests`` (each thread takes every ``threads``-th one) for ``seconds``."""
    lines = []
    for body, headers in requests:
        head = "\x1f".join(f"{k}: {v}" for k, v in headers.items())
        lines.append(head.replace("\t", " ") + "\t" + body.decode().replace("\n", " "))
    data = path_dir / f"wrk-{int(time.time() * 1000)}.txt"
    data.write_text("\n".join(lines) + "\n")
    out = subprocess.run(  # fixed argv
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", str(LUA), url, "--", str(data), str(threads)],
        capture_output=True, text=True, timeout=seconds + 30, check=False)
    data.unlink(missing_ok=True)
    text = out.stdout
    total = int(re.search(r"(\d+) requests in", text).group(1)) if "requests in" in text else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", text)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(tool="wrk", sent=total, ok=max(0, total - errors), errors=errors,
                      seconds=float(seconds), latencies_ms=_wrk_latencies(text))


def _wrk_latencies(text: str) -> list[float]:
    """wrk prints 50/75/90/99 %; kept as a 4-value list (p50 first, p99 last)."""
    found = []
    for pct in ("50%", "75%", "90%", "99%"):
        m = re.search(rf"\s{pct}\s+([\d.]+)(us|ms|s)", text)
        if m:
            value, unit = float(m.group(1)), m.group(2)
            found.append(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value)
    return found


async def _saturate(url: str, make: Callable[[int], Request], seconds: float,
                    concurrency: int, max_requests: int) -> LoadResult:
    latencies: list[float] = []
    counters = {"sent": 0, "ok": 0, "errors": 0}
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        async def loop() -> None:
            while time.monotonic() < stop_at and counters["sent"] < max_requests:
                body, headers = make(counters["sent"])
                counters["sent"] += 1
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    good = response.status_code < 300
                except httpx.HTTPError:
                    good = False
                latencies.append((time.perf_counter() - started) * 1000)
                counters["ok" if good else "errors"] += 1

        began = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return LoadResult("python-httpx", counters["sent"], counters["ok"], counters["errors"],
                      elapsed, latencies)


def py_saturate(url: str, make: Callable[[int], Request], *, seconds: float,
                concurrency: int = 32, max_requests: int = 100_000) -> LoadResult:
    return asyncio.run(_saturate(url, make, seconds, concurrency, max_requests))


async def _paced(url: str | Callable[[int], str], make: Callable[[int], Request],
                 rate: float, count: int, max_in_flight: int, grace_s: float) -> LoadResult:
    latencies: list[float] = []
    counters = {"ok": 0, "errors": 0}
    gate = asyncio.Semaphore(max_in_flight)
    limits = httpx.Limits(max_connections=max_in_flight,
                          max_keepalive_connections=max_in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        began = time.perf_counter()

        async def one(i: int, scheduled: float) -> None:
            body, headers = make(i)
            async with gate:
                try:
                    target = url(i) if callable(url) else url
                    response = await client.post(target, content=body, headers=headers)
                    good = response.status_code < 300
                except httpx.HTTPError:
                    good = False
            latencies.append((time.perf_counter() - scheduled) * 1000)
            counters["ok" if good else "errors"] += 1

        tasks = []
        scheduled_at = []
        for i in range(count):
            scheduled = began + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            scheduled_at.append(scheduled)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        # Bounded: whatever has not been answered ``grace_s`` after the last send is cut off
        # and counted as an error, its latency as at least the time it waited.
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        cut = time.perf_counter()
        for i, task in enumerate(tasks):
            if task in pending:
                task.cancel()
                latencies.append((cut - scheduled_at[i]) * 1000)
                counters["errors"] += 1
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.perf_counter() - began
    return LoadResult("python-httpx", count, counters["ok"], counters["errors"], elapsed,
                      latencies)


def py_paced(url: str | Callable[[int], str], make: Callable[[int], Request], *,
             rate: float, count: int, max_in_flight: int = 200, grace_s: float = 10
             ) -> LoadResult:
    return asyncio.run(_paced(url, make, rate, count, max_in_flight, grace_s))
