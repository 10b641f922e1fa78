"""Backup and restore as `sipoke backup`/`sipoke restore` and the nightly beat entry run them.

A backup copies the database first, then the upload folder: files are never changed once
kept (random names, atomic renames), so every file the database copy refers to is already on
disk, unless retention purged it in between (it is then left out, as it would be a moment
later anyway). The secret key is never written to the archive; a value derived from it is,
so a restore can tell whether the target can still read the NIKs.

A restore checks the whole archive before it writes anything, then refuses a target that
holds data, an archive from a newer version (whose migration revision this code does not
know) or one made with another secret key, unless told otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

from core.backup import BackupError, database
from core.backup.archive import (
    DATABASE_MEMBERS,
    FORMAT,
    FORMAT_VERSION,
    UPLOADS,
    ArchiveWriter,
    DatabasePart,
    Manifest,
    extract,
    read_verified,
)
from core.backup.status import record_success
from core.db import utcnow
from core.security import keyed_hash
from core.settings import Settings

log = logging.getLogger("sipoke.backup")

PRODUCT = "sipoke-antar"
LOCAL_ZONE = ZoneInfo("Asia/Jakarta")
ARCHIVE_NAME = re.compile(r"^sipoke-backup-\d{8}-\d{6}\.tar\.gz$")
# The storage's own folders under the upload folder (core.storage); partial uploads are not
# worth keeping.
STORAGE_FOLDERS = ("files", "incoming")
SKIPPED_FOLDERS = ("incoming",)
STALE_PART_SECONDS = 24 * 3600


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: Manifest
    files: int = 0
    files_bytes: int = 0
    vanished: int = 0  # files purged by retention while the backup ran


@dataclass
class RestoreResult:
    manifest: Manifest
    files: int
    # "same": the archive is at the code's head; "older": migrations must run after it;
    # "newer": the code does not know its revision (restored only because forced).
    revision_status: str
    key_matches: bool | None  # None: this server has no secret key yet
    tables: dict[str, int] = field(default_factory=dict)


def product_version() -> str:
    try:
        return metadata.version(PRODUCT)
    except metadata.PackageNotFoundError:
        return "unknown"


def key_check(secret: str) -> str:
    """A short value derived from the secret key (HKDF, then HMAC): it tells two keys apart
    and gives nothing towards the key itself."""
    return keyed_hash(secret, "backup-key-check", FORMAT)[:16]


def default_output(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or utcnow()).astimezone(LOCAL_ZONE).strftime("%Y%m%d-%H%M%S")
    assert settings.backup_dir is not None
    return settings.backup_dir / f"sipoke-backup-{stamp}.tar.gz"


# --- backup -------------------------------------------------------------------------------

def create_backup(settings: Settings, output: Path, *, record: bool = True) -> BackupResult:
    """Write the archive to ``output`` (a new file). ``record``: note the success for
    monitoring (core.backup.status) as soon as the archive is complete."""
    output = Path(output)
    assert settings.upload_dir is not None
    uploads = settings.upload_dir
    if output.exists():
        raise BackupError("output_exists", f"Berkas {output} sudah ada; pilih nama lain "
                          "(cadangan lama tidak ditimpa).")
    if not output.parent.is_dir():
        raise BackupError("no_folder", f"Folder {output.parent} tidak ada; buat dulu foldernya.")
    if _inside(output.parent, uploads):
        raise BackupError("output_in_uploads", "Jangan simpan cadangan di dalam folder unggahan "
                          f"{uploads}; pilih folder lain.")
    backend = database.backend_of(settings.database_url)
    secret = settings.secret()
    try:
        workdir = tempfile.TemporaryDirectory(prefix=".sipoke-backup-", dir=output.parent)
    except OSError as exc:
        raise BackupError("write_failed", f"Tidak bisa menulis di folder {output.parent}: "
                          f"{exc.strerror or exc}.") from None
    with workdir as tmp:
        snapshot = database.dump(settings.database_url, Path(tmp) / "database")
        try:
            writer = ArchiveWriter(output)
        except FileExistsError:
            raise BackupError("busy", f"{output.name}.part sudah ada: cadangan lain sedang "
                              "berjalan, atau sisa cadangan yang gagal (hapus berkas itu).") \
                from None
        except OSError as exc:
            raise BackupError("write_failed", f"Tidak bisa menulis {output}: "
                              f"{exc.strerror or exc}.") from None
        vanished = 0
        try:
            writer.add_file(DATABASE_MEMBERS[backend], snapshot.path)
            for path, relative in _upload_files(uploads, skip=settings.backup_dir):
                if writer.add_file(f"{UPLOADS}/{relative}", path) is None:
                    vanished += 1
            manifest = Manifest(
                format=FORMAT, format_version=FORMAT_VERSION, product=PRODUCT,
                product_version=product_version(), created_at=utcnow(),
                migration_revision=snapshot.revision, secret_key_check=key_check(secret),
                database=DatabasePart(backend=backend, member=DATABASE_MEMBERS[backend],
                                      tables=snapshot.tables),
                members=writer.members)
            writer.finish(manifest)
        except OSError as exc:
            writer.abort()
            raise BackupError("write_failed", f"Gagal menulis cadangan {output}: "
                              f"{exc.strerror or exc}.") from None
        except BaseException:
            writer.abort()
            raise
    uploaded = [m for name, m in manifest.members.items() if name.startswith(f"{UPLOADS}/")]
    result = BackupResult(path=output, size=output.stat().st_size, manifest=manifest,
                          files=len(uploaded), files_bytes=sum(m.size for m in uploaded),
                          vanished=vanished)
    if record:
        record_success(settings, finished_at=utcnow(), size=result.size, archive=str(output))
    log.info("backup written", extra={"path": str(output), "bytes": result.size,
                                      "files": result.files, "vanished": vanished})
    return result


def nightly_backup(settings: Settings, now: datetime | None = None
                   ) -> tuple[BackupResult, list[Path]]:
    """A backup into ``backup_dir`` under a dated name; then only the newest ``backup_keep``
    dated archives stay. Returns the backup and the archives removed."""
    folder = settings.backup_dir
    assert folder is not None
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(folder)
    result = create_backup(settings, default_output(settings, now))
    return result, prune(folder, settings.backup_keep)


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` dated archives; other files are never touched."""
    dated = sorted(p for p in folder.iterdir() if ARCHIVE_NAME.match(p.name) and p.is_file())
    removed = dated[:-keep] if keep > 0 else dated
    for path in removed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if removed:
        log.info("old backups removed", extra={"count": len(removed)})
    return removed


