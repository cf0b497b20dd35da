"""The caller's menu: family, a worried colleague, a peer by name, resources, the office."""
from __future__ import annotations

from datetime import datetime

from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, BOB, CAROL, CHICAGO, DIRECTOR, OFFICER, ROTATION
from tests.voice.test_calls import live_calls, stats, use_rotation

DAVE = "+12625550104"
OFFICE = "+12625550140"
MENU = """
voice:
  menu:
    - {digit: 2, key: spanish, languages: [es], label: Spanish, say: "Para hablar en español, marque 2."}
    - {digit: 3, key: family, kind: family, say: "For family members, press 3."}
    - {digit: 4, key: worried, kind: concern, say: "If you are worried about a colleague, press 4."}
    - {digit: 5, key: resources, kind: resources, say: "For resources, press 5."}
    - {digit: 6, key: office, kind: office, say: "For the program office, press 6."}
    - {digit: 7, key: byname, kind: ask, say: "To ask for a peer by name, press 7."}
services:
  ask_by_name: true
  resources: ["The employee assistance program, any time: 262-555-0160."]
  office: {phone: "262-555-0140", hours: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "17:00"}}
"""


def test_family_member_hears_family_wording_and_the_peer_is_told_in_the_whisper(
        twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION.replace("peers: [alice, bob]", "peers: [bob, alice]")
                 + MENU)
    twilio.phones[BOB] = Phone.accepts()
    call = twilio.call(OFFICER, press="3")
    assert any("Families are part of this program" in h for h in call.heard)
    assert call.connected_to == BOB
    assert call.whispers[BOB][0].startswith("The caller chose: family member. Peer support line.")
    [event] = stats(app)
    assert (event.preference, event.reason, event.outcome) == ("family", "family", "peer")


def test_worried_colleague_is_routed_and_the_whisper_says_it_is_a_concern_report(
        twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="4")
    assert call.connected_to == ALICE
    assert call.whispers[ALICE][0].startswith("This is a concern report about a colleague.")
    [event] = stats(app)
    assert event.reason == "concern"


def test_caller_asking_for_a_peer_by_name_rings_that_peer_first_even_off_call(
        twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)  # dave is on no rotation this week
    twilio.phones[DAVE] = Phone.passes()
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="74")
    assert "For Dave, press 4." in call.heard
    assert call.rung() == [DAVE, ALICE]
    assert call.whispers[DAVE][0].startswith("The caller asked for you by name.")
    assert not call.whispers[ALICE][0].startswith("The caller asked")
    assert call.connected_to == ALICE
    [event] = stats(app)
    assert (event.reason, event.step) == ("named", 1)


def test_resources_are_read_out_and_nobody_is_rung(twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    call = twilio.call(OFFICER, press="5")
    assert "The employee assistance program, any time: 262-555-0160." in call.heard
    assert call.rung() == []
    assert live_calls(app) == []
    [event] = stats(app)
    assert (event.channel, event.outcome, event.reason) == ("voice", "resources", "resources")


def test_office_choice_in_office_hours_rings_the_program_office(twilio, app, rotation_file,
                                                                clock):
    use_rotation(rotation_file, ROTATION + MENU)
    clock.advance((datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO) - clock.now).total_seconds())
    twilio.phones[OFFICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="6")
    assert call.rung() == [OFFICE]
    assert ALICE not in call.rung() and DIRECTOR not in call.rung()
    [event] = stats(app)
    assert event.outcome == "office"


def test_office_not_answering_in_office_hours_leaves_nobody_there_a_peer_answers(
        twilio, app, rotation_file, clock):
    use_rotation(rotation_file, ROTATION + MENU)
    clock.advance((datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO) - clock.now).total_seconds())
    twilio.phones[OFFICE] = Phone.rings_out()
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="6")
    assert call.rung() == [OFFICE, ALICE]
    assert "Nobody at the office could answer. Please stay on the line for a peer." in call.heard
    assert call.connected_to == ALICE
    [event] = stats(app)
    assert (event.outcome, event.reason) == ("peer", "office")


def test_office_choice_at_night_says_so_and_a_peer_still_answers(twilio, app, rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    twilio.phones[ALICE] = Phone.accepts()
    call = twilio.call(OFFICER, press="6")
    assert any(h.startswith("The program office is closed now") for h in call.heard)
    assert call.rung() == [ALICE] and call.connected_to == ALICE
    assert CAROL not in call.rung() and BOB not in call.rung()
