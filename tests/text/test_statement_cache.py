"""A new text is CPU-bound in the web worker; SQLAlchemy compiling its statements afresh
was a measurable part of that (docs/benchmarks.md). Every statement a new conversation
runs is one SQLAlchemy can keep compiled: the second officer's text compiles nothing."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

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
