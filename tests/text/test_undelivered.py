"""A texter's words that never reach the peer who has their conversation: the texter
is told to send it again (or call), the peer that something is missing, once each."""
from __future__ import annotations

import pytest

from hotline.text.undelivered import TO_TEXTER, to_peer
from tests.conftest import ALICE, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def alice_has_the_conversation(phones) -> None:
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")


def told_texter(phones) -> int:
    return phones.inbox(OFFICER).count(TO_TEXTER)


def told_peer(phones) -> int:
    return phones.inbox(ALICE).count(to_peer(1))


@pytest.mark.parametrize("state,code", [("undelivered", "30003"), ("failed", "30008")])
def test_a_relayed_text_that_never_reaches_the_peer_tells_the_texter_and_the_peer(
        phones, state, code):
    alice_has_the_conversation(phones)
    phones.text(OFFICER, "are you still there")
    phones.status(phones.notice_sid(ALICE), "sent")
    phones.status(phones.notice_sid(ALICE), state, code)
    assert phones.last(OFFICER) == TO_TEXTER
    assert phones.last(ALICE) == to_peer(1)
    assert "are you still there" not in phones.last(OFFICER)  # the words are not kept


def test_a_repeated_failure_callback_tells_the_texter_only_once(phones):
    alice_has_the_conversation(phones)
    phones.text(OFFICER, "are you still there")
    sid = phones.notice_sid(ALICE)
    phones.status(sid, "undelivered", "30003")
    phones.status(sid, "undelivered", "30003")  # Twilio retries its callback
    phones.status(sid, "failed", "30003")
    assert told_texter(phones) == 1 and told_peer(phones) == 1


def test_of_two_relays_only_the_one_that_failed_is_reported(phones):
    alice_has_the_conversation(phones)
    phones.text(OFFICER, "are you still there")
    arrived = phones.notice_sid(ALICE)
    phones.text(OFFICER, "hello?")
    lost = phones.notice_sid(ALICE)
    phones.status(arrived, "delivered")
    phones.status(arrived, "undelivered", "30003")  # late and out of order: not a failure
    phones.status(lost, "undelivered", "30003")
    assert told_texter(phones) == 1


@pytest.mark.parametrize("code", [21617, 21211], ids=["too-long", "invalid-to"])
def test_a_relay_twilio_refuses_at_send_time_tells_the_texter_and_the_peer(phones, code):
    alice_has_the_conversation(phones)
    phones.rest.refuse_next(code)
    phones.text(OFFICER, "are you still there")
    assert phones.last(OFFICER) == TO_TEXTER
    assert phones.last(ALICE) == to_peer(1)


def test_a_relay_to_a_peer_who_texted_stop_tells_the_texter(phones):
    alice_has_the_conversation(phones)
    phones.rest.opted_out.add(ALICE)  # her phone blocked the program number
    phones.text(OFFICER, "are you still there")
    assert phones.last(OFFICER) == TO_TEXTER


def test_a_relay_the_clock_retries_and_twilio_then_refuses_tells_the_texter(phones):
    alice_has_the_conversation(phones)
    phones.rest.fail_next(1)  # Twilio fails: the relay waits in the outbox
    phones.text(OFFICER, "are you still there")
    assert told_texter(phones) == 0
    phones.rest.refuse_next(21617)
    phones.tick(10)  # the clock's retry is refused for good
    assert phones.last(OFFICER) == TO_TEXTER
    assert told_peer(phones) == 1


def test_a_long_text_refused_in_every_part_tells_the_texter_once(phones):
    alice_has_the_conversation(phones)
    phones.rest.refuse_next(21617, n=2)
    phones.text(OFFICER, "x " * 1000)  # two parts
    assert told_texter(phones) == 1


def test_a_failure_reported_after_the_conversation_closed_tells_nobody(phones):
    alice_has_the_conversation(phones)
    phones.text(OFFICER, "are you still there")
    phones.status(phones.notice_sid(ALICE), "undelivered", "30003")
    phones.text(OFFICER, "ok thanks, bye")
    late = phones.notice_sid(ALICE)
    phones.text(ALICE, "done")  # she closes it; the texter's number is forgotten
    mark = phones.sent_count()
    phones.status(late, "undelivered", "30003")
    assert told_texter(phones) == 1  # the first failure only
    assert phones.since(mark) == []


def test_a_relay_the_clock_gives_up_on_after_its_retries_tells_the_texter(phones):
    alice_has_the_conversation(phones)
    phones.rest.fail_next(12)  # Twilio fails the first send and the clock's 11 retries
    phones.text(OFFICER, "are you still there")
    for _ in range(11):
        assert told_texter(phones) == 0
        phones.tick(300)  # past the longest backoff
    assert phones.last(OFFICER) == TO_TEXTER
    assert told_peer(phones) == 1
