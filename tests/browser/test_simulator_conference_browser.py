"""The simulator page in Chromium shows a call bridged through a conference: the caller
on hold, the peer who takes it, a coach joining whom only that peer hears, then the coach
made a full participant. The line is the TEST-ONLY conference line of
tests/simulator/conference_line.py (the router's side of the contract, in fixed answers);
its REST requests reach the simulator over real HTTP, as under `make run`."""
from __future__ import annotations

import re

import pytest

from hotline.app import create_app
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.browser.test_simulator_browser import phone
from tests.conftest import ALICE, BOB, ROTATION, TOKEN
from tests.paging.conftest import CLINICAL
from tests.simulator.conference_line import Line, blueprint, settings

pytestmark = pytest.mark.browser


@pytest.fixture
def line():
    return Line(peers=[ALICE, BOB], coach="+12625550198")


@pytest.fixture
def app(tmp_path, database_url, clock, line):
    rotation = tmp_path / "rotation.yaml"
    rotation.write_text(ROTATION + CLINICAL)
    app = create_app({"HOTLINE_CONFIG": str(rotation), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_SIMULATOR": True,
                      "HOTLINE_SIMULATOR_POLL": False, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                      "HOTLINE_SEND_RATE": 0, **settings()},
                     instance_path=str(tmp_path / "instance"))
    app.register_blueprint(blueprint(line))
    yield app
    app.extensions["hotline.engine"].dispose()


@pytest.fixture
def simulator(app, live_server, page):
    app.config["TWILIO_API_BASE"] = f"{live_server}/simulator/api"  # real HTTP, as make run
    page.goto(f"{live_server}/simulator/")
    page.wait_for_selector("body[data-ready='1'] [data-phone=kpatel]")
    return page


def test_a_coach_joins_a_conference_call_heard_only_by_the_peer(simulator, screenshot):
    from playwright.sync_api import expect
    page = simulator
    officer = phone(page, "officer").locator(".call-panel")
    alice = phone(page, "alice").locator(".call-panel")
    kiran = phone(page, "kpatel").locator(".call-panel")

    phone(page, "officer").locator("button.call").click()
    expect(officer).to_have_attribute("data-state", "hold")
    expect(officer.locator(".call-title")).to_have_text("On hold")
    expect(alice).to_have_attribute("data-state", "ringing")
    expect(phone(page, "bob").locator(".call-panel")).to_have_attribute("data-state", "ringing")
    screenshot("simulator-conference-on-hold")

    alice.locator("button[data-action=answer]").click()
    expect(alice.locator(".heard")).to_contain_text("Press 1 to take this call.")
    alice.locator("button[data-key='1']").click()
    page.click("button[data-forward='30']")  # the caller's next look at the queue: <Leave/>
    expect(officer.locator(".call-title")).to_have_text("Connected to Alice")
    expect(alice.locator(".call-title")).to_have_text("Connected to the caller (number hidden)")
    expect(phone(page, "bob").locator(".call-panel")).to_have_count(0)

    alice.locator("button[data-key='*']").click()  # hangupOnStar: out of the call, a menu
    expect(alice.locator(".heard")).to_contain_text("Press 8 to bring in a coach.")
    alice.locator("button[data-key='8']").click()
    expect(kiran).to_have_attribute("data-state", "ringing")
    kiran.locator("button[data-action=answer]").click()
    expect(kiran.locator(".heard")).to_contain_text("Only the peer will hear you.")
    kiran.locator("button[data-key='1']").click()
    expect(kiran).to_have_attribute("data-state", "coaching")
    expect(kiran.locator(".call-title")).to_have_text("Coaching Alice (only they hear you)")
    expect(alice.locator(".call-coach")).to_have_text(
        "coach: Dr. Kiran Patel (only you hear them)")
    expect(officer.locator(".call-title")).to_have_text("Connected to Alice")
    expect(officer.locator(".call-coach")).to_have_count(0)
    screenshot("simulator-conference-coach-joined")

    alice.locator("button[data-key='*']").click()
    expect(alice.locator(".heard")).to_contain_text("Press 7 to let the caller hear the coach.")
    alice.locator("button[data-key='7']").click()
    expect(officer.locator(".call-title")).to_have_text(re.compile(r"Dr\. Kiran Patel"))
    expect(alice.locator(".call-coach")).to_have_count(0)
    screenshot("simulator-conference-coach-heard-by-all")

    officer.locator("button[data-action=hangup]").click()
    expect(officer).to_have_count(0)
    expect(kiran).to_have_count(0)
