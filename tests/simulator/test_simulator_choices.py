"""The simulator's phones make the choices of issue 16: the menu by text and by key,
INFO, and a picture (an MMS)."""
from __future__ import annotations

from tests.conftest import ROTATION
from tests.simulator.test_simulator import page, sim_app  # noqa: F401 - fixtures
from tests.text.test_texter_menu import MENU
from tests.voice.test_calls import use_rotation


def test_officer_sees_the_menu_and_texting_2_is_offered_to_the_spanish_speaker(page,
                                                                            rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    page.text("officer", "hello")
    assert "5 resources, 6 program office; or just write." in page.thread("officer", "in")[0]
    page.text("officer", "2")
    assert page.thread("carol") == ["Peer line #1 (Spanish): a texter is waiting for a peer. "
                                    "- reply YES to take #1"]
    assert page.thread("alice")[-1] == "#1 (Spanish): the texter chose this."


def test_info_on_the_officer_phone_gets_the_resource_list_and_pages_nobody(page,
                                                                         rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    page.text("officer", "INFO")
    assert page.thread("officer", "in") == [
        "Resources:\nEAP, 24/7: 262-555-0160\nFamily support group: 262-555-0150"]
    assert page.thread("alice") == [] and page.thread("clinical_director") == []


def test_a_picture_sent_from_the_page_is_refused_politely_and_the_peer_is_told(page):
    page.act("text", phone="officer", body="", picture=True)
    assert page.thread("officer", "out") == ["[picture]"]
    assert "Pictures are not passed on" in page.thread("officer", "in")[0]
    assert page.thread("alice") == ["Peer line #1: [sent a picture; pictures are not passed "
                                    "on] - reply YES to take #1"]


def test_a_caller_choosing_family_at_the_menu_is_told_so_and_the_peer_hears_it(page,
                                                                            rotation_file):
    use_rotation(rotation_file, ROTATION + MENU)
    page.act("call", phone="officer")
    page.press("officer", "3")
    assert any("Families are part of this program" in line
               for line in page.panel("officer")["heard"])
    page.wait(6)
    page.button("alice", "answer")
    assert page.panel("alice")["heard"][0].startswith("The caller chose: family member.")


def test_where_pictures_are_relayed_the_peer_phone_shows_the_picture(page, rotation_file):
    use_rotation(rotation_file, ROTATION + "sms: {pictures: relay}\n")
    page.act("text", phone="officer", body="look", picture=True)
    assert page.thread("officer", "in")[0].startswith("Your picture is passed on to the peer.")
    assert page.thread("alice") == ["Peer line #1: look [sent a picture, attached] - reply YES "
                                    "to take #1 [picture]"]
