"""The seeded plan of a chaos run: when each resident asks for delivery, which ones cancel,
and the faults (what, when, for how long). Pure: the same seed and sizes give the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# kind -> the targets it picks from
FAULTS: dict[str, tuple[str, ...]] = {
    # kill -9 a Celery worker: the dispatch worker (threads) or the prefork worker, whole
    # (restarted after the fault's downtime), or one prefork child (its parent replaces it)
    "kill_worker": ("threads", "prefork", "prefork_child"),
    # kill -9 one of the two API processes (uvicorn replaces it), or both (restarted)
    "kill_api": ("one", "all"),
    # Redis killed and started again empty (no persistence): every queued task is gone
    "restart_redis": ("empty",),
    # PostgreSQL stopped with -m immediate (a crash) and started again
    "restart_postgres": ("immediate",),
    # SIGSTOP the sandbox provider, SIGCONT after the downtime: calls and webhooks hang
    "pause_sandbox": ("sigstop",),
}
# Downtime ranges (seconds) per kind.
DOWN_S: dict[str, tuple[float, float]] = {
    "kill_worker": (1.0, 8.0),
    "kill_api": (1.0, 5.0),
    "restart_redis": (1.0, 5.0),
    "restart_postgres": (1.0, 6.0),
    "pause_sandbox": (2.0, 15.0),
}


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the drive starts
    kind: str
    target: str
    down_s: float

    def describe(self) -> str:
        return f"t={self.at:6.1f}s  {self.kind:<16} {self.target:<13} down {self.down_s:4.1f}s"


@dataclass(frozen=True)
class Plan:
    seed: int
    deliveries: int
    # (seconds after the drive starts, delivery index), sorted by time
    requests: tuple[tuple[float, int], ...]
    # (seconds after the drive starts, delivery index): the resident cancels
    cancels: tuple[tuple[float, int], ...]
    faults: tuple[Fault, ...]


def make_plan(seed: int, *, deliveries: int, drive_s: float, fault_start_s: float = 15.0,
              fault_end_s: float | None = None, mean_fault_gap_s: float = 20.0,
              cancel_rate: float = 0.03) -> Plan:
    """Requests spread over the first 80 % of the drive; faults between ``fault_start_s`` and
    ``fault_end_s`` (default: the end of the drive), at least one of every kind, about one
    per ``mean_fault_gap_s``, in time order."""
    rng = random.Random(seed)
    order = list(range(deliveries))
    rng.shuffle(order)
    spread = drive_s * 0.8
    times = sorted(rng.uniform(0, spread) for _ in order)
    requests = tuple((round(t, 3), i) for t, i in zip(times, order, strict=True))
    cancels = tuple(sorted((round(t + rng.uniform(0.5, 20.0), 3), i)
                           for t, i in requests if rng.random() < cancel_rate))
    end = drive_s if fault_end_s is None else fault_end_s
    count = max(len(FAULTS), round((end - fault_start_s) / mean_fault_gap_s))
    kinds = list(FAULTS)
    kinds += [rng.choice(list(FAULTS)) for _ in range(count - len(kinds))]
    rng.shuffle(kinds)
    at = sorted(rng.uniform(fault_start_s, end) for _ in kinds)
    faults = tuple(
        Fault(at=round(t, 1), kind=kind, target=rng.choice(FAULTS[kind]),
              down_s=round(rng.uniform(*DOWN_S[kind]), 1))
        for t, kind in zip(at, kinds, strict=True))
    return Plan(seed=seed, deliveries=deliveries, requests=requests, cancels=cancels,
                faults=faults)
