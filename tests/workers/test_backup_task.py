"""The nightly backup: a beat entry when SIPOKE_BACKUP_NIGHTLY is on, at SIPOKE_BACKUP_TIME in
Asia/Jakarta, and a task that writes a dated archive and keeps the newest SIPOKE_BACKUP_KEEP."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import pytest
from celery.schedules import crontab

from core.backup import BackupError
from core.backup.archive import read_verified
from core.settings import load_settings, reset_settings_cache
from sipoke.migrate import revisions
from workers.beat import beat_schedule
from workers.celery_app import TASK_MODULES, app


def test_the_nightly_entry_follows_the_settings() -> None:
    assert "backup-nightly" not in beat_schedule(load_settings())
    entry = beat_schedule(load_settings(backup_nightly=True, backup_time="02:30"))[
        "backup-nightly"]
    assert entry["schedule"] == crontab(hour=19, minute=30)  # 02:30 WIB is 19:30 UTC
    assert 0 < entry["options"]["expires"] <= 3600  # a late run is dropped, never piled up
    for module in TASK_MODULES:
        importlib.import_module(module)
    task = app.tasks[entry["task"]]
    # Acknowledged on receipt: a long backup is never redelivered to a second worker.
    assert task.acks_late is False
    assert task.soft_time_limit > app.conf.task_soft_time_limit


@pytest.fixture
def nightly_env(engine, demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "nightly"
    monkeypatch.setenv("SIPOKE_BACKUP_DIR", str(folder))
    monkeypatch.setenv("SIPOKE_BACKUP_KEEP", "2")
    monkeypatch.setenv("SIPOKE_UPLOAD_DIR", str(tmp_path / "uploads"))
    reset_settings_cache()
    return folder


def test_the_task_writes_an_archive_and_keeps_the_newest(nightly_env: Path) -> None:
    from workers.backup_tasks import nightly

    folder = nightly_env
    folder.mkdir()
    for stamp in ("20240101-020000", "20240102-020000", "20240103-020000"):
        (folder / f"sipoke-backup-{stamp}.tar.gz").write_bytes(b"an older night")
    (folder / "catatan-admin.txt").write_text("never touched")
    crashed = folder / "sipoke-backup-20240104-020000.tar.gz.part"
    crashed.write_bytes(b"half an archive")
    os.utime(crashed, (0, 0))

    written = Path(nightly.apply().get())
    assert written.parent == folder
    assert read_verified(written).migration_revision == revisions()[-1]
    assert sorted(p.name for p in folder.iterdir()) == [
        "catatan-admin.txt", "sipoke-backup-20240103-020000.tar.gz", written.name]


def test_a_failed_nightly_backup_is_logged_and_fails_the_task(
        nightly_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    from workers.backup_tasks import nightly

    blank = tmp_path / "blank.sqlite3"
    blank.write_bytes(b"")
    monkeypatch.setenv("SIPOKE_DATABASE_URL", f"sqlite:///{blank}")
    reset_settings_cache()
    caplog.set_level(logging.ERROR, logger="sipoke.backup")
    with pytest.raises(BackupError):
        nightly.apply().get()
    [record] = [r for r in caplog.records if r.getMessage() == "nightly backup failed"]
    assert record.reason == "not_migrated"
    assert not [p for p in nightly_env.iterdir() if p.name.endswith((".tar.gz", ".part"))]
