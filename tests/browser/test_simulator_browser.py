"""The phone simulator in a real browser (Debian's Chromium via Playwright): a text
conversation between the officer's phone and a peer's, then a call with the
whisper and a key press. The router's REST sends reach the simulator over real
HTTP (TWILIO_API_BASE), exactly as with `make run`. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.app import create_app
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import TOKEN

pytestmark = pytest.mark.browser

# The rotation `make run` uses: eight peers and the clinical director. On the tests' Monday
# night Maria Garcia is step 1, David Okafor and Priya Shah step 2, the director step 3.
EXAMPLE_ROTATION = Path(__file__).resolve().parents[2] / "config" / "rotation.yaml"


@pytest.fixture
def app(tmp_path, rotation_file, database_url, clock, request):
    """The router in simulator mode. The clock is the tests' FakeClock, so time moves
    only with the page's fast-forward buttons (which also poll the clock's work); each
    look at the page's state checks the phones' timeouts. The tests' small rotation,
    unless a test asks for another file (indirect parametrization)."""
    rotation_file = getattr(request, "param", rotation_file)
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



# -- threads keep their newest message in sight; the page fits a real screen ----------------

def redraws(page, count=2):
    """Let the page poll and draw `count` more times (it does so every second)."""
    done = int(page.evaluate("document.body.dataset.draws || '0'"))
    page.wait_for_function("n => Number(document.body.dataset.draws) >= n", arg=done + count)


def in_sight(page, ident, text):
    """Whether the last message containing `text` shows whole inside its phone's thread."""
    return page.evaluate("""([ident, text]) => {
        const thread = document.querySelector(`[data-phone=${ident}] .thread`);
        const msgs = [...thread.querySelectorAll('.msg')].filter(m => m.textContent.includes(text));
        if (!msgs.length) return false;
        const box = thread.getBoundingClientRect(), it = msgs[msgs.length - 1].getBoundingClientRect();
        return it.top >= box.top - 1 && it.bottom <= box.bottom + 1;
    }""", [ident, text])


def newest_in_sight(page, ident):
    text = page.evaluate(f"""() => [...document.querySelectorAll(
        '[data-phone={ident}] .thread .msg .bubble')].pop().textContent""")
    return in_sight(page, ident, text)


def fill_threads(page, count=7):
    """The officer texts until their thread and the on-call peer's overflow."""
    for n in range(1, count + 1):
        send(page, "officer", f"still there? message {n} of a long night")
        expect_message(page, "officer", f"message {n} of a long night")
    expect_message(page, "alice", f"message {count} of a long night")


def test_threads_keep_their_newest_message_in_sight_after_a_reload_and_a_call(simulator,
                                                                             screenshot):
    page = simulator
    fill_threads(page)
    assert page.evaluate("(t => t.scrollHeight > t.clientHeight)("
                         "document.querySelector('[data-phone=officer] .thread'))")
    redraws(page)  # the page redraws every second: the newest must stay in sight
    assert newest_in_sight(page, "officer") and newest_in_sight(page, "alice")

    page.reload()
    page.wait_for_selector("body[data-ready='1'] [data-phone=alice] .msg")
    redraws(page)
    assert newest_in_sight(page, "officer") and newest_in_sight(page, "alice")

    phone(page, "officer").locator("button.call").click()  # call panels take room
    from playwright.sync_api import expect
    expect(phone(page, "alice").locator(".call-panel")).to_have_attribute("data-state", "ringing")
    redraws(page)
    assert newest_in_sight(page, "officer") and newest_in_sight(page, "alice")
    screenshot("simulator-threads-during-a-call")


def test_notices_after_a_fast_forward_and_the_988_text_arrive_in_sight(simulator, screenshot):
    page = simulator
    fill_threads(page, count=5)
    page.click("button[data-forward='300']")  # step 2: Carol's notice
    expect_message(page, "carol", "an officer has waited 5 min")
    page.click("button[data-forward='300']")  # step 3: the director's
    expect_message(page, "clinical_director", "an officer has waited 10 min")
    page.click("button[data-forward='3600']")  # nobody took it: the officer is told of 988
    expect_message(page, "officer", "We could not reach a peer right now.")
    redraws(page)
    assert in_sight(page, "officer", "We could not reach a peer right now.")
    assert newest_in_sight(page, "alice") and newest_in_sight(page, "carol")
    screenshot("simulator-text-fallback")


