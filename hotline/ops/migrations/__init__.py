"""Database schema: Alembic migrations, driven from code (no alembic.ini).

`hotline db upgrade` / `current` / `revision` call the functions below; so does
create_app at start-up (`prepare`):

- a database with none of the router's tables (fresh) gets the current schema
  with `create_all` and is stamped at the head revision, in one transaction;
- a database at the head revision is used as it is;
- anything else (older, newer, or tables without a version row) is refused with
  SchemaOutOfDate, whose message says what to run.

On PostgreSQL every schema change here holds an advisory lock, so two web
workers starting on a fresh database, or a release phase racing a worker,
cannot both create the tables.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent
LOCK_KEY = 0x686F746C696E65  # "hotline": pg_advisory_xact_lock key for schema changes
BASELINE = "0001"  # the schema create_schema() made before migrations existed


class SchemaOutOfDate(RuntimeError):
    """The database's schema revision is not the one this code was written for."""


def database_url() -> str:
    """DATABASE_URL, else the same SQLite file create_app would use."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from flask import Flask

    instance = Path(Flask("hotline.app", instance_path=os.environ.get("HOTLINE_INSTANCE")
                          or None).instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / 'hotline.sqlite'}"


def config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config built in code. URLs go in `attributes`, not the ini options,
    because ConfigParser would choke on the %-escapes of a PostgreSQL URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")  # versions/ under script_location
    if url:
        cfg.attributes["url"] = url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The revision this code needs (a single line of history: one head)."""
    return script().get_current_head()


def render_item(type_, obj, autogen_context):
    """Autogenerate writes our UTCDateTime as a plain timezone-aware DateTime, so
    migration files never import the models (which keep changing)."""
    from hotline.store import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _app_tables(conn: Connection) -> set[str]:
    from hotline.store import Base

    return set(inspect(conn).get_table_names()) & set(Base.metadata.tables)


def current(conn: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(conn).get_current_heads()


def describe(heads: tuple[str, ...] | set[str] | None) -> str:
    return ", ".join(sorted(heads)) if heads else "none (no alembic_version row)"


def out_of_date_message(heads) -> str:
    need = head()
    msg = (f"database schema is at {describe(heads)}, this code needs {need}: "
           "run `hotline db upgrade`")
    known = {rev.revision for rev in script().walk_revisions()}
    if heads and not set(heads) <= known:
        msg += (" (the database is at a revision this code does not know: it was migrated by "
                "newer code; deploy that code again rather than upgrading)")
    return msg


def prepare(engine: Engine) -> str:
    """Start-up check. Returns "created" (fresh database) or "current"; raises
    SchemaOutOfDate; lets connection errors through for the caller to judge."""
    from hotline.store import Base

    # SQLite runs DDL outside transactions, so a second process can see the tables
    # of a first one that has not stamped them yet: look again for up to ~3 s before
    # calling such a database out of date. (PostgreSQL: the advisory lock and
    # transactional DDL make create + stamp atomic.)
    attempts = 15
    for attempt in range(attempts):
        connected = False
        last = attempt == attempts - 1
        try:
            with engine.begin() as conn:
                connected = True
                _lock(conn)
                if not _app_tables(conn):
                    Base.metadata.create_all(conn)
                    MigrationContext.configure(conn).stamp(script(), "head")
                    return "created"
                heads = current(conn)
                sqlite = conn.dialect.name == "sqlite"
        except Exception:
            # Two processes creating a fresh SQLite file at once: the loser sees
            # "table already exists"; look again. An unreachable database fails at once.
            if last or not connected:
                raise
            time.sleep(0.2)
            continue
        if heads or not sqlite or last:
            break
        time.sleep(0.2)
    if set(heads) != {head()}:
        raise SchemaOutOfDate(out_of_date_message(heads))
    return "current"


def upgrade(url: str, revision: str = "head", echo=print) -> tuple[tuple, tuple]:
    """`hotline db upgrade`: returns (revisions before, after)."""
    from hotline.store import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _lock(conn)
            before = current(conn)
            if not before and _app_tables(conn):
                # Made by create_schema() before migrations existed: that is 0001.
                echo(f"tables without a version row: adopting them as revision {BASELINE}")
                MigrationContext.configure(conn).stamp(script(), BASELINE)
            command.upgrade(config(url, conn), revision)
            after = current(conn)
        return before, after
    finally:
        engine.dispose()


def current_revision(url: str) -> tuple[str, ...]:
    from hotline.store import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return current(conn)
    finally:
        engine.dispose()


def stamp(url: str, revision: str) -> None:
    from hotline.store import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _lock(conn)
            MigrationContext.configure(conn).stamp(script(), revision)
    finally:
        engine.dispose()


def revision(url: str, message: str, autogenerate: bool = True,
             rev_id: str | None = None) -> str:
    """`hotline db revision`: a new file in hotline/migrations/versions. With
    autogenerate the database must be at head (compared against the models)."""
    script.cache_clear()
    if rev_id is None:
        current_head = script().get_current_head()
        rev_id = f"{int(current_head) + 1:04d}" if current_head and current_head.isdigit() \
            else None
    out = command.revision(config(url), message=message, autogenerate=autogenerate,
                           rev_id=rev_id)
    script.cache_clear()
    scripts = out if isinstance(out, list) else [out]
    return ", ".join(s.path for s in scripts if s is not None)


def drift(conn: Connection) -> list:
    """What autogenerate would still write: empty when the migrations (as applied to
    this database) match the models. A test runs it after upgrading an empty database."""
    from alembic.autogenerate import compare_metadata

    from hotline.store import Base

    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(ctx, Base.metadata)
