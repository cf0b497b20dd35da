"""What is deleted, where, and when.

Here: operational rows live no longer than they are needed (closed
conversations go at once, elsewhere; anything else at most
`HOTLINE_RETAIN_HOURS`, default 24). At Twilio: the Call, Message and
Recording records the line created or received are deleted once final, so the
provider does not keep the log we refuse to keep. Provider deletion is
retried by the clock with backoff and never blocks routing.

Two kinds of row wait on something outside the database, so their limits
follow their purpose rather than the clock alone:
- a provider record (a SID awaiting deletion at Twilio) stays until Twilio
  confirms the deletion or GIVE_UP_AFTER tries have failed (about five days
  of the clock running): dropping it sooner would leave Twilio's record for good.
  Every failure counts as a try, so no row can be retried for ever;
- a voicemail waits for the clinical director at most VOICEMAIL_LIMIT (or
  HOTLINE_RETAIN_HOURS, if longer); then it goes unheard and its recording
  is queued for deletion at Twilio, as voicemail.deliver does after its tries.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, select, update

from hotline.records import audit
from hotline.twilio_client import client
from hotline.store import (Call, Conversation, DashboardSession, InboundMessage, LoginFailure,
                           MediaRelay, Notice, Outbox, PeerAway, ProviderRecord, ReminderSent,
                           SendWindow, Voicemail, forget_on_disk, skip_clashes)

log = logging.getLogger(__name__)

# How long after the event to ask Twilio: a message or call must be final to be deletable.
SETTLE = {"call": timedelta(minutes=1), "message": timedelta(minutes=10),
          "recording": timedelta(minutes=1)}
GIVE_UP_AFTER = 30  # attempts; with the backoff below that is about five days
BATCH = 100
# The director is called every 15 minutes, three times (voicemail.py): a day is room for
# a clock that was down for a while, not a place to keep recordings.
VOICEMAIL_LIMIT = timedelta(hours=24)


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
        ("dashboard sessions long over", DashboardSession, DashboardSession.seen_at < cutoff),
        ("old failed-login counts", LoginFailure,
         (LoginFailure.last_at < cutoff)
         & (LoginFailure.locked_until.is_(None) | (LoginFailure.locked_until < now))),
        # delete_at_provider drops these at their last try; this only catches a row
        # whose last try was interrupted.
        ("Twilio records whose deletion tries ran out", ProviderRecord,
         ProviderRecord.attempts >= GIVE_UP_AFTER),
        # The clock deletes an expired OFF as it tells the peer; this catches the rest.
        ("peers' OFF/BUSY past its end", PeerAway, PeerAway.until < cutoff),
        # Kept past the shift's start, so its reminders cannot be sent again.
        ("shift reminders already sent", ReminderSent,
         and_(ReminderSent.sent_at < cutoff, ReminderSent.shift_start < now - timedelta(days=2))),
    ]


# Tables whose deleted rows held a (sealed) number, a text or a tag: rewritten on
# PostgreSQL after each purge. Small by design, so VACUUM FULL's lock lasts milliseconds.
SCRUBBED = ("conversations", "outbox", "notices", "inbound_messages")

UNHEARD = "voicemails never played (their recordings are deleted at Twilio)"


def purge(app, now: datetime, dry_run: bool = False, actor: str = "clock") -> dict[str, int]:
    """Delete operational rows past their limit. Statistics and the audit trail stay.
    A purge that deleted something is audited; the hourly empty ones are not, or they
    would bury the entries the trail is for."""
    counts: dict[str, int] = {}
    with app.extensions["hotline.sessions"]() as db, db.begin():
        for label, table, condition in _old_rows(app, now):
            if dry_run:
                counts[label] = db.scalar(select(func.count()).select_from(table).where(condition))
            else:
                counts[label] = db.execute(delete(table).where(condition)
                                           .execution_options(synchronize_session=False)).rowcount
        unheard = db.scalars(select(Voicemail.recording_sid).where(
            Voicemail.created_at < now - max(VOICEMAIL_LIMIT, retain(app)))).all()
        counts[UNHEARD] = len(unheard)
        if not dry_run and unheard:
            db.execute(delete(Voicemail).where(Voicemail.recording_sid.in_(unheard))
                       .execution_options(synchronize_session=False))
            for sid in unheard:
                forget_at_provider(app, db, sid, "recording", now)
        if not dry_run and any(counts.values()):
            audit.record(db, now, audit.PURGE, actor,
                         ", ".join(f"{n} {label}" for label, n in counts.items() if n))
    if not dry_run:
        # What was deleted leaves the files too: the SQLite WAL is emptied, PostgreSQL
        # rewrites the tables that held numbers or texts (store.forget_on_disk).
        forget_on_disk(app.extensions["hotline.engine"], SCRUBBED)
    return counts


def waiting(app, now: datetime) -> dict[str, int]:
    """Rows kept on purpose while they wait for something, for `hotline purge` to show."""
    with app.extensions["hotline.sessions"]() as db:
        def count(table, *where) -> int:
            return db.scalar(select(func.count()).select_from(table).where(*where))

        return {
            f"Twilio records awaiting deletion there (kept until deleted, at most "
            f"{GIVE_UP_AFTER} tries)": count(ProviderRecord),
            "Twilio records overdue by over an hour (is the clock running?)":
                count(ProviderRecord, ProviderRecord.next_try_at < now - timedelta(hours=1)),
            "voicemails waiting for the clinical director": count(Voicemail),
        }


# Built once, on the table rather than the mapped class: every inbound text runs it, and
# building, caching and the ORM's bulk-insert path cost more than the statement.
_TO_FORGET = skip_clashes(insert(ProviderRecord.__table__))


def forget_at_provider(app, db, sid: str | None, kind: str, now: datetime) -> None:
    """Ask the clock to delete this record at Twilio once it has settled."""
    if not sid or not app.config.get("HOTLINE_PROVIDER_DELETE", True):
        return
    db.execute(_TO_FORGET, {"sid": sid, "kind": kind, "attempts": 0,
                            "next_try_at": now + SETTLE[kind]})


def delete_at_provider(app, now: datetime) -> int:
    """One pass of the clock: delete due records at Twilio. Returns how many went."""
    from twilio.base.exceptions import TwilioException, TwilioRestException


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
        try:
            api = client(app)
            resource = {"call": api.calls, "message": api.messages,
                        "recording": api.recordings}[kind]
            resource(sid).delete()
            gone = True
        except TwilioRestException as exc:
            gone = exc.status == 404  # already gone is as good as deleted
        except (TwilioException, OSError):
            gone = False
        except Exception:  # noqa: BLE001 - counted as a try, so the row cannot loop for ever
            log.exception("unexpected error deleting a %s record at Twilio", kind)
            gone = False
        with sessions() as db, db.begin():
            if gone or attempts + 1 >= GIVE_UP_AFTER:
                if not gone:
                    log.warning("gave up deleting a %s record at Twilio after %s attempts",
                                kind, attempts + 1)
                db.execute(delete(ProviderRecord).where(ProviderRecord.sid == sid))
                # A texter's picture gone with its message: no relay holds it any more.
                db.execute(delete(MediaRelay).where(MediaRelay.inbound_sid == sid))
                done += gone
            else:  # not final yet, or Twilio is struggling: later, backing off
                wait = timedelta(minutes=min(6 * 60, 2 ** attempts))
                db.execute(update(ProviderRecord).where(ProviderRecord.sid == sid)
                           .values(attempts=attempts + 1, next_try_at=now + wait))
    return done
