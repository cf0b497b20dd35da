"""The two fake carriers agree: the test harness (`hotline.testing.fake_twilio`, and
`tests.sms_fixtures.Phones` for texts) and the simulator's interactive carrier
(`hotline.simulator.carrier`) play the same phone conversation against the same
router configuration, and the router must be asked and must answer the same things.

Each scenario runs twice, on two fresh lines: once with the harness's scripted phones
(`Phone.accepts()` and so on) and once on the simulator's page, where a small player
presses the page's buttons as those same phones would, one second of the line's clock
at a time. A WSGI tap in front of each router writes down every request it serves and
its answer; the two transcripts are then compared:

- the webhooks, in order: path and query string, and the form parameters the router
  reads or that say who is who (calls: CallSid, ParentCallSid, DialCallSid, From, To,
  Direction, CallStatus, Digits, DialCallStatus; texts: MessageSid, From, To, Body;
  delivery reports: MessageSid, MessageStatus, ErrorCode), with every Call and Message
  SID renamed by order of first appearance (CA1, CA2...), since the two carriers mint
  SIDs differently;
- the router's answers, whole (TwiML with SIDs renamed), so the numbers dialled at
  each step, the ring timeouts and the whisper URLs are all compared;
- for texts, the REST sends (To, From, Body, StatusCallback) where they happen.

Not compared, and why:
- Durations (CallDuration, DialCallDuration): only their presence. The harness
  advances its clock while the caller hears a <Say>; the simulator, by design
  (docs/simulator.md), does not hold a call up for speech, so the totals differ by
  the length of the prompts.
- Carrier-specific extras the router does not read: the simulator sends ApiVersion
  and the SmsSid family, and From/To in delivery reports; the harness's texts carry
  FromCity/FromState/... as Twilio's do.
- Delivery reports for REST-sent texts: the simulator posts them (sent, then
  delivered); the harness's FakeRest does not, and tests post them by hand
  (`phones.status`) when a scenario needs one. Reports for TwiML <Message> replies
  are compared, reduced to the last status per message: the harness reports only
  `delivered`, the simulator `sent` then `delivered`, as Twilio does.
- Ringing a number outside the simulator (988) is answered at once there; the harness
  rings out a number it has no phone for. The scenarios give the harness a 988 that
  answers at once, so the two play the same call.
- Databases: SQLite only. Each carrier needs a line of its own from the first
  webhook, and the parity is about the carriers; tests/simulator/test_simulator.py and
  tests/voice/test_calls.py run the same router on PostgreSQL too.
"""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from hotline.app import create_app
from hotline.simulator.transport import InProcessHttpClient
from hotline.testing.fake_twilio import ACCOUNT_SID, FakeClock, FakeTwilio, Phone
from tests.conftest import ALICE, CAROL, DIRECTOR, MONDAY_NIGHT, OFFICER, PROGRAM, TOKEN
from tests.sms_fixtures import Phones

# Both carriers on this machine's address, as make run serves the simulator (a public
# https URL makes the router refuse to start with the simulator on: ops/safety.py).
PUBLIC = "http://127.0.0.1:5000"
from tests.simulator.test_simulator import Page

FALLBACK = "988"
# The simulator treats any number outside its phones as answered at once; the
# harness is given a phone that does the same, so both carriers play one call.
ANSWERS_AT_ONCE = Phone(answer_after=0, press=None, talk=60)
LONGEST_CALL = 30 * 60  # seconds of the line's clock the simulator player waits, at most

CALL_PARAMS = ("CallSid", "ParentCallSid", "DialCallSid", "From", "To", "Direction",
               "CallStatus", "Digits", "DialCallStatus")
TEXT_PARAMS = ("MessageSid", "From", "To", "Body")
REPORT_PARAMS = ("MessageSid", "MessageStatus", "ErrorCode")
DURATIONS = ("CallDuration", "DialCallDuration")
SID = re.compile(r"\b(CA|SM|RE)[0-9a-f]{32}\b")


# -- the router's side of the wire --------------------------------------------------------

