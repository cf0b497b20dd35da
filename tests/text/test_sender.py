"""A text queued behind the send rate is sent the moment its transaction commits:
the clock's sender is woken by PostgreSQL's NOTIFY (a short poll on SQLite)."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from hotline.clock import retry_outbox
from hotline.text import sender
from hotline.text.outbox import Text, enqueue
from tests.conftest import ALICE, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER = "+12625550143"


def postgres(app) -> bool:
    return app.extensions["hotline.engine"].dialect.name == "postgresql"


def test_queuing_a_text_behind_the_rate_wakes_the_sender_when_it_commits(phones, app):
    listener = sender.Listener(app.extensions["hotline.engine"])
    try:
        enqueue(app, [Text(ALICE, "Peer line #1: hello")], phones.clock.now, throttled=True)
        started = time.monotonic()
        woken = listener.wait(5)
        if postgres(app):
            assert woken and time.monotonic() - started < 5
        else:
            assert not woken  # SQLite: the sender looks again after a short poll instead
    finally:
        listener.close()


def test_a_decision_that_rolled_back_wakes_nobody(phones, app):
    if not postgres(app):
        return  # SQLite has no NOTIFY to hold back
    listener = sender.Listener(app.extensions["hotline.engine"])
    try:
        with app.extensions["hotline.sessions"]() as db:
            with db.begin():
                sender.wake(db)
                db.rollback()
        assert not listener.wait(0.5)
    finally:
        listener.close()


def test_a_peer_notice_held_by_the_rate_reaches_her_without_waiting_for_the_clock_poll(
        phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1  # one text a second from the program number
    stop = threading.Event()
    # The clock's sender, polling only every 60 s: only a wake-up gets the text out soon.
    thread = threading.Thread(
        target=sender.run_forever,
        args=(app, lambda: phones.clock.now + timedelta(seconds=1), retry_outbox, 60, stop),
        daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # listening
        phones.text(OFFICER, "anyone there?")  # alice's notice takes this second's slot
        phones.text(OTHER, "need to talk")  # this notice waits behind the rate
        deadline = time.monotonic() + 5
        while len(phones.inbox(ALICE)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [b.split(":")[0] for b in phones.inbox(ALICE)] == ["Peer line #1",
                                                                  "Peer line #2"]
    finally:
        stop.set()
        thread.join(5)
