"""Backup tests: the source is the test's own database (both backends) with an upload folder
of its own; every restore goes into a target created here and thrown away after the test (a
SQLite file, or a PostgreSQL database ``sipoke_backup_test_<random>``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from core.settings import Settings, load_settings, reset_settings_cache
from tests.conftest import PG_URL, _pg_admin_url, missing_service

# The live sandbox courier company and the delivery port, for a real delivery to back up.
from tests.delivery.conftest import installed, providers_env, sandbox_server  # noqa: F401


@pytest.fixture(autouse=True)
def backup_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The source's upload and backup folders belong to this test alone."""
    monkeypatch.setenv("SIPOKE_UPLOAD_DIR", str(tmp_path / "source-uploads"))
    monkeypatch.setenv("SIPOKE_BACKUP_DIR", str(tmp_path / "backups"))
    (tmp_path / "backups").mkdir()
    reset_settings_cache()


@dataclass
class Target:
    """An empty database and upload folder to restore into."""

    url: str
    uploads: Path

    def settings(self, **overrides: object) -> Settings:
        return load_settings(database_url=self.url, upload_dir=self.uploads, **overrides)


@pytest.fixture
def new_target(backend: str, tmp_path: Path):
    """Makes empty targets of the test's backend; all are dropped when the test ends."""
    made: list[str] = []
    admin = None
    if backend == "postgresql":
        if not PG_URL:
            missing_service("database")
        admin = create_engine(make_url(_pg_admin_url()), isolation_level="AUTOCOMMIT")

    def _make() -> Target:
        tag = uuid.uuid4().hex[:10]
        uploads = tmp_path / f"target-{tag}" / "uploads"
        if admin is None:
            return Target(f"sqlite:///{tmp_path / f'target-{tag}.sqlite3'}", uploads)
        name = f"sipoke_backup_test_{tag}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        url = make_url(_pg_admin_url()).set(database=name)
        return Target(url.render_as_string(hide_password=False), uploads)

    yield _make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def target(new_target) -> Target:
    return new_target()


@pytest.fixture
def source_settings(engine: Engine) -> Settings:
    from core.settings import get_settings

    return get_settings()
