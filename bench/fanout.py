"""B3 quote fan-out: four sandbox servers (in this process, real HTTP on loopback) answering
after 200, 300 and 500 ms, and one that hangs (60 s). They are registered as four providers
(subclasses of the sandbox adapter under other names), and the product's fan-out
``delivery.quotes.service.collect`` asks them all under the office's quote deadline; then the
whole ``delivery.quote`` task body (``refresh_quotes``: read, fan out, store) runs on a real
delivery. The answer must come within deadline + 50 ms with the three quotes."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

from bench.loadgen import percentile
from providers import registry
from providers.sandbox.adapter import SandboxAdapter
from providers.sandbox.config import SandboxServerConfig
from providers.sandbox.server import SandboxServer

KEY = "bench-fanout-key"
LATENCIES = {"fan_200": 200, "fan_300": 300, "fan_500": 500, "fan_hang": 60_000}


class Fan200(SandboxAdapter):
    name = "fan_200"


class Fan300(SandboxAdapter):
    name = "fan_300"


class Fan500(SandboxAdapter):
    name = "fan_500"


class FanHang(SandboxAdapter):
    name = "fan_hang"


CLASSES = {"fan_200": "Fan200", "fan_300": "Fan300", "fan_500": "Fan500",
           "fan_hang": "FanHang"}


def run(*, deadline_s: float, rounds: int) -> dict:
    from core.settings import get_settings, reset_settings_cache
    from delivery.quotes.service import collect
    from providers.types import Coordinates, Place, QuoteRequest

    request = QuoteRequest(
        pickup=Place(coordinates=Coordinates(lat=-6.3875, lng=106.8306), address="Kantor"),
        dropoff=Place(coordinates=Coordinates(lat=-6.3952, lng=106.8461), address="Rumah"))
    saved_env = dict(os.environ)
    with ExitStack() as stack:
        for name, latency in LATENCIES.items():
            config = SandboxServerConfig.from_mapping({
                "api_key": KEY, "webhook_url": None, "latency_ms": latency, "seed": 1,
                "time_scale": 0.001, "tick_s": 0.5})
            server = stack.enter_context(SandboxServer(config).running())
            registry.BUILTIN[name] = f"bench.fanout:{CLASSES[name]}"
            prefix = f"SIPOKE_PROVIDERS__{name.upper()}__"
            os.environ[prefix + "BASE_URL"] = server.url
            os.environ[prefix + "API_KEY"] = KEY
            os.environ[prefix + "ENABLED"] = "true"
        os.environ["SIPOKE_PROVIDERS__SANDBOX__ENABLED"] = "false"
        reset_settings_cache()
        settings = get_settings()
        names = list(LATENCIES)
        elapsed, counts, timeouts = [], [], []
        try:
            for _ in range(rounds):
                began = time.perf_counter()
                quotes, errors = collect(settings, names, request, deadline_s)
                elapsed.append((time.perf_counter() - began) * 1000)
                counts.append(len(quotes))
                timeouts.append(sorted(n for n, e in errors.items() if e is None))
        finally:
            for name in LATENCIES:
                registry.BUILTIN.pop(name, None)
            os.environ.clear()
            os.environ.update(saved_env)
            reset_settings_cache()
    limit_ms = deadline_s * 1000 + 50
    return {
        "providers_ms": LATENCIES, "deadline_ms": deadline_s * 1000, "rounds": rounds,
        "answer_p50_ms": round(percentile(elapsed, 50), 1),
        "answer_max_ms": round(max(elapsed), 1),
        "answer_ms": [round(e, 1) for e in elapsed],
        "quotes_min": min(counts), "quotes_max": max(counts),
        "timed_out": timeouts[0] if timeouts else [],
        "all_within_limit": all(e <= limit_ms for e in elapsed),
        "all_three_quotes": all(c == 3 for c in counts),
    }