def _remove_stale_parts(folder: Path) -> None:
    cutoff = time.time() - STALE_PART_SECONDS
    for path in folder.glob("sipoke-backup-*.tar.gz.part"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _upload_files(root: Path, *, skip: Path | None) -> Iterator[tuple[Path, str]]:
    if not root.is_dir():
        return
    skipped = {root / name for name in SKIPPED_FOLDERS}
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if here / d not in skipped
                            and not (skip is not None and (here / d).resolve() == skip.resolve()))
        for name in sorted(files):
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


# --- restore ------------------------------------------------------------------------------

def restore_backup(settings: Settings, archive: Path, *, known_revisions: Sequence[str],
                   overwrite: bool = False, force: bool = False) -> RestoreResult:
    """Restore ``archive`` into the configured database and upload folder.

    ``known_revisions`` are the code's migration revisions, oldest first (the last is head).
    ``overwrite`` empties a target that holds data first; ``force`` accepts an archive from a
    newer version or made with another secret key.
    """
    archive = Path(archive)
    url = settings.database_url
    assert settings.upload_dir is not None
    uploads = settings.upload_dir
    if not archive.is_file():
        raise BackupError("no_archive", f"Berkas {archive} tidak ditemukan.")
    manifest = read_verified(archive)  # nothing is written before this has passed

    backend = database.backend_of(url)
    if manifest.database.backend != backend:
        raise BackupError("wrong_backend", f"Arsip ini berisi basis data "
                          f"{_backend_name(manifest.database.backend)}, tetapi "
                          f"SIPOKE_DATABASE_URL menunjuk ke {_backend_name(backend)}. "
                          "Pulihkan ke basis data yang sejenis.")
    status = _revision_status(manifest.migration_revision, known_revisions)
    if status == "newer" and not force:
        raise BackupError("newer_revision", "Arsip dibuat oleh versi SIP OKE Antar yang lebih "
                          f"baru (versi {manifest.product_version}, revisi migrasi "
                          f"{manifest.migration_revision}); versi ini ({product_version()}) "
                          f"hanya mengenal sampai revisi {known_revisions[-1]}. Perbarui SIP OKE "
                          "Antar dulu, atau pakai --force bila Anda yakin.")
    key = _existing_secret(settings)
    key_matches = None if key is None else key_check(key) == manifest.secret_key_check
    if not key_matches and not force:
        raise _key_error(key_matches)

    target = database.inspect_target(url)
    files, foreign = _upload_folder_state(uploads)
    if not target.empty and not overwrite:
        raise BackupError("database_not_empty", "Basis data tujuan tidak kosong (berisi data di "
                          f"tabel {', '.join(target.with_rows[:5])}). Pulihkan ke basis data "
                          "kosong, atau pakai --overwrite untuk MENGHAPUS isinya lebih dulu.")
    if files and not overwrite:
        raise BackupError("uploads_not_empty", f"Folder unggahan {uploads} tidak kosong "
                          f"({len(files)} berkas). Pakai folder kosong, atau --overwrite untuk "
                          "MENGHAPUS isinya lebih dulu.")
    if foreign:
        raise BackupError("foreign_files", f"Folder unggahan {uploads} berisi {foreign[0]!r}, "
                          "yang bukan milik SIP OKE Antar; tidak ada yang dihapus. Periksa "
                          "SIPOKE_UPLOAD_DIR atau kosongkan folder itu sendiri.")

    # Everything is checked; from here on the target is written.
    if target.tables:
        database.clear_target(url)
    for name in STORAGE_FOLDERS:
        shutil.rmtree(uploads / name, ignore_errors=True)
    uploads.mkdir(parents=True, exist_ok=True)
    restored = _extract_and_load(settings, archive, manifest, uploads)

    counts = database.table_counts(url)
    if counts != manifest.database.tables:
        differ = sorted(t for t in set(counts) | set(manifest.database.tables)
                        if counts.get(t) != manifest.database.tables.get(t))
        raise BackupError("count_mismatch", "Isi basis data setelah pemulihan tidak sama dengan "
                          f"cadangan (tabel {', '.join(differ[:5])}). Ulangi dengan --overwrite.")
    log.info("backup restored", extra={"archive": str(archive), "files": restored,
                                       "revision": manifest.migration_revision})
    return RestoreResult(manifest=manifest, files=restored, revision_status=status,
                         key_matches=key_matches, tables=counts)


