"""A peer types commands the way a tired person does at 3 a.m., and writes to texters
in words that look like commands: each must be read the way she meant it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.store import Conversation
from tests.conftest import ALICE, BOB, CAROL, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

OTHER = "+12625550177"  # a second officer


def rows(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(Conversation)).all()


@pytest.mark.parametrize("typed", ["YES 1", "yes1", "Y 1", "y1", "YES #1", "yes #1.", "Yes, 1",
                                   "#1 yes", "1 Y", "Yes #1 on it"])
def test_a_peer_takes_a_text_however_she_types_yes_and_the_code(phones, typed):
    phones.text(OFFICER, "rough night")
    [reply] = phones.text(ALICE, typed)
    assert reply.startswith("You have #1.")
    assert "peer is here now" in phones.last(OFFICER)


def test_words_after_yes_and_the_code_are_not_sent_and_she_is_told(phones):
    phones.text(OFFICER, "rough night")
    [reply] = phones.text(ALICE, "YES #1 hi, I'm Alice")
    assert reply.endswith("The words after YES #1 were not sent.")
    assert "hi, I'm Alice" not in phones.inbox(OFFICER)


@pytest.mark.parametrize("typed", ["DONE 1", "done1", "Done #1.", "#1 done"])
def test_a_peer_closes_a_text_without_typing_the_hash(phones, app, typed):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, typed) == ["#1 is closed. Thank you."]
    assert rows(app) == []


def test_done_with_a_hash_and_a_thank_you_closes_and_sends_the_texter_only_the_closing_note(
        phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "DONE #1 thanks") == [
        "#1 is closed. Thank you. The words after DONE #1 were not sent."]
    assert "closed" in phones.last(OFFICER)
    assert "thanks" not in phones.inbox(OFFICER)
    assert rows(app) == []


def test_pass_with_a_bare_code_hands_the_text_on(phones):
    phones.text(OFFICER, "rough night")
    assert phones.text(ALICE, "pass 1") == ["OK, #1 goes to the next peer. Thank you."]
    assert phones.last(CAROL).startswith("Peer line #1")


def test_call_with_a_bare_code_rings_the_peer(phones):
    phones.text(OFFICER, "can we talk on the phone")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "call 1") == ["Calling you now for #1; press 1 to be connected."]
    assert [c.to for c in phones.rest.calls] == [ALICE]


@pytest.mark.parametrize("typed", ["YES 7", "yes7", "Y 7", "YES #7", "#7 yes", "PASS 7",
                                   "DONE 7", "CALL 7", "REVEAL 7", "DONE #7 thanks"])
def test_a_command_for_a_text_that_does_not_exist_gets_a_reply_and_pages_nobody(
        phones, app, typed):
    [reply] = phones.text(BOB, typed)
    assert "trained peer" not in reply  # not welcomed as a texter
    assert rows(app) == []
    assert phones.sent_count() == 1  # just that reply: no "Peer line #1: YES 7" to anyone


def test_yes_for_a_text_that_was_already_closed_says_so(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text(ALICE, "done")
    assert phones.text(ALICE, "yes 1") == [
        "#1 is not waiting for you (it is closed, or was never sent to you). "
        "Text HELP for the commands."]
    assert rows(app) == []


def test_yes_with_the_code_of_a_text_she_already_has_says_so(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "YES 1") == ["You already have #1."]
    assert "YES 1" not in phones.inbox(OFFICER)


@pytest.mark.parametrize("said", ["yes I understand", "Yes!", "y", "yes 7 years on the job",
                                  "call 911", "Call 988.", "Yes, 2", "done 2"])
def test_an_owner_answering_her_texter_in_command_like_words_is_relayed(phones, said):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, said) == []
    assert phones.last(OFFICER) == said


def test_an_owner_answers_yes_to_one_texter_by_prefixing_the_code(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text(OTHER, "me too")
    phones.text(ALICE, "YES 2")
    assert phones.text(ALICE, "#1 yes") == []
    assert phones.last(OFFICER) == "yes"


def test_a_bare_yes_from_an_owner_while_another_text_waits_asks_which_she_meant(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text(OFFICER, "are you still there?")
    phones.text(OTHER, "can someone talk")
    mark = phones.sent_count()
    assert phones.text(ALICE, "yes") == [
        'You have #1 open and #2 is waiting. Text "YES 2" to take #2, or "#1 yes" to '
        'answer #1. Nothing was sent.']
    assert phones.sent_count() == mark + 1
    phones.text(ALICE, "#1 yes")
    assert phones.last(OFFICER) == "yes"
    assert phones.text(ALICE, "YES 2")[0].startswith("You have #2.")


def test_a_peer_texting_for_support_says_yes_and_help_to_her_own_peer(phones):
    phones.text(ALICE, "I need to talk to someone myself")
    phones.text(CAROL, "yes")
    phones.text(CAROL, "Are you somewhere safe?")
    assert phones.last(ALICE) == "Are you somewhere safe?"
    assert phones.text(ALICE, "yes") == []
    assert phones.last(CAROL) == "#1: yes"
    assert phones.text(ALICE, "help") == []
    assert phones.last(CAROL) == "#1: help"


def test_a_peer_texting_for_support_writes_a_number_to_her_own_peer(phones):
    phones.text(ALICE, "I need to talk to someone myself")
    phones.text(CAROL, "yes")
    phones.text(CAROL, "How many calls like that this year?")
    assert phones.text(ALICE, "Done 3") == []
    assert phones.last(CAROL) == "#1: Done 3"


def test_a_peers_own_stop_and_start_never_reach_her_texter(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    mark = phones.sent_count()
    assert phones.text(ALICE, "STOP") == []  # Twilio answers and blocks her phone itself
    assert phones.text(ALICE, "start") == []
    assert phones.since(mark) == []
    phones.text(ALICE, "sorry, wrong button")
    assert phones.last(OFFICER) == "sorry, wrong button"


def test_the_director_reveals_without_typing_the_hash(phones):
    phones.text(OFFICER, "I have my pills lined up")
    phones.text(DIRECTOR, "reveal 1")
    assert phones.text(DIRECTOR, "reveal 1 confirm") == [
        f"#1 texter's number: {OFFICER} (this reveal is audited)."]


def test_reveal_without_a_code_asks_the_director_which(phones):
    phones.text(OFFICER, "rough night")
    assert phones.text(DIRECTOR, "REVEAL") == ["Which one? Text REVEAL 7 for #7."]


def test_help_lists_every_command_a_peer_may_need_in_one_short_text(phones):
    [reply] = phones.text(ALICE, "HELP")
    for command in ("YES 7", "PASS 7", "DONE 7", "CALL 7", "#7 your text", "URGENT 7",
                    "CONSULT 7", "OFF / ON", "WHO", "STATUS"):
        assert command in reply
    assert len(reply) <= 306  # two GSM-7 segments: a tired peer gets one text, not three
