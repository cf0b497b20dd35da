"""Calls bridged through a conference (voice: bridge: conference), played through the
fake carrier: the caller waits in a queue while each peer's phone rings on a leg of its
own; the peer who presses 1 meets the caller in a conference a clinician can join.

Each test is one phone conversation: who rang, what each phone heard, who was in the
conference and when, and what the anonymous statistics kept.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from hotline.app import create_app
from hotline.clock import run_due
from hotline.dashboard.unacknowledged import unacknowledged
from hotline.store import AuditEvent
from hotline.testing.fake_rest import FakeRest
from hotline.testing.fake_twilio import ACCOUNT_SID, FakeTwilio, Phone
from tests.conftest import ALICE, CAROL, DIRECTOR, OFFICER, PROGRAM, ROTATION, TOKEN
from tests.paging.conftest import CLINICAL, KIRAN, LEE
from tests.sms_fixtures import PUBLIC, text_line
from tests.voice.test_calls import (OTHER_OFFICER, incoming, live_calls, ring_of, stats,
                                    use_rotation)

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
    assert {(ALICE, "joined"), (OFFICER, "joined")} <= set(in_conference(call))
    assert live_calls(app) == []
    [event] = stats(app)
    assert (event.outcome, event.step, event.escalations) == ("peer", 1, 0)
    assert event.seconds_to_human is not None and event.seconds_to_human < 20


def test_when_the_peer_hangs_up_the_caller_is_moved_to_the_goodbye(line, app):
    line.phones[ALICE] = Phone.accepts(talk=60)
    call = line.call(OFFICER)
    assert call.heard[-1] == GOODBYE  # not left in a silent conference
    [(sid, moved)] = [u for u in line.rest.call_updates if u[0] == call.sid]
    assert moved["Url"].endswith("/voice/conference-done")
    assert call.duration < 60 + 40
    assert live_calls(app) == []


def test_two_peers_press_1_the_first_is_connected_the_other_hears_it_was_taken(
        line, app, rotation_file):
    use_rotation(rotation_file, ROTATION.replace("- {notify: primary, ring: 20s, wait: 5m}",
                                                 "- {notify: [primary, backup], ring: 20s, "
                                                 "wait: 5m}") + CONFERENCE)
    line.phones[ALICE] = Phone.accepts(after=4)
    line.phones[CAROL] = Phone(answer_after=4.5, press="1")  # half a second behind her
    call = line.call(OFFICER, hang_up_after=90)
    assert sorted(call.rung()) == sorted([ALICE, CAROL])
    assert call.connected_to == ALICE
    assert call.whispers[CAROL][-1] == TAKEN
    assert (CAROL, "joined") not in in_conference(call)
    [event] = stats(app)
    assert event.outcome == "peer"


def test_nobody_accepts_so_the_next_steps_ring_then_the_fallback_within_max_wait(line, app):
    call = line.call(OFFICER)  # every phone rings out
    assert call.rung()[:3] == [ALICE, CAROL, DIRECTOR]
    assert FALLBACK_MESSAGE in call.heard
    assert ring_of(call, "988").at <= MAX_WAIT + 15
    assert call.connected_to is None
    [event] = stats(app)
    assert event.outcome == "fallback" and event.escalations >= 2
    assert all(status == "no-answer" for status in call.leg_status.values())


def test_a_peer_who_presses_2_passes_and_the_next_step_rings_at_once(line, app):
    line.phones[ALICE] = Phone.passes(after=3)
    line.phones[CAROL] = Phone.accepts()
    call = line.call(OFFICER, hang_up_after=120)
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL
    assert ring_of(call, CAROL).at < 30  # not after alice's whole ring time and more


def test_a_voicemail_that_picks_up_a_leg_is_never_connected(line, app):
    line.phones[ALICE] = Phone.voicemail(after=5)
    line.phones[CAROL] = Phone.accepts()
    call = line.call(OFFICER, hang_up_after=120)
    assert call.connected_to == CAROL
    assert (ALICE, "joined") not in in_conference(call)


def test_a_caller_who_asks_for_the_clinician_meets_them_in_the_conference(
        line, app, rotation_file):
    use_rotation(rotation_file, ROTATION + CLINICAL + CONFERENCE)
    line.phones[KIRAN] = Phone.accepts()
    call = line.call(OFFICER, press="9", hang_up_after=90)
    assert call.rung()[0] == KIRAN
    assert call.connected_to == KIRAN


def test_a_peer_already_on_a_call_is_skipped(line, app):
    take_call_by_hand(line, "CA" + "e" * 32, ALICE)
    line.phones[CAROL] = Phone.accepts()
    call = line.call(OTHER_OFFICER, hang_up_after=60)
    assert ALICE not in call.rung()
    assert call.connected_to == CAROL


def test_caller_hangs_up_while_peers_ring_their_legs_end_and_the_row_goes(line, app):
    line.phones[ALICE] = Phone.rings_out()
    call = line.call(OFFICER, hang_up_after=12)
    [leg] = [c for c in line.rest.calls if c.to == ALICE]
    assert (leg.sid, {"Status": "completed"}) in line.rest.call_updates
    assert call.leg_status[ALICE] == "canceled"
    assert live_calls(app) == []
    [event] = stats(app)
    assert event.outcome == "abandoned"


def test_a_leg_twilio_will_not_place_counts_as_ended_and_the_next_step_rings(line, app):
    line.rest.fail_next(1)  # alice's leg: Twilio answers 500
    line.phones[CAROL] = Phone.accepts()
    call = line.call(OFFICER, hang_up_after=60)
    assert call.rung() == [CAROL]
    assert call.connected_to == CAROL



def test_a_peer_who_presses_1_and_hangs_up_before_the_caller_joins_does_not_end_the_call(
        line, app):
    sid = "CA" + "e" * 32
    leg = take_call_by_hand(line, sid, ALICE)
    line.post(leg.status_callback, {**leg_params(leg, ALICE), "CallStatus": "completed"})
    doc = ET.fromstring(line.post("/voice/wait", {**incoming(OFFICER, sid),
                                                  "CallStatus": "in-progress"}).get_data())
    assert doc.find("Leave") is None  # not out to a goodbye: the next step rings
    assert [c.to for c in line.rest.calls] == [ALICE, CAROL]
    assert not any(update[0] == sid for update in line.rest.call_updates)


# -- the peer's keys -----------------------------------------------------------------------

def test_star_8_rings_the_clinician_who_coaches_heard_only_by_the_peer_then_star_7(line, app):
    line.phones[ALICE] = Phone.accepts(talk=240, keys=((30, "8"), (90, "7")))
    line.phones[DIRECTOR] = Phone.accepts()
    call = line.call(OFFICER)
    heard = call.whispers[ALICE]
    assert heard[heard.index("Connecting you now.") + 1] == (
        "Press 9 to page the clinician now. Press 8 to bring the clinician in as a coach only "
        "you will hear. Press 7 to let the caller hear the coach too. Any other key returns "
        "you to the call.")
    assert "Calling the clinician to coach you. Only you will hear them." in heard
    assert call.whispers[DIRECTOR][0] == ("Peer line: a peer asks you to coach them on a call. "
                                          "Only the peer will hear you. Press 1 to join.")
    events = in_conference(call)
    assert (DIRECTOR, f"joined as coach of {ALICE}") in events
    assert "The caller can now hear the coach too." in heard
    assert events.index((DIRECTOR, "heard by everyone")) > events.index(
        (DIRECTOR, f"joined as coach of {ALICE}"))
    assert [c.to for c in line.rest.calls].count(DIRECTOR) == 1
    assert OFFICER not in [n for n, w in events if "coach" in w]  # the caller was never told


def test_star_7_without_a_coach_says_so(line, app):
    line.phones[ALICE] = Phone.accepts(talk=60, keys=((20, "7"),))
    call = line.call(OFFICER)
    assert "No coach is on the call." in call.whispers[ALICE]
    assert line.rest.participant_updates == []


def test_star_9_pages_the_clinician_who_presses_1_and_joins_the_live_call(
        line, app, rotation_file):
    use_rotation(rotation_file, ROTATION + CLINICAL + CONFERENCE)
    line.phones[ALICE] = Phone.accepts(talk=240, keys=((30, "9"),))
    line.phones[KIRAN] = Phone.accepts()
    call = line.call(OFFICER)
    assert "Paging the clinician now." in call.whispers[ALICE]
    assert call.whispers[KIRAN][0] == ("Peer support line. A peer on a call needs the clinician "
                                       "now. Press 1 to join the call.")
    assert (KIRAN, "joined") in in_conference(call)
    assert line.rest.inbox(KIRAN)[0].startswith("URGENT peer line: a peer on a call needs the "
                                                "clinician now.")
    assert page_audit(app) == [("page_sent", "kpatel"), ("page_acknowledged", "kpatel")]
    assert OFFICER in [n for n, _ in in_conference(call)]  # the caller was never moved


def test_an_unacknowledged_call_page_repeats_then_the_next_clinician_joins(
        line, app, rotation_file):
    use_rotation(rotation_file, ROTATION + CLINICAL + CONFERENCE)
    line.phones[ALICE] = Phone.accepts(talk=900, keys=((20, "9"),))
    line.phones[KIRAN] = Phone.rings_out()
    line.phones[LEE] = Phone.accepts()
    call = line.call(OFFICER)
    placed = [c.to for c in line.rest.calls]
    assert placed.count(KIRAN) == 3 and placed.count(LEE) == 1
    assert (LEE, "joined") in in_conference(call)
    assert ("page_acknowledged", "lchen") in page_audit(app)


def test_a_page_answered_after_the_call_ended_says_so(line, app, rotation_file):
    use_rotation(rotation_file, ROTATION + CLINICAL + CONFERENCE)
    line.phones[ALICE] = Phone.accepts(talk=40, keys=((20, "9"),))
    line.phones[KIRAN] = Phone.rings_out()
    line.call(OFFICER)
    [page] = [c for c in line.rest.calls if c.to == KIRAN]
    heard = line.outbound(page, Phone.accepts())
    assert heard == ["Peer support line. This page is over: the conversation or call has ended. "
                     "Thank you."]


def test_team_coordinator_model_the_peer_hears_of_the_team_coordinator(
        line, app, rotation_file):
    use_rotation(rotation_file, ROTATION + CLINICAL.replace("model: clinician",
                                                            "model: team_coordinator")
                 + CONFERENCE)
    line.phones[ALICE] = Phone.accepts(talk=120, keys=((20, "9"),))
    line.phones[KIRAN] = Phone.accepts()
    call = line.call(OFFICER)
    assert any(w.startswith("Press 9 to page the team coordinator now. Press 8 to bring the "
                            "team coordinator in as a coach") for w in call.whispers[ALICE])
    assert "Paging the team coordinator now." in call.whispers[ALICE]
    assert "needs the team coordinator now" in call.whispers[KIRAN][0]


def test_an_unacknowledged_call_page_is_on_the_dashboard_as_a_call(line, app, clock):
    sid = "CA" + "e" * 32
    leg = take_call_by_hand(line, sid, ALICE)
    said = ET.fromstring(line.post(f"/voice/peer-key?call={sid}",
                                   {**leg_params(leg, ALICE), "Digits": "9"}).get_data())
    assert said.find("Say").text == "Paging the clinician now."
    assert said.find("Dial/Conference").text == f"hotline-{sid}"  # back to the call
    clock.advance(60)
    [card] = unacknowledged(app.extensions["hotline.sessions"],
                            app.extensions["hotline.rotation"].current().config, clock.now)
    assert (card.code, card.paging, card.why) == ("a call", "Dr. Dana Reyes",
                                                 "raised by a peer on a call")


# -- the database away ------------------------------------------------------------------------

def test_database_away_while_the_caller_waits_rings_from_memory(line, app, tmp_path, clock):
    down = create_app({"HOTLINE_CONFIG": app.config["HOTLINE_CONFIG"],
                       "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                       "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                       "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False,
                       "TWILIO_HTTP_CLIENT": line.rest, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                       "HOTLINE_PUBLIC_URL": PUBLIC}, instance_path=str(tmp_path / "down"))

    def database_goes_away(now):
        line.app, line.client = down, down.test_client()

    line.background = (10, database_goes_away)
    line.phones[ALICE] = Phone.rings_out()
    line.phones[CAROL] = Phone.accepts()
    try:
        call = line.call(OFFICER, hang_up_after=150)
    finally:
        down.extensions["hotline.engine"].dispose()
    assert call.connected_to == CAROL  # from memory: the direct route, step by step
    assert call.rung()[:2] == [ALICE, ALICE]  # her leg, then the direct route from memory
    assert CAROL in call.rung()


# -- helpers ----------------------------------------------------------------------------------

def page_audit(app):
    with app.extensions["hotline.sessions"]() as db:
        return [(e.action, e.actor) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if e.action.startswith("page")]


def leg_params(leg, peer: str) -> dict:
    return {"CallSid": leg.sid, "AccountSid": ACCOUNT_SID, "From": PROGRAM, "To": peer,
            "Direction": "outbound-api", "CallStatus": "in-progress"}


def take_call_by_hand(line, sid: str, peer: str):
    """A call up to `peer` pressing 1 on their leg, with raw signed webhooks; left talking.
    Returns the peer's leg."""
    assert line.post("/voice/incoming", incoming(OFFICER, sid)).status_code == 200
    [leg] = [c for c in line.rest.calls if c.to == peer]
    params = leg_params(leg, peer)
    whisper = ET.fromstring(line.post(leg.url, params).get_data())
    [gather] = whisper.iter("Gather")
    accepted = ET.fromstring(line.post(gather.get("action"), {**params, "Digits": "1"})
                             .get_data())
    assert accepted.find("Dial/Conference") is not None
    return leg