def test_a_thread_scrolled_up_stays_put_until_scrolled_back_down(simulator):
    page = simulator
    fill_threads(page)
    thread = phone(page, "officer").locator(".thread")
    thread.hover()
    page.mouse.wheel(0, -5000)  # reading back through the conversation
    page.wait_for_function("() => document.querySelector('[data-phone=officer] .thread').scrollTop == 0")
    send(page, "alice", "YES")
    expect_message(page, "officer", "A peer is here now.")
    redraws(page)
    assert page.evaluate("document.querySelector('[data-phone=officer] .thread').scrollTop") == 0
    assert not in_sight(page, "officer", "A peer is here now.")

    thread.hover()
    page.mouse.wheel(0, 5000)  # back at the bottom: new texts show again
    page.wait_for_function("() => (t => t.scrollHeight - t.scrollTop - t.clientHeight < 2)("
                           "document.querySelector('[data-phone=officer] .thread'))")
    send(page, "alice", "I'm here. What's going on?")
    expect_message(page, "officer", "I'm here. What's going on?")
    redraws(page)
    assert newest_in_sight(page, "officer")


def test_text_bubbles_name_the_program_number_they_came_from_or_went_to(simulator):
    from playwright.sync_api import expect
    page = simulator
    send(page, "officer", "rough night, can someone talk?")
    expect_message(page, "alice", "Peer line #1: rough night")
    welcome = phone(page, "officer").locator(".msg.in", has_text="Thanks for reaching out.")
    expect(welcome.locator(".from")).to_have_text("From +1 262-555-0100")
    sent = phone(page, "officer").locator(".msg.out", has_text="rough night")
    expect(sent.locator(".from")).to_have_text("To +1 262-555-0100")
    notice = phone(page, "alice").locator(".msg.in", has_text="Peer line #1")
    expect(notice.locator(".from")).to_have_text("From +1 262-555-0100")


@pytest.mark.parametrize("app", [EXAMPLE_ROTATION], indirect=True, ids=["example-rotation"])
def test_on_a_1500_by_1000_screen_the_on_call_peers_and_the_director_show_whole(simulator,
                                                                               screenshot):
    from playwright.sync_api import expect
    page = simulator
    page.set_viewport_size({"width": 1500, "height": 1000})
    expect(phone(page, "mgarcia").locator(".oncall")).to_have_text("on call: step 1")
    expect(phone(page, "clinical_director").locator(".oncall")).to_have_text("on call: step 3")
    redraws(page, 1)
    boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.phone')]
        .map(p => [p.dataset.phone, {oncall: p.querySelector('.oncall').textContent,
                                     box: p.getBoundingClientRect().toJSON()}]))""")
    wanted = {ident for ident, p in boxes.items() if p["oncall"].startswith("on call")}
    # Backup is jsmith: the example keeps one peer off primary and backup at once.
    assert wanted == {"mgarcia", "jsmith", "pshah", "clinical_director"}
    for ident in wanted | {"officer"}:
        box = boxes[ident]["box"]
        assert box["top"] >= 0 and box["left"] >= 0, (ident, box)
        assert box["bottom"] <= 1000 and box["right"] <= 1500, (ident, box)
    # Whom the line tries, and in which order, reads at a glance.
    expect(phone(page, "mgarcia")).to_have_class(re.compile(r"\bon-call\b"))
    expect(phone(page, "mgarcia")).to_have_attribute("data-step", "1")
    expect(phone(page, "jsmith")).to_have_attribute("data-step", "2")
    expect(phone(page, "akim")).not_to_have_class(re.compile(r"\bon-call\b"))
    screenshot("simulator-1500x1000")


def test_a_picture_from_the_page_is_not_passed_on_and_the_peer_is_told(simulator, screenshot):
    page = simulator
    phone(page, "officer").locator("textarea").fill("look")
    phone(page, "officer").locator("button.picture").click()
    expect_message(page, "officer", "look [picture]")
    expect_message(page, "officer", "Pictures are not passed on to peers")
    expect_message(page, "alice", "Peer line #1: look [sent a picture; pictures are not passed on]")
    screenshot("simulator-picture")
