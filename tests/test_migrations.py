"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL, and undo
cleanly. A model change without a regenerated migration fails here, naming the difference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

import sipoke.models
from sipoke.migrate import downgrade, upgrade
from tests.conftest import PG_URL, _pg_admin_url, missing_service


def _differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        return compare_metadata(context, sipoke.models.metadata)


def test_migrated_schema_equals_the_models(engine: Engine) -> None:
    diff = _differences(engine)
    assert diff == [], "add a revision with scripts/new-migration; differences:\n" + "\n".join(
        map(str, diff))


@pytest.fixture
def blank_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: this test migrates up and down, so not the shared one."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    if not PG_URL:
        missing_service("database")
    admin_url = make_url(_pg_admin_url())
    name = f"sipoke_migr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade(blank_database: str) -> None:
    model_tables = set(sipoke.models.metadata.tables)
    upgrade(blank_database)
    engine = create_engine(blank_database)
    try:
        assert set(inspect(engine).get_table_names()) == model_tables | {"alembic_version"}
        assert _differences(engine) == []

        downgrade(blank_database, "base")
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) <= {"alembic_version"}
        if engine.dialect.name == "postgresql":
            # Enum types and sequences go too, or the next upgrade would collide with them.
            with engine.connect() as conn:
                leftovers = conn.execute(text(
                    "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype = 'e'")).scalars().all()
            assert leftovers == []

        upgrade(blank_database)  # and it comes back
        assert set(inspect(engine).get_table_names()) == model_tables | {"alembic_version"}
    finally:
        engine.dispose()


def test_there_is_one_head() -> None:
    from alembic.script import ScriptDirectory

    from sipoke.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads
