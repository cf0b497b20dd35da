"""A new call's answer in one database round trip.

Whom to ring first is decided from memory (the rotation, who is on call now); the
database only has to say that none of them is on a bridged call and that this
CallSid has no row yet. One INSERT ... SELECT ... WHERE NOT EXISTS ... ON CONFLICT
DO NOTHING RETURNING does both and writes the call, on an autocommit connection
(no BEGIN, no COMMIT, no pre-ping). When it writes nothing (a peer it would ring is
busy, or Twilio is retrying this CallSid) the full path in calls.py decides with
the live state, as before.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import literal, select
from sqlalchemy.dialects import postgresql, sqlite

from hotline.routing import Contact, Ring, next_ring
from hotline.store import Call

# A call row older than Twilio's longest <Dial> (4 h) cannot be a live bridge.
STALE = timedelta(hours=4)


def first_ring(engine, loaded, sid: str, caller: str | None, t: datetime) -> Ring | None:
    """The first step's ring, with the call's row written; None when the full path
    must decide."""
    config = loaded.config
    contact = Contact(started_at=t, caller=caller, next_attempt=0,
                      deadline=t + config.escalation.max_wait)
    decision = next_ring(config, loaded.schedule, contact, frozenset(), t)
    if not isinstance(decision, Ring):
        return None
    ids = [p.id for p in decision.people]
    values = {"call_sid": sid, "started_at": t, "updated_at": t, "preference": None,
              "attempt": decision.attempt, "tried": [[decision.attempt, i] for i in ids],
              "ringing": ids, "bridged": False, "fallback": False, "text_bridge": False}
    columns = Call.__table__.c
    busy = select(Call.call_sid).where(
        Call.bridged.is_(True), Call.accepted_by.in_(ids), Call.updated_at > t - STALE,
        Call.call_sid != sid).exists()
    row = select(*[literal(v, type_=columns[k].type).label(k) for k, v in values.items()]
                 ).where(~busy)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(Call).from_select(list(values), row)
            .on_conflict_do_nothing(index_elements=["call_sid"])
            .returning(Call.call_sid))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        written = conn.execute(stmt).first() is not None
    return decision if written else None
