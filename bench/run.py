"""``make bench``: build the stack, run B2 -> B1 (with B5 sampling) -> B3 -> B4 -> B5
embedded -> B6 (the embedded default at a busy hour), write ``bench/results/latest.json``
and ``latest.md`` (after every phase, so a run cut short keeps its figures), tear
everything down.

Sizes and durations come from ``BENCH_*`` environment variables (defaults fit the 10-minute
budget on a 2-core machine); every load is bounded in count and time and goes to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import busy_hour, dashboard, data, dispatch, fanout, ingest, memory
from bench.report import evaluate, write_markdown
from bench.stack import BenchStack

RESULTS = Path(__file__).with_name("results")
PHASES = ("B1", "B2", "B3", "B4", "B5", "B6")


def selected() -> set[str]:
    """``BENCH_ONLY=B1,B2`` runs those phases (B1 books its orders through B2) and writes
    ``results/partial.*`` instead of ``latest.*``."""
    only = {p.strip().upper() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()}
    unknown = only - set(PHASES)
    if unknown:
        raise SystemExit(f"bench: unknown phase in BENCH_ONLY: {', '.join(sorted(unknown))}")
    return (only | ({"B2"} if "B1" in only else set())) or set(PHASES)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_avg_at_start": [round(x, 1) for x in os.getloadavg()]}


def _stop(*_: object) -> None:
    raise SystemExit(143)  # let ``finally`` stop the processes and drop the database


def save(results: dict, began: float) -> None:
    results["seconds"] = round(time.monotonic() - began, 1)
    results["load_avg_now"] = [round(x, 1) for x in os.getloadavg()]
    results["verdicts"] = evaluate(results["figures"])
    RESULTS.mkdir(exist_ok=True)
    name = results["output"]
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    write_markdown(results, RESULTS / f"{name}.md")


def _default_deadline() -> float:
    """The product's default quote deadline (an office may change it)."""
    from delivery.policy import Policy

    return Policy().quote_deadline_s


def _guard(results: dict, key: str, fn) -> dict:
    try:
        return fn() or {}
    except Exception as exc:  # one failing benchmark must not hide the others' figures
        trace = "".join(traceback.format_exception(exc))[-3000:]
        results["errors"][key] = trace.replace(str(Path.cwd()), ".")
        print(f"bench: {key} failed: {exc!r}", file=sys.stderr, flush=True)
        return {}


