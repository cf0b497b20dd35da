"""An officer in danger reaches a clinician who acknowledges: pages by call and text,
re-pages, the next clinician, the fallback, and failures that count at once."""
from __future__ import annotations

from sqlalchemy import select

from hotline.store import AuditEvent
from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, BOB, DIRECTOR, OFFICER, PROGRAM
from tests.paging.conftest import KIRAN, LEE
from tests.sms_fixtures import phones  # noqa: F401 - fixture

URGENT = "I keep thinking I want to die"


def calls_to(phones, number):
    return [c for c in phones.rest.calls if c.to == number]


def audit(app):
    with app.extensions["hotline.sessions"]() as db:
        return [(e.action, e.actor) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if e.action.startswith("page")]


def test_urgent_text_pages_the_clinician_on_call_who_presses_1_at_once(phones, app):
    phones.text(OFFICER, URGENT)
    assert phones.last(KIRAN).startswith(f"URGENT peer line #1: {URGENT}")
    assert "press 1, or text ACK 1" in phones.last(KIRAN)
    [page] = calls_to(phones, KIRAN)
    assert page.from_ == PROGRAM
    heard = phones.carrier.outbound(page, Phone.accepts())
    assert "Conversation 1 needs the clinician now" in heard[0]
    assert heard[-1] == "Thank you. Nobody has taken conversation 1 yet: text YES 1 to take it."
    assert "text YES 1 to take it" in phones.last(KIRAN)  # in writing too
    phones.tick(30 * 60)
    assert len(calls_to(phones, KIRAN)) == 1 and calls_to(phones, LEE) == []
    assert phones.inbox(DIRECTOR) == []  # the director is last in the chain, not needed
    assert audit(app) == [("page_sent", "kpatel"), ("page_acknowledged", "kpatel")]


def test_unanswered_page_repeats_every_two_minutes_then_acknowledged_by_text(phones, app):
    phones.text(OFFICER, URGENT)
    phones.tick(119)
    assert len(calls_to(phones, KIRAN)) == 1
    phones.tick(1)
    assert len(calls_to(phones, KIRAN)) == 2 and "still waiting" in phones.last(KIRAN)
    assert phones.text(KIRAN, "ACK 1") == [
        "Thank you. Nobody has taken conversation 1 yet: text YES 1 to take it."]
    phones.tick(20 * 60)
    assert len(calls_to(phones, KIRAN)) == 2 and calls_to(phones, LEE) == []


def test_nobody_acknowledges_so_the_next_clinician_then_everyone_is_told(phones, app):
    phones.text(OFFICER, URGENT)
    for _ in range(3 * 3):
        phones.tick(120)
    assert (len(calls_to(phones, KIRAN)), len(calls_to(phones, LEE)),
            len(calls_to(phones, DIRECTOR))) == (3, 3, 3)
    for number in (KIRAN, LEE, DIRECTOR):
        assert "NOBODY acknowledged the urgent page for #1" in phones.last(number)
    assert ("page_unanswered", "line") in audit(app)
    phones.tick(30 * 60)
    assert len(phones.rest.calls) == 9  # the fallback is the end: no more calls
    assert phones.text(LEE, "ack 1")[0].startswith("Thank you.")  # a late answer still counts


def test_a_busy_clinician_counts_as_not_acknowledged_at_once(phones, app):
    phones.text(OFFICER, URGENT)
    [first] = calls_to(phones, KIRAN)
    phones.carrier.outbound(first, Phone.line_busy())
    phones.tick(1)  # the next poll, not two minutes later
    assert len(calls_to(phones, KIRAN)) == 2


def test_a_voicemail_that_picks_up_the_page_is_not_an_acknowledgement(phones, app):
    phones.text(OFFICER, URGENT)
    [first] = calls_to(phones, KIRAN)
    phones.carrier.outbound(first, Phone.voicemail())
    phones.tick(1)
    assert len(calls_to(phones, KIRAN)) == 2


def test_an_undelivered_page_text_counts_at_once(phones, app):
    phones.text(OFFICER, URGENT)
    phones.status(phones.notice_sid(KIRAN), "undelivered", "30003")
    phones.tick(1)
    assert len(calls_to(phones, KIRAN)) == 2


def test_a_page_call_twilio_refuses_counts_at_once(phones, app):
    phones.rest.fail_next(1)  # the page call gets a 500
    phones.text(OFFICER, URGENT)
    assert calls_to(phones, KIRAN) == []
    phones.tick(1)
    assert len(calls_to(phones, KIRAN)) == 1


def test_a_peer_raises_urgency_and_the_texter_is_not_told(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    officer_had = len(phones.inbox(OFFICER))
    [reply] = phones.text(ALICE, "URGENT #1 he says his duty weapon is on the table")
    assert reply.startswith("Paging the clinician on call for #1") and "not been told" in reply
    assert phones.last(KIRAN).startswith("URGENT peer line #1: Alice (peer) says the officer "
                                         "may be in danger: he says his duty weapon is on the table")
    assert "Alice has it" in phones.last(KIRAN)
    assert len(phones.inbox(OFFICER)) == officer_had
    [page] = calls_to(phones, KIRAN)
    heard = phones.carrier.outbound(page, Phone.accepts())
    assert heard[-1].startswith("Thank you. You are in conversation 1")
    assert "Dr. Kiran Patel (clinician) acknowledged" in phones.last(ALICE)
    phones.text(OFFICER, "I don't know what to do")
    assert phones.last(KIRAN) == "#1: I don't know what to do"  # the clinician sees it now
    assert phones.last(ALICE) == "#1: I don't know what to do"


def test_the_second_to_press_1_hears_that_somebody_already_acknowledged(phones, app):
    phones.text(OFFICER, URGENT)
    [first] = calls_to(phones, KIRAN)
    phones.text(KIRAN, "ack")
    heard = phones.carrier.outbound(first, Phone.accepts())
    assert heard == ["Peer support line. Dr. Kiran Patel has already acknowledged this page. "
                     "Thank you."]


def test_the_audit_trail_of_a_page_has_no_number_and_no_words(phones, app):
    phones.text(OFFICER, URGENT)
    phones.tick(120)
    phones.text(KIRAN, "ack 1")
    with app.extensions["hotline.sessions"]() as db:
        rows = db.scalars(select(AuditEvent)).all()
    text = " ".join(f"{e.action} {e.actor} {e.detail}" for e in rows)
    assert "555" not in text and "die" not in text and "#1" not in text
    assert [e.action for e in rows] == ["page_sent", "page_sent", "page_acknowledged"]


def test_closing_the_conversation_ends_its_page(phones, app):
    phones.text(OFFICER, URGENT)
    phones.text(BOB, "yes")  # bob is not on call; alice is: she takes it
    phones.text(ALICE, "yes")
    phones.text(ALICE, "done")
    phones.tick(30 * 60)
    assert len(calls_to(phones, KIRAN)) == 1


def test_a_clinician_removed_from_the_file_mid_page_is_passed_over(phones, app, rotation_file):
    phones.text(OFFICER, URGENT)
    text = rotation_file.read_text()
    rotation_file.write_text(text.replace(
        '    - {id: kpatel, name: Dr. Kiran Patel, phone: "262-555-0198"}\n', ""))
    phones.tick(120)
    assert len(calls_to(phones, KIRAN)) == 1 and len(calls_to(phones, LEE)) == 1
