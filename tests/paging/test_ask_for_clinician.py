"""Callers and texters who ask for the clinician reach the clinician on call first,
with the peers as the fallback; the team coordinator model says so in its own words."""
from __future__ import annotations

from hotline.testing.fake_twilio import Phone
from tests.conftest import ALICE, OFFICER, ROTATION
from tests.paging.conftest import CLINICAL, KIRAN, LEE
from tests.sms_fixtures import phones  # noqa: F401 - fixture


def test_caller_presses_9_and_the_clinician_on_call_rings_first(phones, app):
    phones.carrier.phones[KIRAN] = Phone.accepts()
    call = phones.carrier.call(OFFICER, press="9")
    assert "To speak with our clinician, press 9." in call.heard
    assert call.rung() == [KIRAN] and call.connected_to == KIRAN


def test_caller_asks_for_the_clinician_who_does_not_answer_so_a_peer_takes_it(phones, app):
    phones.carrier.phones[KIRAN] = Phone.rings_out()
    phones.carrier.phones[ALICE] = Phone.accepts()
    call = phones.carrier.call(OFFICER, press="9")
    assert call.rung() == [KIRAN, ALICE] and call.connected_to == ALICE


def test_texter_asks_for_the_clinician_who_hears_first_then_the_peers(phones, app):
    [reply] = phones.text(OFFICER, "clinician")
    assert reply.startswith("We are reaching our clinician for you now.")
    assert phones.last(KIRAN) == ("Peer line #1: (asked for the clinician) - reply YES to "
                                  "take #1")
    assert phones.inbox(ALICE) == []
    phones.tick(300)
    assert "YES to take #1" in phones.last(ALICE)
    phones.text(KIRAN, "yes 1")  # the clinician can still take it
    assert "peer is here now" in phones.last(OFFICER)


def test_texter_with_a_peer_asks_for_the_clinician_who_joins_beside_the_peer(phones, app):
    phones.text(OFFICER, "rough night")
    phones.text(ALICE, "yes")
    phones.text(OFFICER, "CLINICIAN")
    assert "the texter asked for the clinician" in phones.last(ALICE)
    assert phones.last(KIRAN).startswith("Peer line consult: The texter asks you to join #1.")
    phones.text(OFFICER, "thank you")
    assert phones.last(KIRAN) == "#1: thank you" and phones.last(ALICE) == "#1: thank you"


def test_team_coordinator_model_speaks_of_the_team_coordinator(phones, app, rotation_file):
    rotation_file.write_text(ROTATION + CLINICAL.replace("model: clinician",
                                                         "model: team_coordinator"))
    [reply] = phones.text(OFFICER, "COORDINATOR")
    assert reply.startswith("We are reaching our team coordinator for you now.")
    assert phones.last(KIRAN) == ("Peer line #1: (asked for the team coordinator) - reply YES "
                                  "to take #1")
    phones.text(ALICE, "yes 1")  # alice is not told yet, so she cannot take it
    phones.tick(300)
    phones.text(ALICE, "yes 1")
    phones.text(ALICE, "URGENT #1")
    assert "The line needs its team coordinator now" in phones.last(KIRAN)
    [page] = [c for c in phones.rest.calls if c.to == KIRAN]
    heard = phones.carrier.outbound(page, Phone.accepts())
    assert "needs the team coordinator now" in heard[0]
    assert phones.inbox(LEE) == []
