"""Upload storage: a small interface and its local-disk backend.

Files live under ``settings.upload_dir`` (by default ``var/uploads``, outside any folder the
web server serves) under random names; a client's file name is never used as a path. An
upload is first streamed to ``incoming/`` (counting bytes, so an oversize file is cut off at
the limit), then moved into place with an atomic rename once its content has been checked.

Database and disk stay consistent through session hooks: a kept file is removed again if the
transaction that references it rolls back, and a file scheduled for deletion is removed only
after the transaction that drops its reference commits.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.settings import Settings

HEAD_BYTES = 512  # enough for every magic number we check


@dataclass
class IncomingFile:
    """A file received from a client, not yet kept. ``head`` is its first bytes (magic)."""

    path: Path
    filename: str
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Storage(Protocol):
    def incoming(self, filename: str) -> tuple[IncomingFile, BinaryIO]: ...

    def keep(self, incoming: IncomingFile) -> str: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def sweep_incoming(self, older_than_seconds: float) -> int: ...


class LocalDiskStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files = self.root / "files"
        self.tmp = self.root / "incoming"

    def incoming(self, filename: str) -> tuple[IncomingFile, BinaryIO]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        path = self.tmp / f"{secrets.token_hex(16)}.part"
        handle = open(path, "xb")  # noqa: SIM115 - the caller closes it
        os.chmod(path, 0o600)
        return IncomingFile(path=path, filename=filename), handle

    def keep(self, incoming: IncomingFile) -> str:
        key = secrets.token_hex(20)
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(incoming.path, target)
        return key

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def sweep_incoming(self, older_than_seconds: float) -> int:
        """Remove partial uploads a crashed process left behind."""
        if not self.tmp.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.tmp.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def _path(self, key: str) -> Path:
        # Keys are ours (hex); refuse anything else so a key can never walk the tree.
        if len(key) != 40 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("invalid storage key")
        return self.files / key[:2] / key


def storage_from_settings(settings: Settings) -> Storage:
    assert settings.upload_dir is not None
    return LocalDiskStorage(settings.upload_dir)


def write_chunk(incoming: IncomingFile, handle: BinaryIO, chunk: bytes) -> None:
    if len(incoming.head) < HEAD_BYTES:
        incoming.head += chunk[: HEAD_BYTES - len(incoming.head)]
    incoming._digest.update(chunk)
    incoming.size += len(chunk)
    handle.write(chunk)


def finish(incoming: IncomingFile, handle: BinaryIO) -> IncomingFile:
    handle.close()
    incoming.sha256 = incoming._digest.hexdigest()
    return incoming


# --- keeping disk and database consistent ----------------------------------------------------

_KEPT = "storage_kept"
_DOOMED = "storage_doomed"


def keep_in_transaction(session: Session, storage: Storage, incoming: IncomingFile) -> str:
    """Keep the file; if the transaction rolls back, the file goes too."""
    key = storage.keep(incoming)
    _hooks(session)
    session.info.setdefault(_KEPT, []).append((storage, key))
    return key


def delete_after_commit(session: Session, storage: Storage, key: str) -> None:
    """Delete the file once the transaction that dropped its reference has committed."""
    _hooks(session)
    session.info.setdefault(_DOOMED, []).append((storage, key))


def _hooks(session: Session) -> None:
    if session.info.get("storage_hooks"):
        return
    session.info["storage_hooks"] = True
    event.listen(session, "after_commit", _after_commit)
    event.listen(session, "after_soft_rollback", _after_rollback)


def _pop(session: Session, name: str) -> Iterator[tuple[Storage, str]]:
    yield from session.info.pop(name, [])


def _after_commit(session: Session) -> None:
    session.info.pop(_KEPT, None)
    for storage, key in _pop(session, _DOOMED):
        storage.delete(key)


def _after_rollback(session: Session, previous_transaction: object) -> None:
    if getattr(previous_transaction, "nested", False):
        return  # a savepoint rolled back; the outer transaction may still commit
    session.info.pop(_DOOMED, None)
    for storage, key in _pop(session, _KEPT):
        storage.delete(key)
