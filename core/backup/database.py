"""The database part of a backup: a consistent copy taken while the system runs, and its restore.

* PostgreSQL: ``pg_dump`` in its custom format, inside a read-only snapshot that is exported
  first, so the migration revision and the row counts written to the manifest come from the
  very state the dump holds. ``pg_restore`` loads it in one transaction: a failed restore
  leaves the target as it was.
* SQLite: the online backup API (``sqlite3.Connection.backup``), which copies every page under
  one read transaction; in WAL mode writers go on meanwhile. Revision and counts are read from
  the copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from core.backup import BackupError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
VERSION_TABLE = "alembic_version"
# pg_dump/pg_restore may run for a long time on a big database, never forever.
PG_TOOL_TIMEOUT = 6 * 3600


@dataclass
class Snapshot:
    """A consistent copy of the database on disk, with what the manifest records about it."""

    backend: str
    path: Path
    revision: str
    tables: dict[str, int] = field(default_factory=dict)


@dataclass
class TargetState:
    """What a restore target holds: its tables, and those of them that have rows."""

    tables: list[str] = field(default_factory=list)
    with_rows: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        # A freshly migrated database (schema, no rows) holds nothing to lose.
        return not self.with_rows


def backend_of(database_url: str) -> str:
    return SQLITE if database_url.startswith("sqlite") else POSTGRESQL


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("memory_database", "Basis data SQLite di memori tidak bisa dicadangkan.")
    return Path(database)


# --- taking the copy ----------------------------------------------------------------------

def dump(database_url: str, into: Path) -> Snapshot:
    """Copy the database to ``into`` (a file that does not exist yet)."""
    if backend_of(database_url) == SQLITE:
        return _sqlite_dump(sqlite_path(database_url), into)
    return _pg_dump(database_url, into)


def _sqlite_dump(source: Path, into: Path) -> Snapshot:
    if not source.is_file():
        raise BackupError("no_database", f"Berkas basis data {source} tidak ditemukan.")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)
            # One self-contained file: no WAL next to it in the archive.
            dst.execute("PRAGMA journal_mode=DELETE")
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("corrupt_database", "Basis data SQLite rusak (quick_check "
                                  "gagal); cadangan dibatalkan.")
            revision = _sqlite_revision(dst)
            tables = {name: _sqlite_count(dst, name) for name in _sqlite_tables(dst)}
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError("database_error", f"Gagal menyalin basis data SQLite: {exc}") from None
    finally:
        src.close()
    return Snapshot(SQLITE, into, revision, tables)


def _pg_dump(database_url: str, into: Path) -> Snapshot:
    with _pg_connection(database_url) as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            # The first statement fixes the transaction's snapshot; pg_dump works in the same one.
            snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))
            revision = _pg_revision(conn)
            tables = {name: _count(conn, name) for name in _pg_tables(conn)}
            _run_pg_tool("pg_dump", database_url, [
                "--format=custom", f"--snapshot={snapshot_id}", f"--file={into}"])
    return Snapshot(POSTGRESQL, into, revision, tables)


# --- the restore target -------------------------------------------------------------------

def inspect_target(database_url: str) -> TargetState:
    if backend_of(database_url) == SQLITE:
        path = sqlite_path(database_url)
        if not path.is_file() or path.stat().st_size == 0:
            return TargetState()
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
                tables = _sqlite_tables(conn)
                rows = [t for t in tables if t != VERSION_TABLE and _sqlite_has_rows(conn, t)]
        except sqlite3.Error as exc:
            raise BackupError("database_error",
                              f"Basis data tujuan {path} tidak bisa dibaca: {exc}") from None
        return TargetState(tables, rows)
    with _pg_connection(database_url) as conn:
        tables = _pg_tables(conn)
        rows = [t for t in tables if t != VERSION_TABLE and _pg_has_rows(conn, t)]
    return TargetState(tables, rows)


def clear_target(database_url: str) -> None:
    """Remove everything a restore would collide with (only ever called on a target the admin
    chose to overwrite, or on one that holds no rows)."""
    if backend_of(database_url) == SQLITE:
        path = sqlite_path(database_url)
        # A WAL left next to the new file would be replayed into it.
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
        return
    with _pg_connection(database_url) as conn, conn.begin():
        tables = _pg_tables(conn)
        if tables:
            names = ", ".join(_quote(conn, t) for t in tables)
            conn.execute(text(f"DROP TABLE IF EXISTS {names} CASCADE"))
        for sequence in conn.scalars(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind = 'S'")).all():
            conn.execute(text(f"DROP SEQUENCE IF EXISTS {_quote(conn, sequence)} CASCADE"))


def load(database_url: str, copy: Path) -> None:
    """Put the copy in place as the target database (which is empty or was cleared)."""
    if backend_of(database_url) == SQLITE:
        target = sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        clear_target(database_url)
        # Same folder, so the rename is atomic: the target is the old file or the whole copy.
        os.replace(copy, target)
        os.chmod(target, 0o600)
        return
    _run_pg_tool("pg_restore", database_url, [
        "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(copy)])


def table_counts(database_url: str) -> dict[str, int]:
    if backend_of(database_url) == SQLITE:
        with contextlib.closing(sqlite3.connect(sqlite_path(database_url), timeout=30)) as conn:
            return {name: _sqlite_count(conn, name) for name in _sqlite_tables(conn)}
    with _pg_connection(database_url) as conn:
        return {name: _count(conn, name) for name in _pg_tables(conn)}


# --- helpers ------------------------------------------------------------------------------

@contextlib.contextmanager
def _pg_connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            where = make_url(database_url).set(drivername="postgresql").render_as_string(
                hide_password=True)
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise BackupError("database_unreachable",
                              f"Tidak bisa terhubung ke basis data {where}: {reason}") from None
        with conn:
            yield conn
    finally:
        engine.dispose()


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _pg_tables(conn: Connection) -> list[str]:
    return list(conn.scalars(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1")))


# Table names come from the catalog and are quoted as identifiers: nothing to inject.
def _count(conn: Connection, table: str) -> int:
    return int(conn.scalar(text(f"SELECT count(*) FROM {_quote(conn, table)}")) or 0)  # noqa: S608


def _pg_has_rows(conn: Connection, table: str) -> bool:
    return bool(conn.scalar(text(
        f"SELECT EXISTS (SELECT 1 FROM {_quote(conn, table)})")))  # noqa: S608


def _pg_revision(conn: Connection) -> str:
    if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
        raise _not_migrated()
    return _one_revision(list(conn.scalars(text("SELECT version_num FROM alembic_version"))))


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [row[0] for row in rows]


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_count(conn: sqlite3.Connection, table: str) -> int:
    query = f"SELECT count(*) FROM {_sqlite_quote(table)}"  # noqa: S608 - a quoted catalog name
    return int(conn.execute(query).fetchone()[0])


def _sqlite_has_rows(conn: sqlite3.Connection, table: str) -> bool:
    query = f"SELECT 1 FROM {_sqlite_quote(table)} LIMIT 1"  # noqa: S608 - a quoted catalog name
    return conn.execute(query).fetchone() is not None


def _sqlite_revision(conn: sqlite3.Connection) -> str:
    if VERSION_TABLE not in _sqlite_tables(conn):
        raise _not_migrated()
    return _one_revision([r[0] for r in conn.execute("SELECT version_num FROM alembic_version")])


def _one_revision(revisions: list[str]) -> str:
    if len(revisions) != 1:
        raise _not_migrated()
    return revisions[0]


def _not_migrated() -> BackupError:
    return BackupError("not_migrated", "Basis data belum berisi skema SIP OKE Antar "
                       "(jalankan `sipoke migrate` lebih dulu).")


def _run_pg_tool(tool: str, database_url: str, args: list[str]) -> None:
    url = make_url(database_url)
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError("missing_tool", f"Program {tool} tidak ditemukan. Pasang klien "
                          "PostgreSQL (paket postgresql-client) dengan versi yang sama atau lebih "
                          "baru daripada server PostgreSQL.")
    # The password travels in the environment, never on a command line others can read.
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(  # noqa: S603 - fixed executable, arguments built here
            [executable, f"--dbname={conninfo}", *args], env=env, capture_output=True,
            text=True, timeout=PG_TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BackupError("tool_failed", f"{tool} tidak selesai dalam {PG_TOOL_TIMEOUT} detik.") \
            from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        detail = "; ".join(lines[-3:]) or f"kode keluar {done.returncode}"
        raise BackupError("tool_failed", f"{tool} gagal: {detail}")
