"""Phone calls to the line, played through the fake carrier.

Each test is one phone conversation: who calls, how each phone behaves,
whom the line rang, who ended up talking to the caller, and what the
anonymous statistics kept.
"""
from __future__ import annotations

from hotline.ops.health import report

import os
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select

from hotline.store import Call, ProviderRecord, StatEvent
from hotline.testing.fake_twilio import ACCOUNT_SID, Phone
from tests.conftest import (ALICE, BOB, CAROL, CHICAGO, DIRECTOR, MONDAY_NIGHT, OFFICER,
                            PROGRAM, ROTATION)

OTHER_OFFICER = "+12625550143"  # a second caller, not in the rotation either
THIRD_OFFICER = "+12625550144"
FALLBACK_MESSAGE = "We could not reach a peer. Connecting you to 988."
MAX_WAIT = 180  # seconds, the test rotation's max_wait: 3m


# -- helpers ------------------------------------------------------------------------

def stats(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(StatEvent)).all()


def live_calls(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(Call)).all()


def use_rotation(rotation_file, text: str) -> None:
    """Save a new rotation file, as a coordinator would; the app picks it up on the next call."""
    before = rotation_file.stat().st_mtime_ns
    rotation_file.write_text(text)
    if rotation_file.stat().st_mtime_ns == before:  # same clock tick: make the change visible
        os.utime(rotation_file, ns=(before + 1_000_000, before + 1_000_000))


def rotation_with(old: str, new: str) -> str:
    assert old in ROTATION, f"the test rotation no longer contains {old!r}"
    return ROTATION.replace(old, new)


def set_clock(clock, local: datetime) -> None:
    """Put the router's clock at an aware instant (kept in UTC, so advancing it is exact)."""
    clock.now = local.astimezone(timezone.utc)


def fallback_started_at(call) -> float:
    """Seconds into the call when the fallback message began: 988 is dialled right after it,
    and the fake carrier reads about 2.5 words a second."""
    return ring_of(call, "988").at - len(FALLBACK_MESSAGE.split()) / 2.5


def ring_of(call, number: str):
    [ring] = [r for r in call.rings if r.number == number]
    return ring


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    return ET.fromstring(response.get_data())


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def incoming(caller: str, sid: str) -> dict:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": PROGRAM,
            "Direction": "inbound", "CallStatus": "ringing"}


def take_call_by_hand(twilio, caller: str, sid: str, peer: str) -> None:
    """Play one call up to `peer` pressing 1, with raw signed webhooks, and leave it talking."""
    doc = twiml(twilio.post("/voice/incoming", incoming(caller, sid)))
    [number] = [n for n in doc.iter("Number") if n.text.strip() == peer]
    leg = {"CallSid": "CA" + "e" * 32, "ParentCallSid": sid, "AccountSid": ACCOUNT_SID,
           "From": PROGRAM, "To": peer, "Direction": "outbound-dial", "CallStatus": "in-progress"}
    whisper = twiml(twilio.post(path_and_query(number.get("url")), leg))
    [gather] = whisper.iter("Gather")
    accepted = twiml(twilio.post(path_and_query(gather.get("action")), {**leg, "Digits": "1"}))
    assert accepted.find("Hangup") is None, "the peer was not allowed to take the call"


def end_call_by_hand(twilio, caller: str, sid: str) -> None:
    twilio.post("/voice/status", {**incoming(caller, sid), "CallStatus": "completed",
                                  "CallDuration": "600"})


def record_responses(twilio) -> list[str]:
    """Keep the body of every answer the app gives the carrier from now on."""
    bodies: list[str] = []
    post = twilio.post

    def recording_post(url, params, signature=None):
        response = post(url, params, signature)
        bodies.append(response.get_data(as_text=True))
        return response

    twilio.post = recording_post
    return bodies


# -- one step after another -------------------------------------------------------------

def test_primary_peer_presses_1_and_is_connected(twilio, app):
    twilio.phones[ALICE] = Phone.accepts(after=4)
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    assert "Press 1 to take this call" in " ".join(call.whispers[ALICE])
    [event] = stats(app)
    assert (event.channel, event.outcome, event.step) == ("voice", "peer", 1)
    assert live_calls(app) == []


