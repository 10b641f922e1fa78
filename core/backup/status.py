"""When the last backup succeeded, for monitoring: every completed archive (`sipoke backup`,
the nightly backup) writes the time into ``<SIPOKE_VAR_DIR>/backup-last-success`` (the var
folder every process of a deployment shares), and the API exports it at scrape time as
``sipoke_backup_last_success_timestamp_seconds`` (deploy/prometheus/alerts.yml alerts on it).
Absent until the first backup, so "never backed up" is visible too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.settings import Settings, get_settings

GAUGE = "sipoke_backup_last_success_timestamp_seconds"
_HELP = "Unix time at which the last backup archive was completed"


def status_path(settings: Settings) -> Path:
    return settings.var_dir / "backup-last-success"


def record_success(settings: Settings, *, finished_at: datetime, size: int,
                   archive: str) -> None:
    path = status_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"finished_at": finished_at.isoformat(), "bytes": size,
                               "archive": archive}))
    tmp.replace(path)  # atomic: a reader never sees half a record


def last_success(settings: Settings) -> datetime | None:
    """When the last backup was completed, or None (never, or the record is unreadable)."""
    try:
        when = datetime.fromisoformat(json.loads(status_path(settings).read_text())[
            "finished_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class BackupCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(GAUGE, _HELP)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Before the first backup the family has no sample: the series is absent.
        gauge = GaugeMetricFamily(GAUGE, _HELP)
        when = last_success(get_settings())
        if when is not None:
            gauge.add_metric([], when.timestamp())
        yield gauge


_collector: BackupCollector | None = None


def install_collector() -> None:
    """Export the gauge from this process's registry (the API's /metrics); once."""
    global _collector
    if _collector is None:
        _collector = BackupCollector()
        REGISTRY.register(_collector)
