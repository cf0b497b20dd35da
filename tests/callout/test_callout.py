"""A critical-incident callout from start to close, played as the texts and calls it is:
the director texts CALLOUT, the team's phones buzz, answers come in, the director
watches the tally, peers who stay silent are phoned, and CLOSE leaves only counts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.callout.fixtures import (NOTICE, START, Callout, CalloutAnswer, CalloutStat,  # noqa: F401
                                    answers, call_status, press, rotation_file, rows)
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def test_the_director_texts_callout_and_every_peer_with_the_tag_gets_the_notice(phones, app):
    assert phones.text(DIRECTOR, START) == [
        "Callout sent to 3 peers. You will get a running tally; text CLOSE to end it."]
    for peer in (ALICE, BOB, CAROL):
        assert phones.inbox(peer) == [NOTICE]
    assert phones.inbox(DAVE) == []  # not on the critical-incident team
    assert answers(app) == {"alice": None, "bob": None, "carol": None}


def test_a_peer_answers_yes_40_and_the_director_gets_one_debounced_tally(phones):
    phones.text(DIRECTOR, START)
    assert phones.text(ALICE, "YES 40") == [
        "Thank you: you said YES (40 min away) to the callout. A later answer replaces this one."]
    phones.tick(20)
    assert phones.text(BOB, "no") == [
        "Thank you: you said NO to the callout. A later answer replaces this one."]
    phones.tick(20)
    assert phones.inbox(DIRECTOR)[-1].startswith("Callout sent")  # still gathering answers
    phones.tick(20)  # a minute after the first answer: one tally for both
    assert phones.inbox(DIRECTOR)[-1] == "Callout: 1 yes, 1 no, 1 waiting."
    phones.tick(120)
    assert phones.inbox(DIRECTOR)[-1] == "Callout: 1 yes, 1 no, 1 waiting."
    assert len([t for t in phones.inbox(DIRECTOR) if t.startswith("Callout:")]) == 1


def test_a_peer_who_answers_twice_is_counted_once_with_her_later_answer(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "no") == [
        "Changed: you said NO to the callout. A later answer replaces this one."]
    phones.tick(60)
    assert phones.last(DIRECTOR) == "Callout: 0 yes, 1 no, 2 waiting."
    assert answers(app)["alice"] == "no"


def test_peers_who_have_not_answered_are_phoned_and_press_1_to_say_yes(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(ALICE, "yes")
    phones.tick(9 * 60)
    assert phones.rest.calls == []  # call_after is 10 minutes
    phones.tick(60)
    assert sorted(c.to for c in phones.rest.calls) == [BOB, CAROL]  # Alice answered
    bob_call = next(c for c in phones.rest.calls if c.to == BOB)
    heard = press(phones, bob_call, "1")
    assert heard[0].startswith("Peer support line callout. Defusing at District 4, 23:30.")
    assert heard[-1].startswith("Thank you. You said you can come.")
    assert answers(app) == {"alice": "yes", "bob": "yes", "carol": None}


def test_a_voicemail_answers_nothing_and_the_peer_is_phoned_once_more_then_left_alone(phones, app):
    phones.text(DIRECTOR, START)
    phones.tick(10 * 60)
    carol = next(c for c in phones.rest.calls if c.to == CAROL)
    press(phones, carol, None)  # her voicemail greeting plays; no key
    assert answers(app)["carol"] is None
    phones.tick(10 * 60)
    assert [c.to for c in phones.rest.calls].count(CAROL) == 2
    phones.tick(30 * 60)
    assert [c.to for c in phones.rest.calls].count(CAROL) == 2  # `calls: 2` in the file


def test_a_clock_restarted_mid_callout_pages_each_silent_peer_exactly_once(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(CAROL, "YES 15")
    phones.tick(5 * 60)
    phones.restart()  # the clock process (and the web) restart; the callout is in the database
    phones.tick(5 * 60)
    phones.tick(0)  # a second poll at the same instant, as a second clock would
    assert sorted(c.to for c in phones.rest.calls) == [ALICE, BOB]
    phones.text(ALICE, "no")
    phones.tick(60)
    assert phones.last(DIRECTOR) == "Callout: 1 yes, 1 no, 1 waiting."


def test_a_peer_whose_phone_fails_is_phoned_at_once_and_counted_unreachable(phones, app):
    phones.text(DIRECTOR, START)
    phones.status(phones.notice_sid(BOB), "undelivered", "30003")
    phones.tick(1)
    [page] = phones.rest.calls
    assert page.to == BOB  # not ten minutes later: the text never reached him
    call_status(phones, page, "failed")
    phones.tick(60)  # the director hears of it without anyone answering
    assert phones.last(DIRECTOR) == "Callout: 0 yes, 0 no, 3 waiting (1 unreachable)."
    phones.text(ALICE, "yes")
    phones.tick(60)
    assert phones.last(DIRECTOR) == "Callout: 1 yes, 0 no, 2 waiting (1 unreachable)."


def test_a_peer_whose_phone_opted_out_of_the_line_is_phoned_at_once(phones, app):
    phones.rest.opted_out.add(CAROL)  # she once texted STOP to the program number
    phones.text(DIRECTOR, START)
    assert phones.inbox(CAROL) == []
    phones.tick(1)
    assert [c.to for c in phones.rest.calls] == [CAROL]


def test_callout_texts_wait_behind_an_urgent_crisis_text_and_go_ahead_of_routine_ones(phones, app):
    app.config["HOTLINE_SEND_RATE"] = 1
    phones.text("+12625550143", "rough shift")  # Alice's notice #1 takes this second
    phones.text("+12625550144", "can't sleep")  # routine notice #2 waits for the rate
    phones.text(DIRECTOR, START)  # the callout's three notices wait too, ahead of #2
    phones.text(OFFICER, "I took all my pills, I want to end it")  # urgent: ahead of everything
    for _ in range(7):
        phones.tick(1)
    order = [(s.to, s.body.split(":")[0].lower()) for s in phones.rest.sent if s.sid]
    callout = "test pd peer support callout"
    assert order == [(ALICE, "peer line #1"),
                     (ALICE, "urgent peer line #3"), (DIRECTOR, "urgent peer line #3"),
                     (ALICE, callout), (BOB, callout), (CAROL, callout),
                     (ALICE, "peer line #2")]


def test_close_thanks_those_who_said_yes_and_keeps_only_anonymous_counts(phones, app):
    phones.text(DIRECTOR, START)
    phones.clock.advance(95)
    phones.text(ALICE, "YES 40")
    phones.text(BOB, "no")
    assert phones.text(DIRECTOR, "CLOSE") == [
        "Callout closed: 1 yes, 1 no, 1 no answer. Those who said yes have the closing text."]
    assert phones.last(ALICE) == ("The callout is closed. Thank you. The coordinator will be in "
                                  "touch.")
    assert not any("closed" in t for t in phones.inbox(BOB) + phones.inbox(CAROL))
    assert len([t for t in phones.inbox(DIRECTOR) if t.startswith("Callout closed")]) == 1
    assert rows(app, Callout) == [] and rows(app, CalloutAnswer) == []
    [stat] = rows(app, CalloutStat)
    assert (stat.month, stat.asked, stat.answered_yes, stat.seconds_to_first_yes) == (
        "2026-11", 3, 1, 95)
    phones.tick(60 * 60)
    assert phones.rest.calls == []  # re-paging ended with the callout


def test_closing_ends_re_paging_and_a_late_page_tells_the_peer_it_is_closed(phones, app):
    phones.text(DIRECTOR, START)
    phones.tick(10 * 60)
    page = phones.rest.calls[0]
    phones.text(DIRECTOR, "CALLOUT CLOSE team is full")
    assert press(phones, page, None) == ["Peer support line. This callout is closed. Thank you."]
    phones.tick(10 * 60)
    assert len(phones.rest.calls) == 3  # the first round only


def test_a_forgotten_callout_closes_itself_after_close_after(phones, app):
    phones.text(DIRECTOR, START)
    phones.text(ALICE, "yes")
    phones.tick(12 * 3600)
    assert rows(app, Callout) == []
    assert phones.last(DIRECTOR) == "Callout closed: 1 yes, 0 no, 2 no answer."


def test_the_callout_message_is_never_stored_in_clear(phones, app):
    phones.text(DIRECTOR, START)
    engine = app.extensions["hotline.engine"]
    with engine.connect() as conn:
        [sealed] = conn.execute(select(Callout.message_enc)).scalars().all()
    assert b"District 4" not in bytes(sealed)
