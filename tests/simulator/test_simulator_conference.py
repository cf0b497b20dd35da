"""The simulator's carrier plays calls bridged through a conference, as Twilio does:
the caller waits in a queue (the waitUrl loop, <Leave/>, the Enqueue action), peer legs
placed by REST ring at once, the peer who takes the call and the caller meet in a named
conference, a coach is heard only by the peer who asked, `*` leaves the conference,
REST moves and ends calls and makes a coach a full participant.

Driven through the page's actions against a TEST-ONLY line (tests/simulator/
conference_line.py) that answers as the conference contract says the router will."""
from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from hotline.twilio_client import client
from tests.conftest import ALICE, BOB, ROTATION
from tests.paging.conftest import CLINICAL
from tests.simulator.conference_line import Line, blueprint, settings
from tests.simulator.test_simulator import Page, simulator_app

KIRAN = "+12625550198"


@pytest.fixture
def database_url(tmp_path):
    """The carrier is under test, not SQL: SQLite only."""
    return f"sqlite:///{tmp_path / 'hotline.sqlite'}"


@pytest.fixture
def line():
    return Line(peers=[ALICE, BOB], coach=KIRAN)


@pytest.fixture
def page(tmp_path, database_url, clock, line):
    rotation = tmp_path / "rotation.yaml"
    rotation.write_text(ROTATION + CLINICAL)
    app = simulator_app(tmp_path, rotation, database_url, clock, **settings())
    app.register_blueprint(blueprint(line))
    yield Page(app, clock)
    app.extensions["hotline.engine"].dispose()


def call_the_line(page) -> None:
    page.act("call", phone="officer")
    page.state()  # the legs placed by REST ring at the carrier's next beat


def alice_takes_the_call(page) -> None:
    call_the_line(page)
    page.button("alice", "answer")
    page.press("alice", "1")
    page.wait(2)  # the caller's next look at the waitUrl: <Leave/>, then the conference


def kiran_coaches_alice(page) -> None:
    alice_takes_the_call(page)
    page.press("alice", "*")
    page.press("alice", "8")
    page.state()
    page.button("kpatel", "answer")
    page.press("kpatel", "1")


def test_the_caller_is_on_hold_while_every_peer_leg_rings_at_once(page, line):
    call_the_line(page)
    officer = page.panel("officer")
    assert officer["state"] == "hold" and officer["title"] == "On hold"
    assert officer["heard"][-2:] == ["Thank you for calling the peer line.",
                                     "Please stay on the line."]
    assert page.panel("alice")["state"] == "ringing" and page.panel("bob")["state"] == "ringing"
    first = line.said("wait")[0]
    assert first["QueueSid"].startswith("QU") and first["QueuePosition"] == "1"
    assert first["CurrentQueueSize"] == "1" and first["QueueTime"] == "0"


def test_the_wait_url_is_asked_again_each_time_its_document_ends(page, line):
    call_the_line(page)
    page.wait(2)
    page.wait(2)
    assert [w["QueueTime"] for w in line.said("wait")] == ["0", "2", "4"]


def test_a_peer_who_takes_the_call_meets_the_caller_in_the_conference(page, line):
    alice_takes_the_call(page)
    assert line.said("queued")[-1]["QueueResult"] == "leave"
    assert page.panel("officer")["title"] == "Connected to Alice"
    alice = page.panel("alice")
    assert alice["title"] == "Connected to the caller (number hidden)" and alice["keypad"]
    assert page.panel("bob") is None  # his leg was ended by REST while it rang
    assert page.thread("bob")[-1] == "Missed call from the peer support line (+1 262-555-0100)"
    bob_leg = next(f for f in line.said("leg") if f["To"] == BOB)
    assert bob_leg["CallStatus"] == "canceled"
    assert [e for e, _ in line.events()] == ["participant-join", "conference-start",
                                             "participant-join"]
    assert {f["FriendlyName"] for f in line.said("events")} == {f"hotline-{line.caller}"}


