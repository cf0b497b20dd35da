"""Shared fixtures: a small test rotation, both databases, the fake carrier."""
from __future__ import annotations

import atexit
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from hotline.app import create_app
from hotline.store import Base
from hotline.testing.fake_twilio import FakeClock, FakeTwilio

# The scenarios check what the line does, not how fast. On a loaded test machine a
# webhook over the 2 s production budget would take the from-memory route, and the
# scenario would test something else; every app built here (and the processes the
# end-to-end tests start) gets a roomier one. The budget itself: tests/test_deadlines.py,
# which sets its own, and bench/.
os.environ.setdefault("HOTLINE_WEBHOOK_BUDGET", "10")
# One send at a time: scenario tests read texts in the order they were sent. The
# sender's pool is tested on its own (tests/text/test_sender.py).
os.environ.setdefault("HOTLINE_SENDER_THREADS", "1")
# Likewise one escalation at a time (the clock's pool: tests/test_clock_threads.py).
os.environ.setdefault("HOTLINE_CLOCK_THREADS", "1")

CHICAGO = ZoneInfo("America/Chicago")
TOKEN = "test-auth-token"
PROGRAM = "+12625550100"
ALICE, BOB, CAROL, DAVE, DIRECTOR = ("+12625550101", "+12625550102", "+12625550103",
                                     "+12625550104", "+12625550199")
OFFICER = "+12625550142"  # somebody calling the line; not in the rotation

ROTATION = """
program: {name: Test PD Peer Support, number: "+1 262 555 0100", timezone: America/Chicago}
clinical_director: {name: Dr. Dana Reyes, phone: "262-555-0199"}
peers:
  - {id: alice, name: Alice, phone: "262-555-0101"}
  - {id: bob,   name: Bob,   phone: "262-555-0102", tags: [family]}
  - {id: carol, name: Carol, phone: "262-555-0103", languages: [en, es]}
  - {id: dave,  name: Dave,  phone: "262-555-0104"}
rotations:
  primary: {start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob]}
  backup:  {start: "2026-01-05 08:00", shift: 1w, peers: [carol, dave]}
escalation:
  steps:
    - {notify: primary, ring: 20s, wait: 5m}
    - {notify: backup, ring: 20s, wait: 5m}
    - {notify: clinical_director, ring: 30s, wait: 10m}
  max_wait: 3m
  fallback: {forward: "988", message: "We could not reach a peer. Connecting you to 988."}
"""
# On Monday 2026-11-23 08:00 a week begins with alice on primary and carol on backup.
MONDAY_NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=CHICAGO)


def _postgres_url() -> str | None:
    """A private schema in the PostgreSQL test database, so two test runs on one
    machine (or a developer and CI) never wipe each other's tables."""
    url = os.environ.get("HOTLINE_TEST_POSTGRES_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"hotline_test_{os.getpid()}"
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        if os.environ.get("HOTLINE_REQUIRE_POSTGRES"):
            raise RuntimeError(f"PostgreSQL is required here but unreachable: {exc}") from exc
        return None
    atexit.register(_drop_schema, url, schema)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


_PG = "unset"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    global _PG
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hotline.sqlite'}"
        return
    if _PG == "unset":
        _PG = _postgres_url()
    if _PG is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 "
                    "(set HOTLINE_TEST_POSTGRES_URL to run the PostgreSQL half)")
    engine = create_engine(_PG)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:  # an empty database, as a fresh deployment has
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    yield _PG


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION)
    return path


@pytest.fixture
def clock():
    return FakeClock(MONDAY_NIGHT)


@pytest.fixture
def app(tmp_path, rotation_file, database_url, clock):
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False},
                     instance_path=str(tmp_path / "instance"))
    yield app
    app.extensions["hotline.engine"].dispose()
    app.extensions["hotline.answer_engine"].dispose()


@pytest.fixture
def twilio(app, clock):
    return FakeTwilio(app, TOKEN, clock, PROGRAM)
