"""A burst stays within the program number's send rate, and urgent texts go first."""
from __future__ import annotations

from datetime import timedelta


from tests.conftest import ALICE, BOB, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER = "+12625550143"
THIRD = "+12625550144"


def test_over_the_rate_a_text_waits_in_the_outbox_and_the_clock_sends_it_next_second(phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(OFFICER, "are you there")  # the notice to Alice takes this second's slot
    phones.text(OTHER, "need to talk")  # Alice's second notice must wait
    assert phones.inbox(ALICE) == ["Peer line #1: are you there - reply YES to take #1"]
    phones.tick(0)  # same second: still full
    assert len(phones.inbox(ALICE)) == 1
    phones.tick(1)
    assert phones.inbox(ALICE)[1] == "Peer line #2: need to talk - reply YES to take #2"


def test_an_urgent_text_overtakes_routine_ones_waiting_for_the_rate(phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(OFFICER, "hello")  # sent: uses the slot
    phones.text(OTHER, "just checking in")  # routine notice: held
    phones.text(THIRD, "I want to eat my gun")  # urgent notices: held, but first in line
    phones.tick(1)
    phones.tick(1)
    urgent_first = [s.body for s in phones.rest.sent if s.sid and s.to in (ALICE, DIRECTOR)]
    assert urgent_first[0] == "Peer line #1: hello - reply YES to take #1"
    assert urgent_first[1].startswith("URGENT")
    assert urgent_first[2].startswith("URGENT")
    phones.tick(1)
    assert phones.inbox(ALICE)[-1] == "Peer line #2: just checking in - reply YES to take #2"
    assert phones.inbox(BOB) == []


def test_while_twilio_struggles_the_retry_goes_before_a_newer_text(phones):
    # No rate limit; Twilio answers the first notice with a 500, so it waits for a retry.
    phones.rest.fail_next(1)
    phones.text(OFFICER, "are you there")
    assert phones.inbox(ALICE) == []
    phones.clock.advance(5)  # the retry is due, but the clock has not polled yet
    phones.text(OTHER, "need to talk")  # the sender takes both, the older first
    assert phones.inbox(ALICE) == ["Peer line #1: are you there - reply YES to take #1",
                                   "Peer line #2: need to talk - reply YES to take #2"]


def test_a_routine_text_waits_behind_an_urgent_notice_still_on_its_way(phones):
    phones.rest.crash_next()  # the worker sending the urgent notice dies after answering
    phones.text(OFFICER, "I have my pills lined up")
    phones.text(OTHER, "just checking in")  # routine: must not get to Alice first
    assert phones.inbox(ALICE) == []
    phones.tick(31)  # the dead worker's lease runs out; the clock sends in priority order
    assert [b.split(":")[0] for b in phones.inbox(ALICE)] == ["URGENT Peer line #1",
                                                              "Peer line #2"]


def test_after_the_clock_steps_back_an_hour_a_new_text_still_gets_its_notice(phones, app, clock):
    """The send-rate record holds the second of the last send. A clock stepped back (an NTP
    correction, a restored snapshot, the simulator restarted after a fast-forward) must
    not leave it in the future, holding every text in the outbox until time catches up."""
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(OFFICER, "are you there")  # the notice to Alice uses this second
    clock.now -= timedelta(hours=1)
    phones.text(OTHER, "need to talk")
    phones.tick(1)  # held for the rate or not, it is out by the clock's next poll
    assert phones.inbox(ALICE)[-1] == "Peer line #2: need to talk - reply YES to take #2"


def test_a_clock_a_moment_behind_another_still_keeps_to_the_rate(phones, app, clock):
    """Two workers' clocks differ by a fraction of a second: the one behind sees the other's
    second as slightly in the future, and must count it full, not start it over."""
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text(OFFICER, "are you there")  # the notice to Alice uses this second
    clock.now -= timedelta(seconds=1)
    phones.text(OTHER, "need to talk")
    assert phones.inbox(ALICE) == ["Peer line #1: are you there - reply YES to take #1"]
    phones.tick(2)  # a second after the first send: the held notice goes
    assert phones.inbox(ALICE)[-1] == "Peer line #2: need to talk - reply YES to take #2"