def test_a_wait_document_that_holds_nothing_plays_again_once_said(page, line):
    line.wait_docs = ["<Response><Say>Hello.</Say></Response>"]
    call_the_line(page)
    assert len(line.said("wait")) == 1
    page.wait(1)
    assert [w["QueueTime"] for w in line.said("wait")] == ["0", "1"]


def test_a_redirect_in_the_wait_document_is_followed_in_the_queue(page, line):
    line.wait_docs = ["<Response><Redirect>/test-line/wait</Redirect></Response>"]
    call_the_line(page)
    assert len(line.said("wait")) == 2 and page.panel("officer")["state"] == "hold"


def test_a_key_gathered_while_on_hold_can_take_the_caller_out(page, line):
    line.wait_docs = ['<Response><Gather numDigits="1" action="/test-line/wait-key">'
                      "<Say>Press 0 to leave a message.</Say></Gather></Response>"]
    call_the_line(page)
    officer = page.panel("officer")
    assert officer["state"] == "hold" and officer["keypad"]
    page.press("officer", "0")
    assert line.said("wait-key")[-1]["Digits"] == "0"
    assert line.said("queued")[-1]["QueueResult"] == "leave"


def test_a_hangup_in_the_wait_document_ends_the_call(page, line):
    line.wait_docs = ["<Response><Hangup/></Response>"]
    call_the_line(page)
    assert line.said("queued")[-1]["QueueResult"] == "hangup"
    assert page.panel("officer") is None and line.said("status")[-1]["CallStatus"] == "completed"


def test_a_peer_who_does_not_start_the_conference_waits_in_silence(page, line):
    line.peer_starts = False
    call_the_line(page)
    page.button("alice", "answer")
    page.press("alice", "1")
    alice = page.panel("alice")
    assert alice["state"] == "waiting" and alice["heard"][-1] == \
        "(silence until the conference starts)"
    page.wait(2)
    assert page.panel("alice")["title"] == "Connected to the caller (number hidden)"
    assert [e for e, _ in line.events()] == ["participant-join", "participant-join",
                                             "conference-start"]


def test_a_legs_timeout_makes_it_no_answer(page, line):
    line.ring = 15
    call_the_line(page)
    page.wait(14)
    assert page.panel("alice")["state"] == "ringing"
    page.wait(1)
    assert page.panel("alice") is None
    assert {f["CallStatus"] for f in line.said("leg")} == {"no-answer"}
    assert "Missed call" in page.thread("alice")[-1]


def test_leave_with_nobody_plays_the_actions_twiml(page, line):
    line.leave_after = 2
    call_the_line(page)
    page.wait(2)
    assert line.said("queued")[-1]["QueueResult"] == "leave"
    assert page.panel("officer") is None
    assert line.said("status")[-1]["CallStatus"] == "completed"


def test_a_caller_hanging_up_in_the_queue_reaches_the_action_then_the_status(page, line):
    call_the_line(page)
    page.button("officer", "hangup")
    paths = [p for p, _ in line.requests]
    assert line.said("queued")[-1]["QueueResult"] == "hangup"
    assert paths.index("queued") < paths.index("status")
    assert line.said("status")[-1]["CallStatus"] == "completed"


def test_star_leaves_the_conference_and_runs_the_dial_action(page, line):
    alice_takes_the_call(page)
    page.press("alice", "5")  # a tone the others hear; she stays
    assert line.said("peer-keys") == []
    page.press("alice", "*")
    keys = line.said("peer-keys")[-1]
    assert keys["CallStatus"] == "in-progress" and keys["ConferenceSid"] == line.conference
    assert line.events()[-1] == ("participant-leave", line.accepted)
    alice = page.panel("alice")
    assert alice["state"] == "listening" and "Press 8 to bring in a coach" in alice["heard"][-1]
    assert page.panel("officer")["title"] == \
        "On the line: nobody else is in the call right now"
    page.wait(15)  # no key: back into the call
    assert page.panel("officer")["title"] == "Connected to Alice"


