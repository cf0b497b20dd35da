"""/health and `hotline doctor`: database, rotation file and clock liveness; 503 only
when nothing can be routed. `hotline doctor` and `hotline twilio configure` talk to
a fake Twilio REST API over real HTTP (TWILIO_API_BASE)."""
from __future__ import annotations

import json
import os
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline.ops import doctor as ops
from hotline.app import create_app
from hotline.cli import cli
from hotline.clock import run_due
from hotline.store import ClockHeartbeat
from hotline.testing.fake_twilio import ACCOUNT_SID
from hotline.testing.rest_server import RestServer
from tests.conftest import PROGRAM, TOKEN

PUBLIC = "https://hotline.example.org"


def health(app):
    resp = app.test_client().get("/health")
    return resp.status_code, resp.get_json()


def test_health_without_a_clock_poll_is_degraded_but_200(app):
    code, body = health(app)
    assert code == 200
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["clock"] == {"status": "never", "last_poll_at": None, "age_seconds": None}


def test_the_clock_heartbeat_makes_health_ok_and_goes_stale_after_30_s(app, clock):
    run_due(app, clock.now)
    run_due(app, clock.now)  # the one row is updated, not duplicated
    with app.extensions["hotline.sessions"]() as db:
        assert db.execute(select(ClockHeartbeat.last_poll_at)).scalars().all() == [clock.now]
    code, body = health(app)
    assert (code, body["status"], body["clock"]["status"]) == (200, "ok", "ok")
    assert body["database"]["schema"] == body["database"]["schema_needed"]
    clock.advance(20)
    assert health(app)[1]["clock"] == {"status": "ok", "age_seconds": 20.0,
                                       "last_poll_at": body["clock"]["last_poll_at"]}
    clock.advance(11)
    code, body = health(app)
    assert (code, body["status"], body["clock"]["status"]) == (200, "degraded", "stale")
    assert body["clock"]["age_seconds"] == 31.0
    run_due(app, clock.now)
    assert health(app)[1]["status"] == "ok"


def test_a_database_that_is_gone_is_degraded_not_down(app, clock, monkeypatch):
    run_due(app, clock.now)
    from hotline.store import make_engine
    monkeypatch.setitem(app.extensions, "hotline.engine",
                        make_engine("postgresql+psycopg://x@127.0.0.1:1/none"))
    code, body = health(app)
    assert code == 200
    assert body["status"] == "degraded"
    assert body["database"] == {"status": "error", "error": "OperationalError"}
    assert body["clock"] == {"status": "unknown"}


def test_a_database_that_hangs_is_reported_within_the_time_limit(app, monkeypatch):
    release = threading.Event()

    class Hanging:
        def connect(self):
            release.wait(10)
            raise RuntimeError("gave up")

    monkeypatch.setitem(app.extensions, "hotline.engine", Hanging())
    try:
        probe = ops.probe_database(app, timeout=0.2)
    finally:
        release.set()
    assert probe["ok"] is False and probe["error"] == "no answer within 0.2 s"


def test_no_rotation_at_all_is_the_only_503(tmp_path, database_url):
    broken = tmp_path / "broken.yaml"
    broken.write_text("program: [")
    app = create_app({"HOTLINE_CONFIG": str(broken), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN]}, instance_path=str(tmp_path / "fresh"))
    code, body = health(app)
    app.extensions["hotline.engine"].dispose()
    assert (code, body["status"]) == (503, "down")


# -- hotline doctor / hotline twilio configure ------------------------------------------

@pytest.fixture
def deployment(monkeypatch, database_url, rotation_file, tmp_path):
    """The environment of a deployed router, with Twilio's REST API faked over HTTP."""
    with RestServer() as server:
        for key, value in {"DATABASE_URL": database_url, "HOTLINE_CONFIG": str(rotation_file),
                           "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                           "HOTLINE_PUBLIC_URL": PUBLIC, "TWILIO_API_BASE": server.url,
                           "HOTLINE_INSTANCE": str(tmp_path / "instance"),
                           "HOTLINE_SECRET_KEY": "a-test-secret-of-enough-length"}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("HOTLINE_VOICE_FALLBACK_URL", raising=False)
        monkeypatch.delenv("HOTLINE_SMS_FALLBACK_URL", raising=False)
        yield server.rest


def doctor(*args):
    return CliRunner().invoke(cli, ["doctor", *args])