def test_peers_see_the_program_number_never_the_callers(twilio):
    twilio.phones[ALICE] = Phone.rings_out()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert {r.caller_id for r in call.rings} == {PROGRAM}


def test_primary_does_not_answer_so_the_backup_takes_the_call(twilio, app):
    twilio.phones[ALICE] = Phone.rings_out()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL
    [event] = stats(app)
    assert (event.outcome, event.step) == ("peer", 2)


def test_primary_and_backup_both_pass_so_the_clinical_director_takes_the_call(twilio, app):
    twilio.phones[ALICE] = Phone.passes()
    twilio.phones[CAROL] = Phone.passes()
    twilio.phones[DIRECTOR] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL, DIRECTOR]
    assert call.connected_to == DIRECTOR
    [event] = stats(app)
    assert (event.outcome, event.step) == ("clinical_director", 3)


def test_a_voicemail_answering_the_primary_is_not_connected_and_the_backup_is_rung(twilio, app):
    twilio.phones[ALICE] = Phone.voicemail(after=8)
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.whispers[ALICE], "the voicemail picked up and heard the whisper"
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL
    [event] = stats(app)
    assert (event.outcome, event.step) == ("peer", 2)


def test_a_busy_primary_line_moves_on_to_the_backup_at_once(twilio):
    twilio.phones[ALICE] = Phone.line_busy()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL
    # A busy signal ends the ring at once; only the "please stay on the line" sits between.
    assert ring_of(call, CAROL).at - ring_of(call, ALICE).at <= 5


def test_an_unreachable_primary_moves_on_to_the_backup_at_once(twilio):
    twilio.phones[ALICE] = Phone.unreachable()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL
    assert ring_of(call, CAROL).at - ring_of(call, ALICE).at <= 5


def test_nobody_answers_so_the_caller_hears_the_fallback_and_988_is_dialled(twilio, app):
    for number in (ALICE, CAROL, DIRECTOR):
        twilio.phones[number] = Phone.rings_out()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL, DIRECTOR, "988"]
    assert call.connected_to is None
    assert call.heard[-1] == FALLBACK_MESSAGE
    assert fallback_started_at(call) <= MAX_WAIT + 5
    [event] = stats(app)
    assert (event.outcome, event.step, event.seconds_to_human) == ("fallback", None, None)


def test_the_caller_is_never_kept_waiting_past_max_wait(twilio, rotation_file):
    # Five passes of 20 + 20 + 30 s would be six minutes; max_wait stops it at 150 s,
    # which falls in the middle of the director's second 30 s ring.
    use_rotation(rotation_file, rotation_with("  max_wait: 3m", "  repeat: 4\n  max_wait: 150s"))
    call = twilio.call(OFFICER)  # every phone rings out
    assert call.rung() == [ALICE, CAROL, DIRECTOR, ALICE, CAROL, DIRECTOR, "988"]
    assert call.heard[-1] == FALLBACK_MESSAGE
    assert 150 <= fallback_started_at(call) <= 150 + 5


def test_repeat_rings_everyone_a_second_time_before_the_fallback(twilio, rotation_file):
    use_rotation(rotation_file, rotation_with("  max_wait: 3m", "  repeat: 1\n  max_wait: 10m"))
    call = twilio.call(OFFICER)  # every phone rings out
    assert call.rung() == [ALICE, CAROL, DIRECTOR, ALICE, CAROL, DIRECTOR, "988"]
    assert call.heard[-1] == FALLBACK_MESSAGE


# -- several phones at once, several calls at once --------------------------------------

PARALLEL_FIRST_STEP = rotation_with("    - {notify: primary, ring: 20s, wait: 5m}\n"
                                    "    - {notify: backup, ring: 20s, wait: 5m}\n",
                                    "    - {notify: [primary, backup], ring: 20s, wait: 5m}\n")


def test_parallel_step_connects_whoever_accepts_first_even_if_listed_second(twilio, app,
                                                                             rotation_file):
    use_rotation(rotation_file, PARALLEL_FIRST_STEP)
    twilio.phones[ALICE] = Phone.accepts(after=10)
    twilio.phones[CAROL] = Phone.accepts(after=3)
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE, CAROL]
    assert ring_of(call, ALICE).at == ring_of(call, CAROL).at  # rung together
    assert call.connected_to == CAROL
    assert ALICE not in call.whispers  # her leg was cancelled before she picked up
    alice_leg = [params["CallStatus"] for url, params in twilio.requests
                 if url.endswith("/voice/status") and params.get("To") == ALICE]
    assert alice_leg == ["canceled"]
    [event] = stats(app)
    assert (event.outcome, event.step) == ("peer", 1)


