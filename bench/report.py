"""Targets of issue 8 next to the measured figures: pass/fail and how each was measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _get(figures: dict, *path: str) -> Any:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _row(target: str, value: Any, ok: bool | None, how: str) -> dict:
    verdict = "n/a" if ok is None else ("pass" if ok else "FAIL")
    return {"target": target, "value": value, "verdict": verdict, "how": how}


def _cmp(value: Any, limit: float, *, at_least: bool) -> bool | None:
    if value is None:
        return None
    return value >= limit if at_least else value <= limit


def evaluate(f: dict) -> list[dict]:
    b1, b2, b3 = f.get("B1", {}), f.get("B2", {}), f.get("B3", {})
    gen = b1.get("generator", "?")
    rows = [
        _row("B1 stored webhooks/s at saturation >= 3000", b1.get("stored_per_s"),
             _cmp(b1.get("stored_per_s"), 3000, at_least=True),
             f"{gen}, 64 conns, {b1.get('saturation_seconds')} s; NEW tracking_events rows "
             f"counted in PostgreSQL / s; API uvicorn x{b1.get('api_workers')}, worker "
             f"applying them meanwhile (all applied {b1.get('applied_all_within_s')} s after); "
             f"with the worker paused ({b1.get('paused_seconds')} s): "
             f"{b1.get('stored_per_s_worker_paused')}/s, then "
             f"{b1.get('pending_after_pause_wait')} not applied after "
             f"{b1.get('applied_after_pause_within_s')} s"),
        _row("B1 ack p99 at 1000/s <= 50 ms", b1.get("paced_p99_ms"),
             _cmp(b1.get("paced_p99_ms"), 50, at_least=False),
             f"{b1.get('paced_generator')} open loop, achieved "
             f"{b1.get('paced_achieved_per_s')}/s, latency from scheduled send; "
             f"p50 {b1.get('paced_p50_ms')} ms"),
        _row("B1 ratio webhooks/no-op >= 0.4", b1.get("ratio"),
             _cmp(b1.get("ratio"), 0.4, at_least=True),
             f"same generator and bodies on POST /bench/noop: {b1.get('noop_per_s')}/s"),
        _row("B2 overhead p50 <= 50 ms", b2.get("overhead_p50_ms"),
             _cmp(b2.get("overhead_p50_ms"), 50, at_least=False),
             f"{b2.get('deliveries')} choices paced at {b2.get('choice_rate_per_s')}/s; "
             f"attempt.booked_at - choice sent - {b2.get('provider_latency_ms')} ms; worker "
             f"{b2.get('worker')}"),
        _row("B2 overhead p99 <= 250 ms", b2.get("overhead_p99_ms"),
             _cmp(b2.get("overhead_p99_ms"), 250, at_least=False), "as above"),
        _row("B2 bookings/s >= 100", b2.get("bookings_per_s"),
             _cmp(b2.get("bookings_per_s"), 100, at_least=True),
             "booked / (last booked_at - first choice sent)"),
        _row("B2 nothing booked twice (references with 2+ orders)",
             b2.get("references_with_two_orders"),
             None if b2.get("references_with_two_orders") is None else
             b2.get("references_with_two_orders") == 0,
             f"every attempt reference looked up at the sandbox; booked within the wait: "
             f"{b2.get('booked')} of {b2.get('deliveries')}"),
    ]
    pre = f.get("B2_compose")
    if pre:
        rows.append(_row("B2 (the compose workers) bookings/s >= 100",
                         pre.get("bookings_per_s"),
                         _cmp(pre.get("bookings_per_s"), 100, at_least=True),
                         f"{pre.get('deliveries')} choices; dispatch-worker threads x32 + "
                         f"worker prefork x4; overhead p50/p99 "
                         f"{pre.get('overhead_p50_ms')}/{pre.get('overhead_p99_ms')} ms"))
    limit = (b3.get("deadline_ms") or 0) + 50
    rows.append(_row(f"B3 answer <= deadline + 50 ms ({limit:g} ms) with 3 quotes",
                     b3.get("answer_max_ms"),
                     None if not b3 else b3.get("all_within_limit") and b3.get(
                         "all_three_quotes"),
                     f"collect() over 4 sandbox servers {b3.get('providers_ms')}, "
                     f"{b3.get('rounds')} rounds; quotes {b3.get('quotes_min')}-"
                     f"{b3.get('quotes_max')}"))
    b4 = f.get("B4", {})
    size = b4.get("data", {})
    volume = (f"{size.get('deliveries')} deliveries, {size.get('events')} events (target 10M), "
              f"after VACUUM (ANALYZE)")
    for key, label, how in (
            ("exception_list_http", "exception list (HTTP)",
             "GET /api/v1/operator/deliveries?limit=50"),
            ("summary_http", "counts: summary (HTTP)",
             "GET /api/v1/operator/summary: open by state, flagged, last 30 days' endings")):
        p99 = _get(b4, key, "p99_ms")
        rows.append(_row(f"B4 {label} p99 <= 100 ms", p99, _cmp(p99, 100, at_least=False),
                         f"{how}; {volume}; {_get(b4, key, 'runs')} runs, warm"))
    rows.append(_row("B4 delivery detail with timeline (HTTP) p99, no target",
                     _get(b4, "timeline_http", "p99_ms"), None,
                     f"GET /api/v1/operator/deliveries/{{id}} with "
                     f"{_get(b4, 'timeline_http', 'events')} events; {volume}"))
    b5 = f.get("B5", {})
    api = _get(b5, "under_b1_b2", "api", "largest_process_mb")
    worker = _get(b5, "under_b1_b2", "worker", "tree_mb")
    embedded = _get(b5, "embedded", "after_traffic_total_mb")
    rows += [
        _row("B5 API process <= 150 MB RSS", api, _cmp(api, 150, at_least=False),
             f"/proc VmRSS peak of the largest API process under B1/B2 (tree "
             f"{_get(b5, 'under_b1_b2', 'api', 'tree_mb')} MB)"),
        _row("B5 worker <= 250 MB RSS", worker, _cmp(worker, 250, at_least=False),
             "/proc VmRSS peak of the worker's process tree under B1/B2"),
        _row("B5 embedded `sipoke run` <= 512 MB", embedded, _cmp(embedded, 512, at_least=False),
             f"sum of VmRSS over the run tree after 400 requests "
             f"({_get(b5, 'embedded', 'processes')} processes)"),
    ]
    b6 = f.get("B6", {})
    how6 = (f"`sipoke run` (SQLite, SQLite broker); {b6.get('residents')} choices paced over "
            f"{b6.get('over_s')} s, sandbox {b6.get('provider_latency_ms')} ms per call, "
            f"clock x{b6.get('sandbox_time_scale')}; booked {b6.get('booked')}")
    rows += [
        _row("B6 booking overhead p99 <= 2 s (ms)", b6.get("overhead_p99_ms"),
             _cmp(b6.get("overhead_p99_ms"), 2000, at_least=False),
             f"{how6}; p50 {b6.get('overhead_p50_ms')} ms"),
        _row("B6 every courier event applied within 5 s (max s)", b6.get("apply_delay_max_s"),
             None if not b6 else (b6.get("events_pending_at_end") == 0
                                  and _cmp(b6.get("apply_delay_max_s"), 5, at_least=False)),
             f"{b6.get('webhook_events')} signed sandbox webhooks; received -> first poll "
             f"(every {b6.get('poll_s')} s) seeing it applied; p50 "
             f"{b6.get('apply_delay_p50_s')} s; {b6.get('events_pending_at_end')} left pending"),
    ]
    return rows


def write_markdown(results: dict, path: Path) -> None:
    lines = [f"# Benchmark results ({results['started_at']})", "",
             f"Machine: {results['machine']}; total {results.get('seconds')} s.", "",
             "| target | measured | verdict | how measured |", "|---|---|---|---|"]
    for row in results["verdicts"]:
        how = str(row["how"]).replace("|", "/")
        lines.append(f"| {row['target']} | {row['value']} | {row['verdict']} | {how} |")
    if results.get("errors"):
        lines += ["", "Errors:", ""]
        lines += [f"- {key}: see latest.json" for key in results["errors"]]
    path.write_text("\n".join(lines) + "\n")
