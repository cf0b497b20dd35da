"""A new text is CPU-bound in the web worker; SQLAlchemy compiling its statements afresh
was a measurable part of that (docs/benchmarks.md). Every statement a new conversation
runs is one SQLAlchemy can keep compiled: the second officer's text compiles nothing."""
from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import CacheStats

from hotline.records.retention import forget_at_provider
from hotline.store import ProviderRecord
from tests.conftest import ALICE, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

SECOND_OFFICER = "+12625550143"


def test_a_second_new_conversation_compiles_no_sql(phones, app):
    phones.text(OFFICER, "rough night")  # compiles what a new conversation needs, once
    uncached = []

    def watch(conn, cursor, statement, params, context, executemany):
        if context.cache_hit in (CacheStats.CACHE_MISS, CacheStats.NO_CACHE_KEY):
            uncached.append(statement.split("(")[0])

    engine = app.extensions["hotline.engine"]
    event.listen(engine, "before_cursor_execute", watch)
    try:
        replies = phones.text(SECOND_OFFICER, "can someone talk?")
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert "trained peer" in replies[0]
    assert phones.inbox(ALICE)[-1].startswith("Peer line #2: can someone talk?")
    assert uncached == []


def test_a_message_queued_twice_for_deletion_at_twilio_is_kept_once(app, clock):
    # The cached INSERT must still carry ON CONFLICT DO NOTHING (store.skip_clashes):
    # a status callback and a retry can both ask for one SID's deletion.
    sid = "SM" + "ab" * 16
    with app.extensions["hotline.sessions"]() as db, db.begin():
        forget_at_provider(app, db, sid, "message", clock.now)
        forget_at_provider(app, db, sid, "message", clock.now)
    with app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(ProviderRecord.sid)).all() == [sid]
