"""`sipoke backup`, `sipoke backup-check` and `sipoke restore` as the admin types them: plain
Bahasa Indonesia, exit code 0 on success, one line on stderr and exit code 1 on a refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.backup.service import ARCHIVE_NAME
from core.settings import reset_settings_cache
from sipoke.cli import main
from tests.core.backup.helpers import database_rows, files, flip_a_byte, repack, seed_request


def _use(monkeypatch: pytest.MonkeyPatch, target) -> None:
    monkeypatch.setenv("SIPOKE_DATABASE_URL", target.url)
    monkeypatch.setenv("SIPOKE_UPLOAD_DIR", str(target.uploads))
    reset_settings_cache()


def test_backup_check_and_restore(demo, source_settings, new_target, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    seed_request(source_settings)
    archive = tmp_path / "backups" / "kantor.tar.gz"
    assert main(["backup", "--output", str(archive)]) == 0
    out = capsys.readouterr().out
    assert f"Cadangan selesai: {archive}" in out
    assert "3 unggahan dan dokumen bertanda tangan" in out
    assert "SIPOKE_SECRET_KEY" in out and "TIDAK ikut" in out

    assert main(["backup"]) == 0  # a dated archive in SIPOKE_BACKUP_DIR
    capsys.readouterr()
    assert [p for p in (tmp_path / "backups").iterdir() if ARCHIVE_NAME.match(p.name)]

    assert main(["backup-check", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "Arsip utuh: semua checksum cocok" in out and "1 permohonan" in out

    damaged = tmp_path / "rusak.tar.gz"
    repack(archive, damaged, lambda name, data: flip_a_byte(data)
           if name.startswith("uploads/") else None)
    assert main(["backup-check", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sipoke: Arsip rusak") and err.count("\n") == 1

    target = new_target()
    _use(monkeypatch, target)
    assert main(["restore", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "Pemulihan selesai" in out and "3 berkas unggahan" in out
    assert "PERINGATAN" not in out
    assert database_rows(target.url) == database_rows(source_settings.database_url)
    assert files(target.uploads) == files(source_settings.upload_dir)

    assert main(["restore", str(archive)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sipoke: Basis data tujuan tidak kosong") and err.count("\n") == 1
    assert main(["restore", str(archive), "--overwrite"]) == 0
    capsys.readouterr()

    assert main(["restore", str(tmp_path / "tidak-ada.tar.gz")]) == 1
    assert "tidak ditemukan" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["restore"])
    assert usage.value.code == 2


def _sipoke() -> list[str]:
    script = Path(sys.executable).with_name("sipoke")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sipoke.cli"]


def test_the_command_streams_an_archive_out_and_back_in(demo, source_settings, new_target,
                                                         tmp_path: Path) -> None:
    """The installed command, in processes of its own: `sipoke backup --output -` writes the
    archive to standard output (`docker compose exec -T worker sipoke backup --output - >
    FILE`), `sipoke restore -` reads it from standard input."""
    seed_request(source_settings)
    env = {**os.environ, "SIPOKE_DATABASE_URL": source_settings.database_url,
           "SIPOKE_UPLOAD_DIR": str(source_settings.upload_dir)}
    made = subprocess.run([*_sipoke(), "backup", "--output", "-"], env=env,
                          capture_output=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr.decode()
    assert made.stdout[:2] == b"\x1f\x8b"  # the gzip archive itself
    assert "Cadangan selesai" in made.stderr.decode()
    archive = tmp_path / "dari-stdout.tar.gz"
    archive.write_bytes(made.stdout)

    target = new_target()
    env.update(SIPOKE_DATABASE_URL=target.url, SIPOKE_UPLOAD_DIR=str(target.uploads))
    with open(archive, "rb") as stdin:
        restored = subprocess.run([*_sipoke(), "restore", "-"], env=env, stdin=stdin,
                                  capture_output=True, text=True, timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr
    assert "Pemulihan selesai" in restored.stdout
    assert database_rows(target.url) == database_rows(source_settings.database_url)
    assert files(target.uploads) == files(source_settings.upload_dir)

    with open(archive, "rb") as stdin:
        again = subprocess.run([*_sipoke(), "restore", "-"], env=env, stdin=stdin,
                               capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 1
    assert again.stderr.startswith("sipoke: Basis data tujuan tidak kosong")
    # Nothing of the streamed archives is left behind.
    var = Path(os.environ["SIPOKE_VAR_DIR"])
    assert not list(var.glob(".sipoke-*"))
