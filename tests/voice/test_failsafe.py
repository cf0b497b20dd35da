"""Calls while the database is away, and calls whose row is missing when the
database is back: the on-call peers are rung from the rotation in memory, through
the normal steps and the whisper, and the clinical director is told once."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from hotline.app import create_app
from hotline.testing.fake_rest import FakeRest
from hotline.testing.fake_twilio import ACCOUNT_SID, FakeTwilio, Phone
from tests.conftest import ALICE, CAROL, DIRECTOR, MONDAY_NIGHT, OFFICER, PROGRAM, TOKEN

NO_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # connection refused
FALLBACK_MESSAGE = "We could not reach a peer. Connecting you to 988."
CALLER = "CA" + "e" * 32


@pytest.fixture
def down(tmp_path, rotation_file, clock):
    """The line with its database refusing connections, and a fake Twilio REST API."""
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": NO_DATABASE,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False},
                     instance_path=str(tmp_path / "instance-down"))
    rest = FakeRest()
    app.config.update(TWILIO_HTTP_CLIENT=rest, TWILIO_ACCOUNT_SID=ACCOUNT_SID)
    yield FakeTwilio(app, TOKEN, clock, PROGRAM), rest
    app.extensions["hotline.engine"].dispose()


def texts_to(rest, number):
    deadline = time.monotonic() + 5  # the alert goes on a thread of its own
    while not rest.inbox(number) and time.monotonic() < deadline:
        time.sleep(0.02)
    return rest.inbox(number)


def test_database_down_the_primary_peer_is_rung_presses_1_and_is_connected(down):
    carrier, rest = down
    carrier.phones[ALICE] = Phone.accepts()
    call = carrier.call(OFFICER)
    assert call.rung() == [ALICE]
    assert call.connected_to == ALICE
    assert call.whispers[ALICE]  # she heard the whisper and chose to take it


def test_database_down_the_primary_rings_out_so_the_backup_takes_the_call(down):
    carrier, rest = down
    carrier.phones[ALICE] = Phone.rings_out()
    carrier.phones[CAROL] = Phone.accepts()
    call = carrier.call(OFFICER)
    assert call.rung() == [ALICE, CAROL]
    assert call.connected_to == CAROL


def test_database_down_a_peer_who_presses_2_is_not_connected_and_the_next_step_rings(down):
    carrier, rest = down
    carrier.phones[ALICE] = Phone.passes()
    carrier.phones[CAROL] = Phone.passes()
    carrier.phones[DIRECTOR] = Phone.accepts()
    call = carrier.call(OFFICER)
    assert call.rung() == [ALICE, CAROL, DIRECTOR]
    assert call.connected_to == DIRECTOR


def test_database_down_and_nobody_answering_the_caller_hears_the_fallback_and_988(down):
    carrier, rest = down
    call = carrier.call(OFFICER)  # every phone rings out
    assert call.rung() == [ALICE, CAROL, DIRECTOR, "988"]
    assert call.heard[-1] == FALLBACK_MESSAGE
    assert call.connected_to is None


def test_database_down_a_peer_calling_the_line_is_not_rung_herself(down):
    carrier, rest = down
    carrier.phones[CAROL] = Phone.accepts()
    call = carrier.call(ALICE)  # the primary peer calls for support
    assert ALICE not in call.rung()
    assert call.connected_to == CAROL


def test_database_down_the_director_is_texted_once_not_per_call(down):
    carrier, rest = down
    carrier.phones[ALICE] = Phone.accepts(talk=30)
    carrier.call(OFFICER)
    carrier.call("+12625550143")
    alerts = texts_to(rest, DIRECTOR)
    assert len(alerts) == 1 and "system fault" in alerts[0]


# -- the database is back, the call's row is not ----------------------------------------------

def post(twilio, path, **form):
    resp = twilio.post(path, {"CallSid": CALLER, "AccountSid": ACCOUNT_SID, "From": OFFICER,
                              "To": PROGRAM, **form})
    assert resp.status_code == 200
    return ET.fromstring(resp.get_data())


def rung(root) -> list[str]:
    return [n.text for n in root.iter("Number")]


def started() -> int:
    return int(MONDAY_NIGHT.timestamp())


def test_missing_row_at_next_rings_the_next_step_from_the_url(twilio):
    root = post(twilio, f"/voice/next?attempt=0&st={started()}&tr=0.alice",
                CallStatus="in-progress", DialCallStatus="no-answer")
    assert rung(root) == [CAROL]
    action = root.find("Dial").get("action")
    assert "attempt=1" in action and "0.alice" in action and "1.carol" in action


def test_missing_row_at_next_after_a_conversation_hangs_up(twilio):
    root = post(twilio, f"/voice/next?attempt=0&st={started()}&tr=0.alice",
                CallStatus="in-progress", DialCallStatus="completed", DialCallDuration="240")
    assert rung(root) == [] and root.find("Hangup") is not None


def test_missing_row_at_next_when_the_caller_has_gone_rings_nobody(twilio):
    root = post(twilio, f"/voice/next?attempt=0&st={started()}&tr=0.alice",
                CallStatus="completed", DialCallStatus="no-answer")
    assert rung(root) == []


def test_missing_row_at_whisper_still_asks_the_peer_to_press_1(twilio):
    root = post(twilio, f"/voice/whisper?call={CALLER}&attempt=0&person=alice",
                CallStatus="in-progress")
    assert root.find("Gather") is not None


def test_missing_row_at_screen_connects_the_peer_who_pressed_1(twilio):
    root = post(twilio, f"/voice/screen?call={CALLER}&attempt=0&person=alice", Digits="1",
                CallStatus="in-progress")
    assert root.find("Hangup") is None  # an empty answer: Twilio bridges her to the caller


def test_missing_row_at_screen_a_2_still_passes(twilio):
    root = post(twilio, f"/voice/screen?call={CALLER}&attempt=0&person=alice", Digits="2",
                CallStatus="in-progress")
    assert root.find("Hangup") is not None


def test_missing_row_at_status_is_answered_and_changes_nothing(twilio):
    root = post(twilio, "/voice/status", CallStatus="completed")
    assert root.tag == "Response" and len(root) == 0


def test_steps_rung_from_memory_are_not_rung_again_once_the_row_is_back(twilio, app):
    # The call began normally (alice rang), then the database went away while carol's
    # step was rung from memory; now it is back, with the row still at alice's step.
    post(twilio, "/voice/incoming", CallStatus="ringing")
    root = post(twilio, f"/voice/next?attempt=1&st={started()}&tr=0.alice,1.carol",
                CallStatus="in-progress", DialCallStatus="no-answer")
    assert rung(root) == [DIRECTOR]