def test_a_coach_is_heard_only_by_the_peer_who_asked(page, line):
    kiran_coaches_alice(page)
    assert page.panel("alice")["coach"] == "coach: Dr. Kiran Patel (only you hear them)"
    officer = page.panel("officer")
    assert officer["title"] == "Connected to Alice" and "coach" not in officer
    kiran = page.panel("kpatel")
    assert kiran["state"] == "coaching" and kiran["title"] == "Coaching Alice (only they hear you)"
    assert kiran["subtitle"] == "You hear: the caller (number hidden) and Alice"
    # The coach's <Conference> gave no statusCallback: its join goes to the conference's.
    join = line.said("events")[-1]
    assert join["StatusCallbackEvent"] == "participant-join" and join["Coaching"] == "true"
    assert join["CallSidToCoach"] == line.accepted and join["CallSid"] == line.coach_leg


def test_rest_coaching_false_lets_the_caller_hear_the_coach(page, line):
    kiran_coaches_alice(page)
    page.press("alice", "*")
    page.press("alice", "7")
    page.state()  # the REST update lands at the carrier's next beat
    # In the order they (re)joined: Alice came back after her menu.
    assert page.panel("officer")["title"] == "Connected to Dr. Kiran Patel and Alice"
    assert "coach" not in page.panel("alice")
    assert page.panel("kpatel")["title"] == "Connected to the caller (number hidden) and Alice"


def test_a_peer_hanging_up_ends_their_leg_and_rest_moves_the_caller(page, line):
    alice_takes_the_call(page)
    line_client = client(page.app)
    page.button("alice", "hangup")
    assert line.said("peer-keys")[-1]["CallStatus"] == "completed"
    assert line.said("leg")[-1]["CallStatus"] == "completed"
    line_client.calls(line.caller).update(url="http://localhost/test-line/moved", method="POST")
    page.state()
    assert page.panel("officer") is None and len(line.said("moved")) == 1
    assert line.said("status")[-1]["CallStatus"] == "completed"
    assert line.said("done") == []  # moved by REST: no Dial action
    assert [e for e, _ in line.events()][-2:] == ["participant-leave", "conference-end"]


def test_the_caller_hanging_up_ends_the_conference_for_everyone(page, line):
    alice_takes_the_call(page)
    page.button("officer", "hangup")
    assert line.said("done")[-1]["CallStatus"] == "completed"
    end = next(f for f in line.said("events") if f["StatusCallbackEvent"] == "conference-end")
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert line.said("peer-keys")[-1]["CallStatus"] == "in-progress"  # her call goes on
    # The order the router sees: the caller's own Dial action, the conference's end, the
    # others' Dial actions, then the caller's final status.
    order = [p for p, f in line.requests if p in ("done", "peer-keys", "status")
             or f.get("StatusCallbackEvent") == "conference-end"]
    assert order == ["done", "events", "peer-keys", "status"]


def test_rest_cancel_leaves_a_call_in_progress_alone_and_completed_ends_it(page, line):
    alice_takes_the_call(page)
    rest = client(page.app)
    rest.calls(line.accepted).update(status="canceled")
    page.state()
    assert page.panel("alice")["title"] == "Connected to the caller (number hidden)"
    rest.calls(line.accepted).update(status="completed")
    page.state()
    assert page.panel("alice") is None
    assert line.said("leg")[-1]["CallStatus"] == "completed"


def test_rest_moving_a_caller_on_hold_tells_the_enqueue_action_and_plays_the_new_twiml(
        page, line):
    call_the_line(page)
    client(page.app).calls(line.caller).update(url="http://localhost/test-line/moved",
                                               method="POST")
    page.state()
    assert line.said("queued")[-1]["QueueResult"] == "redirected"
    assert len(line.said("moved")) == 1 and page.panel("officer") is None


def test_rest_knows_only_calls_and_participants_it_has(page, line):
    rest = client(page.app)
    with pytest.raises(TwilioRestException) as err:
        rest.calls("CA" + "0" * 32).update(status="completed")
    assert err.value.status == 404
    with pytest.raises(TwilioRestException):
        rest.conferences("CF" + "0" * 32).participants("CA" + "0" * 32).update(coaching=False)