def test_a_peer_already_on_a_call_is_skipped_until_that_call_ends(twilio):
    twilio.phones[ALICE] = Phone.accepts()
    twilio.phones[CAROL] = Phone.accepts()
    take_call_by_hand(twilio, OTHER_OFFICER, "CA" + "a" * 32, peer=ALICE)

    second = twilio.call(OFFICER)
    assert ALICE not in second.rung()
    assert second.rung() == [CAROL]
    assert second.connected_to == CAROL

    end_call_by_hand(twilio, OTHER_OFFICER, "CA" + "a" * 32)
    third = twilio.call(THIRD_OFFICER)
    assert third.rung() == [ALICE]
    assert third.connected_to == ALICE


def test_a_peer_calling_the_line_in_her_own_shift_is_never_rung_herself(twilio, app):
    twilio.phones[ALICE] = Phone.accepts()  # would take it, if her own phone could ring
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(ALICE)
    assert ALICE not in call.rung()
    assert call.rung() == [CAROL]
    assert call.connected_to == CAROL


# -- the caller's preference ----------------------------------------------------------------

MENU = """
voice:
  menu:
    - {digit: 2, key: spanish, languages: [es], say: "Para hablar en español, marque 2."}
    - {digit: 3, key: family, tags: [family], say: "For family support, press 3."}
"""


def test_caller_asking_for_spanish_rings_the_spanish_speaking_backup_before_the_primary(
        twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    twilio.phones[ALICE] = Phone.accepts()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER, press="2")
    assert "Para hablar en español, marque 2." in " ".join(call.heard)
    assert call.rung() == [CAROL]
    assert call.connected_to == CAROL
    [event] = stats(app)
    assert (event.outcome, event.preference) == ("peer", "spanish")


def test_spanish_speaker_not_answering_leads_to_the_normal_order_without_ringing_her_twice(
        twilio, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    twilio.phones[CAROL] = Phone.rings_out()
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="2")
    assert call.rung() == [CAROL, ALICE]
    assert call.connected_to == ALICE


def test_caller_pressing_nothing_at_the_menu_gets_the_normal_order(twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    twilio.phones[ALICE] = Phone.accepts()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER, press="")
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    [event] = stats(app)
    assert (event.outcome, event.preference, event.step) == ("peer", None, 1)


def test_caller_asking_for_family_support_when_no_family_peer_is_on_call_gets_the_normal_order(
        twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)  # bob (family) is off this week
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="3")
    assert call.rung() == [ALICE]
    assert BOB not in call.rung()
    [event] = stats(app)
    assert (event.preference, event.step) == ("family", 1)


# -- the caller hangs up ------------------------------------------------------------------------

def test_caller_hanging_up_while_the_primary_rings_is_recorded_as_abandoned(twilio, app):
    twilio.phones[ALICE] = Phone.accepts(after=15)
    call = twilio.call(OFFICER, hang_up_after=12)
    assert call.rung() == [ALICE]
    assert call.hung_up_at is not None
    assert call.connected_to is None
    assert ALICE not in call.whispers
    assert live_calls(app) == []
    [event] = stats(app)
    assert (event.outcome, event.step, event.seconds_to_human) == ("abandoned", None, None)


def test_caller_hanging_up_during_the_last_step_is_abandoned_not_fallback(twilio, app):
    # The director is ringing when the caller gives up; the caller never hears the fallback.
    call = twilio.call(OFFICER, hang_up_after=60)
    assert call.rung() == [ALICE, CAROL, DIRECTOR]
    assert FALLBACK_MESSAGE not in call.heard
    assert live_calls(app) == []
    [event] = stats(app)
    assert event.outcome == "abandoned"


# -- the rotation file and its time zone -----------------------------------------------------------

