"""YES means two things on this line: "I take conversation #7" and "I can come to the
callout". Each branch of the rule (README, "Peer commands during a callout"), played
as the texts it is: a crisis text is never lost to a callout answer, nor the reverse."""
from __future__ import annotations

from tests.callout.fixtures import START, answers, rotation_file  # noqa: F401
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

ASK = "Did you mean the callout or a conversation?"


def test_yes_from_a_peer_asked_with_nothing_else_waiting_answers_the_callout(phones, app):
    phones.text(DIRECTOR, START)
    assert phones.text(CAROL, "Y").pop().startswith("Thank you: you said YES")
    assert answers(app)["carol"] == "yes"


def test_yes_while_a_crisis_text_waits_for_her_is_not_guessed_she_is_asked(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(OFFICER, "rough night")  # Alice is on primary: the notice for #1 waits for her
    [reply] = phones.text(ALICE, "yes")
    assert reply == (f"{ASK} \"CALLOUT YES 40\" (or CALLOUT NO) answers the callout; "
                     "\"YES #1\" takes #1. Nothing was sent.")
    assert answers(app)["alice"] is None
    assert "peer is here now" not in " ".join(phones.inbox(OFFICER))


def test_yes_with_the_hash_always_takes_the_conversation_even_during_a_callout(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(OFFICER, "rough night")
    assert phones.text(ALICE, "YES #1")[0].startswith("You have #1.")
    assert answers(app)["alice"] is None


def test_callout_yes_answers_the_callout_whatever_else_is_waiting(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(OFFICER, "rough night")
    assert phones.text(ALICE, "CALLOUT YES 40") == [
        "Thank you: you said YES (40 min away) to the callout. A later answer replaces this one."]
    assert answers(app)["alice"] == "yes"
    assert phones.text(ALICE, "YES #1")[0].startswith("You have #1.")  # #1 still waits for her


def test_yes_and_a_number_naming_a_conversation_she_was_told_about_is_asked(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(OFFICER, "rough night")
    [reply] = phones.text(ALICE, "yes 1")
    assert reply.startswith(ASK) and "\"YES #1\" takes #1" in reply
    assert answers(app)["alice"] is None


def test_no_from_a_peer_talking_with_a_texter_is_asked_not_swallowed(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")  # Alice has #1
    phones.text(DIRECTOR, START)
    [reply] = phones.text(ALICE, "no")
    assert reply == (f"{ASK} \"CALLOUT YES 40\" (or CALLOUT NO) answers the callout; "
                     "\"#1 no\" writes to #1. Nothing was sent.")
    assert "no" not in phones.inbox(OFFICER)
    assert answers(app)["alice"] is None
    phones.text(ALICE, "#1 no")
    assert phones.last(OFFICER) == "no"


def test_a_peer_not_asked_keeps_yes_for_her_texts(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "YES #1")
    phones.text(OFFICER, "thanks")
    # Dave is not on the team: his "yes" is what it always was.
    assert phones.text(DAVE, "yes") == ["Nothing is waiting for you. Text HELP for the commands."]


def test_once_the_callout_closes_yes_is_a_conversation_word_again(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(DIRECTOR, "CLOSE")
    phones.text(OFFICER, "rough night")
    assert phones.text(ALICE, "yes")[0].startswith("You have #1.")


def test_a_peer_texting_the_line_for_herself_keeps_her_yes_for_her_own_peer(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(BOB, "I need to talk to someone tonight")  # Bob reaches out as a texter
    phones.text(ALICE, "YES #1")
    phones.text(BOB, "yes")
    assert phones.last(ALICE) == "#1: yes"
    assert answers(app)["bob"] is None
    assert phones.text(BOB, "CALLOUT NO")[0].startswith("Thank you: you said NO")


def test_callout_yes_with_no_callout_open_says_so(phones, app):
    assert phones.text(CAROL, "CALLOUT YES") == [
        "No callout is open for you right now. Thank you."]


def test_a_peer_who_said_yes_still_gets_crisis_texts_by_default(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(ALICE, "YES 20")
    phones.text(OFFICER, "rough night")
    assert phones.last(ALICE) == "Peer line #1: rough night - reply YES to take #1"


def test_with_yes_is_busy_a_peer_who_said_yes_is_skipped_by_routing(phones, app, rotation_file):
    rotation_file.write_text(rotation_file.read_text() + "  yes_is_busy: true\n")
    phones.text(DIRECTOR, START)
    phones.text(ALICE, "YES 20")
    phones.text(OFFICER, "rough night")
    assert not phones.last(ALICE).startswith("Peer line #1")
    assert phones.last(CAROL) == "Peer line #1: rough night - reply YES to take #1"
