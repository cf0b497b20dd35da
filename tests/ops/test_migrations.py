"""Schema managed by Alembic: fresh databases get the head revision, an out-of-date
one is refused with the command that fixes it, `hotline db upgrade` fixes it.
Every test runs on SQLite and on PostgreSQL (the `database_url` fixture)."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from hotline.ops import migrations
from hotline.app import create_app
from hotline.cli import cli
from hotline.store import Base, make_engine, normalise_url
from tests.conftest import TOKEN


def start(database_url, rotation_file, tmp_path, **extra):
    settings = {"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_RELOAD_SECONDS": 0}
    settings.update(extra)
    app = create_app(settings, instance_path=str(tmp_path / "instance"))
    app.extensions["hotline.engine"].dispose()
    return app


def revision_of(url) -> tuple:
    return migrations.current_revision(url)


def execute(url, sql) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def env(monkeypatch, database_url, rotation_file, tmp_path):
    """What `hotline ...` reads, as a deployment would set it."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(rotation_file))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    return database_url


def test_a_fresh_database_gets_every_table_at_the_head_revision(database_url, rotation_file,
                                                                 tmp_path):
    start(database_url, rotation_file, tmp_path)
    assert revision_of(database_url) == (migrations.head(),)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    engine.dispose()
    start(database_url, rotation_file, tmp_path)  # and a second start just uses it


def test_the_migrations_build_exactly_the_models(database_url):
    """If this fails, store.py changed without a migration: run
    `hotline db upgrade && hotline db revision -m "what changed"` and review the file."""
    before, after = migrations.upgrade(database_url, echo=lambda _: None)
    assert (before, after) == ((), (migrations.head(),))
    engine = make_engine(database_url)
    with engine.connect() as conn:
        drift = migrations.drift(conn)
    engine.dispose()
    assert drift == [], ("hotline/store.py and hotline/migrations/versions disagree; add a "
                         f"migration with `hotline db revision -m ...`: {drift}")


def test_downgrade_to_nothing_and_back(database_url):
    from alembic import command

    migrations.upgrade(database_url, echo=lambda _: None)
    command.downgrade(migrations.config(database_url), "base")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert not set(Base.metadata.tables) & set(inspect(conn).get_table_names())
    engine.dispose()
    migrations.upgrade(database_url, echo=lambda _: None)
    assert revision_of(database_url) == (migrations.head(),)


def test_an_out_of_date_database_is_refused_until_hotline_db_upgrade(env, rotation_file,
                                                                      tmp_path):
    from alembic import command

    url = env
    start(url, rotation_file, tmp_path)
    # Tables without a version row: a database made before migrations existed, which
    # create_schema() made exactly as revision 0001 has them.
    command.downgrade(migrations.config(url), "0001")
    execute(url, "DELETE FROM alembic_version")
    with pytest.raises(migrations.SchemaOutOfDate) as refused:
        start(url, rotation_file, tmp_path)
    assert str(refused.value) == (
        f"database schema is at none (no alembic_version row), this code needs "
        f"{migrations.head()}: run `hotline db upgrade`")

    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "adopting them as revision 0001" in result.output
    assert revision_of(url) == (migrations.head(),)
    start(url, rotation_file, tmp_path)  # starts now

    result = CliRunner().invoke(cli, ["db", "current"])
    assert (result.exit_code, result.output.strip()) == (0, migrations.head())


