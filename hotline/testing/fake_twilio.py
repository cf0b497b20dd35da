"""A fake Twilio that plays the carrier's part for voice calls.

It POSTs correctly signed webhooks to the app, walks the TwiML it gets back
(Say, Play, Pause, Gather, Dial with <Number url> whispers and action,
Redirect, Hangup, Reject) and plays scripted phones: a peer who answers and
presses 1, one who presses 2, one who lets it ring out, a voicemail that
picks up, a busy line, a caller who hangs up mid-ring.

Parallel legs of one <Dial> are resolved in the order their phones would
decide (answer time + time to press a key), which is what a real carrier
does for "first to accept wins". Where Twilio's documented behaviour is
ambiguous (the DialCallStatus after a whisper hangs a leg up), the fake
picks the answer least convenient for the app.
"""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

from hotline.deadlines import drain
from hotline.testing.fake_conference import FOREVER, Sim, UnsupportedTwiML

ACCOUNT_SID = "AC" + "0" * 32


class FakeClock:
    """The router's clock in tests: time moves only when the carrier says so."""

    def __init__(self, start: datetime):
        self.now = start

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        # Kept in UTC: adding seconds to a local time would add wall-clock time across DST.
        self._now = value.astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def set_at_least(self, t: datetime) -> None:
        self.now = max(self.now, t)


@dataclass(frozen=True)
class Phone:
    """How a phone behaves when the router rings it."""

    answer_after: float | None = 5  # seconds; None = never answers
    press: str | None = "1"  # key pressed during the whisper; None = nothing
    press_after: float = 2
    talk: float = 300  # seconds of conversation once bridged
    busy: bool = False
    fails: bool = False
    # In a conference joined with hangupOnStar: at these seconds of conversation the
    # phone presses `*` then the digit, e.g. ((30, "8"), (60, "7")).
    keys: tuple[tuple[float, str], ...] = ()

    @classmethod
    def accepts(cls, after: float = 5, talk: float = 300,
                keys: tuple[tuple[float, str], ...] = ()) -> "Phone":
        return cls(answer_after=after, press="1", talk=talk, keys=keys)

    @classmethod
    def passes(cls, after: float = 5) -> "Phone":
        return cls(answer_after=after, press="2")

    @classmethod
    def rings_out(cls) -> "Phone":
        return cls(answer_after=None)

    @classmethod
    def voicemail(cls, after: float = 15) -> "Phone":
        """An answering machine: picks up, plays a greeting, never presses a key."""
        return cls(answer_after=after, press=None)

    @classmethod
    def line_busy(cls) -> "Phone":
        return cls(busy=True)

    @classmethod
    def unreachable(cls) -> "Phone":
        return cls(fails=True)


@dataclass
class Ring:
    number: str
    caller_id: str
    at: float  # seconds into the call


@dataclass
class CallRecord:
    sid: str
    caller: str
    heard: list[str] = field(default_factory=list)  # what the caller heard, in order
    rings: list[Ring] = field(default_factory=list)
    whispers: dict[str, list[str]] = field(default_factory=dict)  # number -> what they heard
    connected_to: str | None = None
    recordings: list[str] = field(default_factory=list)  # RecordingSids of messages left
    hung_up_at: float | None = None
    duration: float = 0
    # Conference bridge: (seconds into the call, number, what) - "joined", "joined as
    # coach of +1...", "heard by everyone", "pressed *", "left", ...
    conference: list[tuple[float, str, str]] = field(default_factory=list)
    leg_status: dict[str, str] = field(default_factory=dict)  # number -> how its last leg ended

    def rung(self) -> list[str]:
        return [r.number for r in self.rings]




