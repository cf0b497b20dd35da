"""What the clock process does for the open callout, each poll: close it when it was
forgotten, send the initiator the debounced tally, and phone peers who have not
answered. Every due time is a database row claimed with a conditional UPDATE, so a
restarted (or accidental second) clock neither repeats nor skips a page.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from hotline.callout import service as callouts
from hotline.store import Callout, CalloutAnswer
from hotline.text import conversations as tx
from hotline.text.outbox import stage
from hotline.twilio_client import client

log = logging.getLogger(__name__)

# Phone pages placed per poll: 40 calls.create in one poll would hold up the text
# escalations behind it; the rest follow a second later.
PAGES_PER_POLL = 5
RING_SECONDS = 30


def run(app, now: datetime) -> None:
    loaded = app.extensions["hotline.rotation"].current()
    for job in (close_forgotten, send_tally, page_by_phone):
        try:  # one job's failure must not stop the others (or the rest of the poll)
            job(app, loaded, now)
        except Exception:  # noqa: BLE001 - retried at the next poll
            log.exception("callout %s failed; trying again at the next poll", job.__name__)


def _sessions(app):
    return app.extensions["hotline.sessions"]


def close_forgotten(app, loaded, now: datetime) -> None:
    out: list = []
    with _sessions(app)() as db:  # a plain read each poll; the lock only once it is due
        if db.scalar(select(Callout.id).where(Callout.close_at <= now)) is None:
            return
    with _sessions(app)() as db, db.begin():
        callout = callouts.open_callout(db, lock=True)
        if callout is None or callout.close_at > now:
            return  # closed meanwhile (by hand, or by another clock)
        log.info("a callout was still open after callout close_after; closed it")
        callouts.close(app, db, loaded.config, now, out)
        out = stage(app, db, out, now)
    tx.deliver(app, out, now)


def send_tally(app, loaded, now: datetime) -> None:
    out: list = []
    with _sessions(app)() as db, db.begin():
        due = db.execute(select(Callout.id, Callout.tally_due_at)
                         .where(Callout.tally_due_at <= now)).first()
        if due is None:
            return
        if db.execute(update(Callout).where(Callout.id == due.id,
                                            Callout.tally_due_at == due.tally_due_at)
                      .values(tally_due_at=None)
                      .execution_options(synchronize_session=False)).rowcount != 1:
            return  # another clock sent it
        callout = db.get(Callout, due.id, populate_existing=True)
        callouts.send_tally(db, loaded.config, callout, out)
        out = stage(app, db, out, now)
    tx.deliver(app, out, now)


def page_by_phone(app, loaded, now: datetime) -> None:
    config = loaded.config
    with _sessions(app)() as db:
        due = db.execute(select(CalloutAnswer.callout_id, CalloutAnswer.peer_id,
                                CalloutAnswer.call_due_at, CalloutAnswer.calls)
                         .where(CalloutAnswer.call_due_at <= now, CalloutAnswer.answer.is_(None))
                         .order_by(CalloutAnswer.call_due_at, CalloutAnswer.peer_id)
                         .limit(PAGES_PER_POLL)).all()
    base = (app.config.get("HOTLINE_PUBLIC_URL") or "").rstrip("/")
    for callout_id, peer_id, seen, calls in due:
        again = now + config.callout.call_after if calls + 1 < config.callout.calls else None
        with _sessions(app)() as db, db.begin():
            if db.execute(update(CalloutAnswer)
                          .where(CalloutAnswer.callout_id == callout_id,
                                 CalloutAnswer.peer_id == peer_id,
                                 CalloutAnswer.call_due_at == seen,
                                 CalloutAnswer.answer.is_(None))
                          .values(calls=calls + 1, call_due_at=again)
                          .execution_options(synchronize_session=False)).rowcount != 1:
                continue  # answered meanwhile, or another clock has it
        person = config.peers.get(peer_id)
        if person is None:
            continue  # removed from the rotation file since the callout started
        with app.test_request_context(base_url=base or "http://localhost"):
            from flask import url_for
            page = base + url_for("callout.page", callout=callout_id, peer=peer_id)
            status = base + url_for("callout.status", callout=callout_id, peer=peer_id)
        try:
            client(app).calls.create(to=person.phone, from_=config.program.number, url=page,
                                     status_callback=status, timeout=RING_SECONDS)
        except Exception:  # noqa: BLE001 - the next round (if any) calls again
            log.warning("Twilio did not place a callout page; the peer stays waiting")
