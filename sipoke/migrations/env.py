from alembic import context
from sqlalchemy import pool

import sipoke.models
from core.db import make_engine

config = context.config
target_metadata = sipoke.models.metadata


def render_item(type_, obj, autogen_context):
    # Our UTC column type renders as itself so SQLite and PostgreSQL get the same definition.
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        autogen_context.imports.add("import core.db")
        return "core.db.UTCDateTime()"
    return False


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