def test_a_caller_moved_out_of_the_queue_by_rest_is_not_counted_as_a_fallback(line, app):
    """Twilio tells the queue's action `QueueResult=redirected` when a REST update moved
    the caller elsewhere: that answer is ignored, and nothing about the call changes."""
    line.phones[ALICE] = Phone.rings_out()
    sid = "CA" + "5" * 32
    line.post("/voice/incoming", incoming(OFFICER, sid))
    resp = line.post("/voice/queued", {**incoming(OFFICER, sid), "CallStatus": "in-progress",
                                       "QueueResult": "redirected", "QueueTime": "3"})
    assert ET.fromstring(resp.get_data()).findall("*") == []
    [row] = live_calls(app)
    assert row.call_sid == sid and not row.fallback


def test_a_caller_waiting_in_the_queue_hears_a_word_every_15_seconds_not_silence(line):
    line.phones[ALICE] = Phone.rings_out()
    line.phones[CAROL] = Phone.accepts(after=15, talk=60)  # step 2, some 45 s in
    call = line.call(OFFICER)
    assert call.connected_to == CAROL
    waiting = call.heard[:call.heard.index("Connecting you now.")] if (
        "Connecting you now." in call.heard) else call.heard
    # One at the second step, and the reassurances every 15 s of silence besides.
    assert waiting.count("Please stay on the line.") >= 3
