"""Checks of what the deployment keeps and runs: the database and its migrations, the
broker, beat (by its heartbeat) and the disk under uploads and backups. None of them creates
anything: a SQLite file that is not there is reported, not made."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from core.settings import Settings
from sipoke.doctor.findings import (
    CONNECT_TIMEOUT,
    Finding,
    Options,
    error_text,
    fail,
    ok,
    warn,
)

GIB = 1024**3
# Free space below these fails / warns (either the bytes or the share of the disk).
DISK_FAIL_BYTES, DISK_FAIL_SHARE = GIB // 2, 0.02
DISK_WARN_BYTES, DISK_WARN_SHARE = 2 * GIB, 0.10


# --- database and migrations ----------------------------------------------------------------

def _engine(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    args = {"timeout": CONNECT_TIMEOUT} if url.startswith("sqlite") \
        else {"connect_timeout": int(CONNECT_TIMEOUT)}
    return create_engine(url, poolclass=NullPool, connect_args=args)


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (connecting would create it empty)."""
    from sqlalchemy.engine import make_url

    name = make_url(url.removeprefix("sqla+")).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    return None if path.exists() else path


def check_database(settings: Settings, options: Options) -> Iterator[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from sipoke.migrate import alembic_config

    url = settings.database_url
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    area = "Basis data"
    missing = _missing_sqlite_file(url) if settings.is_sqlite else None
    if missing is not None:
        yield fail(area, f"Berkas basis data {missing} belum ada.",
                   "Jalankan `sipoke migrate` (atau `make run`), atau perbaiki "
                   "SIPOKE_DATABASE_URL.")
        return
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        yield fail(area, f"Basis data tidak dapat dihubungi ({shown}): "
                   f"{error_text(exc, parsed.password)}",
                   "Pastikan server basis data berjalan dan SIPOKE_DATABASE_URL (alamat, port, "
                   "nama pengguna, kata sandi, nama basis data) benar.")
        return
    finally:
        engine.dispose()
    yield ok(area, f"Terhubung ({shown}).")

    area = "Migrasi"
    script = ScriptDirectory.from_config(alembic_config(url))
    heads = set(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    if current == heads:
        yield ok(area, f"Struktur basis data sudah terbaru ({', '.join(sorted(heads))}).")
    elif not current:
        yield fail(area, "Basis data masih kosong: migrasi belum pernah dijalankan.",
                   "Jalankan `sipoke migrate` (di docker compose: layanan `migrate`).")
    elif current - known:
        yield fail(area, f"Basis data ada di revisi {', '.join(sorted(current - known))} yang "
                   "tidak dikenal versi program ini (mungkin dari versi yang lebih baru).",
                   "Jalankan versi program yang cocok dengan basis data ini, atau pulihkan "
                   "cadangan yang sesuai.")
    else:
        yield fail(area, f"Migrasi belum terbaru: basis data di {', '.join(sorted(current))}, "
                   f"program membutuhkan {', '.join(sorted(heads))}.",
                   "Jalankan `sipoke migrate`, lalu mulai ulang API dan worker.")


# --- broker and beat --------------------------------------------------------------------------

def check_broker(settings: Settings, options: Options) -> Iterator[Finding]:
    from kombu.utils.url import maybe_sanitize_url

    url = settings.broker_url
    shown = maybe_sanitize_url(url)
    area = "Broker"
    action = ("Pastikan broker berjalan dan SIPOKE_BROKER_URL benar (kosongkan untuk broker "
              "SQLite bawaan di var/).")
    if url.startswith("memory://"):
        yield warn(area, "Broker memory:// hanya untuk pengujian: tugas tidak sampai ke worker "
                   "di proses lain.", action)
        return
    if settings.broker_is_redis:
        yield from _check_redis(url, shown, action)
        return
    missing = _missing_sqlite_file(url)
    if missing is not None:
        yield fail(area, f"Berkas broker {missing} belum ada: worker belum pernah berjalan.",
                   "Jalankan `sipoke worker` (atau `make run`).")
        return
    from sqlalchemy import text

    engine = _engine(url.removeprefix("sqla+"))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        yield fail(area, f"Broker tidak dapat dihubungi ({shown}): {error_text(exc)}", action)
        return
    finally:
        engine.dispose()
    yield ok(area, f"Terhubung ({shown}).")


def _check_redis(url: str, shown: str, action: str) -> Iterator[Finding]:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT,
                                  socket_timeout=CONNECT_TIMEOUT)
    try:
        client.ping()
    except Exception as exc:
        yield fail("Broker", f"Redis tidak dapat dihubungi ({shown}): {error_text(exc)}",
                   action)
        return
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception:  # CONFIG is often disabled on managed Redis: nothing to say then
        policy = None
    finally:
        client.close()
    if policy and policy != "noeviction":
        yield warn("Broker", f"Redis terhubung ({shown}), tetapi maxmemory-policy={policy}: "
                   "saat memori penuh Redis membuang data, termasuk tugas yang belum jalan.",
                   "Set `maxmemory-policy noeviction` (seperti di docker-compose.yml).")
        return
    yield ok("Broker", f"Redis terhubung ({shown}).")


def check_beat(settings: Settings, options: Options) -> Iterator[Finding]:
    from workers.heartbeat import STALE_AFTER, heartbeat_path, read_heartbeat

    area = "Beat"
    action = ("Jalankan tepat satu `sipoke beat` (atau `sipoke worker --beat`, seperti "
              "`make run`) dan worker untuk antrean default; keduanya harus memakai "
              f"SIPOKE_VAR_DIR yang sama ({settings.var_dir}).")
    last = read_heartbeat(settings)
    if last is None:
        yield fail(area, f"Belum ada tanda hidup dari beat ({heartbeat_path(settings)}): tugas "
                   "terjadwal (relay outbox, pelacakan dan sapuan pengantaran) tidak berjalan.",
                   action + " Baru dinyalakan? Tanda hidup pertama datang dalam satu menit.")
        return
    age = datetime.now(UTC) - last
    seconds = max(int(age.total_seconds()), 0)
    if age > STALE_AFTER:
        yield fail(area, f"Tanda hidup terakhir dari beat {_duration(seconds)} yang lalu: beat, "
                   "broker, atau worker antrean default berhenti.", action)
    else:
        yield ok(area, f"Beat dan worker hidup (tanda hidup {_duration(seconds)} yang lalu).")


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} detik"
    if seconds < 7200:
        return f"{seconds // 60} menit"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} jam"
    return f"{seconds // 86400} hari"


