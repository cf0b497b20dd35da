"""The clock process: escalation timers, send retries, idle close.

Web workers never run a scheduler (several would act twice or miss jobs on a
shared job store). They write due times into the database; this one process
polls every few seconds and claims each due row with a conditional UPDATE or
DELETE, so a restart, a crash or an accidental second clock cannot act twice.
`run_due(app, now)` is one poll; tests call it with their fake clock's time.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from . import texting as tx
from .sender import (MAX_ATTEMPTS, OPTED_OUT, Refused, TemporaryFailure, as_text, backoff,
                     record_notice, send_one)
from .rate import take_slot
from .store import Conversation, InboundMessage, Outbox

log = logging.getLogger(__name__)

BATCH = 100
LEASE = timedelta(minutes=2)  # an outbox row being sent is hidden this long from other clocks
KEEP_SIDS = timedelta(days=2)  # Twilio does not re-deliver a webhook later than this


def run_due(app, now: datetime) -> None:
    with app.app_context():
        escalate(app, now)
        retry_outbox(app, now)
        close_idle(app, now)
        with app.extensions["hotline.sessions"]() as db, db.begin():
            db.execute(delete(InboundMessage).where(InboundMessage.received_at < now - KEEP_SIDS))


def _sessions(app):
    return app.extensions["hotline.sessions"]


def escalate(app, now: datetime) -> None:
    with _sessions(app)() as db:
        due = db.execute(select(Conversation.id, Conversation.escalate_at)
                         .where(Conversation.escalate_at <= now, Conversation.owner.is_(None))
                         .order_by(Conversation.escalate_at).limit(BATCH)).all()
    loaded = app.extensions["hotline.rotation"].current()
    for conv_id, seen in due:
        out = []
        with _sessions(app)() as db, db.begin():
            # The claim: only the clock whose UPDATE changes the row acts on it. An
            # acceptance in between cleared escalate_at, so a late timer does nothing.
            claimed = db.execute(
                update(Conversation)
                .where(Conversation.id == conv_id, Conversation.escalate_at == seen,
                       Conversation.owner.is_(None))
                .values(escalate_at=None)
                .execution_options(synchronize_session=False)).rowcount == 1
            if not claimed:
                continue
            conv = db.get(Conversation, conv_id, populate_existing=True)
            tx.advance(app, loaded, conv, tx.texter_of(app, conv), now, out,
                       next_attempt=conv.attempt + 1)
        tx.deliver(app, out, now)


def retry_outbox(app, now: datetime) -> None:
    vault = app.extensions["hotline.vault"]
    with _sessions(app)() as db:
        due = db.execute(select(Outbox.id, Outbox.next_try_at)
                         .where(Outbox.next_try_at <= now)
                         .order_by(Outbox.priority.desc(), Outbox.id).limit(BATCH)).all()
    program = app.extensions["hotline.rotation"].current().config.program.number
    for row_id, seen in due:
        if not take_slot(app, program, now):
            break  # the number's rate is used up for this second; the next poll goes on
        with _sessions(app)() as db, db.begin():
            leased = db.execute(update(Outbox)
                                .where(Outbox.id == row_id, Outbox.next_try_at == seen)
                                .values(next_try_at=now + LEASE)
                                .execution_options(synchronize_session=False)).rowcount == 1
            row = db.get(Outbox, row_id, populate_existing=True) if leased else None
            text, attempts = (as_text(vault, row), row.attempts) if row else (None, 0)
        if text is None:
            continue
        try:
            sid = send_one(app, program, text)
        except TemporaryFailure:
            with _sessions(app)() as db, db.begin():
                if attempts + 1 >= MAX_ATTEMPTS:
                    log.warning("dropped a text after %s attempts", attempts + 1)
                    db.execute(delete(Outbox).where(Outbox.id == row_id))
                else:
                    db.execute(update(Outbox).where(Outbox.id == row_id).values(
                        attempts=attempts + 1, next_try_at=now + backoff(attempts + 1)))
            break  # Twilio is still struggling: leave the rest for the next poll
        except Refused as exc:
            _forget(app, row_id)
            if exc.code == OPTED_OUT:
                tx.report_opt_outs(app, [text], now)
            continue
        _forget(app, row_id)
        record_notice(app, sid, text)


def _forget(app, row_id: int) -> None:
    with _sessions(app)() as db, db.begin():
        db.execute(delete(Outbox).where(Outbox.id == row_id))


def close_idle(app, now: datetime) -> None:
    idle = timedelta(seconds=float(app.config.get("HOTLINE_IDLE_CLOSE") or 24 * 3600))
    with _sessions(app)() as db:
        due = db.execute(select(Conversation.id, Conversation.last_activity_at)
                         .where(Conversation.last_activity_at <= now - idle)
                         .limit(BATCH)).all()
    loaded = app.extensions["hotline.rotation"].current()
    hours = round(idle.total_seconds() / 3600)
    for conv_id, seen in due:
        out = []
        with _sessions(app)() as db, db.begin():
            conv = db.get(Conversation, conv_id, with_for_update=True, populate_existing=True)
            if conv is None or conv.last_activity_at != seen:
                continue  # closed meanwhile, or the texter wrote again
            claimed = db.execute(delete(Conversation).where(
                Conversation.id == conv_id, Conversation.last_activity_at == seen)
                .execution_options(synchronize_session=False)).rowcount == 1
            if not claimed:
                continue
            if conv.owner:
                tx.tell(loaded.config, [conv.owner], f"#{conv.code} was closed after {hours} h "
                        "without messages.", conv, out)
            db.expunge(conv)
            tx.close(app, db, loaded, conv, out, loaded.config.sms.idle_closed, delete_row=False)
        tx.deliver(app, out, now)


def main_loop(app, every: float = 1.0) -> None:
    """`hotline clock`: one APScheduler job polling run_due."""
    from datetime import timezone

    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=timezone.utc)
    clock = app.config["HOTLINE_CLOCK"]
    # coalesce + max_instances=1: a slow poll is never run twice at once or caught up in bulk.
    scheduler.add_job(lambda: _poll(app, clock), "interval", seconds=every, coalesce=True,
                      max_instances=1, id="hotline-run-due")
    log.info("clock started: polling every %s s", every)
    scheduler.start()


def _poll(app, clock) -> None:
    try:
        run_due(app, clock())
    except Exception:  # noqa: BLE001 - the next poll tries again
        log.exception("clock poll failed")