def _extract_and_load(settings: Settings, archive: Path, manifest: Manifest,
                      uploads: Path) -> int:
    url = settings.database_url
    if database.backend_of(url) == database.SQLITE:
        # Next to the target, so putting it in place is one atomic rename.
        target = database.sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = target.parent
    else:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        work = settings.var_dir
    copy = work / f".sipoke-restore-{secrets.token_hex(8)}"
    try:
        return extract(archive, manifest, database_to=copy, uploads_to=uploads,
                       on_database=lambda path: database.load(url, path))
    finally:
        with contextlib.suppress(FileNotFoundError):
            copy.unlink()


def _revision_status(revision: str, known: Sequence[str]) -> str:
    if known and revision == known[-1]:
        return "same"
    return "older" if revision in known else "newer"


def _existing_secret(settings: Settings) -> str | None:
    """The key this server would use, without generating one (Settings.secret() would)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.var_dir / "secret_key"
    return path.read_text().strip() if path.is_file() else None


def _key_error(matches: bool | None) -> BackupError:
    if matches is None:
        return BackupError("no_secret_key", "Kunci rahasia belum dipasang di server ini. Isi "
                           "SIPOKE_SECRET_KEY dengan kunci yang dipakai saat cadangan dibuat "
                           "(atau salin berkas var/secret_key lama), lalu ulangi. Tanpa kunci itu "
                           "NIK warga tidak bisa dibaca; --force memulihkan tanpa NIK.")
    return BackupError("wrong_secret_key", "Kunci rahasia (SIPOKE_SECRET_KEY) di server ini "
                       "berbeda dari kunci saat cadangan dibuat: NIK warga tidak akan bisa "
                       "dibaca. Pasang kunci yang lama lalu ulangi; --force memulihkan tanpa NIK.")


def _upload_folder_state(root: Path) -> tuple[list[str], list[str]]:
    """(every file under the upload folder, those outside the storage's own folders)."""
    files: list[str] = []
    if root.is_dir():
        for directory, _subdirs, names in os.walk(root):
            files.extend((Path(directory) / n).relative_to(root).as_posix() for n in names)
    foreign = sorted(f for f in files if f.split("/", 1)[0] not in STORAGE_FOLDERS)
    return files, foreign


def _backend_name(backend: str) -> str:
    return "PostgreSQL" if backend == database.POSTGRESQL else "SQLite"
