"""Who may talk to the line, and what happens when the database is gone."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.app import create_app
from hotline.store import Call, StatEvent
from hotline.testing.fake_twilio import ACCOUNT_SID, FakeTwilio, Phone
from tests.conftest import ALICE, DIRECTOR, OFFICER, PROGRAM, TOKEN

SECONDARY_TOKEN = "test-auth-token-secondary"  # TWILIO_AUTH_TOKEN_SECONDARY, during a rotation
NO_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # connection refused
FALLBACK_MESSAGE = "We could not reach a peer. Connecting you to 988."


def live_calls(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(Call)).all()


def stats(app):
    with app.extensions["hotline.sessions"]() as db:
        return db.scalars(select(StatEvent)).all()


def incoming(sid: str = "CA" + "f" * 32) -> dict:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": OFFICER, "To": PROGRAM,
            "Direction": "inbound", "CallStatus": "ringing"}


def build_app(tmp_path, rotation_file, clock, database_url, tokens):
    return create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                       "TWILIO_AUTH_TOKENS": tokens, "HOTLINE_CLOCK": clock,
                       "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False},
                      instance_path=str(tmp_path / "instance-2"))


@pytest.fixture
def rotated_app(tmp_path, rotation_file, clock, database_url):
    """The line while the auth token is being rotated: both tokens are valid."""
    app = build_app(tmp_path, rotation_file, clock, database_url, [TOKEN, SECONDARY_TOKEN])
    yield app
    app.extensions["hotline.engine"].dispose()


@pytest.fixture
def app_without_database(tmp_path, rotation_file, clock):
    app = build_app(tmp_path, rotation_file, clock, NO_DATABASE, [TOKEN])
    yield app
    app.extensions["hotline.engine"].dispose()


# -- signatures ----------------------------------------------------------------------------

def test_a_forged_signature_is_refused_and_nothing_is_stored(twilio, app):
    response = twilio.post("/voice/incoming", incoming(), signature="bm90IGEgcmVhbCBzaWduYXR1cmU=")
    assert response.status_code == 403
    assert live_calls(app) == []


def test_a_request_without_a_signature_is_refused(twilio, app):
    response = twilio.post("/voice/incoming", incoming(), signature="")
    assert response.status_code == 403
    assert live_calls(app) == []


def test_a_signature_made_with_another_token_is_refused(app, clock):
    stranger = FakeTwilio(app, "somebody-elses-token", clock, PROGRAM)
    assert stranger.post("/voice/incoming", incoming()).status_code == 403
    assert live_calls(app) == []


def test_a_genuine_signature_does_not_cover_changed_parameters(twilio, app):
    # Somebody replays a peer's signed "2, pass" with the digit changed to "1, take".
    url = "https://hotline.example.org/voice/screen?call=CA1&attempt=0&person=alice"
    leg = {"CallSid": "CA2", "ParentCallSid": "CA1", "AccountSid": ACCOUNT_SID,
           "From": PROGRAM, "To": ALICE, "CallStatus": "in-progress"}
    signature = twilio.sign(url, {**leg, "Digits": "2"})
    assert twilio.post(url, {**leg, "Digits": "1"}, signature=signature).status_code == 403


def test_a_signature_made_with_the_secondary_token_is_accepted(rotated_app, clock):
    for token in (SECONDARY_TOKEN, TOKEN):
        carrier = FakeTwilio(rotated_app, token, clock, PROGRAM)
        carrier.phones[ALICE] = Phone.accepts()
        call = carrier.call(OFFICER)
        assert call.connected_to == ALICE, f"signed with {token}"
    assert [e.outcome for e in stats(rotated_app)] == ["peer", "peer"]


# -- the database is down (calls: tests/voice/test_failsafe.py) ---------------------------------

def test_with_the_database_down_a_texter_is_sent_to_988_and_the_director_alerted_once(
        app_without_database, clock):
    from hotline.text.webhooks import ALERT_EVERY
    from tests.sms_fixtures import Phones

    phones = Phones(app_without_database, clock)
    first = phones.text(OFFICER, "is anyone there")
    assert "CALL this number" in first[0] and "988" in first[0] and "911" in first[0]
    assert phones.text("+12625550143", "hello?") == first  # every texter, not just the first
    assert len(phones.inbox(DIRECTOR)) == 1  # woken once, not paged per text
    assert "could not be routed" in phones.last(DIRECTOR)
    assert phones.inbox(ALICE) == []  # nobody is promised a peer the router cannot track
    clock.advance(ALERT_EVERY.total_seconds())
    phones.text("+12625550144", "still down?")
    assert len(phones.inbox(DIRECTOR)) == 2  # still down five minutes later: a reminder


# Behind a TLS-terminating proxy the app sees http://internal, but Twilio signed https://public.
PUBLIC = "https://line.example.org"


def proxied_post(app, path, params, headers=None):
    signature = FakeTwilio(app, TOKEN, None, PROGRAM).sign(PUBLIC + path, params)
    return app.test_client().post(path, data=params, base_url="http://10.0.0.5:8000",
                                  headers={"X-Twilio-Signature": signature, **(headers or {})})


def test_behind_a_proxy_the_configured_public_url_is_what_gets_checked(
        tmp_path, rotation_file, clock, database_url):
    app = build_app(tmp_path, rotation_file, clock, database_url, [TOKEN])
    app.config["HOTLINE_PUBLIC_URL"] = PUBLIC
    assert proxied_post(app, "/voice/incoming", incoming()).status_code == 200


def test_behind_a_proxy_without_configuration_the_internal_url_fails_the_check(
        tmp_path, rotation_file, clock, database_url):
    app = build_app(tmp_path, rotation_file, clock, database_url, [TOKEN])
    assert proxied_post(app, "/voice/incoming", incoming()).status_code == 403


def test_trusting_the_proxy_rebuilds_the_url_from_its_forwarded_headers(
        tmp_path, rotation_file, clock, monkeypatch):
    monkeypatch.setenv("HOTLINE_TRUST_PROXY", "1")
    app = build_app(tmp_path, rotation_file, clock, f"sqlite:///{tmp_path / 'p.sqlite'}", [TOKEN])
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "line.example.org"}
    assert proxied_post(app, "/voice/incoming", incoming(), forwarded).status_code == 200


def test_insecure_dev_mode_is_explicit_loud_and_answers_unsigned_webhooks(
        tmp_path, rotation_file, clock, database_url, caplog):
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN is not set"):
        build_app(tmp_path, rotation_file, clock, database_url, [])  # no token, no dev flag
    caplog.set_level("WARNING")
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": True},
                     instance_path=str(tmp_path / "instance-dev"))
    try:
        assert "signatures are NOT checked" in caplog.text
        response = app.test_client().post("/voice/incoming", data=incoming())
        assert response.status_code == 200 and b"<Dial" in response.data
    finally:
        app.extensions["hotline.engine"].dispose()
