"""Phone calls to the line, played through the fake carrier."""
from __future__ import annotations

from sqlalchemy import select

from hotline.store import Call, StatEvent
from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, BOB, CAROL, DAVE, DIRECTOR, OFFICER, PROGRAM


def stats(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(StatEvent)).all()


def live_calls(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(Call)).all()


def test_primary_peer_presses_1_and_is_connected(twilio, app):
    twilio.phones[ALICE] = Phone.accepts(after=4)
    call = twilio.call(OFFICER)
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    assert "Press 1 to take this call" in " ".join(call.whispers[ALICE])
    [event] = stats(app)
    assert (event.channel, event.outcome, event.step) == ("voice", "peer", 1)
    assert live_calls(app) == []


def test_peers_see_the_program_number_never_the_callers(twilio):
    twilio.phones[ALICE] = Phone.rings_out()
    twilio.phones[CAROL] = Phone.accepts()
    call = twilio.call(OFFICER)
    assert {r.caller_id for r in call.rings} == {PROGRAM}

