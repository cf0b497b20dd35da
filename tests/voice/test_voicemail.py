"""Voicemail is off unless a coordinator turns it on, and then only the clinical director hears it."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import select

from hotline.records.retention import delete_at_provider
from hotline.store import AuditEvent, Voicemail
from hotline.testing.fake_twilio import Phone
from hotline.voice.voicemail import deliver
from tests.conftest import ALICE, CAROL, DIRECTOR, OFFICER, PROGRAM, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def nobody_answers(carrier):
    for number in (ALICE, CAROL, DIRECTOR):
        carrier.phones[number] = Phone.rings_out()


def voicemail_on(rotation_file):
    rotation_file.write_text(ROTATION + "voice: {voicemail: true}\n")


def test_by_default_nobody_is_offered_a_voicemail_and_nothing_is_recorded(phones):
    nobody_answers(phones.carrier)
    call = phones.carrier.call(OFFICER, message=30)
    assert call.recordings == []
    assert "988" in call.rung()


def test_a_message_left_at_the_fallback_is_played_to_the_director_only_then_deleted(
        phones, app, rotation_file, clock):
    voicemail_on(rotation_file)
    nobody_answers(phones.carrier)
    call = phones.carrier.call(OFFICER, message=30)
    [recording] = call.recordings
    assert "Thank you. Your message will reach our clinical director." in call.heard
    assert call.rung()[-1] == "988"  # the caller still reaches the fallback afterwards

    deliver(app, clock.now)
    [placed] = phones.rest.calls
    assert (placed.to, placed.from_) == (DIRECTOR, PROGRAM)
    screen = ET.fromstring(phones.carrier.post(placed.url, {"CallSid": placed.sid}).get_data())
    assert screen.find("Gather") is not None and screen.find("Play") is None  # a key press first
    played = ET.fromstring(phones.carrier.post(placed.url, {"CallSid": placed.sid,
                                                            "Digits": "1"}).get_data())
    assert played.find("Play").text.endswith(f"/Recordings/{recording}.mp3")

    delete_at_provider(app, clock.now + timedelta(minutes=5))
    assert recording in phones.rest.deleted
    with app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Voicemail)).all() == []


def test_a_director_who_never_picks_up_gets_it_deleted_unheard_and_audited(
        phones, app, rotation_file, clock):
    voicemail_on(rotation_file)
    nobody_answers(phones.carrier)
    [recording] = phones.carrier.call(OFFICER, message=10).recordings
    for _ in range(4):
        deliver(app, clock.now)
        clock.advance(16 * 60)
    assert len(phones.rest.calls) == 3
    delete_at_provider(app, clock.now + timedelta(minutes=5))
    assert recording in phones.rest.deleted
    with app.extensions["hotline.sessions"]() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent))]
    assert actions.count("voicemail_unheard") == 1


def test_a_caller_who_says_nothing_leaves_no_voicemail(phones, app, rotation_file, clock):
    voicemail_on(rotation_file)
    nobody_answers(phones.carrier)
    [recording] = phones.carrier.call(OFFICER, message=0).recordings
    deliver(app, clock.now)
    assert phones.rest.calls == []
    delete_at_provider(app, clock.now + timedelta(minutes=5))
    assert recording in phones.rest.deleted
