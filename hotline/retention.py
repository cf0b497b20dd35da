"""What is deleted, where, and when.

Here: operational rows live no longer than they are needed (closed
conversations go at once, elsewhere; anything else at most
`HOTLINE_RETAIN_HOURS`, default 24). At Twilio: the Call, Message and
Recording records the line created or received are deleted once final, so the
provider does not keep the log we refuse to keep. Provider deletion is
retried by the clock with backoff and never blocks routing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import audit
from .store import (Call, Conversation, InboundMessage, Notice, Outbox, ProviderRecord,
                    SendWindow)

log = logging.getLogger(__name__)

# How long after the event to ask Twilio: a message or call must be final to be deletable.
SETTLE = {"call": timedelta(minutes=1), "message": timedelta(minutes=10),
          "recording": timedelta(minutes=1)}
GIVE_UP_AFTER = 30  # attempts; with the backoff below that is about five days
BATCH = 100


def retain(app) -> timedelta:
    return timedelta(hours=float(app.config.get("HOTLINE_RETAIN_HOURS") or 24))


def _old_rows(app, now: datetime):
    """(label, table, condition) for every kind of operational row past its limit."""
    cutoff = now - retain(app)
    return [
        ("live call rows", Call, Call.updated_at < cutoff),
        ("outbox texts never delivered", Outbox, Outbox.created_at < cutoff),
        ("duplicate-check message ids", InboundMessage, InboundMessage.received_at < cutoff),
        ("notices of closed conversations", Notice,
         Notice.conversation_id.not_in(select(Conversation.id))),
        ("send-rate counters", SendWindow, SendWindow.second < int(cutoff.timestamp())),
    ]


def purge(app, now: datetime, dry_run: bool = False, actor: str = "clock") -> dict[str, int]:
    """Delete operational rows past their limit. Statistics and the audit trail stay."""
    counts: dict[str, int] = {}
    with app.extensions["hotline.sessions"]() as db, db.begin():
        for label, table, condition in _old_rows(app, now):
            if dry_run:
                counts[label] = db.scalar(select(func.count()).select_from(table).where(condition))
            else:
                counts[label] = db.execute(delete(table).where(condition)
                                           .execution_options(synchronize_session=False)).rowcount
        if not dry_run:
            audit.record(db, now, audit.PURGE, actor,
                         ", ".join(f"{n} {label}" for label, n in counts.items()))
    return counts


def forget_at_provider(app, db, sid: str | None, kind: str, now: datetime) -> None:
    """Ask the clock to delete this record at Twilio once it has settled."""
    if not sid or not app.config.get("HOTLINE_PROVIDER_DELETE", True):
        return
    row = {"sid": sid, "kind": kind, "attempts": 0, "next_try_at": now + SETTLE[kind]}
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    db.execute(insert(ProviderRecord).values(**row).on_conflict_do_nothing())


def delete_at_provider(app, now: datetime) -> int:
    """One pass of the clock: delete due records at Twilio. Returns how many went."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from .sender import client

    sessions = app.extensions["hotline.sessions"]
    with sessions() as db:
        due = db.execute(select(ProviderRecord.sid, ProviderRecord.kind, ProviderRecord.attempts,
                                ProviderRecord.next_try_at)
                         .where(ProviderRecord.next_try_at <= now)
                         .order_by(ProviderRecord.next_try_at).limit(BATCH)).all()
    done = 0
    for sid, kind, attempts, seen in due:
        with sessions() as db, db.begin():  # lease it, so a second clock does not try too
            if db.execute(update(ProviderRecord)
                          .where(ProviderRecord.sid == sid, ProviderRecord.next_try_at == seen)
                          .values(next_try_at=now + timedelta(minutes=5))
                          .execution_options(synchronize_session=False)).rowcount != 1:
                continue
        api = client(app)
        resource = {"call": api.calls, "message": api.messages, "recording": api.recordings}[kind]
        try:
            resource(sid).delete()
            gone = True
        except TwilioRestException as exc:
            gone = exc.status == 404  # already gone is as good as deleted
        except (TwilioException, OSError):
            gone = False
        with sessions() as db, db.begin():
            if gone or attempts + 1 >= GIVE_UP_AFTER:
                if not gone:
                    log.warning("gave up deleting a %s record at Twilio after %s attempts",
                                kind, attempts + 1)
                db.execute(delete(ProviderRecord).where(ProviderRecord.sid == sid))
                done += gone
            else:  # not final yet, or Twilio is struggling: later, backing off
                wait = timedelta(minutes=min(6 * 60, 2 ** attempts))
                db.execute(update(ProviderRecord).where(ProviderRecord.sid == sid)
                           .values(attempts=attempts + 1, next_try_at=now + wait))
    return done