def test_a_broken_rotation_file_keeps_routing_with_the_last_good_rotation(twilio, app,
                                                                          rotation_file):
    assert app.test_client().get("/health").get_json()["config"]["valid"] is True
    use_rotation(rotation_file, ROTATION.replace("peers:\n", "peers: [\n", 1))  # a typo
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    health = app.test_client().get("/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["config"]["valid"] is False
    assert "not valid YAML" in " ".join(report(app)[0]["config"]["problems"])  # doctor's


DAILY_0130_HANDOFF = rotation_with(
    'primary: {start: "2026-01-05 08:00", shift: 1w, peers: [alice, bob]}',
    'primary: {start: "2026-10-31 01:30", shift: 1d, peers: [alice, bob]}')
# Alice has Saturday 31 Oct from 01:30; Bob takes over at 01:30 on Sunday 1 Nov, the
# night the clocks go back, so 01:30 happens twice: first CDT, then again as CST.


def call_primary_at(twilio, clock, local: datetime) -> str:
    set_clock(clock, local)
    for number in (ALICE, BOB):
        twilio.phones[number] = Phone.accepts()
    return twilio.call(OFFICER).rung()[0]


def test_dst_fall_back_night_just_before_the_first_0130_still_rings_the_outgoing_peer(
        twilio, clock, rotation_file):
    use_rotation(rotation_file, DAILY_0130_HANDOFF)
    just_before = datetime(2026, 11, 1, 1, 29, tzinfo=CHICAGO, fold=0)  # CDT
    assert just_before.utcoffset().total_seconds() == -5 * 3600
    assert call_primary_at(twilio, clock, just_before) == ALICE


def test_dst_fall_back_night_just_after_the_first_0130_rings_the_incoming_peer(
        twilio, clock, rotation_file):
    use_rotation(rotation_file, DAILY_0130_HANDOFF)
    just_after = datetime(2026, 11, 1, 1, 31, tzinfo=CHICAGO, fold=0)  # CDT
    assert call_primary_at(twilio, clock, just_after) == BOB


def test_dst_fall_back_night_the_repeated_0130_hour_still_rings_the_incoming_peer(
        twilio, clock, rotation_file):
    use_rotation(rotation_file, DAILY_0130_HANDOFF)
    for minute in (0, 29, 31):  # 01:29 CST reads earlier than the handoff but comes after it
        repeated = datetime(2026, 11, 1, 1, minute, tzinfo=CHICAGO, fold=1)
        assert repeated.utcoffset().total_seconds() == -6 * 3600
        assert call_primary_at(twilio, clock, repeated) == BOB, repeated.strftime("%H:%M %Z")


def test_a_call_in_the_repeated_hour_is_timed_in_real_seconds(twilio, clock):
    # The clock set straight to a local time, as a test naturally writes it. The carrier
    # must then move it on in real seconds, not by the wall clock (01:29 CST + 60 s is
    # 01:30 CST, not 01:30 CDT an hour earlier), or the line and the carrier disagree.
    start = datetime(2026, 11, 1, 1, 29, tzinfo=CHICAGO, fold=1)  # CST, the second 01:29
    clock.now = start
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert (clock.now - start.astimezone(timezone.utc)).total_seconds() == call.duration


def test_the_statistics_keep_the_local_hour_the_call_came_in(twilio, app):
    # Monday 23:00 in Chicago, which is Tuesday 05:00 UTC.
    twilio.phones[ALICE] = Phone.accepts()
    twilio.call(OFFICER)
    [event] = stats(app)
    assert event.hour == MONDAY_NIGHT
    assert event.hour.astimezone(CHICAGO).hour == 23


# -- privacy ----------------------------------------------------------------------------------

def test_after_a_call_nothing_holds_the_callers_number(twilio, app, caplog):
    caplog.set_level("DEBUG")
    answers = record_responses(twilio)
    twilio.phones[ALICE] = Phone.rings_out()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert call.connected_to == CAROL
    assert live_calls(app) == []

    forms_of_the_number = (OFFICER, OFFICER.lstrip("+"), OFFICER[2:])  # +1262..., 1262..., 262...
    [event] = stats(app)
    for column in StatEvent.__table__.columns:
        value = str(getattr(event, column.key))
        for number in forms_of_the_number:
            assert number not in value, f"stat_events.{column.key} holds the caller's number"
    assert answers, "no responses were recorded"
    for body in answers:
        for number in forms_of_the_number:
            assert number not in body, f"the app sent the caller's number back: {body[:300]}"
    for number in forms_of_the_number:
        assert number not in caplog.text, "the caller's number reached the logs"


# -- webhooks Twilio sends twice, or words it differently ----------------------------------------

def test_a_dial_reported_canceled_while_the_caller_is_still_on_the_line_rings_the_next_step(
        twilio):
    # After a whisper hangs up a leg, some sources report DialCallStatus=canceled; the caller
    # is still there (their own CallStatus says so) and must hear the backup ring, not goodbye.
    sid = "CA" + "d" * 32
    doc = twiml(twilio.post("/voice/incoming", incoming(OFFICER, sid)))
    [dial] = doc.iter("Dial")
    assert [n.text.strip() for n in dial.iter("Number")] == [ALICE]
    after = twiml(twilio.post(path_and_query(dial.get("action")),
                              {**incoming(OFFICER, sid), "CallStatus": "in-progress",
                               "DialCallStatus": "canceled"}))
    assert [n.text.strip() for n in after.iter("Number")] == [CAROL]


def test_the_same_call_arriving_on_two_workers_at_once_rings_the_primary_not_the_emergency_route(
        twilio, app):
    sid = "CA" + "b" * 32
    answers, barrier = [], threading.Barrier(2)

    def deliver():
        barrier.wait()
        answers.append(twiml(twilio.post("/voice/incoming", incoming(OFFICER, sid))))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [[n.text.strip() for n in doc.iter("Number")] for doc in answers] == [[ALICE], [ALICE]]
    assert len(live_calls(app)) == 1


def test_every_leg_including_the_988_forward_is_deleted_at_twilio_afterwards(twilio, app):
    call = twilio.call(OFFICER)  # nobody answers: alice, carol, the director, then 988
    assert [r.number for r in call.rings] == [ALICE, CAROL, DIRECTOR, "988"]
    with app.extensions["hotline.sessions"]() as db:
        kinds = [r.kind for r in db.scalars(select(ProviderRecord))]
    assert kinds.count("call") == 1 + len(call.rings)  # the caller's call and each leg


def test_a_second_peer_pressing_1_after_the_first_is_told_the_call_is_taken(twilio, app,
                                                                           rotation_file):
    use_rotation(rotation_file, PARALLEL_FIRST_STEP)
    sid = "CA" + "c" * 32
    doc = twiml(twilio.post("/voice/incoming", incoming(OFFICER, sid)))
    [dial] = doc.iter("Dial")
    assert dial.get("answerOnBridge") == "true" and dial.get("callerId") == PROGRAM
    numbers = {n.text.strip(): n for n in dial.iter("Number")}
    assert set(numbers) == {ALICE, CAROL}

    legs = {peer: {"CallSid": "CA" + digit * 32, "ParentCallSid": sid, "AccountSid": ACCOUNT_SID,
                   "From": PROGRAM, "To": peer, "Direction": "outbound-dial",
                   "CallStatus": "in-progress"} for peer, digit in ((ALICE, "1"), (CAROL, "2"))}
    # Both pick up and hear the whisper; then both press 1, Carol a moment sooner.
    gathers = {peer: next(twiml(twilio.post(path_and_query(numbers[peer].get("url")),
                                            legs[peer])).iter("Gather")) for peer in legs}

    def presses_1(peer):
        return twiml(twilio.post(path_and_query(gathers[peer].get("action")),
                                 {**legs[peer], "Digits": "1"}))

    first = presses_1(CAROL)
    second = presses_1(ALICE)
    assert first.find("Hangup") is None  # Carol is bridged
    assert second.find("Hangup") is not None
    assert "already taken" in " ".join(s.text or "" for s in second.iter("Say"))
    [call] = live_calls(app)
    assert call.accepted_by == "carol"


def test_the_greeting_speaks_in_the_configured_voice_and_language(twilio, rotation_file):
    use_rotation(rotation_file, ROTATION + "voice:\n  voice: Polly.Lupe\n  language: es-US\n"
                                           "  greeting: Hola.\n")
    doc = twiml(twilio.post("/voice/incoming", incoming(OFFICER, "CA" + "9" * 32)))
    [greeting] = [s for s in doc.iter("Say") if s.text == "Hola."]
    assert (greeting.get("voice"), greeting.get("language")) == ("Polly.Lupe", "es-US")
