"""The phone simulator in a real browser (Debian's Chromium via Playwright): a text
conversation between the officer's phone and a peer's, then a call with the
whisper and a key press. The router's REST sends reach the simulator over real
HTTP (TWILIO_API_BASE), exactly as with `make run`. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import re

import pytest

from hotline.app import create_app
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import TOKEN

pytestmark = pytest.mark.browser


@pytest.fixture
def app(tmp_path, rotation_file, database_url, clock):
    """The router in simulator mode. The clock is the tests' FakeClock, so time moves
    only with the page's fast-forward buttons (which also poll the clock's work); each
    look at the page's state checks the phones' timeouts."""
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_SIMULATOR": True,
                      "HOTLINE_SIMULATOR_POLL": False,
                      "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "HOTLINE_SEND_RATE": 0},
                     instance_path=str(tmp_path / "instance"))
    yield app
    app.extensions["hotline.engine"].dispose()


@pytest.fixture
def simulator(app, live_server, page):
    app.config["TWILIO_API_BASE"] = f"{live_server}/simulator/api"  # real HTTP, as make run
    page.goto(f"{live_server}/")
    page.wait_for_selector("body[data-ready='1'] [data-phone=clinical_director]")
    return page


def phone(page, ident):
    return page.locator(f"[data-phone={ident}]")


def send(page, ident, text):
    phone(page, ident).locator("textarea").fill(text)
    phone(page, ident).locator("button.send").click()


def expect_message(page, ident, text):
    from playwright.sync_api import expect
    expect(phone(page, ident).locator(".thread .msg", has_text=text).last).to_be_visible()


def test_text_conversation_in_the_page(simulator, screenshot):
    from playwright.sync_api import expect
    page = simulator
    assert page.url.endswith("/simulator/")
    expect(phone(page, "officer").locator(".officer-number")).to_have_value("+1 262-555-0142")
    expect(phone(page, "alice").locator(".oncall")).to_have_text("on call: step 1")

    send(page, "officer", "rough night, can someone talk?")
    expect_message(page, "officer", "Thanks for reaching out.")
    expect_message(page, "alice", "Peer line #1: rough night, can someone talk? - reply YES to take #1")
    screenshot("simulator-text-notice")

    send(page, "alice", "YES")
    expect_message(page, "alice", "You have #1.")
    expect_message(page, "officer", "A peer is here now. Text them back on this number.")
    send(page, "alice", "Hi, I'm here. What's going on?")
    expect_message(page, "officer", "Hi, I'm here. What's going on?")
    phone(page, "officer").locator("textarea").fill("just a bad call today")
    phone(page, "officer").locator("textarea").press("Enter")
    expect_message(page, "alice", "#1: just a bad call today")
    expect(phone(page, "officer").locator(".msg.in")).to_have_count(3)
    screenshot("simulator-text-relay")


def test_call_with_whisper_and_key_press_in_the_page(simulator, screenshot):
    from playwright.sync_api import expect
    page = simulator
    phone(page, "officer").locator("button.call").click()
    officer_panel = phone(page, "officer").locator(".call-panel")
    expect(officer_panel).to_have_attribute("data-state", "dialing")
    alice_panel = phone(page, "alice").locator(".call-panel")
    expect(alice_panel).to_have_attribute("data-state", "ringing")
    expect(alice_panel).to_contain_text("From the peer support line")
    expect(phone(page, "alice")).to_have_class(re.compile(r"\bringing\b"))
    screenshot("simulator-call-ringing")

    alice_panel.locator("button[data-action=answer]").click()
    expect(alice_panel).to_have_attribute("data-state", "whisper")
    expect(alice_panel.locator(".heard")).to_have_text(
        "Peer support line. Press 1 to take this call, 2 to pass.")
    screenshot("simulator-call-whisper")

    alice_panel.locator("button[data-key='1']").click()
    expect(officer_panel.locator(".call-title")).to_have_text("Connected to Alice")
    expect(alice_panel.locator(".call-title")).to_have_text("Connected to the caller (number hidden)")
    screenshot("simulator-call-connected")

    page.click("button[data-forward='60']")  # the line's clock moves; the bridge lasts
    expect(officer_panel.locator(".call-since")).to_have_text(re.compile(r"^talking 1:0\d$"))
    officer_panel.locator("button[data-action=hangup]").click()
    expect(officer_panel).to_have_count(0)
    expect(alice_panel).to_have_count(0)
    expect_message(page, "alice", "Call ended (1:0")
    screenshot("simulator-call-ended")


def test_a_picture_from_the_page_is_not_passed_on_and_the_peer_is_told(simulator, screenshot):
    page = simulator
    phone(page, "officer").locator("textarea").fill("look")
    phone(page, "officer").locator("button.picture").click()
    expect_message(page, "officer", "look [picture]")
    expect_message(page, "officer", "Pictures are not passed on to peers")
    expect_message(page, "alice", "Peer line #1: look [sent a picture; pictures are not passed on]")
    screenshot("simulator-picture")