def main() -> int:
    began = time.monotonic()
    signal.signal(signal.SIGTERM, _stop)
    budget = _float("BENCH_BUDGET_S", 540)
    only = selected()
    results: dict = {"started_at": datetime.now(UTC).isoformat(), "machine": machine(),
                     "phases": sorted(only), "figures": {}, "errors": {}, "phase_started_s": {},
                     "output": "latest" if only == set(PHASES) else "partial"}
    figures = results["figures"]

    def phase(name: str) -> None:
        results["phase_started_s"][name] = round(time.monotonic() - began, 1)
        save(results, began)
        print(f"bench: {name} (t={results['phase_started_s'][name]} s)", flush=True)

    stack = BenchStack()
    api_workers = os.environ.get("BENCH_API_WORKERS", "2")
    pool = os.environ.get("BENCH_WORKER_POOL", "threads")
    concurrency = os.environ.get("BENCH_WORKER_CONCURRENCY", "32")
    rate = _float("BENCH_CHOICE_RATE", 100)
    latency = _int("BENCH_PROVIDER_LATENCY_MS", 200)
    try:
        phase("setup: database, migrations, demo data, processes")
        stack.create_database()
        data.bind(stack)
        data.seed()
        stack.start("sandbox", "sandbox-provider", "--port", str(stack.sandbox_port),
                    "--webhook-url", "none", "--time-scale", "0.001",
                    url=f"{stack.sandbox_url}/healthz")
        stack.start("api", "api", "--workers", api_workers, url=f"{stack.api_url}/healthz")
        stack.start("worker", "worker", "--pool", pool, "--concurrency", concurrency)
        time.sleep(3)
        resident = data.bearer(data.SITI)
        operator = data.bearer(data.OPERATOR)
        count = _int("BENCH_DELIVERIES", 1000)
        ids = data.deliveries_awaiting_choice(count) if "B2" in only else []
        pids = {"api": stack.processes["api"].pid, "worker": stack.processes["worker"].pid}
        with memory.RssSampler(pids) as sampler:
            if "B2" in only:
                phase(f"B2 dispatch ({count} deliveries, worker {pool} x{concurrency})")
                figures["B2"] = _guard(results, "B2", lambda: dispatch.run(
                    stack, ids, resident, rate=rate, latency_ms=latency,
                    timeout_s=_float("BENCH_B2_TIMEOUT_S", 60)))
                figures["B2"]["worker"] = f"--pool {pool} --concurrency {concurrency}"
            if "B1" in only:
                phase("B1 webhook ingest")
                figures["B1"] = _guard(results, "B1", lambda: ingest.run(
                    stack, seconds=_int("BENCH_SATURATION_S", 10),
                    paced_rate=_float("BENCH_PACED_RATE", 1000),
                    paced_seconds=_float("BENCH_PACED_S", 5),
                    paused_seconds=_int("BENCH_PAUSED_S", 5)))
                figures["B1"]["api_workers"] = int(api_workers)
        figures["B5"] = {"under_b1_b2": sampler.result()}
        compose = _int("BENCH_COMPOSE_DELIVERIES", 200) if "B2" in only else 0
        if compose:
            phase(f"B2 again with the compose workers ({compose} deliveries)")
            stack.stop("worker")
            stack.start("worker", "worker", "--queues", "default,tracking,notifications",
                        "--concurrency", "4")
            stack.start("dispatch-worker", "worker", "--queues", "dispatch", "--pool",
                        "threads", "--concurrency", "32")
            time.sleep(4)
            more = data.deliveries_awaiting_choice(compose)
            figures["B2_compose"] = _guard(results, "B2_compose", lambda: dispatch.run(
                stack, more, resident, rate=rate, latency_ms=latency, timeout_s=30))
            stack.stop("dispatch-worker")
        stack.stop("worker")
        if "B3" in only:
            # B3 times a deadline in this process: let the API finish what B1 left queued
            # (its writer and publisher threads, PostgreSQL's autovacuum) first.
            time.sleep(_float("BENCH_SETTLE_S", 10))
            phase("B3 quote fan-out")
            figures["B3"] = _guard(results, "B3", lambda: fanout.run(
                deadline_s=_float("BENCH_QUOTE_DEADLINE_S", _default_deadline()),
                rounds=_int("BENCH_B3_ROUNDS", 4)))
        if "B4" in only:
            phase("B4 dashboard data")
            # The events' insert gets what is left of the budget after a reserve for the
            # index rebuild (~50 s at 10M events), VACUUM, the queries and B5; at least 45 s,
            # so some millions are there.
            left = budget - (time.monotonic() - began) - _float("BENCH_B4_RESERVE_S", 230)
            generated = _guard(results, "B4", lambda: dashboard.generate(
                _int("BENCH_B4_DELIVERIES", 1_000_000), _int("BENCH_B4_EVENTS", 10_000_000),
                budget_s=max(45.0, left)))
            if generated:
                phase(f"B4 queries on {generated}")
                queries = _guard(results, "B4", lambda: dashboard.measure(
                    stack, operator, runs=_int("BENCH_B4_RUNS", 100)))
                figures["B4"] = {"data": generated, **queries}
        stack.stop("api")
        stack.stop("sandbox")
        if "B5" in only:
            phase("B5 embedded stack (sipoke run)")
            figures["B5"]["embedded"] = _guard(results, "B5", memory.embedded_stack)
        if "B6" in only:
            phase("B6 the embedded default at a busy hour")
            figures["B6"] = _guard(results, "B6", lambda: busy_hour.run(
                residents=_int("BENCH_B6_RESIDENTS", 30), over_s=_float("BENCH_B6_OVER_S", 60),
                latency_ms=latency))
    finally:
        for name in list(stack.processes):
            tail = stack.log_tail(name)
            if "Traceback" in tail:
                results["errors"][f"{name}_log"] = tail.replace(str(Path.cwd()), ".")
        stack.close()
        save(results, began)
    print((RESULTS / f"{results['output']}.md").read_text())
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
