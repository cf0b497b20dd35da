"""Signed voice webhooks that are not a call to this line: another number of the
account, or a CallSid that is not Twilio's shape. The caller hears where help is,
nobody is rung, nothing is written."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from hotline.store import Call, ProviderRecord
from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.voice.edges import NOT_THIS_LINE
from tests.conftest import ALICE, MONDAY_NIGHT, OFFICER, PROGRAM

GOOD_SID = "CA" + "a" * 32
MALFORMED = ["", "CA123", "XX" + "a" * 32, "CA" + "g" * 32, "CA" + "a" * 33]
MALFORMED_IDS = ["empty", "short", "not-a-call", "not-hex", "too-long"]


def post(twilio, path: str, **form) -> ET.Element:
    params = {"CallSid": GOOD_SID, "AccountSid": ACCOUNT_SID, "From": OFFICER, "To": PROGRAM,
              "Direction": "inbound", "CallStatus": "ringing"} | form
    resp = twilio.post(path, params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return ET.fromstring(resp.get_data())


def rung(doc: ET.Element) -> list[str]:
    return [n.text.strip() for n in doc.iter("Number")]


def heard(doc: ET.Element) -> str:
    return " ".join((s.text or "") for s in doc.iter("Say"))


def rows(app, table) -> list:
    with app.extensions["hotline.sessions"]() as db:
        return list(db.scalars(select(table)))


def test_a_call_to_another_number_of_the_account_hears_988_and_rings_nobody(twilio, app):
    doc = post(twilio, "/voice/incoming", To="+12625550177")
    assert NOT_THIS_LINE in heard(doc)
    assert rung(doc) == [] and doc.find("Hangup") is not None
    assert rows(app, Call) == []


def test_a_call_to_this_line_written_another_way_still_rings_the_peer(twilio, app):
    # Twilio sends E.164; any other spelling of the same number is parsed, not refused.
    national = f"({PROGRAM[2:5]}) {PROGRAM[5:8]}-{PROGRAM[8:]}"
    doc = post(twilio, "/voice/incoming", To=national)
    assert rung(doc) == [ALICE]


@pytest.mark.parametrize("sid", MALFORMED, ids=MALFORMED_IDS)
def test_a_call_with_a_malformed_call_sid_hears_988_and_rings_nobody(twilio, app, sid):
    doc = post(twilio, "/voice/incoming", CallSid=sid)
    assert NOT_THIS_LINE in heard(doc)
    assert rung(doc) == []
    assert rows(app, Call) == []


def test_a_call_without_a_call_sid_is_not_sent_down_the_emergency_route(twilio, app):
    params = {"AccountSid": ACCOUNT_SID, "From": OFFICER, "To": PROGRAM}
    doc = ET.fromstring(twilio.post("/voice/incoming", params).get_data())
    assert NOT_THIS_LINE in heard(doc) and rung(doc) == []


def test_the_next_step_with_a_malformed_call_sid_rings_nobody_from_its_url(twilio, app):
    # The URL carries the state the fail-safe would ring the next step from.
    started = int(MONDAY_NIGHT.timestamp())
    doc = post(twilio, f"/voice/next?attempt=0&st={started}&tr=0.alice",
               CallSid="CAx", CallStatus="in-progress", DialCallStatus="no-answer")
    assert rung(doc) == []
    assert NOT_THIS_LINE in heard(doc)


def test_a_peer_key_press_with_a_malformed_leg_sid_does_not_take_the_call(twilio, app):
    doc = post(twilio, "/voice/incoming", CallSid=GOOD_SID)
    assert ALICE in rung(doc)
    leg = {"CallSid": "CA-forged", "ParentCallSid": GOOD_SID, "From": PROGRAM, "To": ALICE,
           "CallStatus": "in-progress", "Digits": "1"}
    screen = post(twilio, f"/voice/screen?call={GOOD_SID}&attempt=0&person=alice", **leg)
    assert screen.find("Hangup") is not None  # not bridged
    [call] = rows(app, Call)
    assert call.accepted_by is None


def test_a_whisper_for_a_malformed_parent_sid_hangs_up_the_peer(twilio, app):
    leg = {"CallSid": "CA" + "e" * 32, "From": PROGRAM, "To": ALICE,
           "CallStatus": "in-progress"}
    doc = post(twilio, "/voice/whisper?call=CA1&attempt=0&person=alice", **leg)
    assert doc.find("Gather") is None and doc.find("Hangup") is not None


def test_a_status_callback_with_a_malformed_call_sid_records_nothing(twilio, app):
    post(twilio, "/voice/status", CallSid="CA-not-a-call", CallStatus="completed")
    assert rows(app, ProviderRecord) == []
