"""Load generators, bounded in count and time, loopback only.

* :func:`wrk_saturate`: ``wrk`` (C, cheap on the shared CPU) replaying pre-built requests
  from a file through ``bench/replay.lua``; used when ``wrk`` is installed.
* :func:`py_saturate`: the fallback, an asyncio + httpx closed loop.
* :func:`raw_paced`: an open loop at a fixed rate, pre-built requests written as raw HTTP/1.1
  on keep-alive sockets (httpx's client costs more CPU per request than the server it
  measures, on 2 cores); latency is measured from each request's SCHEDULED send time, so a
  stalled server is not hidden by a stalled client (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    began_at: float = 0.0  # wall-clock time of the first scheduled send (open loops)
    statuses: dict[int, int] = field(default_factory=dict)  # answers by status (open loops)

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


# --- a lean open loop: raw HTTP/1.1 over keep-alive sockets --------------------------------

# uvicorn closes a keep-alive connection idle for 5 s; a slow open loop opens a new one.
KEEP_ALIVE_S = 3.0


def _raw_request(path: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if match:
        await reader.readexactly(int(match.group(1)))
    return status


async def _raw_paced(url: str, requests: list[bytes], rate: float, connections: int,
                     grace_s: float) -> LoadResult:
    parsed = httpx.URL(url)
    latencies: list[float] = []
    counters = {"ok": 0, "errors": 0}
    statuses: dict[int, int] = {}
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait((*await asyncio.open_connection(parsed.host, parsed.port),
                         time.monotonic()))

    async def one(payload: bytes, scheduled: float) -> None:
        reader, writer, last_used = await idle.get()
        if time.monotonic() - last_used > KEEP_ALIVE_S:  # the server may have closed it
            writer.close()
            reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        good = False
        try:
            writer.write(payload)
            status = await _read_response(reader)
            statuses[status] = statuses.get(status, 0) + 1
            good = status < 300
        except (OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        finally:
            idle.put_nowait((reader, writer, time.monotonic()))
        latencies.append((time.perf_counter() - scheduled) * 1000)
        counters["ok" if good else "errors"] += 1

    began = time.perf_counter()
    began_at = time.time()
    tasks, scheduled_at = [], []
    for i, payload in enumerate(requests):
        scheduled = began + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        scheduled_at.append(scheduled)
        tasks.append(asyncio.create_task(one(payload, scheduled)))
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
    while not idle.empty():
        idle.get_nowait()[1].close()
    return LoadResult("python-raw-http", len(requests), counters["ok"], counters["errors"],
                      elapsed, latencies, began_at, statuses)


def raw_paced(url: str | Callable[[int], str], requests: list[Request], *, rate: float,
              connections: int = 64, grace_s: float = 10) -> LoadResult:
    """Open loop at ``rate`` over ``connections`` keep-alive sockets, pre-built requests sent
    as raw HTTP/1.1 (a few microseconds of client CPU each, so the generator does not take
    the server's cores as httpx would). ``url``: one for all, or one per request index.
    Latency from each request's scheduled send time (``began_at + i / rate``), including any
    wait for a free connection (no coordinated omission)."""
    urls = [httpx.URL(url(i) if callable(url) else url) for i in range(len(requests))]
    payloads = [_raw_request(u.raw_path.decode(), f"{u.host}:{u.port}", body, headers)
                for u, (body, headers) in zip(urls, requests, strict=True)]
    return asyncio.run(_raw_paced(str(urls[0]), payloads, rate, connections, grace_s))