def test_doctor_says_which_webhooks_do_not_point_here(deployment):
    deployment.add_number(PROGRAM, voice_url=f"{PUBLIC}/voice/incoming",
                          status_callback=f"{PUBLIC}/voice/status",
                          sms_url="https://old-host.example.net/sms/incoming",
                          voice_fallback_url="https://handler.twilio.com/twiml/EH123",
                          sms_fallback_url="https://handler.twilio.com/twiml/EH124")
    result = doctor()
    assert result.exit_code == 1, result.output  # clock never ran, sms_url wrong
    assert "database:  ok (schema" in result.output
    assert "clock:     NEVER RAN" in result.output
    assert "MISMATCH: run `hotline twilio configure`" in result.output
    assert (f"WRONG sms_url             https://old-host.example.net/sms/incoming   "
            f"(wanted: {PUBLIC}/sms/incoming)") in result.output
    assert f"ok    voice_url           {PUBLIC}/voice/incoming" in result.output
    assert "ok    voice_fallback_url  https://handler.twilio.com/twiml/EH123" in result.output
    body = json.loads(doctor("--json").output)
    assert body["twilio"]["status"] == "mismatch"
    assert {s["setting"] for s in body["twilio"]["settings"] if not s["ok"]} == {"sms_url"}


def test_doctor_flags_a_voice_fallback_that_points_at_the_app_itself(deployment):
    deployment.add_number(PROGRAM, voice_fallback_url=f"{PUBLIC}/voice/incoming")
    body = json.loads(doctor("--json").output)
    fallback = [s for s in body["twilio"]["settings"] if s["setting"] == "voice_fallback_url"]
    assert fallback[0]["ok"] is False


def test_doctor_flags_a_missing_messaging_fallback(deployment):
    deployment.add_number(PROGRAM, voice_fallback_url="https://handler.twilio.com/twiml/EH1")
    body = json.loads(doctor("--json").output)
    [sms] = [s for s in body["twilio"]["settings"] if s["setting"] == "sms_fallback_url"]
    assert sms["ok"] is False  # with the app down, texters would hear nothing at all


def test_twilio_configure_sets_the_webhooks_then_doctor_is_happy(deployment, database_url,
                                                                  monkeypatch):
    sid = deployment.add_number(PROGRAM, voice_url="https://demo.twilio.com/welcome/voice/")
    deployment.add_number("+12625550198")  # another number on the account: untouched
    monkeypatch.setenv("HOTLINE_VOICE_FALLBACK_URL", "https://handler.twilio.com/twiml/EH9")
    monkeypatch.setenv("HOTLINE_SMS_FALLBACK_URL", "https://handler.twilio.com/twiml/EH8")
    dry = CliRunner().invoke(cli, ["twilio", "configure", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert deployment.number_updates == []
    result = CliRunner().invoke(cli, ["twilio", "configure"])
    assert result.exit_code == 0, result.output
    [(updated, settings)] = deployment.number_updates
    assert updated == sid
    assert settings == {"voice_url": f"{PUBLIC}/voice/incoming",
                        "status_callback": f"{PUBLIC}/voice/status",
                        "sms_url": f"{PUBLIC}/sms/incoming",
                        "voice_fallback_url": "https://handler.twilio.com/twiml/EH9",
                        "sms_fallback_url": "https://handler.twilio.com/twiml/EH8"}
    again = CliRunner().invoke(cli, ["twilio", "configure"])
    assert "nothing to change" in again.output and len(deployment.number_updates) == 1

    app = create_app()  # the same environment: the clock polls once, doctor says all is well
    run_due(app, app.config["HOTLINE_CLOCK"]())
    app.extensions["hotline.engine"].dispose()
    result = doctor()
    assert result.exit_code == 0, result.output
    assert "twilio:    +12625550100 (PN" in result.output
    assert "webhooks point here" in result.output


def test_twilio_configure_without_the_number_on_the_account(deployment):
    result = CliRunner().invoke(cli, ["twilio", "configure"])
    assert result.exit_code == 1
    assert "has no number +12625550100" in result.output


def test_doctor_without_twilio_credentials_checks_the_rest(deployment, monkeypatch):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    result = doctor()
    assert "twilio:    not checked (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.output


def test_doctor_warns_when_the_secret_key_is_not_set(deployment, monkeypatch):
    monkeypatch.delenv("HOTLINE_SECRET_KEY")
    result = doctor()
    assert "secret:    WARNING HOTLINE_SECRET_KEY is not set" in result.output
    assert "secret:" not in CliRunner().invoke(cli, ["doctor"],
                                               env={"HOTLINE_SECRET_KEY": "x" * 32}).output


def test_public_health_shows_statuses_but_no_path_problem_or_peer(app, rotation_file):
    rotation_file.write_text(rotation_file.read_text().replace("shift: 1w", "shfit: 1w", 1))
    later = rotation_file.stat().st_mtime + 5
    os.utime(rotation_file, (later, later))
    body = app.test_client().get("/health").get_json()
    assert body["status"] == "degraded" and body["config"]["valid"] is False
    text = json.dumps(body)
    for secret in (str(rotation_file), "rotation.yaml", "shfit", "primary", "alice", "instance"):
        assert secret not in text, secret
