"""Figures for the operators' screens, computed from what the delivery services return:
the monthly cost per provider and each provider's success rate and time to a courier.

Pure functions over deliveries and their events, so they are tested without a database.
Months are the office's months: the office closes its books in its own zone.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.formatting import DEFAULT_ZONE, to_office

BOOKED = ("active", "done")  # attempts the provider carried out (or is carrying out)
ASSIGNED = ("courier_assigned", "at_pickup", "picked_up", "in_transit", "at_dropoff",
            "delivered")


@dataclass
class ProviderCost:
    provider: str
    deliveries: int = 0
    provider_price: int = 0  # what the provider charges (integer rupiah)
    subsidy: int = 0  # what the office pays of it
    resident_paid: int = 0  # what residents paid

    @property
    def office_cost(self) -> int:
        return self.subsidy


def month_of(moment: datetime, zone: str | None = DEFAULT_ZONE) -> tuple[int, int]:
    local = to_office(moment, zone)
    return local.year, local.month


def monthly_costs(deliveries: Iterable[Any], year: int, month: int,
                  zone: str | None = DEFAULT_ZONE) -> list[ProviderCost]:
    """One row per provider: outbound jobs booked in that month (in the office's zone), with
    their money."""
    rows: dict[str, ProviderCost] = {}
    for delivery in deliveries:
        booked = [a for a in delivery.attempts
                  if a.leg == "outbound" and str(a.status) in BOOKED and a.booked_at
                  and month_of(a.booked_at, zone) == (year, month)]
        if not booked:
            continue
        attempt = booked[-1]
        row = rows.setdefault(attempt.provider, ProviderCost(attempt.provider))
        row.deliveries += 1
        row.provider_price += int(attempt.price or 0)
        row.subsidy += int(delivery.subsidy or 0)
        row.resident_paid += int(delivery.price or 0)
    return sorted(rows.values(), key=lambda r: (-r.provider_price, r.provider))


def costs_csv(rows: list[ProviderCost], names: Mapping[str, str], year: int, month: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bulan", "penyedia", "jumlah_antar", "harga_penyedia_rp",
                     "subsidi_kantor_rp", "dibayar_warga_rp"])
    for r in rows:
        writer.writerow([f"{year:04d}-{month:02d}", names.get(r.provider, r.provider),
                         r.deliveries, r.provider_price, r.subsidy, r.resident_paid])
    total = ProviderCost("total", sum(r.deliveries for r in rows),
                         sum(r.provider_price for r in rows), sum(r.subsidy for r in rows),
                         sum(r.resident_paid for r in rows))
    writer.writerow([f"{year:04d}-{month:02d}", "TOTAL", total.deliveries,
                     total.provider_price, total.subsidy, total.resident_paid])
    return out.getvalue()


def provider_stats(deliveries: Iterable[Any], events: Mapping[Any, list[Any]]
                   ) -> dict[str, dict[str, float | None]]:
    """Per provider: the finished attempts that succeeded (``done``) and failed (``failed``),
    the share that succeeded, and the median seconds from booking to the first
    courier-assigned event. The page's "failed" count and its success rate both come from
    here, so they always agree."""
    done: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    waits: dict[str, list[float]] = defaultdict(list)
    for delivery in deliveries:
        for attempt in delivery.attempts:
            if attempt.leg != "outbound":
                continue
            status = str(attempt.status)
            if status == "done":
                done[attempt.provider] += 1
            elif status == "failed":
                failed[attempt.provider] += 1
            if attempt.booked_at is None:
                continue
            assigned = [e.occurred_at or e.received_at for e in events.get(delivery.id, [])
                        if e.attempt_id == attempt.id and e.status in ASSIGNED]
            if assigned:
                waits[attempt.provider].append(
                    max(0.0, (min(assigned) - attempt.booked_at).total_seconds()))
    out: dict[str, dict[str, float | None]] = {}
    for provider in set(done) | set(failed) | set(waits):
        finished = done[provider] + failed[provider]
        out[provider] = {
            "done": done[provider],
            "failed": failed[provider],
            "success_rate": done[provider] / finished if finished else None,
            "median_assign_s": statistics.median(waits[provider]) if waits[provider] else None,
        }
    return out
