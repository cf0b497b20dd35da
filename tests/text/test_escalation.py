"""Unanswered texts escalate on the clock process's timers; urgent texts skip the queue."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from hotline.clock import run_due
from hotline.store import Conversation, Outbox, StatEvent
from hotline.testing.fake_rest import ProcessKilled
from tests.conftest import ALICE, CAROL, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def test_no_accept_backup_then_director_then_fallback(phones, app):
    phones.text(OFFICER, "hello?")
    assert len(phones.inbox(ALICE)) == 1
    phones.tick(299)
    assert phones.inbox(CAROL) == []  # not yet: step 1 waits 5 minutes
    phones.tick(1)
    assert "waited 5 min" in phones.last(CAROL) and "YES to take #1" in phones.last(CAROL)
    phones.tick(300)
    assert phones.last(DIRECTOR).startswith("Peer line #1")
    assert len(phones.inbox(OFFICER)) == 1  # still just the welcome
    phones.tick(600)
    assert "could not reach a peer" in phones.last(OFFICER)
    phones.tick(600)
    assert len(phones.inbox(OFFICER)) == 2  # the fallback is sent once
    # A peer can still take it after the fallback.
    phones.text(CAROL, "yes")
    assert "peer is here now" in phones.last(OFFICER)


def test_a_timer_after_acceptance_does_nothing(phones, app):
    phones.text(OFFICER, "hello")
    phones.tick(200)
    phones.text(ALICE, "yes")
    mark = phones.sent_count()
    phones.tick(3600)
    assert phones.since(mark) == []


def test_two_clocks_act_once(phones, app):
    phones.text(OFFICER, "hello")
    phones.clock.advance(300)
    run_due(app, phones.clock.now)
    run_due(app, phones.clock.now)
    assert len(phones.inbox(CAROL)) == 1


def test_texts_due_together_each_reach_the_backup_once_with_two_clocks_working_side_by_side(
        phones, app):
    app.config["HOTLINE_CLOCK_THREADS"] = 4  # a pool per clock (PostgreSQL; SQLite: in turn)
    officers = [f"+1262555{n:04d}" for n in range(140, 152)]
    for number in officers:
        phones.text(number, "long week")
    phones.clock.advance(300)
    clocks = [threading.Thread(target=run_due, args=(app, phones.clock.now)) for _ in range(2)]
    for clock in clocks:
        clock.start()
    for clock in clocks:
        clock.join(60)
    waited = [m for m in phones.inbox(CAROL) if "waited 5 min" in m]
    assert sorted(waited) == sorted({m for m in waited})  # nobody's notice twice
    assert len(waited) == len(officers)
    assert all(c.escalate_at is not None and c.attempt == 1 for c in rows(app, Conversation))


def test_restart_mid_escalation_fires_the_timer_once(phones, app):
    phones.text(OFFICER, "hello")
    phones.tick(120)
    new = phones.restart()  # the web process and the clock restart; the database stays
    phones.tick(180)
    assert len(phones.inbox(CAROL)) == 1
    phones.tick(5)
    assert len(phones.inbox(CAROL)) == 1
    phones.text(CAROL, "yes")  # the new process still decrypts the number
    assert "peer is here now" in phones.last(OFFICER)
    new.extensions["hotline.engine"].dispose()


def test_a_clock_killed_between_claim_and_send_leaves_the_notice_to_the_next_clock(phones, app):
    phones.text(OFFICER, "hello?")
    phones.clock.advance(300)
    phones.rest.crash_next()  # kill -9 while the step-2 notice is on its way to Twilio
    with pytest.raises(ProcessKilled):
        run_due(app, phones.clock.now)
    new = phones.restart()
    phones.tick(10)
    assert phones.inbox(CAROL) == []  # the dead clock's lease on the notice still holds
    phones.tick(25)
    assert len(phones.inbox(CAROL)) == 1 and "YES to take #1" in phones.last(CAROL)
    phones.tick(60)
    assert len(phones.inbox(CAROL)) == 1  # sent once, not again
    assert rows(new, Outbox) == []
    new.extensions["hotline.engine"].dispose()


def test_a_web_worker_killed_after_answering_still_gets_the_notice_out(phones, app):
    phones.rest.crash_next()  # the worker dies handing the first notice to Twilio
    replies = phones.text(OFFICER, "anyone there?")
    assert "trained peer" in replies[0]  # the answer never waits for the sends
    assert phones.inbox(ALICE) == []
    phones.tick(31)
    assert phones.inbox(ALICE) == ["Peer line #1: anyone there? - reply YES to take #1"]
    phones.text(ALICE, "yes")
    assert "peer is here now" in phones.last(OFFICER)


def test_urgent_phrase_alerts_director_at_once_and_texter_gets_988(phones, app):
    replies = phones.text(OFFICER, "I just want to END IT ALL tonight")
    assert "trained peer" in replies[0] and "911" in replies[1] and "988" in replies[1]
    assert phones.last(ALICE).startswith("URGENT Peer line #1")
    assert phones.last(DIRECTOR).startswith("URGENT peer line #1")
    [conv] = rows(app, Conversation)
    assert conv.urgent is True
    phones.text(DIRECTOR, "yes")
    assert "was taken" in phones.last(ALICE)
    phones.text(DIRECTOR, "DONE")
    [event] = rows(app, StatEvent)
    assert (event.outcome, event.urgent) == ("clinical_director", True)


def test_urgent_words_match_whole_words_only(phones, app):
    phones.text(OFFICER, "the gunnery range was loud, legend it was")
    assert not rows(app, Conversation)[0].urgent
    assert phones.inbox(DIRECTOR) == []
    phones.text(OFFICER, "I keep thinking I want to die")
    assert rows(app, Conversation)[0].urgent
    assert phones.inbox(DIRECTOR)[0].startswith("URGENT peer line #1: I keep thinking I want to die")


def test_idle_conversation_closes_with_a_note_to_both(phones, app):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "yes")
    phones.tick(23 * 3600)
    assert rows(app, Conversation)
    phones.tick(3600)
    assert rows(app, Conversation) == []
    assert "closed after a quiet day" in phones.last(OFFICER)
    assert "#1 was closed after 24 h" in phones.last(ALICE)
    assert rows(app, StatEvent)[0].channel == "text"


def test_undelivered_notice_moves_to_the_next_peer(phones, app):
    phones.text(OFFICER, "hello")
    sid = phones.notice_sid(ALICE)
    phones.status(sid, "sent")
    phones.status(sid, "undelivered", "30003")
    phones.tick(1)
    assert len(phones.inbox(CAROL)) == 1
    phones.status(sid, "undelivered", "30003")  # a re-sent callback changes nothing
    phones.status(sid, "sent")  # nor does a late, older status
    phones.tick(1)
    assert len(phones.inbox(CAROL)) == 1


def test_twilio_5xx_is_retried_from_the_outbox_urgent_first(phones, app):
    phones.rest.fail_next(1)
    phones.text(OFFICER, "hello")
    assert phones.inbox(ALICE) == []
    [row] = rows(app, Outbox)
    assert b"+1262" not in row.to_enc  # encrypted while it waits
    phones.tick(10)
    assert phones.last(ALICE).startswith("Peer line #1")
    assert rows(app, Outbox) == []
    # The retried notice is tracked like any other: undelivered escalates.
    phones.status(phones.notice_sid(ALICE), "failed", "30005")
    phones.tick(1)
    assert len(phones.inbox(CAROL)) == 1


def test_a_conversation_sealed_with_an_old_key_does_not_stop_other_escalations(phones, app):
    from hotline.crypto import Vault

    phones.text(OFFICER, "first")
    old = app.extensions["hotline.vault"]
    app.extensions["hotline.vault"] = Vault("a-new-secret-key-after-rotation", old.store, old.clock)
    phones.text("+12625550143", "second")
    phones.tick(5 * 60)  # both first steps time out; #1 can no longer be read
    assert phones.inbox(CAROL)[-1].startswith("Peer line #2: an officer has waited")
    assert not any("#1" in text for text in phones.inbox(CAROL))


def test_a_queued_text_sealed_with_an_old_key_is_dropped_and_the_clock_goes_on(phones, app):
    from hotline.crypto import Vault

    phones.rest.fail_next(1)  # Twilio fails: the notice to alice waits in the outbox
    phones.text(OFFICER, "first")
    old = app.extensions["hotline.vault"]
    app.extensions["hotline.vault"] = Vault("a-new-secret-key-after-rotation", old.store, old.clock)
    phones.text("+12625550143", "second")
    phones.tick(5 * 60)  # the old notice cannot be read; #2's escalation still goes out
    assert rows(app, Outbox) == []
    assert phones.inbox(CAROL)[-1].startswith("Peer line #2: an officer has waited")