@dataclass
class Exchange:
    method: str
    path: str
    query: str
    form: dict
    answer: str = ""


class Wiretap:
    """WSGI middleware: every request the router serves, with its answer, in the order
    the requests began (a webhook comes before the REST sends it makes)."""

    def __init__(self, app):
        self.inner = app.wsgi_app
        app.wsgi_app = self
        self.exchanges: list[Exchange] = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        seen = Exchange(environ["REQUEST_METHOD"], environ["PATH_INFO"],
                        environ.get("QUERY_STRING", ""),
                        dict(parse_qsl(body.decode(), keep_blank_values=True)))
        self.exchanges.append(seen)
        result = self.inner(environ, start_response)
        try:
            seen.answer = b"".join(result).decode()
        finally:
            if hasattr(result, "close"):
                result.close()
        return [seen.answer.encode()]

    def record_rest(self, rest) -> None:
        """The harness's REST fake is not behind the router's WSGI app: log its requests
        here too, in the same form as the simulator's API requests."""
        request = rest.request

        def recorded(method, uri, params=None, data=None, **kwargs):
            seen = Exchange(method.upper(), urlsplit(uri).path, "", dict(data or {}))
            self.exchanges.append(seen)
            response = request(method, uri, params=params, data=data, **kwargs)
            seen.answer = response.text or ""
            return response

        rest.request = recorded


class Renamer:
    """Call and Message SIDs renamed by order of first appearance: CA1, CA2, SM1..."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        def name(match: re.Match) -> str:
            sid, prefix = match.group(0), match.group(1)
            if sid not in self.names:
                self.counts[prefix] = self.counts.get(prefix, 0) + 1
                self.names[sid] = f"{prefix}{self.counts[prefix]}"
            return self.names[sid]
        return SID.sub(name, text)


def _params(form: dict, keys: tuple[str, ...], rename: Renamer) -> dict:
    kept = {k: rename(form[k]) for k in keys if k in form}
    kept.update({k: "(a duration)" for k in DURATIONS if k in form})
    return kept


def _answer(xml: str, rename: Renamer) -> str:
    return rename(xml.replace('<?xml version="1.0" encoding="UTF-8"?>', "").strip())


def _webhook(ex: Exchange) -> bool:
    return ex.path.startswith(("/voice/", "/sms/"))


def call_transcript(tap: Wiretap) -> list[tuple]:
    rename = Renamer()
    return [(ex.path + (f"?{rename(ex.query)}" if ex.query else ""),
             _params(ex.form, CALL_PARAMS, rename), _answer(ex.answer, rename))
            for ex in tap.exchanges if _webhook(ex)]


def text_transcript(tap: Wiretap) -> list[tuple]:
    """Webhooks and REST sends in order. Delivery reports on REST-sent texts are left
    out (the harness does not make them), and consecutive reports on one message are
    reduced to its last status."""
    sends = [ex for ex in tap.exchanges if ex.path.endswith("/Messages.json")]
    sent_sids = {json.loads(ex.answer)["sid"] for ex in sends if ex.answer}
    rename, out = Renamer(), []
    for ex in tap.exchanges:
        if ex.path.endswith("/Messages.json"):
            form = {k: ex.form.get(k) for k in ("To", "From", "Body", "StatusCallback")}
            out.append(("REST Messages.json", form, rename(json.loads(ex.answer)["sid"])))
        elif ex.path == "/sms/status":
            if ex.form.get("MessageSid") in sent_sids:
                continue
            entry = ("/sms/status", _params(ex.form, REPORT_PARAMS, rename), "")
            previous = out[-1] if out else None
            if previous and previous[0] == "/sms/status" and \
                    previous[1]["MessageSid"] == entry[1]["MessageSid"]:
                out[-1] = entry
            else:
                out.append(entry)
        elif _webhook(ex):
            out.append((ex.path, _params(ex.form, TEXT_PARAMS, rename),
                        _answer(ex.answer, rename)))
    return out


def dialled(transcript: list[tuple]) -> list[list[str]]:
    """The numbers each <Dial> in the router's answers rang, in order."""
    steps = []
    for _, _, answer in transcript:
        if answer.startswith("<Response"):
            for dial in ET.fromstring(answer).iter("Dial"):
                steps.append([n.text.strip() for n in dial.iter("Number")])
    return steps


