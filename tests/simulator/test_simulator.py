"""The local phone simulator through the Flask test client: the page's JSON actions
and state, driving the real router (signed webhooks, TwiML, REST sends into the
simulator's API). Time is the tests' FakeClock; `/simulator/state` evaluates
timeouts on each look, as the page's poll does."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hotline.app import create_app
from hotline.simulator.transport import InProcessHttpClient
from hotline.store import Call, StatEvent
from hotline.testing.fake_twilio import ACCOUNT_SID
from tests.conftest import ALICE, OFFICER, TOKEN

HEADERS = {"X-Hotline-Simulator": "1"}


def simulator_app(tmp_path, rotation_file, database_url, clock, **extra):
    app = create_app({"HOTLINE_CONFIG": str(rotation_file), "DATABASE_URL": database_url,
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False,
                      "HOTLINE_SIMULATOR": True, "HOTLINE_SIMULATOR_POLL": False,
                      "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "HOTLINE_SEND_RATE": 0, **extra},
                     instance_path=str(tmp_path / "instance"))
    app.config["TWILIO_HTTP_CLIENT"] = InProcessHttpClient(app)
    return app


@pytest.fixture
def sim_app(tmp_path, rotation_file, database_url, clock):
    app = simulator_app(tmp_path, rotation_file, database_url, clock)
    yield app
    app.extensions["hotline.engine"].dispose()


class Page:
    """What the simulator page does: POST actions, read the state."""

    def __init__(self, app, clock):
        self.app = app
        self.clock = clock
        self.client = app.test_client()

    def act(self, action: str, expect: int = 200, **payload):
        resp = self.client.post(f"/simulator/do/{action}", json=payload, headers=HEADERS)
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp

    def state(self) -> dict:
        resp = self.client.get("/simulator/state")
        assert resp.status_code == 200
        return resp.get_json()

    def phone(self, ident: str) -> dict:
        return next(p for p in self.state()["phones"] if p["id"] == ident)

    def thread(self, ident: str, kind: str | None = None) -> list[str]:
        return [m["text"] for m in self.phone(ident)["thread"] if kind in (None, m["kind"])]

    def panel(self, ident: str) -> dict | None:
        calls = self.phone(ident)["calls"]
        assert len(calls) <= 1, calls
        return calls[0] if calls else None

    def text(self, ident: str, body: str):
        return self.act("text", phone=ident, body=body)

    def press(self, ident: str, key: str):
        p = self.panel(ident)
        return self.act("press", call=p["call"], leg=p["leg"], key=key)

    def button(self, ident: str, action: str):
        p = self.panel(ident)
        assert action in p["buttons"], p
        return self.act(action, call=p["call"], leg=p["leg"])

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.state()


@pytest.fixture
def page(sim_app, clock):
    return Page(sim_app, clock)


def test_the_page_lists_the_officer_and_every_person_in_the_rotation(page):
    html = page.client.get("/simulator/").get_data(as_text=True)
    assert "Phone simulator" in html and "simulator.js" in html
    state = page.state()
    phones = {p["id"]: p for p in state["phones"]}
    assert list(phones) == ["officer", "alice", "bob", "carol", "dave", "clinical_director"]
    assert phones["officer"]["number"] == OFFICER
    assert phones["alice"]["number"] == ALICE and phones["alice"]["on_call"] == "step 1"
    assert phones["carol"]["on_call"] == "step 2"
    assert phones["clinical_director"]["name"] == "Dr. Dana Reyes"
    assert page.client.get("/").headers["Location"].endswith("/simulator/")


def test_text_conversation_notice_yes_and_relay_both_ways(page):
    page.text("officer", "rough night, can someone talk?")
    assert page.thread("officer", "in")[0].startswith("Thanks for reaching out.")
    assert page.thread("alice") == ["Peer line #1: rough night, can someone talk? "
                                    "- reply YES to take #1"]
    assert page.thread("carol") == [], "step 2 waits its turn"

    page.text("alice", "YES")
    assert page.thread("alice", "in")[-1].startswith("You have #1.")
    assert page.thread("officer", "in")[-1] == "A peer is here now. Text them back on this number."

    page.text("alice", "Hi, I'm here. What's going on?")
    assert page.thread("officer", "in")[-1] == "Hi, I'm here. What's going on?"
    page.text("officer", "just a bad call today")
    assert page.thread("alice", "in")[-1] == "#1: just a bad call today"
    # Each side sees only the program number: no peer number on the officer's phone.
    assert not any("555" in t for t in page.thread("officer"))

    page.text("alice", "DONE")
    assert page.thread("alice", "in")[-1] == "#1 is closed. Thank you."


def test_fast_forward_runs_the_clock_so_an_untaken_text_escalates(page, clock):
    page.text("officer", "anyone there?")
    assert page.thread("carol") == []
    before = clock.now
    page.act("forward", seconds=300)
    assert (clock.now - before).total_seconds() == 300
    assert page.thread("carol")[-1].startswith("Peer line #1: an officer has waited 5 min")
    page.act("forward", expect=400, seconds=0)


def test_a_call_the_peer_answers_and_takes_with_1(page, sim_app):
    page.act("call", phone="officer")
    officer = page.panel("officer")
    assert officer["state"] == "dialing"
    assert any("Peer Support" in line or "peer" in line.lower() for line in officer["heard"])
    ring = page.panel("alice")
    assert ring["state"] == "ringing" and ring["buttons"] == ["answer", "decline"]
    assert "the peer support line" in ring["subtitle"]

    page.wait(6)
    page.button("alice", "answer")
    whisper = page.panel("alice")
    assert whisper["state"] == "whisper" and whisper["keypad"]
    assert whisper["heard"] == ["Peer support line. Press 1 to take this call, 2 to pass."]

    page.wait(2)
    page.press("alice", "1")
    assert page.panel("alice")["state"] == "connected"
    assert page.panel("alice")["title"] == "Connected to the caller (number hidden)"
    assert page.panel("officer")["title"] == "Connected to Alice"
    with sim_app.extensions["hotline.sessions"]() as db:
        call = db.scalars(select(Call)).one()
        assert call.accepted_by == "alice" and call.bridged

    page.wait(120)
    page.button("alice", "hangup")
    assert page.panel("alice") is None and page.panel("officer") is None
    assert page.thread("alice", "note")[-1].startswith("Call ended (2:0")
    with sim_app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Call)).all() == []
        event = db.scalars(select(StatEvent)).one()
        assert (event.outcome, event.step, event.seconds_to_human) == ("peer", 1, 8)


def test_ringing_out_and_pressing_2_move_the_call_on(page):
    page.act("call", phone="officer")
    assert page.panel("alice")["state"] == "ringing"
    page.wait(21)  # the step rings 20 s
    assert page.panel("alice") is None
    assert page.thread("alice", "note")[-1] == "Missed call from the peer support line (+1 262-555-0100)"
    assert "Please stay on the line." in page.panel("officer")["heard"]
    assert page.panel("carol")["state"] == "ringing"

    page.button("carol", "answer")
    page.press("carol", "2")
    assert page.panel("carol") is None
    assert page.panel("clinical_director")["state"] == "ringing"

    page.button("clinical_director", "answer")
    page.wait(20)  # no key: the whisper times out and the leg hangs up; then the fallback
    assert page.panel("clinical_director") is None
    officer = page.panel("officer")
    assert "We could not reach a peer. Connecting you to 988." in officer["heard"]
    assert officer["title"] == "Connected to 988 (outside the simulator)"
    page.button("officer", "hangup")
    assert page.panel("officer") is None


def test_officer_hanging_up_while_it_rings_stops_the_peer_phone(page, sim_app):
    page.act("call", phone="officer")
    page.wait(5)
    page.button("officer", "hangup")
    assert page.panel("alice") is None
    assert page.thread("alice", "note")[-1].startswith("Missed call")
    with sim_app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Call)).all() == []
        assert db.scalars(select(StatEvent)).one().outcome == "abandoned"


def test_a_peer_call_command_rings_the_peer_then_the_officer(page):
    page.text("officer", "can we talk on the phone?")
    page.text("alice", "YES")
    page.text("alice", "CALL")
    page.state()  # the REST-placed call rings at the carrier's next beat
    ring = page.panel("alice")
    assert ring["state"] == "ringing" and ring["leg"] is None
    page.button("alice", "answer")
    assert page.panel("alice")["heard"] == ["Peer line. Press 1 to call the texter of number 1 now."]
    page.press("alice", "1")
    officer = page.panel("officer")
    assert officer["state"] == "ringing" and "the peer support line" in officer["subtitle"]
    page.button("officer", "answer")
    assert page.panel("officer")["state"] == "connected"
    assert page.panel("alice")["title"].startswith("Connected to the officer")
    page.button("officer", "hangup")
    assert page.panel("officer") is None and page.panel("alice") is None


def test_the_officer_number_is_editable_but_never_a_peer_number(page):
    page.act("officer", number="(262) 555-0143")
    assert page.phone("officer")["number"] == "+12625550143"
    resp = page.act("officer", expect=409, number="262-555-0101")
    assert "Alice" in resp.get_json()["error"]
    page.act("officer", expect=409, number="not a number")
    page.text("officer", "hello")
    assert page.thread("alice")[-1].startswith("Peer line #1: hello")


def test_actions_need_the_json_header_and_the_same_origin(page):
    c = page.client
    assert c.post("/simulator/do/call", data={"phone": "officer"}).status_code == 403
    assert c.post("/simulator/do/call", json={"phone": "officer"}).status_code == 403
    assert c.post("/simulator/do/call", json={"phone": "officer"},
                  headers={**HEADERS, "Origin": "https://evil.example"}).status_code == 403
    assert c.post("/simulator/do/call", json={"phone": "officer"},
                  headers={**HEADERS, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert page.panel("officer") is None
    assert c.post("/simulator/do/call", json={"phone": "officer"},
                  headers={**HEADERS, "Origin": "http://localhost"}).status_code == 200


def test_the_rest_api_wants_the_accounts_credentials(page):
    c = page.client
    url = f"/simulator/api/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    form = {"To": ALICE, "From": "+12625550100", "Body": "hi"}
    assert c.post(url, data=form).status_code == 401
    assert c.post(url, data=form, auth=(ACCOUNT_SID, "wrong")).status_code == 401
    resp = c.post(url, data=form, auth=(ACCOUNT_SID, TOKEN))
    assert resp.status_code == 201 and resp.get_json()["sid"].startswith("SM")
    assert page.thread("alice") == ["hi"]
    gone = c.delete(f"/simulator/api/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
                    f"{resp.get_json()['sid']}.json", auth=(ACCOUNT_SID, TOKEN))
    assert gone.status_code == 204
    assert page.thread("alice") == ["hi"], "deleting at the provider leaves the phone's copy"


def test_webhooks_are_signed_as_twilio_signs_them(page, sim_app, monkeypatch):
    seen = []
    client = sim_app.extensions["hotline.simulator"]._client
    original = client.post

    def spy(path, data, headers, base_url):
        seen.append((base_url + path, dict(data), dict(headers)))
        return original(path, data=data, headers=headers, base_url=base_url)

    monkeypatch.setattr(client, "post", spy)
    page.text("officer", "hello")
    url, data, headers = seen[0]
    assert url == "http://localhost/sms/incoming"  # where the page (and so the router) is
    assert (data["From"], data["To"], data["Body"]) == (OFFICER, "+12625550100", "hello")
    assert data["MessageSid"].startswith("SM") and data["AccountSid"] == ACCOUNT_SID
    assert RequestValidator(TOKEN).validate(url, data, headers["X-Twilio-Signature"])
    assert not RequestValidator("another-token").validate(url, data,
                                                          headers["X-Twilio-Signature"])


def test_without_the_setting_there_is_no_simulator(app):
    assert app.test_client().get("/simulator/").status_code == 404
    assert "hotline.simulator" not in app.extensions


def test_changing_the_officer_number_ends_the_old_phones_call(page, sim_app):
    page.act("call", phone="officer")
    assert page.panel("alice")["state"] == "ringing"
    page.act("officer", number="+1 262 555 0150")
    assert page.panel("officer") is None and page.panel("alice") is None
    with sim_app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Call)).all() == []


def test_voicemail_is_recorded_and_played_to_the_director(tmp_path, rotation_file, database_url,
                                                          clock):
    """<Record> on the officer's phone, then the router's call to the director (Calls.json)."""
    from hotline.voice import voicemail
    from hotline.store import Voicemail

    rotation_file.write_text(rotation_file.read_text() + "voice: {voicemail: true}\n")
    app = simulator_app(tmp_path, rotation_file, database_url, clock)
    try:
        page = Page(app, clock)
        page.act("call", phone="officer")
        for ident in ("alice", "carol", "clinical_director"):
            page.button(ident, "decline")
        officer = page.panel("officer")
        assert officer["state"] == "recording" and officer["keypad"]
        assert officer["heard"][-1] == "(beep)"
        page.wait(12)
        page.press("officer", "#")
        officer = page.panel("officer")
        assert "(recorded 12 s)" in officer["heard"]
        assert officer["title"] == "Connected to 988 (outside the simulator)"
        page.button("officer", "hangup")
        with app.extensions["hotline.sessions"]() as db:
            assert len(db.scalars(select(Voicemail)).all()) == 1

        voicemail.deliver(app, clock.now)  # the clock's voicemail job
        page.button("clinical_director", "answer")
        assert page.panel("clinical_director")["keypad"]
        page.press("clinical_director", "1")
        assert page.panel("clinical_director") is None
        assert page.thread("clinical_director", "note")[-1].startswith("Call ended")
        with app.extensions["hotline.sessions"]() as db:
            assert db.scalars(select(Voicemail)).all() == []
    finally:
        app.extensions["hotline.engine"].dispose()


def test_the_pages_once_a_second_poll_is_kept_out_of_the_access_log(sim_app, caplog):
    """Under `make run` the page asks for /simulator/state every second: half of all log
    lines were those polls. They are not logged; every other request still is."""
    import logging
    import threading

    import requests
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, sim_app, threaded=True)  # werkzeug's, as `hotline run`
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            assert requests.get(f"{base}/simulator/", timeout=10).status_code == 200
            for _ in range(3):
                assert requests.get(f"{base}/simulator/state", timeout=10).status_code == 200
            assert requests.get(f"{base}/health", timeout=10).status_code in (200, 503)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"GET /simulator/ HTTP/1.1" 200' in line for line in access), access
    assert any('"GET /health HTTP/1.1"' in line for line in access), access
    assert not any("/simulator/state" in line for line in access), access


def test_a_fast_forward_survives_a_restart_of_make_run(tmp_path, rotation_file, database_url):
    """The line's clock never goes back. Under `make run` it is real time plus the
    fast-forwards; the database holds times on that clock (when a text escalates, when
    the last one was sent), so a restart carries on from the same offset."""
    from datetime import datetime, timedelta, timezone

    def real_time():  # no FakeClock: the simulator installs its own OffsetClock
        return datetime.now(timezone.utc)

    first = simulator_app(tmp_path, rotation_file, database_url, real_time)
    Page(first, None).act("forward", seconds=3600)
    first.extensions["hotline.engine"].dispose()  # `make run` stopped

    again = simulator_app(tmp_path, rotation_file, database_url, real_time)  # and started
    try:
        assert again.config["HOTLINE_CLOCK"].offset == timedelta(hours=1)
        assert Page(again, None).state()["ahead"] == "1:00:00"
        assert again.config["HOTLINE_CLOCK"]() - real_time() > timedelta(minutes=59)
    finally:
        again.extensions["hotline.engine"].dispose()