def test_a_database_from_newer_code_is_refused_too(database_url, rotation_file, tmp_path):
    start(database_url, rotation_file, tmp_path)
    execute(database_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(migrations.SchemaOutOfDate,
                       match=r"schema is at 9999, this code needs .*newer code"):
        start(database_url, rotation_file, tmp_path)


def test_an_older_revision_is_upgraded(env, rotation_file, tmp_path, monkeypatch):
    """A real older revision: pretend this code's head is one more that adds a column."""
    url = env
    was, nxt = migrations.head(), f"{int(migrations.head()) + 1:04d}"
    start(url, rotation_file, tmp_path)
    versions = tmp_path / "versions"
    versions.mkdir()
    for path in (migrations.HERE / "versions").glob("*.py"):
        (versions / path.name).write_text(path.read_text())
    (versions / f"{nxt}_test.py").write_text(
        f'from alembic import op\nimport sqlalchemy as sa\nrevision = "{nxt}"\n'
        f'down_revision = "{was}"\nbranch_labels = depends_on = None\n'
        "def upgrade():\n"
        "    with op.batch_alter_table('clock_heartbeat') as b:\n"
        "        b.add_column(sa.Column('note', sa.String(10)))\n"
        "def downgrade():\n"
        "    with op.batch_alter_table('clock_heartbeat') as b:\n"
        "        b.drop_column('note')\n")
    real_config = migrations.config

    def config(url=None, connection=None):
        cfg = real_config(url, connection)
        cfg.set_main_option("version_locations", str(versions))
        return cfg

    monkeypatch.setattr(migrations, "config", config)
    migrations.script.cache_clear()
    try:
        assert migrations.head() == nxt
        with pytest.raises(migrations.SchemaOutOfDate,
                           match=rf"schema is at {was}, this code needs {nxt}: run `hotline db "
                                 r"upgrade`"):
            start(url, rotation_file, tmp_path)
        result = CliRunner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"upgraded from {was} to {nxt}" in result.output
        engine = make_engine(url)
        with engine.connect() as conn:
            assert "note" in {c["name"] for c in inspect(conn).get_columns("clock_heartbeat")}
        engine.dispose()
        start(url, rotation_file, tmp_path)
    finally:
        monkeypatch.undo()
        migrations.script.cache_clear()


def test_an_unreachable_database_does_not_stop_the_app(rotation_file, tmp_path):
    """Webhooks then answer with their emergency route (tests/voice/)."""
    app = start("postgresql+psycopg://nobody@127.0.0.1:1/none", rotation_file, tmp_path)
    body = app.test_client().get("/health")
    assert body.status_code == 200
    assert body.get_json()["database"]["status"] == "error"
    assert body.get_json()["status"] == "degraded"


def test_two_workers_starting_on_a_fresh_database_both_start(database_url, rotation_file,
                                                              tmp_path):
    errors = []

    def boot(n):
        try:
            start(database_url, rotation_file, tmp_path / f"w{n}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=boot, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert revision_of(database_url) == (migrations.head(),)


def test_hosted_postgres_urls_get_our_driver():
    assert normalise_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalise_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("sqlite:///x") == "sqlite:///x"


def test_hotline_db_revision_writes_the_next_migration(tmp_path, monkeypatch):
    """The process for whoever adds a table: `hotline db revision -m ...` -> the next NNNN_....py."""
    from sqlalchemy import Column, Integer, Table

    url = f"sqlite:///{tmp_path / 'scratch.sqlite'}"
    was, nxt = migrations.head(), f"{int(migrations.head()) + 1:04d}"
    monkeypatch.setenv("DATABASE_URL", url)
    versions = tmp_path / "versions"
    versions.mkdir()
    for path in (migrations.HERE / "versions").glob("*.py"):
        (versions / path.name).write_text(path.read_text())
    real_config = migrations.config

    def config(url=None, connection=None):
        cfg = real_config(url, connection)
        cfg.set_main_option("version_locations", str(versions))
        return cfg

    monkeypatch.setattr(migrations, "config", config)
    migrations.script.cache_clear()
    table = Table("shift_reminders", Base.metadata, Column("id", Integer, primary_key=True))
    try:
        assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
        result = CliRunner().invoke(cli, ["db", "revision", "-m", "shift reminders"])
        assert result.exit_code == 0, result.output
        [written] = [p for p in versions.glob(f"{nxt}_*.py")]
        source = written.read_text()
        assert "op.create_table('shift_reminders'" in source
        assert f"down_revision: Union[str, Sequence[str], None] = '{was}'" in source
    finally:
        Base.metadata.remove(table)
        monkeypatch.undo()
        migrations.script.cache_clear()
