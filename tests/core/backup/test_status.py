"""Monitoring sees when the last backup succeeded: /metrics exports
sipoke_backup_last_success_timestamp_seconds once an archive is complete (absent before)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.backup.service import create_backup
from core.backup.status import GAUGE, last_success
from core.settings import get_settings, reset_settings_cache


def _sample(client) -> float | None:
    text = client.get("/metrics").text
    assert f"# TYPE {GAUGE} gauge" in text
    found = re.search(rf"^{GAUGE} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_metrics_export_the_last_successful_backup(client, source_settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPOKE_VAR_DIR", str(tmp_path / "var"))  # no backup made here yet
    reset_settings_cache()
    assert _sample(client) is None and last_success(get_settings()) is None

    started = time.time()
    create_backup(get_settings(), tmp_path / "backups" / "a.tar.gz")
    exported = _sample(client)
    assert exported is not None and started - 1 <= exported <= time.time() + 1