# -- two lines, one configuration ------------------------------------------------------------

def router(tmp_path, rotation_file, name: str, clock, **extra):
    folder = tmp_path / name
    app = create_app({"HOTLINE_CONFIG": str(rotation_file),
                      "DATABASE_URL": f"sqlite:///{folder / 'hotline.sqlite'}",
                      "TWILIO_AUTH_TOKENS": [TOKEN], "HOTLINE_CLOCK": clock,
                      "HOTLINE_RELOAD_SECONDS": 0, "HOTLINE_INSECURE_DEV": False,
                      "HOTLINE_PUBLIC_URL": PUBLIC, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                      "HOTLINE_SEND_RATE": 0, **extra},
                     instance_path=str(folder / "instance"))
    return app


def on_the_harness(tmp_path, rotation_file, play):
    clock = FakeClock(MONDAY_NIGHT)
    app = router(tmp_path, rotation_file, "harness", clock)
    tap = Wiretap(app)
    try:
        play(app, clock, tap)
    finally:
        app.extensions["hotline.engine"].dispose()
    return tap


def on_the_simulator(tmp_path, rotation_file, play):
    clock = FakeClock(MONDAY_NIGHT)
    app = router(tmp_path, rotation_file, "simulator", clock,
                 HOTLINE_SIMULATOR=True, HOTLINE_SIMULATOR_POLL=False)
    app.config["TWILIO_HTTP_CLIENT"] = InProcessHttpClient(app)
    tap = Wiretap(app)
    try:
        play(Page(app, clock))
    finally:
        app.extensions["hotline.engine"].dispose()
    return tap


# -- a call, on each carrier ------------------------------------------------------------------

def call_on_the_harness(tmp_path, rotation_file, phones: dict[str, Phone]) -> list[tuple]:
    def play(app, clock, tap):
        carrier = FakeTwilio(app, TOKEN, clock, PROGRAM, base_url=PUBLIC)
        carrier.phones.update({FALLBACK: ANSWERS_AT_ONCE, **phones})
        carrier.call(OFFICER)
    return call_transcript(on_the_harness(tmp_path, rotation_file, play))


def call_on_the_simulator(tmp_path, rotation_file, phones: dict[str, Phone]) -> list[tuple]:
    return call_transcript(on_the_simulator(
        tmp_path, rotation_file, lambda page: play_call(page, phones)))


def play_call(page: Page, phones: dict[str, Phone]) -> None:
    """The officer calls; each phone on the page does what its `Phone` script says, when
    it says, on the line's clock. A phone without a script lets it ring out. (The page
    has no unreachable phone: `Phone.unreachable()` is not played here.)"""
    page.act("call", phone="officer")
    since: dict[tuple, int] = {}  # (call, leg, state) -> second it was first seen
    for second in range(LONGEST_CALL):
        while True:  # act until nobody has anything left to do this second
            state = page.state()
            officer = next(p for p in state["phones"] if p["id"] == "officer")
            if not officer["calls"]:
                return
            todo = _due(state, phones, since, second)
            if todo is None:
                break
            action, payload = todo
            page.act(action, **payload)
        page.clock.advance(1)
    raise AssertionError(f"the call was still going after {LONGEST_CALL} s")


