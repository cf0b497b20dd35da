"""Calls bridged through a conference (voice: bridge: conference), played through the
fake carrier: the caller waits in a queue while each peer's phone rings on a leg of its
own; the peer who presses 1 meets the caller in a conference a clinician can join.

Each test is one phone conversation: who rang, what each phone heard, who was in the
conference and when, and what the anonymous statistics kept.
"""
from __future__ import annotations

import pytest

from hotline.clock import run_due
from hotline.testing.fake_rest import FakeRest
from hotline.testing.fake_twilio import FakeTwilio, Phone
from tests.conftest import ALICE, BOB, CAROL, DIRECTOR, OFFICER, PROGRAM, ROTATION, TOKEN
from tests.sms_fixtures import PUBLIC, text_line
from tests.voice.test_calls import live_calls, stats

CONFERENCE = "voice: {bridge: conference}\n"
GOODBYE = "Thank you for calling. Take care."
TAKEN = "Another peer has already taken this call. Thank you."
FALLBACK_MESSAGE = "We could not reach a peer. Connecting you to 988."
MAX_WAIT = 180


@pytest.fixture
def rotation_file(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION + CONFERENCE)
    return path


@pytest.fixture
def line(app, clock):
    """The carrier, with the REST API the router places legs through, and the clock
    process polling every 10 s of a call (re-pages)."""
    rest = FakeRest()
    text_line(app, rest)
    carrier = FakeTwilio(app, TOKEN, clock, PROGRAM, base_url=PUBLIC)
    carrier.rest = rest
    carrier.background = (10, lambda now: run_due(app, now))
    return carrier


def in_conference(call) -> list[tuple[str, str]]:
    return [(number, what) for _, number, what in call.conference]


def test_the_caller_meets_the_peer_who_presses_1_in_a_conference(line, app):
    line.phones[ALICE] = Phone.accepts(after=4, talk=120)
    call = line.call(OFFICER)
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    assert call.whispers[ALICE][-1] == "Connecting you now."
    assert in_conference(call)[:2] == [(ALICE, "joined"), (OFFICER, "joined")]
    assert call.heard[-1] == GOODBYE  # the peer hung up: the caller is not left in silence
    assert live_calls(app) == []
    [event] = stats(app)
    assert (event.outcome, event.step, event.escalations) == ("peer", 0, 0)
    assert event.seconds_to_human is not None and event.seconds_to_human < 20
