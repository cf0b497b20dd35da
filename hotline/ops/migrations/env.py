"""Alembic environment for hotline: the app's own metadata and DATABASE_URL.

There is no alembic.ini: `hotline db ...` builds the Config in code
(hotline.ops.migrations.config), so the commands work from any directory.
"""
from __future__ import annotations

from alembic import context

from hotline.ops.migrations import database_url, render_item
from hotline.store import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True,
                      render_item=render_item, **kwargs)


def run_migrations_offline() -> None:
    url = config.attributes.get("url") or database_url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
               render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # hotline.ops.migrations shares its connection (and lock)
        _run(connection)
        return
    engine = make_engine(config.attributes.get("url") or database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
