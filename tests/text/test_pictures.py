"""A texter's pictures where the rotation file says `sms: {pictures: relay}`: the peer
gets the picture, the texter is told, and Twilio's copy of the texter's message (which
holds the picture) is deleted only once the relay has landed. The refusal (the default)
is tests/text/test_texter_menu.py's."""
from __future__ import annotations

import logging

from sqlalchemy import select

from hotline.records.retention import delete_at_provider
from hotline.rotation.model import SmsSettings
from hotline.store import Outbox
from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.text.webhooks import PEER_NO_PICTURES
from tests.conftest import ALICE, CAROL, DIRECTOR, OFFICER, ROTATION
from tests.sms_fixtures import phones  # noqa: F401 - fixture

RELAYED = SmsSettings().pictures_relayed
TWILIO_SETTLES = 11 * 60  # a message's record settles in 10 minutes, then it may go


def relay(rotation_file, text: str = ROTATION) -> None:
    rotation_file.write_text(text + "sms: {pictures: relay}\n")


def media_of(sid: str) -> str:
    return (f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}"
            f"/Media/ME{0:032d}")


def last_to(phones, number: str):
    return [s for s in phones.rest.sent if s.to == number][-1]


def deleted_at_twilio(phones, app, sid: str, after: float = TWILIO_SETTLES) -> bool:
    phones.tick(after)
    delete_at_provider(app, phones.clock.now)
    return sid in phones.rest.deleted


def test_the_peer_who_has_the_conversation_gets_the_picture_and_the_texter_is_told(
        phones, rotation_file):
    relay(rotation_file)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    replies = phones.text(OFFICER, "look at this", sid="MM" + "a" * 32, media=1)
    assert replies == [RELAYED]
    sent = last_to(phones, ALICE)
    assert (sent.to, sent.body) == (ALICE, "#1: look at this [sent a picture, attached]")
    assert sent.media == (media_of("MM" + "a" * 32),)


def test_a_first_text_with_a_picture_reaches_the_peer_deciding_with_it(phones, rotation_file):
    relay(rotation_file)
    replies = phones.text(OFFICER, "", sid="MM" + "b" * 32, media=1)
    assert RELAYED in replies
    [notice] = [s for s in phones.rest.sent if s.to == ALICE]
    assert notice.media == (media_of("MM" + "b" * 32),)
    assert "[sent a picture, attached]" in notice.body
    assert phones.inbox(CAROL) == [] and phones.inbox(DIRECTOR) == []


def test_the_texters_message_stays_at_twilio_until_the_relay_is_delivered(phones, app,
                                                                          rotation_file):
    relay(rotation_file)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    picture = "MM" + "c" * 32
    phones.text(OFFICER, "this one", sid=picture, media=1)
    relayed = last_to(phones, ALICE).sid
    assert not deleted_at_twilio(phones, app, picture)  # Twilio has not fetched it yet
    phones.status(relayed, "sent")
    assert not deleted_at_twilio(phones, app, picture)
    phones.status(relayed, "delivered")
    assert deleted_at_twilio(phones, app, picture)


def test_a_plain_text_is_still_deleted_at_twilio_once_settled(phones, app, rotation_file):
    relay(rotation_file)
    words = "SM" + "d" * 32
    phones.text(OFFICER, "hello", sid=words)
    assert deleted_at_twilio(phones, app, words)


def test_a_picture_relayed_to_two_peers_stays_until_both_relays_landed(phones, app,
                                                                        rotation_file):
    relay(rotation_file, ROTATION.replace("notify: primary,", "notify: [primary, backup],"))
    picture = "MM" + "e" * 32
    phones.text(OFFICER, "see this", sid=picture, media=1)
    to_alice = [s for s in phones.rest.sent if s.to == ALICE and s.media]
    to_carol = [s for s in phones.rest.sent if s.to == CAROL and s.media]
    assert len(to_alice) == len(to_carol) == 1
    phones.status(to_alice[0].sid, "delivered")
    assert not deleted_at_twilio(phones, app, picture)
    phones.status(to_carol[0].sid, "failed")  # a relay that failed will not fetch it either
    assert deleted_at_twilio(phones, app, picture)


def test_a_relay_that_never_reports_lets_the_picture_go_after_two_hours(phones, app,
                                                                        rotation_file):
    relay(rotation_file)
    picture = "MM" + "f" * 32
    phones.text(OFFICER, "", sid=picture, media=1)
    assert not deleted_at_twilio(phones, app, picture, after=110 * 60)
    assert deleted_at_twilio(phones, app, picture, after=11 * 60)


def test_a_relay_twilio_did_not_take_waits_sealed_and_keeps_the_picture_at_twilio(
        phones, app, rotation_file, caplog):
    caplog.set_level(logging.DEBUG)
    relay(rotation_file)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    picture = "MM" + "1" * 32
    phones.rest.fail_next(1)  # a Twilio incident: the relay goes to the outbox
    phones.text(OFFICER, "wait for it", sid=picture, media=1)
    with app.extensions["hotline.sessions"]() as db:
        [row] = db.scalars(select(Outbox)).all()
        assert row.media_of == picture and b"api.twilio.com" not in row.media_enc
    phones.tick(5)  # the clock's retry sends it, picture and all
    sent = last_to(phones, ALICE)
    assert sent.media == (media_of(picture),)
    assert not deleted_at_twilio(phones, app, picture)
    phones.status(sent.sid, "delivered")
    assert deleted_at_twilio(phones, app, picture)
    assert "api.twilio.com" not in caplog.text  # no media URL is ever logged


def test_a_stop_with_a_picture_is_not_relayed_and_the_texter_is_told(phones, rotation_file):
    relay(rotation_file)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    replies = phones.text(OFFICER, "STOP", media=1)
    assert replies == [SmsSettings().no_pictures]
    assert not any(s.media for s in phones.rest.sent)
    assert "opted out" in phones.last(ALICE)


def test_a_peers_picture_is_not_passed_on_to_the_texter_and_the_peer_is_told(phones,
                                                                             rotation_file):
    relay(rotation_file)
    phones.text(OFFICER, "hello")
    phones.text(ALICE, "YES")
    replies = phones.text(ALICE, "here is the address", media=1)
    assert replies == [PEER_NO_PICTURES]
    assert phones.last(OFFICER) == "here is the address"
    assert not any(s.media for s in phones.rest.sent)
