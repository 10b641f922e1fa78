"""The archive: a gzip tar holding the database copy, the upload folder's files and, last,
``manifest.json`` with the size and SHA-256 of every other member.

Writing streams each file once (hashing it on the way into the tar) to ``<name>.part`` and
renames it into place only when complete, so a half-written archive never looks like a
backup. Reading is two streaming passes: the first checks every checksum and writes nothing,
the second writes, checking again as it goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from pydantic import BaseModel, Field, ValidationError

from core.backup import BackupError

MANIFEST = "manifest.json"
FORMAT = "sipoke-backup"
FORMAT_VERSION = 1
DATABASE_MEMBERS = {"sqlite": "database/sipoke.sqlite3", "postgresql": "database/sipoke.pgdump"}
UPLOADS = "uploads"
CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


class Member(BaseModel):
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DatabasePart(BaseModel):
    backend: Literal["sqlite", "postgresql"]
    member: str
    tables: dict[str, int]


class Manifest(BaseModel):
    format: Literal["sipoke-backup"]
    format_version: int = Field(ge=1)
    product: str
    product_version: str
    created_at: datetime
    migration_revision: str
    # A value derived from the secret key (never the key): a restore can tell whether the
    # target has the key the NIKs were encrypted with.
    secret_key_check: str
    database: DatabasePart
    members: dict[str, Member]


class _Hashing:
    """A reader that hashes what passes through it (tarfile reads exactly ``size`` bytes)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self.members: dict[str, Member] = {}
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._raw = os.fdopen(fd, "wb")
        self._tar = tarfile.open(  # noqa: SIM115 - closed by finish() or abort()
            fileobj=self._raw, mode="w:gz", compresslevel=6)

    def add_file(self, name: str, source: Path) -> Member | None:
        """Add a file; None when it vanished before it could be opened (a purged scan)."""
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            info = _info(name, size)
            reader = _Hashing(handle)
            self._tar.addfile(info, reader)  # type: ignore[arg-type]
        member = Member(size=size, sha256=reader.digest.hexdigest())
        self.members[name] = member
        return member

    def finish(self, manifest: Manifest) -> None:
        data = manifest.model_dump_json(indent=2).encode()
        self._tar.addfile(_info(MANIFEST, len(data)), _BytesReader(data))  # type: ignore[arg-type]
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.part, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._tar.close()
        with contextlib.suppress(Exception):
            self._raw.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk, self.offset = self.data[self.offset:end], min(end, len(self.data))
        return chunk


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    return info


# --- reading ------------------------------------------------------------------------------

def _corrupt(path: Path, exc: BaseException) -> BackupError:
    return BackupError("unreadable", f"{path.name} bukan arsip cadangan SIP OKE Antar atau "
                       f"arsipnya rusak ({exc}). Tidak ada yang dipulihkan.")


def _check_name(name: str) -> None:
    parts = PurePosixPath(name).parts
    ok = name == MANIFEST or (
        len(parts) >= 2 and parts[0] in ("database", UPLOADS) and "\\" not in name
        and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts))
    if not ok:
        raise BackupError("bad_member", f"Arsip berisi entri yang tidak diizinkan: {name!r}. "
                          "Tidak ada yang dipulihkan.")


def _members(tar: tarfile.TarFile):
    for info in tar:
        if info.isdir():
            continue
        _check_name(info.name)
        if not info.isreg():
            raise BackupError("bad_member", f"Arsip berisi entri yang bukan berkas biasa: "
                              f"{info.name!r}. Tidak ada yang dipulihkan.")
        yield info, tar.extractfile(info)


