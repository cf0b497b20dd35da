"""A laptop's settings never run a real line: the simulator, unchecked signatures and
make run's public token refuse to start where the router looks deployed; the
simulator answers this machine only; `hotline doctor` names each."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from hotline.app import create_app
from hotline.cli import cli
from hotline.ops.safety import LOCAL_TOKEN
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import TOKEN
from tests.simulator.test_simulator import HEADERS, simulator_app

REAL_SID = "AC" + "3f9a" * 8
REAL_TOKEN = "0c1d" * 8


def start(tmp_path, rotation_file, **settings):
    base = {"HOTLINE_CONFIG": str(rotation_file),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.sqlite'}",
            "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_RELOAD_SECONDS": 0,
            "HOTLINE_INSECURE_DEV": False, "HOTLINE_PUBLIC_URL": "https://hotline.example.org"}
    app = create_app(base | settings, instance_path=str(tmp_path / "instance"))
    app.extensions["hotline.engine"].dispose()
    return app


@pytest.mark.parametrize("sign", [
    {"HOTLINE_PUBLIC_URL": "https://hotline.example.org"},
    {"HOTLINE_PUBLIC_URL": "http://127.0.0.1:5000", "TWILIO_ACCOUNT_SID": REAL_SID},
    {"HOTLINE_PUBLIC_URL": "http://127.0.0.1:5000", "TWILIO_AUTH_TOKENS": [REAL_TOKEN]},
], ids=["public-https-url", "real-account", "real-token"])
def test_the_simulator_refuses_to_start_on_a_router_that_looks_deployed(
        tmp_path, rotation_file, sign):
    with pytest.raises(RuntimeError, match="HOTLINE_SIMULATOR"):
        start(tmp_path, rotation_file, HOTLINE_SIMULATOR=True, HOTLINE_SIMULATOR_POLL=False,
              **sign)


def test_the_simulator_refuses_to_start_under_gunicorn(tmp_path, rotation_file, monkeypatch):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    with pytest.raises(RuntimeError, match="gunicorn.*HOTLINE_SIMULATOR"):
        start(tmp_path, rotation_file, HOTLINE_PUBLIC_URL="http://127.0.0.1:5000",
              HOTLINE_SIMULATOR=True, HOTLINE_SIMULATOR_POLL=False)


def test_unchecked_signatures_refuse_to_start_with_a_real_account(tmp_path, rotation_file):
    with pytest.raises(RuntimeError, match="HOTLINE_INSECURE_DEV"):
        start(tmp_path, rotation_file, HOTLINE_INSECURE_DEV=True, TWILIO_ACCOUNT_SID=REAL_SID)


def test_make_runs_public_token_refuses_to_start_with_a_real_account(tmp_path, rotation_file):
    with pytest.raises(RuntimeError, match=LOCAL_TOKEN):
        start(tmp_path, rotation_file, TWILIO_AUTH_TOKENS=[LOCAL_TOKEN],
              TWILIO_ACCOUNT_SID=REAL_SID)


def test_a_deployed_router_without_its_public_url_refuses_to_start(tmp_path, rotation_file):
    # Signatures would be checked against the Host header a request brings.
    with pytest.raises(RuntimeError, match="HOTLINE_PUBLIC_URL is not set"):
        start(tmp_path, rotation_file, HOTLINE_PUBLIC_URL=None, TWILIO_ACCOUNT_SID=REAL_SID,
              TWILIO_AUTH_TOKENS=[REAL_TOKEN])


def test_on_a_laptop_the_simulator_starts_with_the_local_token(tmp_path, rotation_file):
    app = start(tmp_path, rotation_file, HOTLINE_PUBLIC_URL="http://127.0.0.1:5000",
                HOTLINE_SIMULATOR=True, HOTLINE_SIMULATOR_POLL=False,
                TWILIO_AUTH_TOKENS=[LOCAL_TOKEN], TWILIO_ACCOUNT_SID=ACCOUNT_SID)
    assert "simulator" in app.blueprints


@pytest.fixture
def sim(tmp_path, rotation_file, database_url, clock):
    app = simulator_app(tmp_path, rotation_file, database_url, clock)
    yield app.test_client()
    app.extensions["hotline.engine"].dispose()


def test_the_simulator_answers_a_page_on_this_machine(sim):
    assert sim.get("/simulator/state", base_url="http://127.0.0.1:5000").status_code == 200


def test_the_simulator_refuses_a_page_served_under_another_name(sim):
    # DNS rebinding: evil.example resolves to 127.0.0.1, so the browser sends its name.
    assert sim.get("/simulator/state", base_url="http://evil.example:5000").status_code == 403
    reply = sim.post("/simulator/do/advance", json={"seconds": 60},
                     headers=HEADERS | {"Host": "evil.example:5000"})
    assert reply.status_code == 403


def test_the_simulator_refuses_a_request_from_another_sites_page(sim):
    reply = sim.get("/simulator/state", base_url="http://127.0.0.1:5000",
                    headers={"Origin": "http://evil.example"})
    assert reply.status_code == 403


def test_doctor_names_unchecked_signatures_and_the_public_token_on_a_laptop(
        monkeypatch, tmp_path, rotation_file):
    for key, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}",
                       "HOTLINE_CONFIG": str(rotation_file), "HOTLINE_INSECURE_DEV": "1",
                       "TWILIO_AUTH_TOKEN": LOCAL_TOKEN,
                       "HOTLINE_INSTANCE": str(tmp_path / "instance")}.items():
        monkeypatch.setenv(key, value)
    for key in ("TWILIO_ACCOUNT_SID", "HOTLINE_PUBLIC_URL", "HOTLINE_SIMULATOR"):
        monkeypatch.delenv(key, raising=False)
    output = CliRunner().invoke(cli, ["doctor"]).output
    assert "unsafe:    WARNING HOTLINE_INSECURE_DEV is on" in output
    assert f"unsafe:    WARNING TWILIO_AUTH_TOKEN is make run's public '{LOCAL_TOKEN}'" in output


def test_doctor_says_why_a_deployed_router_with_the_simulator_cannot_start(
        monkeypatch, tmp_path, rotation_file):
    for key, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}",
                       "HOTLINE_CONFIG": str(rotation_file), "HOTLINE_SIMULATOR": "1",
                       "HOTLINE_SIMULATOR_POLL": "0", "TWILIO_AUTH_TOKEN": REAL_TOKEN,
                       "TWILIO_ACCOUNT_SID": REAL_SID,
                       "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
                       "HOTLINE_INSTANCE": str(tmp_path / "instance")}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 2
    assert "Refusing to start" in result.output and "HOTLINE_SIMULATOR" in result.output
