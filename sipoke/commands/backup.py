"""`sipoke backup`, `sipoke backup-check` and `sipoke restore`: backups an office admin can make
and restore (core.backup). Messages are in Bahasa Indonesia; a refusal or failure is one line on
stderr and exit code 1."""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.backup.archive import Manifest

SUMMARY_TABLES = (("document_requests", "permohonan"), ("deliveries", "pengantaran"),
                  ("users", "akun"))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backup", help="write one archive with the database, the uploads and a manifest")
    p.add_argument("--output", "-o", type=Path, metavar="FILE",
                   help="archive to write, - for standard output (default: a dated file in "
                   "SIPOKE_BACKUP_DIR)")
    p.set_defaults(handler=backup)

    p = subparsers.add_parser("backup-check",
                              help="check an archive's checksums without restoring anything")
    p.add_argument("archive", type=Path, metavar="FILE")
    p.set_defaults(handler=check)

    p = subparsers.add_parser(
        "restore", help="restore an archive into an empty database and upload folder")
    p.add_argument("archive", type=Path, metavar="FILE", help="the archive, - for standard input")
    p.add_argument("--overwrite", action="store_true",
                   help="DELETE what the target database and upload folder hold, then restore")
    p.add_argument("--force", action="store_true",
                   help="restore an archive from a newer version or made with another secret key")
    p.set_defaults(handler=restore)


def backup(args: argparse.Namespace) -> int:
    from core.backup import BackupError
    from core.backup.service import create_backup, default_output
    from core.backup.status import record_success
    from core.db import utcnow
    from core.settings import get_settings

    settings = get_settings()
    to_stdout = str(args.output) == "-"
    output, spool = args.output, None
    try:
        if args.output is None:
            output = default_output(settings)
            output.parent.mkdir(parents=True, exist_ok=True)
        elif to_stdout:
            # Written whole first (the archive is only complete once its manifest is in),
            # then copied out: `docker compose exec -T worker sipoke backup --output - > FILE`.
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            output = spool = settings.var_dir / f".sipoke-backup-{secrets.token_hex(8)}.tar.gz"
        result = create_backup(settings, output, record=not to_stdout)
        if to_stdout:
            with open(output, "rb") as archive:
                shutil.copyfileobj(archive, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            record_success(settings, finished_at=utcnow(), size=result.size, archive="-")
    except BackupError as exc:
        return _fail(exc)
    except OSError as exc:  # a folder that cannot be written, a full disk...
        return _fail(f"Gagal membaca atau menulis berkas: {exc}")
    finally:
        if spool is not None:
            spool.unlink(missing_ok=True)
    say = functools.partial(print, file=sys.stderr if to_stdout else sys.stdout)
    manifest = result.manifest
    rows = sum(manifest.database.tables.values())
    say(f"Cadangan selesai: {'(keluaran standar)' if to_stdout else result.path} "
        f"({_size(result.size)})")
    say(f"  basis data  {_backend(manifest.database.backend)}, revisi migrasi "
        f"{manifest.migration_revision}, {_number(rows)} baris")
    say(f"  berkas      {_number(result.files)} unggahan dan dokumen bertanda tangan "
        f"({_size(result.files_bytes)})")
    if result.vanished:
        say(f"  ({result.vanished} berkas dihapus oleh retensi selama pencadangan, tidak ikut)")
    say("Simpan salinan arsip ini di luar server (flashdisk, NAS atau penyimpanan awan kantor).")
    say("Kunci rahasia (SIPOKE_SECRET_KEY) TIDAK ikut di dalam arsip: simpan terpisah "
        "(README, bagian Backups).")
    return 0


def check(args: argparse.Namespace) -> int:
    from core.backup import BackupError
    from core.backup.archive import read_verified

    if not args.archive.is_file():
        print(f"sipoke: Berkas {args.archive} tidak ditemukan.", file=sys.stderr)
        return 1
    try:
        manifest = read_verified(args.archive)
    except BackupError as exc:
        return _fail(exc)
    except OSError as exc:  # a folder that cannot be written, a full disk...
        return _fail(f"Gagal membaca atau menulis berkas: {exc}")
    print(f"Arsip utuh: semua checksum cocok ({len(manifest.members)} berkas).")
    _describe(manifest)
    return 0


def restore(args: argparse.Namespace) -> int:
    from core.backup import BackupError
    from core.backup.service import restore_backup
    from core.settings import get_settings
    from sipoke.migrate import revisions, upgrade

    settings = get_settings()
    known = revisions()
    archive, spooled = args.archive, None
    try:
        if str(archive) == "-":
            # `docker compose run -T migrate restore - < FILE`: the archive is read twice
            # (checked, then restored), so standard input is kept in a file first.
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".sipoke-restore-stdin-", dir=settings.var_dir)
            archive = spooled = Path(name)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out)
        result = restore_backup(settings, archive, known_revisions=known,
                                overwrite=args.overwrite, force=args.force)
    except BackupError as exc:
        return _fail(exc)
    except OSError as exc:  # a folder that cannot be written, a full disk...
        return _fail(f"Gagal membaca atau menulis berkas: {exc}")
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    manifest = result.manifest
    print(f"Pemulihan selesai dari {args.archive}.")
    _describe(manifest)
    print(f"  dipulihkan   {_number(result.files)} berkas unggahan")
    if result.revision_status == "older":
        try:
            upgrade(settings.database_url)
        except Exception as exc:
            return _fail(f"Data sudah dipulihkan, tetapi migrasi ke revisi {known[-1]} gagal "
                         f"({exc}). Jalankan `sipoke migrate` setelah masalahnya diatasi.")
        print(f"Basis data dinaikkan dari revisi {manifest.migration_revision} ke revisi "
              f"terbaru {known[-1]}.")
    elif result.revision_status == "newer":
        print(f"PERINGATAN: arsip berasal dari versi yang lebih baru (revisi "
              f"{manifest.migration_revision}); perbarui SIP OKE Antar sebelum menjalankannya.")
    if result.key_matches is None:
        print("PERINGATAN: server ini belum punya kunci rahasia; pasang kunci yang lama "
              "(SIPOKE_SECRET_KEY) sebelum menjalankan layanan, atau NIK warga tidak terbaca.")
    elif not result.key_matches:
        print("PERINGATAN: kunci rahasia server ini berbeda dari kunci saat cadangan dibuat: "
              "NIK warga tidak bisa dibaca.")
    print("Jalankan lagi layanan (API, worker, beat).")
    return 0


def _describe(manifest: Manifest) -> None:
    from core.backup.service import LOCAL_ZONE

    made = manifest.created_at.astimezone(LOCAL_ZONE).strftime("%d-%m-%Y %H:%M WIB")
    tables = manifest.database.tables
    contents = ", ".join(f"{_number(tables[t])} {label}" for t, label in SUMMARY_TABLES
                         if t in tables)
    print(f"  dibuat       {made} oleh SIP OKE Antar {manifest.product_version}")
    print(f"  basis data   {_backend(manifest.database.backend)}, revisi migrasi "
          f"{manifest.migration_revision}")
    if contents:
        print(f"  isi          {contents}")


def _fail(exc: Exception | str) -> int:
    print(f"sipoke: {exc}", file=sys.stderr)
    return 1


def _backend(name: str) -> str:
    return "PostgreSQL" if name == "postgresql" else "SQLite"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")  # Indonesian thousands separator


def _size(n: int) -> str:
    value, units = float(n), ["B", "KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{n} B" if units[0] == "B" else f"{value:.1f} {units[0]}".replace(".", ",")