def read_verified(path: Path) -> Manifest:
    """First pass: read the whole archive, check every member against the manifest."""
    seen: dict[str, Member] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for info, handle in _members(tar):
                assert handle is not None
                if info.name in seen or (info.name == MANIFEST and manifest_bytes is not None):
                    raise BackupError("bad_member", f"Arsip berisi {info.name!r} dua kali. "
                                      "Tidak ada yang dipulihkan.")
                if info.name == MANIFEST:
                    if info.size > MAX_MANIFEST_BYTES:
                        raise BackupError("bad_manifest", "manifest.json terlalu besar.")
                    manifest_bytes = handle.read()
                    continue
                digest, size = hashlib.sha256(), 0
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                seen[info.name] = Member(size=size, sha256=digest.hexdigest())
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _corrupt(path, exc) from None
    if manifest_bytes is None:
        raise BackupError("no_manifest", f"{path.name} tidak berisi manifest.json: bukan arsip "
                          "cadangan SIP OKE Antar, atau arsipnya terpotong.")
    manifest = parse_manifest(manifest_bytes)
    for name, expected in manifest.members.items():
        got = seen.pop(name, None)
        if got is None:
            raise BackupError("missing_member", f"Arsip tidak lengkap: {name!r} tercatat di "
                              "manifest tetapi tidak ada di arsip. Tidak ada yang dipulihkan.")
        if got != expected:
            raise BackupError("checksum", f"Arsip rusak: isi {name!r} tidak cocok dengan "
                              "checksum di manifest. Tidak ada yang dipulihkan; pakai cadangan "
                              "lain.")
    if seen:
        raise BackupError("bad_member", f"Arsip berisi {sorted(seen)[0]!r} yang tidak tercatat "
                          "di manifest. Tidak ada yang dipulihkan.")
    return manifest


def parse_manifest(data: bytes) -> Manifest:
    try:
        manifest = Manifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackupError("bad_manifest", f"manifest.json tidak valid ({where}: {first['msg']})."
                          " Bukan arsip cadangan SIP OKE Antar yang dikenal.") from None
    if manifest.format_version > FORMAT_VERSION:
        raise BackupError("newer_format", "Arsip dibuat oleh versi SIP OKE Antar yang lebih baru "
                          f"(format {manifest.format_version}). Perbarui SIP OKE Antar dulu.")
    expected = DATABASE_MEMBERS[manifest.database.backend]
    if manifest.database.member != expected or expected not in manifest.members:
        raise BackupError("bad_manifest", "manifest.json tidak menyebut salinan basis data.")
    for name in manifest.members:
        _check_name(name)
    return manifest


def extract(path: Path, manifest: Manifest, *, database_to: Path, uploads_to: Path,
            on_database: Callable[[Path], None]) -> int:
    """Second pass: write the database copy to ``database_to`` (then call ``on_database``
    with it) and every upload under ``uploads_to``. Returns the number of uploads written."""
    written = 0
    root = uploads_to.resolve()
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for info, handle in _members(tar):
                assert handle is not None
                if info.name == MANIFEST:
                    continue
                expected = manifest.members.get(info.name)
                if expected is None:
                    raise BackupError("changed", "Arsip berubah selama pemulihan.")
                if info.name == manifest.database.member:
                    _write(handle, database_to, expected, info.name)
                    on_database(database_to)
                    continue
                relative = PurePosixPath(info.name).relative_to(UPLOADS)
                target = root.joinpath(*relative.parts)
                if not target.resolve().is_relative_to(root):
                    raise BackupError("bad_member", f"Entri arsip di luar folder unggahan: "
                                      f"{info.name!r}.")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise _write_failed(target.parent, exc) from None
                _write(handle, target, expected, info.name)
                written += 1
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _corrupt(path, exc) from None
    return written


def _write(handle: IO[bytes], target: Path, expected: Member, name: str) -> None:
    digest = hashlib.sha256()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _write_failed(target, exc) from None
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise _write_failed(target, exc) from None
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError as exc:
            raise _write_failed(target, exc) from None
    if digest.hexdigest() != expected.sha256:
        raise BackupError("changed", f"Isi {name!r} berubah selama pemulihan (arsip diubah?).")


def _write_failed(target: Path, exc: OSError) -> BackupError:
    return BackupError("write_failed", f"Gagal menulis {target}: {exc.strerror or exc}. "
                       "Pemulihan tidak selesai.")
