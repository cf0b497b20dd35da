"""The clock process: escalation timers, clinician re-pages, idle close, and a sender.

Web workers never run a scheduler (several would act twice or miss jobs on a
shared job store). They write due times into the database; this one process
polls every few seconds and claims each due row with a conditional UPDATE or
DELETE, so a restart, a crash or an accidental second clock cannot act twice.
`run_due(app, now)` is one poll; tests call it with their fake clock's time.

Its jobs only decide and stage texts (text/outbox.py), so 500 timers due at once are
claimed in moments; the texts go out through the sender (text/sender.py). The clock
runs a sender thread of its own unless told not to (`hotline clock --no-sender`, for a
deployment with a `hotline sender` process): a line with only a web and a clock
process still texts, and a second sender is safe (claims never overlap).
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select, update

from hotline.callout import clock as callout_clock
from hotline.paging import pages
from hotline.availability import reminders
from hotline.text import conversations as tx
from hotline.text import sender
from hotline.text.outbox import stage
from hotline.voice import voicemail
from hotline.records import shredding
from hotline.records.provider_sweep import sweep_provider
from hotline.records.retention import delete_at_provider, purge
from hotline.store import Conversation

log = logging.getLogger(__name__)

BATCH = 100


def run_due(app, now: datetime, send: bool = True) -> None:
    """One poll. `send`: then send what is due too (tests, the simulator's ticks); the
    clock process leaves that to its sender thread or the sender process."""
    with app.app_context():
        escalate(app, now)
        repage(app, now)
        rota(app, now)  # OFFs ending, shift reminders: queued below crisis texts
        callout_clock.run(app, now)
        close_idle(app, now)
        if send:  # all the jobs' texts, urgent first: a callout never holds up a rescue
            send_outbox(app, now)
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
    threads = min(len(due), int(app.config.get("HOTLINE_CLOCK_THREADS") or 1))
    if threads <= 1 or app.extensions["hotline.engine"].dialect.name != "postgresql":
        for conv_id, seen in due:
            _escalate_guarded(app, loaded, conv_id, seen, now)
        return
    # Each escalation spends most of its time waiting (the commit's WAL flush, the key
    # file's fsync), so a burst of timers due together is worked through side by side:
    # each claim is its own conditional UPDATE, so no two threads act on one row. SQLite
    # has one writer at a time, and threads would only queue for it.
    def one(row):
        with app.app_context():
            _escalate_guarded(app, loaded, row[0], row[1], now)

    with ThreadPoolExecutor(threads, thread_name_prefix="hotline-escalate") as pool:
        list(pool.map(one, due))


def _escalate_guarded(app, loaded, conv_id: int, seen: datetime, now: datetime) -> None:
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


def send_outbox(app, now: datetime) -> None:
    """What is due in the outbox, as a sender round does (tests' and the simulator's
    poll; the clock process's own sender thread does it at once when woken)."""
    try:
        sender.drain(app, lambda: now)
    except Exception:  # noqa: BLE001 - retried at the next poll
        log.exception("sending from the outbox failed; trying again at the next poll")


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


def main_loop(app, every: float = 0.5, send: bool = True) -> None:
    """`hotline clock`: one APScheduler job polling run_due; with `send`, a sender
    thread beside it (text/sender.py)."""
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
    if send:
        # Texts go out the moment their transaction commits (NOTIFY), not at the next
        # poll: a thread of its own, beside the scheduler.
        threading.Thread(target=sender.run_forever, args=(app, clock, every),
                         name="hotline-sender", daemon=True).start()
    log.info("clock started: polling every %s s%s", every,
             "" if send else " (texts are sent by `hotline sender`)")
    scheduler.start()


def _housekeeping(app, clock, job) -> None:
    try:
        with app.app_context():
            job(app, clock())
    except Exception:  # noqa: BLE001 - retried at its next run
        log.exception("clock housekeeping failed")


def _poll(app, clock) -> None:
    try:
        run_due(app, clock(), send=False)
    except Exception:  # noqa: BLE001 - the next poll tries again
        log.exception("clock poll failed")
