"""Texters choose too: the first-contact menu, WORRIED, INFO, ASK <name>, pictures."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hotline.store import Conversation, StatEvent
from tests.conftest import ALICE, BOB, CAROL, CHICAGO, DIRECTOR, OFFICER, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture
from tests.voice.test_calls import use_rotation

DAVE = "+12625550104"
MENU = """
voice:
  menu:
    - {digit: 2, key: spanish, languages: [es], label: Spanish, say: "Para hablar en español, marque 2."}
    - {digit: 3, key: family, kind: family, say: "For family members, press 3."}
    - {digit: 4, key: worried, kind: concern, say: "If you are worried about a colleague, press 4."}
    - {digit: 5, key: resources, kind: resources, say: "For resources, press 5."}
    - {digit: 6, key: office, kind: office, say: "For the program office, press 6."}
services:
  ask_by_name: true
  resources:
    - "EAP, 24/7: 262-555-0160"
    - "Family support group: 262-555-0150"
  office: {phone: "262-555-0140", hours: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "17:00"}}
"""
WITH_MENU = ROTATION.replace('phone: "262-555-0104"}', 'phone: "262-555-0104", short_name: Davey}') + MENU


def rows(app, model):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(model)).all()


def close_with(phones, peer):
    phones.text(peer, "YES")
    phones.text(peer, "DONE")


def test_first_reply_offers_the_menu_and_the_message_still_reaches_the_primary_at_once(
        phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    [reply] = phones.text(OFFICER, "rough night")
    assert "trained peer will reply" in reply
    assert reply.endswith("Reply 2 Spanish, 3 family member, 4 concern about a colleague, "
                          "5 resources, 6 program office; or just write. ASK and a name for "
                          "a peer you know.")
    assert phones.inbox(ALICE) == ["Peer line #1: rough night - reply YES to take #1"]


def test_texter_choosing_spanish_first_is_offered_to_the_spanish_speaking_backup_first(
        phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    phones.text(OFFICER, "2")
    assert phones.inbox(CAROL) == ["Peer line #1 (Spanish): (nothing written yet) - "
                                   "reply YES to take #1"]
    assert phones.inbox(ALICE) == []
    phones.tick(300)  # nobody answered: the normal steps follow
    assert len(phones.inbox(ALICE)) == 1
    close_with(phones, CAROL)
    [event] = rows(app, StatEvent)
    assert (event.preference, event.reason, event.outcome) == ("spanish", "peer", "peer")


def test_a_choice_texted_after_the_first_message_tells_the_peers_and_adds_the_match(
        phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    phones.text(OFFICER, "can someone talk")
    assert phones.text(OFFICER, "2") == ["OK, we are finding you a peer: Spanish."]
    assert phones.inbox(ALICE) == ["Peer line #1: can someone talk - reply YES to take #1",
                                   "#1 (Spanish): the texter chose this."]  # not relayed as "2"
    assert phones.inbox(CAROL) == ["Peer line #1 (Spanish): a texter is waiting for a peer. "
                                   "- reply YES to take #1"]


def test_a_digit_texted_to_the_peer_who_has_the_conversation_is_relayed_not_a_choice(
        phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    phones.text(ALICE, "How many years have you been on?")
    assert phones.text(OFFICER, "6") == []  # 6 is the office on the menu
    assert phones.last(ALICE) == "#1: 6"
    assert [e.outcome for e in rows(app, StatEvent)] == []


def test_family_member_gets_family_wording_and_is_counted_as_family(phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU.replace("peers: [alice, bob]", "peers: [bob, alice]"))
    [reply] = phones.text(OFFICER, "3")
    assert "Families are part of this program" in reply
    assert phones.inbox(BOB) == ["Peer line #1 (family member): (nothing written yet) - "
                                 "reply YES to take #1"]
    phones.text(OFFICER, "my husband came home shaking")
    assert "my husband came home shaking" in phones.inbox(BOB)[-1]
    close_with(phones, BOB)
    [event] = rows(app, StatEvent)
    assert (event.reason, event.step) == ("family", 0)


def test_worried_colleague_is_routed_with_a_concern_report_notice(phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    [reply] = phones.text(OFFICER, "worried")
    assert "You do not need to give their name" in reply
    assert phones.inbox(ALICE)[0].startswith("Peer line #1 (CONCERN REPORT about a colleague):")
    close_with(phones, ALICE)
    [event] = rows(app, StatEvent)
    assert event.reason == "concern"


def test_worried_works_without_any_menu(phones, app):
    phones.text(OFFICER, "WORRIED")
    assert phones.inbox(ALICE)[0].startswith("Peer line #1 (CONCERN REPORT about a colleague):")


def test_info_answers_with_resources_without_a_conversation_or_a_page(phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    [reply] = phones.text(OFFICER, "info")
    assert reply == "Resources:\nEAP, 24/7: 262-555-0160\nFamily support group: 262-555-0150"
    assert rows(app, Conversation) == []
    assert phones.inbox(ALICE) == [] and phones.inbox(DIRECTOR) == []
    [event] = rows(app, StatEvent)
    assert (event.channel, event.outcome, event.reason) == ("text", "resources", "resources")


def test_office_choice_at_night_gets_the_closed_message(phones, app, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    [reply] = phones.text(OFFICER, "6")
    assert reply.startswith("The program office is closed now")
    assert rows(app, Conversation) == [] and phones.inbox(ALICE) == []


def test_office_choice_in_office_hours_gets_the_office_number(phones, app, rotation_file, clock):
    use_rotation(rotation_file, WITH_MENU)
    clock.advance((datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO) - clock.now).total_seconds())
    [reply] = phones.text(OFFICER, "6")
    assert reply == "The program office is open now: please call (262) 555-0140."
    [event] = rows(app, StatEvent)
    assert event.outcome == "office"


def test_asking_for_a_peer_by_short_name_offers_them_first_even_off_call(phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU)  # dave is on no rotation this week
    [reply] = phones.text(OFFICER, "ASK Davey can we talk tonight")
    assert "offer your message to Dave first if we can" in reply
    assert phones.inbox(DAVE) == ["Peer line #1 (asked for you by name): can we talk tonight "
                                  "- reply YES to take #1"]
    assert phones.inbox(ALICE) == []
    phones.tick(300)
    assert phones.inbox(ALICE) == ["Peer line #1: an officer has waited 5 min for a peer. "
                                   "Reply YES to take #1"]


def test_the_ask_menu_digit_by_text_explains_how_to_ask(phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU.replace(
        "services:", '    - {digit: 7, key: byname, kind: ask, say: "By name, press 7."}\nservices:'))
    phones.text(OFFICER, "hello")
    assert "ASK and a name" in phones.inbox(OFFICER)[0] and " 7 " not in phones.inbox(OFFICER)[0]
    assert phones.text(OFFICER, "7") == ["Text ASK and the peer's first name to ask for them. "
                                         "A trained peer will reply here."]
    assert phones.inbox(ALICE) == ["Peer line #1: hello - reply YES to take #1"]


def test_ask_for_a_full_name_is_understood_too(phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU.replace("name: Dave,", "name: Dave Ortiz,"))
    phones.text(OFFICER, "ask for dave ortiz")
    assert phones.inbox(DAVE) == ["Peer line #1 (asked for you by name): (nothing written yet) "
                                  "- reply YES to take #1"]


def test_the_reply_to_ask_is_the_same_whether_or_not_the_peer_is_on_call(phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    on_call = phones.text(OFFICER, "ASK Alice")[0]
    off_call = phones.text("+12625550143", "ASK Dave")[0]
    assert on_call.replace("Alice", "X") == off_call.replace("Dave", "X")


def test_ask_naming_nobody_on_the_team_is_simply_the_message(phones, rotation_file):
    use_rotation(rotation_file, WITH_MENU)
    [reply] = phones.text(OFFICER, "Ask someone to call me please")
    assert "Reply 2 Spanish" in reply  # the ordinary first reply, with the menu
    assert phones.inbox(ALICE) == ["Peer line #1: Ask someone to call me please - reply YES "
                                   "to take #1"]


def test_ask_by_name_where_the_program_does_not_allow_it_routes_normally(phones, app,
                                                                         rotation_file):
    use_rotation(rotation_file, WITH_MENU.replace("ask_by_name: true", "ask_by_name: false"))
    [reply] = phones.text(OFFICER, "ASK Dave")
    assert "cannot offer a particular peer" in reply
    assert phones.inbox(DAVE) == []
    assert phones.inbox(ALICE) == ["Peer line #1: ASK Dave - reply YES to take #1"]


def test_a_picture_is_not_passed_on_and_both_sides_are_told(phones, rotation_file):
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    replies = phones.text(OFFICER, "look at this", media=1)
    assert replies == ["Pictures are not passed on to peers on this line. Please write what "
                       "you want them to know."]
    assert phones.last(ALICE) == "#1: look at this [sent a picture; pictures are not passed on]"
