"""The sender: woken by the decision that staged a text (PostgreSQL's NOTIFY, a short
poll on SQLite), it claims due texts so that no two senders send one, urgent first
within the number's rate, sends them concurrently and records each batch at once;
a sender killed after Twilio took a text does not send it again."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from hotline.app import create_app
from hotline.store import Notice, Outbox
from hotline.testing.fake_rest import FakeRest, ProcessKilled
from hotline.text import notify, sender
from hotline.text.outbox import Text, enqueue
from tests.conftest import ALICE, BOB, CAROL, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER = "+12625550143"
THIRD = "+12625550144"


def postgres(app) -> bool:
    return app.extensions["hotline.engine"].dialect.name == "postgresql"


def outbox(app) -> list[Outbox]:
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(Outbox)).all()


def no_harness_drain(app) -> None:
    """Tests send as soon as a webhook returns; these watch the sender do it instead."""
    app.extensions["hotline.drainers"] = []


def test_staging_a_text_wakes_the_sender_when_it_commits(phones, app):
    listener = notify.Listener(app.extensions["hotline.engine"])
    try:
        enqueue(app, [Text(ALICE, "Peer line #1: hello")], phones.clock.now)
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
    listener = notify.Listener(app.extensions["hotline.engine"])
    try:
        with app.extensions["hotline.sessions"]() as db:
            with db.begin():
                notify.wake(db)
                db.rollback()
        assert not listener.wait(0.5)
    finally:
        listener.close()


def test_the_sender_woken_by_a_text_sends_its_notice_without_waiting_for_its_poll(
        phones, app):
    no_harness_drain(app)
    stop = threading.Event()
    # A sender that would look on its own only every 60 s: on PostgreSQL only the
    # webhook's NOTIFY gets the notice out soon (SQLite: its short poll).
    thread = threading.Thread(target=sender.run_forever,
                              args=(app, lambda: phones.clock.now, 60, stop), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # listening
        replies = phones.text(OFFICER, "anyone there?")
        assert "trained peer" in replies[0]  # answered without waiting for Twilio
        # The sender records a batch after its sends return: wait for both.
        deadline = time.monotonic() + 10
        while (not phones.inbox(ALICE) or outbox(app)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert phones.inbox(ALICE) == ["Peer line #1: anyone there? - reply YES to take #1"]
        assert outbox(app) == []
    finally:
        stop.set()
        with app.extensions["hotline.sessions"]() as db, db.begin():
            notify.wake(db)  # out of its wait, to see it must stop
        thread.join(5)
        assert not thread.is_alive()


def test_two_senders_never_send_one_text_twice(phones, app):
    no_harness_drain(app)
    app.config["HOTLINE_SENDER_THREADS"] = 4
    # A second process on the same database: its own engine, pool and sender.
    other = create_app({k: app.config[k] for k in (
        "HOTLINE_CONFIG", "DATABASE_URL", "TWILIO_AUTH_TOKENS", "HOTLINE_CLOCK",
        "HOTLINE_RELOAD_SECONDS", "HOTLINE_INSECURE_DEV")}, instance_path=app.instance_path)
    other.config.update({k: app.config[k] for k in (
        "TWILIO_HTTP_CLIENT", "TWILIO_ACCOUNT_SID", "HOTLINE_PUBLIC_URL", "HOTLINE_SEND_RATE")})
    other.config["HOTLINE_SENDER_THREADS"] = 4
    other.extensions["hotline.vault"] = app.extensions["hotline.vault"]  # one secret key
    bodies = [f"Peer line: note {i}" for i in range(60)]
    enqueue(app, [Text(ALICE if i % 2 else BOB, b) for i, b in enumerate(bodies)],
            phones.clock.now)
    try:
        rounds = [threading.Thread(target=sender.drain, args=(a,)) for a in (app, other)]
        for t in rounds:
            t.start()
        for t in rounds:
            t.join(60)
        sent = Counter(s.body for s in phones.rest.sent)
        assert sorted(sent) == sorted(bodies) and set(sent.values()) == {1}
        assert outbox(app) == []
    finally:
        other.extensions["hotline.engine"].dispose()


def test_urgent_texts_take_the_numbers_slots_first(phones, app):
    no_harness_drain(app)
    app.config["HOTLINE_SEND_RATE"] = 2  # two texts a second from the program number
    phones.text(OFFICER, "hello")
    phones.text(OTHER, "just checking in")
    phones.text(THIRD, "I want to eat my gun")  # urgent: to Alice and the director
    sender.drain(app)
    assert [s.body.split(":")[0] for s in phones.rest.sent if s.sid] == [
        "URGENT Peer line #3", "URGENT peer line #3"]
    phones.clock.advance(1)
    sender.drain(app)
    assert [b.split(":")[0] for b in phones.inbox(ALICE)] == [
        "URGENT Peer line #3", "Peer line #1", "Peer line #2"]
    assert phones.inbox(DIRECTOR)[0].startswith("URGENT")


def test_a_batch_of_sends_is_recorded_in_one_transaction(phones, app):
    no_harness_drain(app)
    app.config["HOTLINE_SENDER_THREADS"] = 2  # claims up to 4 a round
    for i, number in enumerate([OFFICER, OTHER, THIRD]):
        phones.text(number, f"text {i}")
    commits = []
    engine = app.extensions["hotline.engine"]
    listen = lambda conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listen)
    try:
        assert sender.send_due(app, phones.clock.now) == 3
    finally:
        event.remove(engine, "commit", listen)
    assert len(commits) == 2  # the claim, and the batch's results
    assert len(phones.inbox(ALICE)) == 3
    with app.extensions["hotline.sessions"]() as db:
        sids = set(db.scalars(select(Notice.message_sid)))
    assert sids == {s.sid for s in phones.rest.sent if s.to == ALICE}
    assert outbox(app) == []


def test_sends_go_concurrently_one_conversation_in_order(phones, app):
    class SlowTwilio(FakeRest):
        """Takes each send 50 ms, counting how many are in flight at once."""

        def __init__(self, clock):
            super().__init__(clock)
            self.in_flight = self.most = 0
            self.count_lock = threading.Lock()

        def request(self, method, uri, **kwargs):
            with self.count_lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
            time.sleep(0.05)
            try:
                return super().request(method, uri, **kwargs)
            finally:
                with self.count_lock:
                    self.in_flight -= 1

    slow = SlowTwilio(lambda: phones.clock.now)
    phones.rest = slow
    app.config.update(TWILIO_HTTP_CLIENT=slow, HOTLINE_SENDER_THREADS=4)
    no_harness_drain(app)
    for i, number in enumerate([OFFICER, OTHER, THIRD, "+12625550145"]):
        phones.text(number, f"text {i}")
    sender.drain(app)  # four notices to Alice, from four conversations
    assert slow.most > 1  # the sender did not wait for each send in turn
    phones.text(ALICE, "yes")  # Alice takes #1
    phones.text(OFFICER, "first " * 200 + "then " * 200)  # relayed to Alice in parts
    sender.drain(app)
    relayed = [b for b in phones.inbox(ALICE) if "(1/2)" in b or "(2/2)" in b]
    assert len(relayed) == 2  # in the order they were written, on one thread
    assert "(1/2) first" in relayed[0] and "(2/2) then" in relayed[1]


def test_urgent_notices_are_taken_by_twilio_before_routine_ones_claimed_with_them(phones, app):
    class SlowOnCrises(FakeRest):
        """Takes 100 ms over each crisis text; notes the order Twilio took texts in."""

        def __init__(self, clock):
            super().__init__(clock)
            self.taken, self.order_lock = [], threading.Lock()

        def request(self, method, uri, **kwargs):
            body = (kwargs.get("data") or {}).get("Body", "")
            if "eat my gun" in body:
                time.sleep(0.1)
            try:
                return super().request(method, uri, **kwargs)
            finally:
                with self.order_lock:
                    self.taken.append(body)

    slow = SlowOnCrises(lambda: phones.clock.now)
    phones.rest = slow
    app.config.update(TWILIO_HTTP_CLIENT=slow, HOTLINE_SENDER_THREADS=4, HOTLINE_SEND_RATE=0)
    no_harness_drain(app)
    phones.text(OFFICER, "hello")
    phones.text(OTHER, "just checking in")
    phones.text(THIRD, "I want to eat my gun")  # to Alice and the director, urgent
    assert sender.send_due(app, phones.clock.now) == 4  # one round claims all four
    sent = [b for b in slow.taken if b]
    assert len(sent) == 4
    assert all("eat my gun" in b for b in sent[:2])  # the crisis texts were taken first
    assert {b.split(":")[0] for b in sent[2:]} == {"Peer line #1", "Peer line #2"}


def test_twilio_5xx_is_retried_with_backoff(phones, app):
    phones.rest.fail_next(1)
    phones.text(OFFICER, "hello")
    assert phones.inbox(ALICE) == []
    [row] = outbox(app)
    assert row.attempts == 1 and row.sending_at is None  # Twilio said no: not maybe-sent
    phones.tick(4)
    assert phones.inbox(ALICE) == []  # the first backoff is 5 s
    phones.tick(1)
    assert phones.inbox(ALICE) == ["Peer line #1: hello - reply YES to take #1"]
    assert outbox(app) == []


def test_a_sender_killed_after_twilio_took_a_text_does_not_send_it_again(phones, app):
    phones.rest.crash_after_next()  # Twilio takes the notice; the sender dies at once
    phones.text(OFFICER, "anyone there?")
    assert len(phones.inbox(ALICE)) == 1
    [row] = outbox(app)
    assert row.sending_at is not None  # claimed and maybe sent: nothing recorded
    phones.tick(10)
    assert len(phones.inbox(ALICE)) == 1  # its lease still holds
    phones.tick(21)  # the lease ran out: the next sender asks Twilio first
    assert len(phones.inbox(ALICE)) == 1 and outbox(app) == []
    assert phones.rest.requests[-1][0] == "GET"
    # Recorded under Twilio's SID: its delivery report is understood.
    phones.status(phones.notice_sid(ALICE), "failed", "30005")
    phones.tick(1)
    assert len(phones.inbox(CAROL)) == 1


def test_a_sender_killed_before_twilio_took_a_text_sends_it_after_the_lease(phones, app):
    phones.rest.crash_next()  # the sender dies with the request in flight
    phones.text(OFFICER, "anyone there?")
    assert phones.inbox(ALICE) == []
    phones.tick(31)  # Twilio has nothing like it: sent now
    assert phones.inbox(ALICE) == ["Peer line #1: anyone there? - reply YES to take #1"]
    phones.tick(60)
    assert len(phones.inbox(ALICE)) == 1 and outbox(app) == []


def test_a_text_held_by_the_rate_goes_in_the_next_second_not_at_the_next_poll(phones, app):
    no_harness_drain(app)
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(OFFICER, "are you there")
    phones.text(OTHER, "need to talk")
    assert sender.send_due(app, phones.clock.now) == 1
    assert sender.send_due(app, phones.clock.now) == 0  # this second is used up
    assert sender.send_due(app, phones.clock.now + timedelta(seconds=1)) == 1
    assert len(phones.inbox(ALICE)) == 2


def test_an_identical_text_sent_before_is_not_taken_for_a_maybe_sent_one(phones, app):
    no_harness_drain(app)
    enqueue(app, [Text(ALICE, "OFF noted: back on at 18:00")], phones.clock.now)
    sender.drain(app)  # sent and recorded
    phones.rest.crash_next()  # the same words again; the sender dies before Twilio has them
    enqueue(app, [Text(ALICE, "OFF noted: back on at 18:00")], phones.clock.now)
    with pytest.raises(ProcessKilled):
        sender.drain(app)
    phones.clock.advance(31)  # the lease ran out: Twilio lists only the first, recorded one
    sender.drain(app)
    assert phones.inbox(ALICE) == ["OFF noted: back on at 18:00"] * 2
    assert outbox(app) == []


def test_a_send_that_timed_out_after_twilio_took_it_is_not_sent_again(phones, app):
    phones.rest.time_out_after_next()  # Twilio takes the notice; its answer comes too late
    phones.text(OFFICER, "anyone there?")
    assert len(phones.inbox(ALICE)) == 1
    [row] = outbox(app)
    assert row.attempts == 1 and row.sending_at is not None  # maybe sent: retried carefully
    phones.tick(5)  # the retry asks Twilio first, and finds it
    assert len(phones.inbox(ALICE)) == 1 and outbox(app) == []
    phones.text(ALICE, "yes")
    assert "peer is here now" in phones.last(OFFICER)
