"""What a restore (and a backup) refuses, with a clear message and nothing written: a target
that holds data, an archive from a newer version, one made with another secret key, a damaged
or foreign archive."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from core.backup import BackupError
from core.backup.database import inspect_target
from core.backup.service import create_backup, restore_backup
from core.models import User
from core.security import decrypt_nik
from sipoke.migrate import revisions, upgrade
from sipoke.seed import RESIDENTS
from tests.conftest import TEST_SECRET
from tests.core.backup.helpers import database_rows, files, flip_a_byte, repack, seed_request


@pytest.fixture
def archive(source_settings, demo, tmp_path: Path) -> Path:
    seed_request(source_settings)
    return create_backup(source_settings, tmp_path / "backups" / "office.tar.gz").path


def _restore(target, archive: Path, **options) -> object:
    settings = options.pop("settings", None) or target.settings()
    return restore_backup(settings, archive, known_revisions=revisions(), **options)


def _refused(target, archive: Path, code: str, **options) -> str:
    with pytest.raises(BackupError) as caught:
        _restore(target, archive, **options)
    assert caught.value.code == code, caught.value
    message = str(caught.value)
    assert "\n" not in message
    return message


def _untouched(target) -> None:
    """Nothing was written: no table, no upload."""
    assert inspect_target(target.url).tables == []
    assert not target.uploads.exists() or not any(target.uploads.rglob("*"))


def test_a_target_holding_data_is_refused_and_overwrite_replaces_it(
        archive, source_settings, new_target) -> None:
    target = new_target()
    _restore(target, archive)
    message = _refused(target, archive, "database_not_empty")
    assert "tidak kosong" in message and "--overwrite" in message

    restored = _restore(target, archive, overwrite=True)
    assert restored.files == 3
    assert database_rows(target.url) == database_rows(source_settings.database_url)
    assert files(target.uploads) == files(source_settings.upload_dir)


def test_an_upload_folder_holding_files_is_refused(archive, new_target) -> None:
    target = new_target()
    stray = target.uploads / "files" / "ab" / ("ab" * 20)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a scan from another system")
    message = _refused(target, archive, "uploads_not_empty")
    assert "Folder unggahan" in message and "1 berkas" in message
    assert inspect_target(target.url).tables == []
    assert stray.read_bytes() == b"a scan from another system"

    # --overwrite empties the storage's own folders, never files it does not know.
    (target.uploads / "notes.txt").write_text("the admin's own file")
    assert "notes.txt" in _refused(target, archive, "foreign_files", overwrite=True)
    assert stray.exists()


def test_a_freshly_migrated_database_counts_as_empty(archive, source_settings,
                                                     new_target) -> None:
    target = new_target()
    upgrade(target.url)  # e.g. docker compose's migrate step ran before the restore
    assert inspect_target(target.url).empty
    _restore(target, archive)
    assert database_rows(target.url) == database_rows(source_settings.database_url)


def test_a_damaged_archive_is_refused_before_anything_is_written(archive, new_target,
                                                                 tmp_path: Path) -> None:
    target = new_target()
    damaged = tmp_path / "damaged.tar.gz"

    repack(archive, damaged, lambda name, data: flip_a_byte(data)
           if name.startswith("uploads/") else None)
    message = _refused(target, damaged, "checksum")
    assert "checksum" in message and "Tidak ada yang dipulihkan" in message
    _untouched(target)

    repack(archive, damaged, lambda name, data: flip_a_byte(data)
           if name.startswith("database/") else None)
    _refused(target, damaged, "checksum")
    _untouched(target)

    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError) as caught:
        _restore(target, damaged)
    assert caught.value.code in ("unreadable", "no_manifest")
    _untouched(target)

    damaged.write_text("bukan arsip")
    assert "bukan arsip cadangan" in _refused(target, damaged, "unreadable")
    _untouched(target)


def test_members_the_manifest_does_not_list_are_refused(archive, new_target,
                                                        tmp_path: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    target = new_target()
    for name in ("uploads/files/zz/extra", "../../etc/cron.d/evil", "database/../../x"):
        tampered = tmp_path / "tampered.tar.gz"
        with tarfile.open(tampered, "w:gz") as tar:
            extra = tarfile.TarInfo(name)
            extra.size = 4
            tar.addfile(extra, io.BytesIO(b"evil"))
            for info, data in members:
                tar.addfile(info, io.BytesIO(data))
        _refused(target, tampered, "bad_member")
        _untouched(target)
    assert not (tmp_path.parent / "evil").exists()


def test_an_archive_from_a_newer_version_is_refused_unless_forced(archive, new_target,
                                                                  tmp_path: Path) -> None:
    def newer(name: str, data: bytes) -> bytes | None:
        if name != "manifest.json":
            return None
        manifest = json.loads(data)
        manifest.update(migration_revision="9999_from_the_future", product_version="9.0.0")
        return json.dumps(manifest).encode()

    future = tmp_path / "future.tar.gz"
    repack(archive, future, newer)
    target = new_target()
    message = _refused(target, future, "newer_revision")
    assert "lebih baru" in message and "9999_from_the_future" in message
    assert revisions()[-1] in message and "--force" in message
    _untouched(target)

    restored = _restore(target, future, force=True)
    assert restored.revision_status == "newer"


def test_another_secret_key_is_refused_unless_forced(archive, new_target,
                                                     tmp_path: Path) -> None:
    target = new_target()
    other_key = "another-office-secret-key-0123456789-abcdefghij"
    message = _refused(target, archive, "wrong_secret_key",
                       settings=target.settings(secret_key=other_key))
    assert "SIPOKE_SECRET_KEY" in message and "NIK" in message
    no_key = target.settings(secret_key=None, var_dir=tmp_path / "fresh-var")
    assert "belum dipasang" in _refused(target, archive, "no_secret_key", settings=no_key)
    _untouched(target)

    restored = _restore(target, archive, force=True,
                        settings=target.settings(secret_key=other_key))
    assert restored.key_matches is False
    # The NIKs came through encrypted: only the key they were made with reads them.
    engine = create_engine(target.url, poolclass=NullPool)
    with engine.connect() as conn:
        stored = {row.full_name: row.nik_ciphertext for row in conn.execute(
            select(User.full_name, User.nik_ciphertext).where(User.nik_ciphertext.is_not(None)))}
    engine.dispose()
    for resident in RESIDENTS:
        assert decrypt_nik(other_key, stored[resident.full_name]) is None
        assert decrypt_nik(TEST_SECRET, stored[resident.full_name]) == resident.nik
    # The key itself is nowhere in the archive.
    assert TEST_SECRET.encode() not in gzip.decompress(archive.read_bytes())


def test_an_archive_of_the_other_database_kind_is_refused(archive, backend, tmp_path) -> None:
    from tests.core.backup.conftest import Target

    other = (f"sqlite:///{tmp_path / 'other.sqlite3'}" if backend == "postgresql"
             else "postgresql://nobody@127.0.0.1:1/nowhere")  # refused before connecting
    target = Target(other, tmp_path / "other-uploads")
    message = _refused(target, archive, "wrong_backend")
    assert "SIPOKE_DATABASE_URL" in message


def test_backup_refusals(source_settings, tmp_path: Path) -> None:
    existing = tmp_path / "backups" / "taken.tar.gz"
    existing.write_bytes(b"an older backup")
    with pytest.raises(BackupError, match="sudah ada") as caught:
        create_backup(source_settings, existing)
    assert caught.value.code == "output_exists"
    assert existing.read_bytes() == b"an older backup"

    with pytest.raises(BackupError, match="tidak ada") as caught:
        create_backup(source_settings, tmp_path / "nowhere" / "x.tar.gz")
    assert caught.value.code == "no_folder"

    source_settings.upload_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(BackupError) as caught:
        create_backup(source_settings, source_settings.upload_dir / "x.tar.gz")
    assert caught.value.code == "output_in_uploads"

    from core.settings import load_settings

    blank = tmp_path / "blank.sqlite3"
    blank.write_bytes(b"")
    with pytest.raises(BackupError, match="sipoke migrate") as caught:
        create_backup(load_settings(database_url=f"sqlite:///{blank}"), tmp_path / "b.tar.gz")
    assert caught.value.code == "not_migrated"

    unreachable = load_settings(database_url="postgresql://nobody@127.0.0.1:1/nowhere")
    with pytest.raises(BackupError, match="Tidak bisa terhubung") as caught:
        create_backup(unreachable, tmp_path / "c.tar.gz")
    assert caught.value.code == "database_unreachable"
    assert sorted(p.name for p in tmp_path.glob("*.tar.gz*")) == []
