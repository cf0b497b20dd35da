"""What reaches /sms/incoming that is not a person texting this line, and texts too
long for Twilio: nothing is opened or paged for the first, nothing is lost of the
second."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.store import Conversation
from hotline.text.conversations import pieces
from hotline.text.webhooks import NOT_THIS_LINE
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import ALICE, OFFICER, PROGRAM
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def post(phones, **params):
    form = {"MessageSid": phones.carrier.sid("SM"), "AccountSid": ACCOUNT_SID,
            "From": OFFICER, "To": PROGRAM, "Body": "hello", "NumMedia": "0"} | params
    resp = phones.carrier.post("/sms/incoming", form)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def conversations(app) -> list:
    with app.extensions["hotline.sessions"]() as db:
        return list(db.scalars(select(Conversation)))


@pytest.mark.parametrize("sender", ["72345", "262555", "VERIZON", "Bank Alert"],
                         ids=["short-code", "short-number", "alphanumeric", "alpha-spaces"])
def test_a_short_code_or_alphanumeric_sender_opens_nothing_and_pages_nobody(
        phones, app, sender):
    post(phones, From=sender, Body="Your code is 1234")
    assert conversations(app) == []
    assert phones.sent_count() == 0


@pytest.mark.parametrize("sid", ["", "SM123", "XX" + "a" * 32, "SM" + "g" * 32])
def test_a_text_with_a_malformed_message_sid_opens_nothing(phones, app, sid):
    post(phones, MessageSid=sid)
    assert conversations(app) == []
    assert phones.sent_count() == 0


def test_a_text_for_another_number_of_the_account_is_not_this_lines(phones, app):
    html = post(phones, To="+12625550177")
    assert NOT_THIS_LINE in html  # the sender is still pointed at help
    assert conversations(app) == []
    assert phones.inbox(ALICE) == []


def test_a_1600_character_text_reaches_the_peer_in_parts_that_twilio_takes(phones):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    long = " ".join(f"word{i:04d}" for i in range(178))[:1600]
    phones.text(OFFICER, long)
    parts = [t for t in phones.inbox(ALICE) if t.startswith("#1: (")]
    assert len(parts) == 2 and all(len(p) <= 1600 for p in parts)
    assert parts[0].startswith("#1: (1/2) ") and parts[1].startswith("#1: (2/2) ")
    joined = " ".join(p.split(") ", 1)[1] for p in parts)
    assert joined == long


def test_a_long_waiting_text_keeps_the_reply_yes_on_its_last_part(phones):
    phones.text(OFFICER, "rough night")
    phones.text(OFFICER, "x " * 800)
    parts = [t for t in phones.inbox(ALICE) if t.startswith("Peer line #1 (waiting)")]
    assert len(parts) == 2 and all(len(p) <= 1600 for p in parts)
    assert parts[-1].endswith("reply YES to take #1")


def test_pieces_cut_a_word_longer_than_a_text():
    parts = pieces("#1: ", "a" * 4000)
    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts)
    assert "".join(p.split(") ", 1)[1] for p in parts) == "a" * 4000
