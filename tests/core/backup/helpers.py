"""Helpers of the backup tests: seeding through the services, reading a database and an upload
folder back whole, and rewriting an archive the way damage (or a newer version) would."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from core.db import Base, unit_of_work
from core.requests.demo import seed_finished_request
from core.settings import Settings


def seed_request(settings: Settings) -> None:
    """Siti's finished request, walked through the services: two scans, the RW's cover letter
    and the signed document (three files in storage)."""
    with unit_of_work() as session:
        seed_finished_request(session, settings, force=True)


def database_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of ours, in primary-key order."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = {}
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                rows[table.name] = [tuple(r) for r in conn.execute(
                    select(table).order_by(*order))]
            return rows
    finally:
        engine.dispose()


def files(root: Path) -> dict[str, bytes]:
    """Every kept file under an upload folder, by its path inside it."""
    base = root / "files"
    if not base.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file()}


def repack(source: Path, target: Path,
           edit: Callable[[str, bytes], bytes | None]) -> None:
    """Copy an archive member by member; ``edit(name, data)`` returns new bytes or None
    (keep)."""
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(source, "r:gz") as tar:
        for info in tar:
            handle = tar.extractfile(info)
            assert handle is not None
            members.append((info, handle.read()))
    with tarfile.open(target, "w:gz") as tar:
        for info, data in members:
            changed = edit(info.name, data)
            data = data if changed is None else changed
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def flip_a_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def json_of(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()
