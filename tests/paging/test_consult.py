"""CONSULT #n: a peer brings the clinician on call into a text conversation; the
clinician sees it both ways and writes to the peer only or to the texter."""
from __future__ import annotations

from sqlalchemy import select

from hotline.store import AuditEvent
from tests.conftest import ALICE, OFFICER
from tests.paging.conftest import KIRAN, LEE
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def consulting(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    return phones.text(ALICE, "CONSULT #1")


def test_peer_consults_and_the_clinician_is_invited_without_a_page_call(phones, app):
    [reply] = consulting(phones)
    assert reply.startswith("Dr. Kiran Patel (clinician) is asked to join #1")
    assert phones.last(KIRAN).startswith("Peer line consult: Alice asks you to join #1.")
    assert phones.rest.calls == [] and phones.inbox(LEE) == []
    with app.extensions["hotline.sessions"]() as db:
        [event] = db.scalars(select(AuditEvent)).all()
    assert (event.action, event.actor, event.detail) == ("consult", "kpatel", "asked by a peer")


def test_the_clinician_gets_the_messages_both_ways_from_then_on(phones, app):
    consulting(phones)
    phones.text(OFFICER, "I can't sleep")
    assert phones.last(KIRAN) == "#1: I can't sleep"
    phones.text(ALICE, "That sounds exhausting.")
    assert phones.last(KIRAN) == "#1 Alice: That sounds exhausting."
    assert phones.last(OFFICER) == "That sounds exhausting."


def test_the_clinician_writes_to_the_peer_only(phones, app):
    consulting(phones)
    officer_had = len(phones.inbox(OFFICER))
    assert phones.text(KIRAN, "PEER 1 ask whether he has slept this week") == []
    assert phones.last(ALICE) == ("#1 from Dr. Kiran Patel (only you see this): ask whether "
                                  "he has slept this week")
    assert len(phones.inbox(OFFICER)) == officer_had


def test_the_clinician_writes_to_the_texter_and_the_peer_sees_it(phones, app):
    consulting(phones)
    phones.text(KIRAN, "#1 Hi, I'm Kiran, the clinician with Alice. I'm here too.")
    assert phones.last(OFFICER) == "Hi, I'm Kiran, the clinician with Alice. I'm here too."
    assert phones.last(ALICE) == "#1 Dr. Kiran Patel: Hi, I'm Kiran, the clinician with Alice. I'm here too."


def test_consult_on_somebody_elses_conversation_is_refused(phones, app):
    phones.text(OFFICER, "rough night")
    assert phones.text(ALICE, "CONSULT #1")[0].startswith("You do not have #1 open")
    assert phones.inbox(KIRAN) == []


def test_the_consulting_clinician_hears_when_the_peer_closes_it(phones, app):
    consulting(phones)
    phones.text(ALICE, "DONE")
    assert phones.last(KIRAN) == "#1 was closed by the peer. Thank you."


def test_a_peers_plain_ack_is_a_word_to_their_texter(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    assert phones.text(ALICE, "ack") == []
    assert phones.last(OFFICER) == "ack"


def test_a_relayed_picture_reaches_the_peer_and_the_clinician_is_told_only_of_it(
        phones, rotation_file):
    rotation_file.write_text(rotation_file.read_text() + "sms: {pictures: relay}\n")
    consulting(phones)
    phones.text(OFFICER, "look at this", sid="MM" + "c" * 32, media=1)
    [to_peer] = [s for s in phones.rest.sent if s.to == ALICE and "look at this" in s.body]
    [to_clinician] = [s for s in phones.rest.sent if s.to == KIRAN and "look at this" in s.body]
    assert to_peer.media and to_peer.body == "#1: look at this [sent a picture, attached]"
    assert not to_clinician.media
    assert to_clinician.body == "#1: look at this [sent a picture; only their peer has it]"