class FakeTwilio:
    def __init__(self, app, auth_token: str, clock: FakeClock, program_number: str,
                 base_url: str = "https://hotline.example.org"):
        self.app = app
        self.client = app.test_client()
        self.token = auth_token
        self.clock = clock
        self.program_number = program_number
        self.base_url = base_url.rstrip("/")
        self.phones: dict[str, Phone] = {}
        self.status_callback = self.base_url + "/voice/status"
        self._sids = itertools.count(1)
        self.requests: list[tuple[str, dict]] = []
        self.account = ACCOUNT_SID
        # The REST API the router places and updates calls through (FakeRest): calls it
        # places while a caller waits in a queue are played on `phones`.
        self.rest = None
        # (seconds, fn(now)): the clock process, run this often while a call is played.
        self.background = None
        self._sim = None
        self._call_start = None
        self._rest_marks = (0, 0, 0)

    # -- the HTTP boundary ----------------------------------------------------
    def sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._sids):032x}"

    def sign(self, url: str, params: dict) -> str:
        return RequestValidator(self.token).compute_signature(url, params)

    def post(self, url: str, params: dict, signature: str | None = None):
        """POST a webhook exactly as Twilio would, returning the Flask response."""
        url = urljoin(self.base_url + "/", url)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": self.sign(url, params) if signature is None else signature}
        self.requests.append((url, dict(params)))
        resp = self.client.post(path, data=params, headers=headers,
                                base_url=f"{parts.scheme}://{parts.netloc}")
        # What the webhook hands to Twilio after answering (texts) has reached Twilio by
        # the time its sender's phone would have shown the reply.
        drain(self.app)
        if self._sim is not None:
            self._sim.absorb()
        return resp

    def _twiml(self, url: str, params: dict) -> tuple[str, ET.Element]:
        url = urljoin(self.base_url + "/", url)
        resp = self.post(url, params)
        if resp.status_code != 200 or not resp.mimetype.endswith("xml"):
            raise AssertionError(f"{url} answered {resp.status_code} {resp.mimetype}: "
                                 f"{resp.get_data(as_text=True)[:300]}")
        root = ET.fromstring(resp.get_data())
        if root.tag != "Response":
            raise AssertionError(f"{url} answered without a <Response> root")
        return url, root

    # -- a phone call --------------------------------------------------------------
    def call(self, caller: str, press: str = "", hang_up_after: float | None = None,
             message: float = 0) -> CallRecord:
        """An inbound call from `caller` to the program number, played to its end.

        `press`: keys the caller presses at menus, in order. `hang_up_after`:
        seconds after which the caller gives up. `message`: seconds of speech
        the caller leaves if offered a <Record> (0: says nothing)."""
        rec = CallRecord(self.sid("CA"), caller)
        start = self.clock.now
        self._call_start = start
        # What the router asks of the REST API from here on belongs to this call.
        self._rest_marks = ((len(self.rest.calls), len(self.rest.call_updates),
                             len(self.rest.participant_updates)) if self.rest else (0, 0, 0))
        keys = list(press)
        params = {"CallSid": rec.sid, "AccountSid": ACCOUNT_SID, "From": caller,
                  "To": self.program_number, "Direction": "inbound", "CallStatus": "ringing"}
        url, doc = self._twiml("/voice/incoming", params)
        params["CallStatus"] = "in-progress"

        def elapsed() -> float:
            return (self.clock.now - start).total_seconds()

        while doc is not None:
            jumped = None
            for verb in doc:
                if hang_up_after is not None and elapsed() >= hang_up_after:
                    rec.hung_up_at = elapsed()
                    break
                if verb.tag in ("Say", "Play"):
                    rec.heard.append((verb.text or "").strip())
                    self._pass(speech_seconds(verb.text))
                elif verb.tag == "Pause":
                    self._pass(int(verb.get("length", 1)))
                elif verb.tag == "Gather":
                    for child in verb:
                        rec.heard.append((child.text or "").strip())
                        self._pass(speech_seconds(child.text))
                    if keys:
                        jumped = (verb.get("action") or url, {**params, "Digits": keys.pop(0)})
                    else:
                        self._pass(int(verb.get("timeout", 5)))
                        if verb.get("actionOnEmptyResult") == "true":
                            jumped = (verb.get("action") or url, {**params, "Digits": ""})
                elif verb.tag == "Redirect":
                    jumped = (verb.text.strip(), params)
                elif verb.tag in ("Hangup", "Reject"):
                    break
                elif verb.tag == "Record":
                    jumped = self._record(rec, url, verb, params, message)
                elif verb.tag == "Enqueue":
                    jumped = self._enqueue(rec, url, verb, params, hang_up_after)
                    if jumped is None:  # hung up in the queue (either end)
                        break
                elif verb.tag == "Dial":
                    jumped = self._dial(rec, url, verb, params, start, hang_up_after)
                    if jumped is None and rec.hung_up_at is not None:
                        break
                else:
                    raise UnsupportedTwiML(f"the fake carrier does not know <{verb.tag}>")
                if jumped:
                    break
            if jumped and rec.hung_up_at is None:
                url, doc = self._twiml(urljoin(url, jumped[0]), jumped[1])
            else:
                doc = None
        rec.duration = elapsed()
        self.post(self.status_callback, {**params, "CallStatus": "completed",
                                         "CallDuration": str(int(rec.duration))})
        if self._sim is not None:
            sim, self._sim = self._sim, None
            try:
                sim.finish()  # the legs the router ends now, the coach, the pages
            finally:
                self._sim = None
        return rec

    # -- the conference bridge (hotline/testing/fake_conference.py) -------------------
    def phone(self, number: str) -> Phone:
        return self.phones.get(number, Phone.rings_out())

    def rang(self, rec: CallRecord, number: str, caller_id: str, at: float) -> None:
        rec.rings.append(Ring(number, caller_id, at))

    def _pass(self, seconds: float) -> None:
        """The caller's phone spends `seconds`; every other phone acts meanwhile."""
        if self._sim is None:
            self.clock.advance(seconds)
        else:
            self._sim.run_until(seconds)

    def _enqueue(self, rec: CallRecord, url: str, verb: ET.Element, params: dict,
                 hang_up_after: float | None):
        """<Enqueue>: poll the waitUrl, play what it says, until <Leave/> (or the caller
        hangs up: the action hears QueueResult=hangup, and its answer is ignored)."""
        if self._sim is None:
            self._sim = Sim(self, rec)
        sim = self._sim
        joined = self.clock.now
        queue = {"QueueSid": "QU" + rec.sid[2:], "QueuePosition": "1", "CurrentQueueSize": "1"}
        action = urljoin(url, verb.get("action") or url)

        def waited() -> str:
            return str(int((self.clock.now - joined).total_seconds()))

        def hang_up_in() -> float:
            if hang_up_after is None:
                return float("inf")
            return hang_up_after - (self.clock.now - self._call_start).total_seconds()

        while True:
            if hang_up_in() <= 0:
                rec.hung_up_at = hang_up_after
                self._twiml(action, {**params, **queue, "QueueResult": "hangup",
                                     "QueueTime": waited(), "CallStatus": "completed"})
                return None
            wait_url, doc = self._twiml(urljoin(url, verb.get("waitUrl")),
                                        {**params, **queue, "QueueTime": waited()})
            sim.absorb()
            for v in doc:
                if v.tag in ("Say", "Play"):
                    rec.heard.append((v.text or "").strip())
                    sim.run_until(min(speech_seconds(v.text), max(0.0, hang_up_in())))
                elif v.tag == "Pause":
                    sim.run_until(min(float(v.get("length", 1)), max(0.0, hang_up_in())))
                elif v.tag == "Leave":
                    return action, {**params, **queue, "QueueResult": "leave",
                                    "QueueTime": waited()}
                elif v.tag == "Hangup":
                    return None
                else:
                    raise UnsupportedTwiML(f"the fake carrier does not know <{v.tag}> "
                                           "in a queue's waitUrl")
                if hang_up_in() <= 0:
                    break

    def _caller_conference(self, rec: CallRecord, url: str, dial: ET.Element, params: dict,
                           hang_up_after: float | None):
        """The caller in a <Dial><Conference> until they hang up, the conference ends,
        or the router moves their call (calls(sid).update(url=...))."""
        if self._sim is None:
            self._sim = Sim(self, rec)
        sim = self._sim
        conf = sim.join(url, dial.find("Conference"), rec.sid, rec.caller, actor="caller")
        sim.caller_interrupt = None
        elapsed = (self.clock.now - self._call_start).total_seconds()
        limit = FOREVER if hang_up_after is None else max(0.0, hang_up_after - elapsed)
        sim.run_until(limit, stop=lambda: sim.caller_interrupt is not None)
        wake, sim.caller_interrupt = sim.caller_interrupt, None
        action = dial.get("action")
        if wake is None or wake.kind == "end":  # the caller hung up (or was hung up on)
            rec.hung_up_at = (self.clock.now - self._call_start).total_seconds()
            sim.leave(conf, rec.sid)
            if action:
                self._twiml(urljoin(url, action), {**params, "CallStatus": "completed"})
            return None
        if wake.kind == "move":
            sim.leave(conf, rec.sid)
            return wake.url, params
        return (action, params) if action else None

    def outbound(self, placed, phone: Phone) -> list[str]:
        """A call the router placed through the REST API (a page, a voicemail for the
        director), played on `phone`: it rings; answered, its TwiML runs (a Gather gets
        the phone's key); the status callback says how it ended. Returns what was heard."""
        heard: list[str] = []
        leg = {"CallSid": placed.sid, "AccountSid": ACCOUNT_SID, "From": placed.from_,
               "To": placed.to, "Direction": "outbound-api", "CallStatus": "in-progress"}
        if phone.busy or phone.fails or phone.answer_after is None:
            status = "busy" if phone.busy else "failed" if phone.fails else "no-answer"
            self.clock.advance(0 if phone.busy or phone.fails else 60)
        else:
            status = "completed"
            self.clock.advance(phone.answer_after)
            self._run_leg(placed.url, leg, phone, heard, "on a placed call",
                          lambda: self.clock.advance(phone.press_after))
        if getattr(placed, "status_callback", None):
            self.post(placed.status_callback, {**leg, "CallStatus": status})
        return heard

    def _dial(self, rec: CallRecord, url: str, dial: ET.Element, params: dict,
              start: datetime, hang_up_after: float | None):
        if dial.find("Conference") is not None:
            return self._caller_conference(rec, url, dial, params, hang_up_after)
        timeout = int(dial.get("timeout", 30))
        caller_id = dial.get("callerId") or rec.caller
        numbers = [n for n in dial if n.tag == "Number"]
        if not numbers and (dial.text or "").strip():
            numbers = [ET.Element("Number")]
            numbers[0].text = dial.text.strip()
        if len(numbers) > 10:
            raise UnsupportedTwiML("Twilio rings at most 10 <Number>s at once")
        t0 = self.clock.now
        offset = (t0 - start).total_seconds()
        legs = []
        for n in numbers:
            number = n.text.strip()
            rec.rings.append(Ring(number, caller_id, offset))
            legs.append((number, n, self.phones.get(number, Phone.rings_out()), self.sid("CA")))

        def decides_at(leg) -> float:
            phone = leg[2]
            if phone.busy or phone.fails or phone.answer_after is None or phone.answer_after >= timeout:
                return float("inf")
            return phone.answer_after + (phone.press_after if leg[1].get("url") else 0)

        winner, declined, leg_status = None, False, {}
        ended = []  # seconds after the dial began at which each losing leg was over
        for leg in sorted(legs, key=decides_at):
            number, node, phone, leg_sid = leg
            if decides_at(leg) == float("inf"):
                leg_status[leg_sid] = ("busy" if phone.busy else "failed" if phone.fails
                                       else "no-answer")
                # A busy or failed line ends its leg at once; an unanswered one rings out.
                ended.append(0.0 if phone.busy or phone.fails else float(timeout))
                continue
            if hang_up_after is not None and offset + phone.answer_after >= hang_up_after:
                break
            self.clock.set_at_least(t0 + timedelta(seconds=phone.answer_after))
            if self._whisper(rec, url, node, phone, leg_sid, params, caller_id, t0):
                winner = leg
                break
            declined = True
            leg_status[leg_sid] = "completed"
            ended.append((self.clock.now - t0).total_seconds())

        dial_params = dict(params)
        if winner:
            number, node, phone, leg_sid = winner
            rec.connected_to = number
            talk = phone.talk
            if hang_up_after is not None:
                talk = min(talk, max(0.0, hang_up_after - (self.clock.now - start).total_seconds()))
            self.clock.advance(talk)
            for other in legs:
                if other is not winner:
                    leg_status.setdefault(other[3], "canceled")
            leg_status[leg_sid] = "completed"
            dial_params.update(DialCallStatus="completed", DialCallSid=leg_sid,
                               DialCallDuration=str(int(talk)))
        else:
            # Legs nobody decided on (the caller left first) would have rung on.
            ended += [float(timeout) for leg in legs if leg[3] not in leg_status]
            waited = max(ended, default=0.0)
            if hang_up_after is not None:
                waited = min(waited, max(0.0, hang_up_after - offset))
            self.clock.set_at_least(t0 + timedelta(seconds=waited))
            statuses = set(leg_status.values())
            status = ("completed" if declined else "busy" if statuses == {"busy"}
                      else "failed" if statuses == {"failed"} else "no-answer")
            if hang_up_after is not None and offset + waited >= hang_up_after:
                status = "canceled"
                rec.hung_up_at = (self.clock.now - start).total_seconds()
            for leg in legs:
                leg_status.setdefault(leg[3], "canceled")
            dial_params.update(DialCallStatus=status)
        for number, node, phone, leg_sid in legs:
            cb = node.get("statusCallback")
            if cb:
                self.post(urljoin(url, cb), {"CallSid": leg_sid, "ParentCallSid": rec.sid,
                                             "AccountSid": ACCOUNT_SID, "From": caller_id,
                                             "To": number, "Direction": "outbound-dial",
                                             "CallStatus": leg_status[leg_sid]})
        if winner and hang_up_after is not None and \
                (self.clock.now - start).total_seconds() >= hang_up_after:
            rec.hung_up_at = hang_up_after
        action = dial.get("action")
        if not action:
            return None
        if rec.hung_up_at is not None:
            dial_params["CallStatus"] = "completed"
            self._twiml(urljoin(url, action), dial_params)  # Twilio asks, then ignores the answer
            return None
        return action, dial_params

    def _record(self, rec: CallRecord, url: str, verb: ET.Element, params: dict, message: float):
        """The caller speaks for `message` seconds (capped by maxLength), then the
        recording's status callback and the action, as Twilio sends them."""
        seconds = int(min(message, int(verb.get("maxLength", 3600))))
        self.clock.advance(seconds + int(verb.get("timeout", 5)))
        sid = self.sid("RE")
        rec.recordings.append(sid)
        details = {"RecordingSid": sid, "RecordingDuration": str(seconds),
                   "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                                   f"/Recordings/{sid}"}
        callback = verb.get("recordingStatusCallback")
        if callback:
            self.post(urljoin(url, callback), {"AccountSid": ACCOUNT_SID,
                                               "CallSid": rec.sid, "RecordingStatus": "completed",
                                               **details})
        action = verb.get("action")
        return (action, {**params, **details}) if action else None

    def _whisper(self, rec, url, node, phone, leg_sid, params, caller_id, t0) -> bool:
        """Run the <Number url> on the peer's leg. True when it ends without a hang-up."""
        number = node.text.strip()
        whisper_url = node.get("url")
        if not whisper_url:
            return True
        heard = rec.whispers.setdefault(number, [])
        leg = {"CallSid": leg_sid, "ParentCallSid": rec.sid, "AccountSid": ACCOUNT_SID,
               "From": caller_id, "To": number, "Direction": "outbound-dial",
               "CallStatus": "in-progress"}
        return self._run_leg(urljoin(url, whisper_url), leg, phone, heard, "in a whisper",
                             lambda: self.clock.set_at_least(
                                 t0 + timedelta(seconds=phone.answer_after + phone.press_after)))

    def _run_leg(self, url: str, leg: dict, phone: Phone, heard: list[str], where: str,
                 press) -> bool:
        """Play the TwiML a callee's phone gets (a whisper, a call the router placed): what
        is said goes into `heard`, a Gather gets the phone's key once `press()` has moved
        the clock. False when the document hangs up."""
        url, doc = self._twiml(url, leg)
        while doc is not None:
            jumped = None
            for verb in doc:
                if verb.tag in ("Say", "Play"):
                    heard.append((verb.text or "").strip())
                elif verb.tag == "Gather":
                    heard.extend((c.text or "").strip() for c in verb)
                    if phone.press is not None:
                        press()
                        jumped = (verb.get("action") or url, {**leg, "Digits": phone.press})
                    else:
                        self.clock.advance(int(verb.get("timeout", 5)))
                        if verb.get("actionOnEmptyResult") == "true":
                            jumped = (verb.get("action") or url, {**leg, "Digits": ""})
                elif verb.tag in ("Hangup", "Reject"):
                    return False
                elif verb.tag == "Redirect":
                    jumped = (verb.text.strip(), leg)
                elif verb.tag != "Pause":  # <Dial> too: Twilio forbids one in a whisper
                    raise UnsupportedTwiML(f"the fake carrier does not know <{verb.tag}> {where}")
                if jumped:
                    break
            if not jumped:
                return True
            url, doc = self._twiml(urljoin(url, jumped[0]), jumped[1])
        return True
        return True


def speech_seconds(text: str | None) -> float:
    # About 2.5 words a second, as Twilio's text-to-speech reads.
    return max(1.0, len((text or "").split()) / 2.5)
