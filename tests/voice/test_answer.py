"""A new call's answer costs the database one statement, outside any transaction,
and keeps what the full path guaranteed."""
from __future__ import annotations

import json
import re
import tempfile
from contextlib import contextmanager

from psycopg import pq
from psycopg.sql import Literal
from sqlalchemy import event, text

from hotline.store import Call
from hotline.voice import answer
from hotline.testing.fake_twilio import ACCOUNT_SID, Phone
from tests.conftest import ALICE, BOB, OFFICER, PROGRAM


def incoming(sid: str) -> dict:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": OFFICER, "To": PROGRAM,
            "Direction": "inbound", "CallStatus": "ringing"}


@contextmanager
def sent_to_the_database(engine):
    """The statements the driver sends, read below SQLAlchemy (the answer uses psycopg's
    cursor directly): libpq's protocol trace on PostgreSQL, sqlite3's trace callback on
    SQLite. Filled in when the block ends."""
    sent: list[str] = []
    postgres = engine.dialect.name == "postgresql"
    trace = tempfile.TemporaryFile()

    def watch(dbapi_conn, _record, _proxy):
        if postgres:
            dbapi_conn.pgconn.trace(trace.fileno())
            dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        else:  # not its PRAGMAs: settings of the in-process connection, not statements
            dbapi_conn.set_trace_callback(
                lambda sql: sql.startswith("PRAGMA") or sent.append(sql))

    def unwatch(dbapi_conn, _record):
        if postgres:
            dbapi_conn.pgconn.untrace()
        else:
            dbapi_conn.set_trace_callback(None)

    event.listen(engine, "checkout", watch)
    event.listen(engine, "checkin", unwatch)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", watch)
        event.remove(engine, "checkin", unwatch)
        trace.seek(0)
        # One message per "F|B <tab> size <tab> kind"; a statement's own lines follow.
        for message in re.split(r"^(?=[FB]\t\d+\t)", trace.read().decode(), flags=re.M):
            direction, _size, kind, rest = (message.split("\t", 3) + ["", "", "", ""])[:4]
            if direction == "F" and kind == "Query":  # a simple-protocol statement
                sent.append(rest.split('"')[1].strip())
            elif direction == "F" and kind == "Parse":  # ' "name" "statement" ...'
                sent.append(rest.split('"', 3)[3].strip())
        trace.close()


def test_a_new_call_is_answered_with_one_statement_and_no_transaction(twilio, app):
    with sent_to_the_database(app.extensions["hotline.answer_engine"]) as sent:
        resp = twilio.post("/voice/incoming", incoming("CA" + "1" * 32))
    assert ALICE.encode() in resp.data
    assert [statement.split()[0] for statement in sent] == ["INSERT"], sent  # no BEGIN, COMMIT
    with app.extensions["hotline.sessions"]() as db:
        row = db.get(Call, "CA" + "1" * 32)
        assert row.ringing == ["alice"] and row.tried == [[0, "alice"]]


def test_a_primary_already_talking_is_skipped_by_the_full_path(twilio, app):
    twilio.phones[ALICE] = Phone.accepts(talk=600)
    twilio.phones[BOB] = Phone.accepts()
    with app.extensions["hotline.sessions"]() as db, db.begin():  # alice on another call
        db.add(Call(call_sid="CA" + "9" * 32, started_at=twilio.clock.now,
                    updated_at=twilio.clock.now, attempt=0, tried=[], ringing=[],
                    accepted_by="alice", accepted_leg="CA" + "8" * 32, bridged=True,
                    fallback=False))
    call = twilio.call(OFFICER)
    assert ALICE not in call.rung()


def test_only_the_new_calls_row_is_committed_without_waiting_for_the_disk(twilio, app):
    """Lost in a server crash, that row costs nothing the call's URLs do not carry; every
    other write (texts, acceptances, the busy set) waits for the disk as before."""
    twilio.post("/voice/incoming", incoming("CA" + "2" * 32))
    if app.extensions["hotline.engine"].dialect.name != "postgresql":
        assert app.extensions["hotline.answer_engine"].pool is app.extensions["hotline.engine"].pool
        return
    settings = {}
    for name in ("engine", "answer_engine"):
        with app.extensions[f"hotline.{name}"].connect() as conn:
            settings[name] = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    assert settings == {"engine": "on", "answer_engine": "off"}


def test_the_busy_peers_test_reads_the_bridged_calls_index_even_planned_on_an_empty_table(
        twilio, app):
    """psycopg prepares the answer at its sixth run and PostgreSQL keeps the generic plan
    made then, when the line may have had five calls: a scan of the calls table would be
    cheapest at that moment and cost more with every call from then on."""
    plan = _generic_plan(app.extensions["hotline.answer_engine"], twilio.clock.now)
    assert "ix_calls_bridged_peer" in plan, plan
    assert not re.search(r"(Seq Scan on|SCAN) calls\b", plan), plan


def _generic_plan(engine, t) -> str:
    ids = ["alice"]
    params = {"sid": "CA" + "3" * 32, "t": t, "cutoff": t - answer.STALE, "attempt": 0,
              "tried": json.dumps([[0, "alice"]]), "ringing": json.dumps(ids)}
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + answer._SQLITE.text),
                                {**params, "ids": json.dumps(ids)}).all()
            return "\n".join(r[-1] for r in rows)
        # The statement as PostgreSQL prepares it ($1, $2 ...), planned generically.
        sql = answer._PG_DRIVER
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        for i, name in enumerate(names, 1):
            sql = sql.replace(f"%({name})s", f"${i}")
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE answer_plan AS {sql}")
        try:
            values, raw = {**params, "ids": ids}, conn.connection.dbapi_connection
            literals = ", ".join(Literal(values[n]).as_string(raw) for n in names)
            rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE answer_plan ({literals})").all()
        finally:
            conn.exec_driver_sql("DEALLOCATE answer_plan")
            conn.exec_driver_sql("RESET plan_cache_mode")
        return "\n".join(r[0] for r in rows)