# --- disk space -------------------------------------------------------------------------------

def check_disk(settings: Settings, options: Options) -> Iterator[Finding]:
    backup_dir = getattr(settings, "backup_dir", None) or settings.var_dir / "backups"
    for area, path, variable in (("Disk unggahan", settings.upload_dir, "SIPOKE_UPLOAD_DIR"),
                                 ("Disk cadangan", backup_dir, "SIPOKE_BACKUP_DIR")):
        assert path is not None
        yield _disk(area, Path(path), variable)


def _disk(area: str, path: Path, variable: str) -> Finding:
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    share = usage.free / usage.total if usage.total else 0.0
    free = f"{usage.free / GIB:.1f} GiB ({share:.0%})"
    action = (f"Kosongkan disk, atau pindahkan folder ini ({variable}) ke disk yang lebih "
              "lega.")
    if existing == path.absolute() and not _writable(existing):
        return fail(area, f"Folder {path} tidak dapat ditulisi.",
                    f"Beri izin tulis pada {path} untuk pengguna yang menjalankan aplikasi.")
    if usage.free < DISK_FAIL_BYTES or share < DISK_FAIL_SHARE:
        return fail(area, f"Sisa ruang untuk {path} tinggal {free}.", action)
    if usage.free < DISK_WARN_BYTES or share < DISK_WARN_SHARE:
        return warn(area, f"Sisa ruang untuk {path} tinggal {free}.", action)
    note = "" if existing == path.absolute() else " (folder dibuat saat pertama dipakai)"
    return ok(area, f"{free} kosong untuk {path}{note}.")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)
