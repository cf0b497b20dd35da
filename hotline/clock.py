"""The clock process: escalation timers, clinician re-pages, send retries, idle close.

Web workers never run a scheduler (several would act twice or miss jobs on a
shared job store). They write due times into the database; this one process
polls every few seconds and claims each due row with a conditional UPDATE or
DELETE, so a restart, a crash or an accidental second clock cannot act twice.
`run_due(app, now)` is one poll; tests call it with their fake clock's time.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select, update

from hotline.callout import clock as callout_clock
from hotline.paging import pages
from hotline.availability import reminders
from hotline.text import conversations as tx
from hotline.text import sender
from hotline.text.outbox import (MAX_ATTEMPTS, OPTED_OUT, Refused, TemporaryFailure, as_text, backoff,
                     drop_outbox_row, record_sent, send_one, stage)
from hotline.text.rate import take_slot
from hotline.voice import voicemail
from hotline.records import shredding
from hotline.records.provider_sweep import sweep_provider
from hotline.records.retention import delete_at_provider, purge
from hotline.store import Conversation, Outbox

log = logging.getLogger(__name__)

BATCH = 100
LEASE = timedelta(minutes=2)  # an outbox row being sent is hidden this long from other clocks


def run_due(app, now: datetime) -> None:
    with app.app_context():
        escalate(app, now)
        repage(app, now)
        rota(app, now)  # OFFs ending, shift reminders: queued below crisis texts
        retry_outbox(app, now)
        callout_clock.run(app, now)  # after the retries: a callout never holds up a rescue
        close_idle(app, now)
        heartbeat(app, now)  # after a completed poll: /health's "clock" age


def heartbeat(app, now: datetime) -> None:
    """The one clock_heartbeat row says when the clock last finished a poll."""
    from sqlalchemy.exc import IntegrityError

    from hotline.store import ClockHeartbeat

    with _sessions(app)() as db, db.begin():
        if db.execute(update(ClockHeartbeat).where(ClockHeartbeat.id == 1)
                      .values(last_poll_at=now)).rowcount:
            return
    try:
        with _sessions(app)() as db, db.begin():
            db.add(ClockHeartbeat(id=1, last_poll_at=now))
    except IntegrityError:
        pass  # a second clock wrote the first row at the same moment


def _sessions(app):
    return app.extensions["hotline.sessions"]


def escalate(app, now: datetime) -> None:
    with _sessions(app)() as db:
        due = db.execute(select(Conversation.id, Conversation.escalate_at)
                         .where(Conversation.escalate_at <= now, Conversation.owner.is_(None))
                         .order_by(Conversation.escalate_at).limit(BATCH)).all()
    loaded = app.extensions["hotline.rotation"].current()
    for conv_id, seen in due:
        # One conversation's failure must not stop everyone else's escalation.
        try:
            _escalate_one(app, loaded, conv_id, seen, now)
        except InvalidToken:
            log.error("a waiting text's number cannot be decrypted (was HOTLINE_SECRET_KEY "
                      "changed?); its escalation stops, the others go on")
            with _sessions(app)() as db, db.begin():
                db.execute(update(Conversation).where(Conversation.id == conv_id)
                           .values(escalate_at=None))
        except Exception:  # noqa: BLE001 - retried at the next poll
            log.exception("escalating a text failed; trying again at the next poll")


def _escalate_one(app, loaded, conv_id: int, seen: datetime, now: datetime) -> None:
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
            return
        conv = db.get(Conversation, conv_id, populate_existing=True)
        tx.advance(app, loaded, conv, tx.texter_of(app, conv), now, out,
                   next_attempt=conv.attempt + 1)
        # Staged with the claim: a clock killed before sending leaves them to the next one.
        out = stage(app, db, out, now)
    tx.deliver(app, out, now)


def repage(app, now: datetime) -> None:
    """Clinician pages nobody acknowledged in time: page again, the next, or give up."""
    try:
        tx.deliver(app, pages.repage_due(app, now), now)
    except Exception:  # noqa: BLE001 - retried at the next poll
        log.exception("re-paging failed; trying again at the next poll")


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
            try:
                text, attempts = (as_text(vault, row), row.attempts) if row else (None, 0)
            except InvalidToken:  # sealed under an earlier HOTLINE_SECRET_KEY: undeliverable
                log.error("dropped a queued text that cannot be decrypted (was "
                          "HOTLINE_SECRET_KEY changed?)")
                db.delete(row)
                continue
        if text is None:
            continue
        try:
            sid = send_one(app, program, text)
        except TemporaryFailure:
            dropped = attempts + 1 >= MAX_ATTEMPTS
            with _sessions(app)() as db, db.begin():
                if dropped:
                    log.warning("dropped a text after %s attempts", attempts + 1)
                    db.execute(delete(Outbox).where(Outbox.id == row_id))
                else:
                    db.execute(update(Outbox).where(Outbox.id == row_id).values(
                        attempts=attempts + 1, next_try_at=now + backoff(attempts + 1)))
            if dropped:  # a texter's words given up on: they and their peer are told
                tx.report_refused(app, [(text, None)], now)
            break  # Twilio is still struggling: leave the rest for the next poll
        except Refused as exc:
            drop_outbox_row(app, row_id)
            if exc.code != OPTED_OUT:
                log.warning("Twilio refused a queued text (error %s)", exc.code)
            tx.report_refused(app, [(text, exc.code)], now)  # opt-outs, lost relays
            continue
        record_sent(app, sid, text, now)  # drops its row in the same transaction


def rota(app, now: datetime) -> None:
    try:
        reminders.run(app, now)
    except Exception:  # noqa: BLE001 - a reminder must never stop escalations or sends
        log.exception("shift reminders failed; trying again at the next poll")


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
            try:
                tx.texter_of(app, conv)
                note = loaded.config.sms.idle_closed
            except InvalidToken:  # unreadable number (key changed): close it all the same
                note = None
            tx.close(app, db, loaded, conv, out, note, delete_row=False)
            out = stage(app, db, out, now)
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
    # Housekeeping apart from the poll, so a slow Twilio API never delays an escalation.
    scheduler.add_job(lambda: _housekeeping(app, clock, delete_at_provider), "interval",
                      minutes=1, coalesce=True, max_instances=1, id="hotline-provider-delete")
    # Keys no live row needs are destroyed, the lookup key replaced (records/shredding.py).
    scheduler.add_job(lambda: _housekeeping(app, clock, shredding.sweep), "interval",
                      minutes=1, coalesce=True, max_instances=1, id="hotline-shred",
                      next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(lambda: _housekeeping(app, clock, voicemail.deliver), "interval",
                      minutes=1, coalesce=True, max_instances=1, id="hotline-voicemail")
    # Twilio's own copies past the retention window, including those the router never
    # saw (records/provider_sweep.py).
    scheduler.add_job(lambda: _housekeeping(app, clock, sweep_provider), "interval", hours=1,
                      coalesce=True, max_instances=1, id="hotline-provider-sweep")
    scheduler.add_job(lambda: _housekeeping(app, clock, purge), "interval", hours=1,
                      coalesce=True, max_instances=1, id="hotline-retention",
                      next_run_time=datetime.now(timezone.utc))
    # Texts queued behind the send rate go out the moment their transaction commits
    # (NOTIFY), not at the next poll: a thread of its own, beside the scheduler.
    threading.Thread(target=sender.run_forever, args=(app, clock, retry_outbox, every),
                     name="hotline-sender", daemon=True).start()
    log.info("clock started: polling every %s s", every)
    scheduler.start()


def _housekeeping(app, clock, job) -> None:
    try:
        with app.app_context():
            job(app, clock())
    except Exception:  # noqa: BLE001 - retried at its next run
        log.exception("clock housekeeping failed")


def _poll(app, clock) -> None:
    try:
        run_due(app, clock())
    except Exception:  # noqa: BLE001 - the next poll tries again
        log.exception("clock poll failed")
