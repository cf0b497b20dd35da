"""A new call's answer in one database round trip.

Whom to ring first is decided from memory (the rotation, who is on call now); the
database only has to say that none of them is on a bridged call or has stepped out
(OFF, BUSY), and that this CallSid has no row yet. One INSERT ... SELECT ... WHERE NOT
EXISTS ... ON CONFLICT DO NOTHING RETURNING does both and writes the call, on the
autocommit engine `hotline.answer_engine` (no BEGIN, no COMMIT, no pre-ping), through
psycopg's own cursor on PostgreSQL. When it writes nothing (a peer it would ring is busy
or away, or Twilio is retrying this CallSid) the full path in calls.py decides with the
live state, as before.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.exc import DBAPIError

from hotline.routing import Contact, Ring, next_ring
from hotline.store import UTCDateTime

# A call row older than Twilio's longest <Dial> (4 h) cannot be a live bridge.
STALE = timedelta(hours=4)


@dataclass(frozen=True)
class NewCall:
    """A new call's row as the answer wrote it, which its first <Dial> is built from.
    (An ORM Call made only to be read cost 4% of the answer: docs/benchmarks.md.)"""
    call_sid: str
    started_at: datetime
    attempt: int
    tried: list  # [[attempt, person id], ...], as store.Call
    ringing: list


def first_ring(engine, loaded, sid: str, caller: str | None,
               t: datetime) -> tuple[Ring, NewCall] | None:
    """The first step's ring and the call's row, once written; None when the full path
    must decide."""
    config = loaded.config
    if config.callout.yes_is_busy:
        return None  # a callout's YES makes a peer busy: the full path knows who said it
    contact = Contact(started_at=t, caller=caller, next_attempt=0,
                      deadline=t + config.escalation.max_wait)
    decision = next_ring(config, loaded.schedule, contact, frozenset(), t)
    if not isinstance(decision, Ring):
        return None
    ids = [p.id for p in decision.people]
    row = NewCall(sid, t, decision.attempt, tried=[[decision.attempt, i] for i in ids],
                  ringing=ids)
    postgres = engine.dialect.name == "postgresql"
    params = {"sid": sid, "t": t, "cutoff": t - STALE, "attempt": decision.attempt,
              "tried": json.dumps(row.tried), "ringing": json.dumps(ids),
              "ids": ids if postgres else json.dumps(ids)}
    if postgres:
        written = _on_the_driver(engine, params)
    else:
        with engine.connect() as conn:  # autocommit (app.py): no BEGIN, no COMMIT
            written = conn.execute(_SQLITE, params).first() is not None
    return (decision, row) if written else None


def _on_the_driver(engine, params: dict) -> bool:
    """psycopg's own cursor on a pooled connection of the autocommit engine. SQLAlchemy's
    Connection, execution context and result cost about as much CPU as the round trip."""
    pooled = engine.raw_connection()  # the pool's checkout event: the watchdog sees it
    try:
        with pooled.driver_connection.cursor() as cur:
            cur.execute(_PG_DRIVER, params)
            return cur.fetchone() is not None
    except engine.dialect.loaded_dbapi.Error as exc:
        dropped = engine.dialect.is_disconnect(exc, pooled.driver_connection, None)
        if dropped:
            pooled.invalidate(exc)  # never handed out again
        # As SQLAlchemy would raise it: the webhook retries a dropped connection once.
        raise DBAPIError.instance(_PG_DRIVER, params, exc, engine.dialect.loaded_dbapi.Error,
                                  connection_invalidated=dropped) from exc
    finally:
        pooled.close()


# Hand-written once rather than built per call: building and compiling the ORM
# statement cost more than the round trip it saves. The busy-peers test reads the
# partial index of bridged calls (store.Call). PostgreSQL soon runs this statement with
# one generic plan: with the ids unpacked from JSON, or planned on a near-empty table
# (the answer engine plans with indexes first, app.py), that plan scanned every call.
_INSERT = """
INSERT INTO calls (call_sid, started_at, updated_at, preference, attempt, tried, ringing,
                   bridged, fallback, text_bridge)
SELECT CAST(:sid AS VARCHAR(64)), :t, :t, NULL, :attempt, {tried}, {ringing}, {false}, {false}, {false}
WHERE NOT EXISTS (SELECT 1 FROM calls WHERE {bridged} AND accepted_by {in_ids}
                  AND updated_at > :cutoff
                  AND call_sid <> CAST(:sid AS VARCHAR(64)))
  AND NOT EXISTS (SELECT 1 FROM peer_away WHERE peer_id {in_ids}
                  AND ("until" IS NULL OR "until" > :t))
ON CONFLICT (call_sid) DO NOTHING
RETURNING call_sid
"""


# In psycopg's placeholders; aware datetimes go in as timestamptz, as UTCDateTime sends them.
_PG_DRIVER = re.sub(r":(\w+)", r"%(\1)s", _INSERT.format(
    tried="CAST(:tried AS JSON)", ringing="CAST(:ringing AS JSON)", false="false",
    bridged="bridged", in_ids="= ANY(CAST(:ids AS TEXT[]))"))
_SQLITE = text(_INSERT.format(
    tried=":tried", ringing=":ringing", false="0", bridged="bridged = 1",
    in_ids="IN (SELECT value FROM json_each(:ids))")).bindparams(
    bindparam("t", type_=UTCDateTime()), bindparam("cutoff", type_=UTCDateTime()))