def _due(state: dict, phones: dict[str, Phone], since: dict, second: int):
    for phone in state["phones"]:
        for panel in phone["calls"]:
            held = second - since.setdefault((panel["call"], panel["leg"], panel["state"]),
                                             second)
            on = {"call": panel["call"], "leg": panel["leg"]}
            if phone["id"] == "officer":
                outside = panel["state"] == "connected" and "outside" in panel["title"]
                if outside and held >= phones.get(FALLBACK, ANSWERS_AT_ONCE).talk:
                    return "hangup", on
                continue
            script = phones.get(phone["number"], Phone.rings_out())
            if panel["state"] == "ringing":
                if script.busy:
                    return "decline", on
                if script.answer_after is not None and held >= script.answer_after:
                    return "answer", on
            elif panel["state"] == "whisper" and panel["keypad"]:
                if script.press is not None and held >= script.press_after:
                    return "press", {**on, "key": script.press}
            elif panel["state"] == "connected" and held >= script.talk:
                return "hangup", on
    return None


# -- a text, on each carrier ------------------------------------------------------------------

def text_and_take_on_the_harness(tmp_path, rotation_file) -> list[tuple]:
    def play(app, clock, tap):
        phones = Phones(app, clock, public=PUBLIC)
        tap.record_rest(phones.rest)
        phones.text(OFFICER, "rough night, can someone talk?")
        phones.text(ALICE, "YES")
    return text_transcript(on_the_harness(tmp_path, rotation_file, play))


def text_and_take_on_the_simulator(tmp_path, rotation_file) -> list[tuple]:
    def play(page: Page):
        page.text("officer", "rough night, can someone talk?")
        page.state()  # the carrier's next beat: queued delivery reports go out
        page.text("alice", "YES")
        page.state()
    return text_transcript(on_the_simulator(tmp_path, rotation_file, play))


# -- the scenarios -----------------------------------------------------------------------------

def test_primary_presses_1_and_is_connected_the_same_on_both_carriers(tmp_path, rotation_file):
    phones = {ALICE: Phone.accepts(after=4)}
    harness = call_on_the_harness(tmp_path, rotation_file, phones)
    simulator = call_on_the_simulator(tmp_path, rotation_file, phones)
    assert dialled(harness) == [[ALICE]]
    assert simulator == harness


def test_primary_rings_out_and_the_backup_presses_1_the_same_on_both_carriers(tmp_path,
                                                                               rotation_file):
    phones = {ALICE: Phone.rings_out(), CAROL: Phone.accepts()}
    harness = call_on_the_harness(tmp_path, rotation_file, phones)
    simulator = call_on_the_simulator(tmp_path, rotation_file, phones)
    assert dialled(harness) == [[ALICE], [CAROL]]
    assert simulator == harness


def test_primary_and_backup_pass_and_the_director_accepts_the_same_on_both_carriers(
        tmp_path, rotation_file):
    phones = {ALICE: Phone.passes(), CAROL: Phone.passes(), DIRECTOR: Phone.accepts()}
    harness = call_on_the_harness(tmp_path, rotation_file, phones)
    simulator = call_on_the_simulator(tmp_path, rotation_file, phones)
    assert dialled(harness) == [[ALICE], [CAROL], [DIRECTOR]]
    assert simulator == harness


def test_nobody_answers_so_fallback_message_then_988_the_same_on_both_carriers(tmp_path,
                                                                               rotation_file):
    harness = call_on_the_harness(tmp_path, rotation_file, {})
    simulator = call_on_the_simulator(tmp_path, rotation_file, {})
    assert dialled(harness) == [[ALICE], [CAROL], [DIRECTOR], [FALLBACK]]
    [fallback] = [answer for _, _, answer in harness if f">{FALLBACK}</Number>" in answer]
    assert "We could not reach a peer. Connecting you to 988." in fallback
    assert simulator == harness


def test_a_text_notice_yes_and_joined_message_the_same_on_both_carriers(tmp_path,
                                                                        rotation_file):
    harness = text_and_take_on_the_harness(tmp_path, rotation_file)
    simulator = text_and_take_on_the_simulator(tmp_path, rotation_file)
    sends = [(form["To"], form["Body"]) for path, form, _ in harness
             if path == "REST Messages.json"]
    assert sends == [(ALICE, "Peer line #1: rough night, can someone talk? "
                             "- reply YES to take #1"),
                     (OFFICER, "A peer is here now. Text them back on this number.")]
    assert simulator == harness
